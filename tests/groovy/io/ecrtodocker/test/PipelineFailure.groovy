package io.ecrtodocker.test

/** What the `error` step throws in these tests, as Jenkins's error step throws AbortException. */
class PipelineFailure extends RuntimeException {
    PipelineFailure(String message) {
        super(message)
    }
}

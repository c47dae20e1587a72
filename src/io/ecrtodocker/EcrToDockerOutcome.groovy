package io.ecrtodocker

import com.cloudbees.groovy.cps.NonCPS
import groovy.json.JsonSlurperClassic

/**
 * What one run of ecr-to-docker means for the stage: its exit status and the JSON it printed,
 * turned into the step's return value or into the message the stage fails with.
 */
class EcrToDockerOutcome implements Serializable {
    private static final long serialVersionUID = 1L

    static final int PROMOTED = 0
    static final int UNEXPECTED = 1
    static final int INVALID_INPUT = 2
    static final int ALREADY_EXISTS = 3
    static final int AUTHENTICATION_FAILED = 4
    static final int REGISTRY_FAILURE = 5
    static final int VERIFICATION_FAILED = 6
    /** Exit statuses of the launcher itself, before ecr-to-docker runs. */
    static final int SETUP_FAILED = 125
    static final int CRANE_MISSING = 127

    static final String CRANE_INSTALL_HINT =
        'go install github.com/google/go-containerregistry/cmd/crane@v0.20.3'

    /** The meaning of every exit status that has one; the help page lists the same. */
    static final Map<Integer, String> MEANINGS = [
        (PROMOTED)             : 'promoted (or already identical, or a clean dry run)',
        (UNEXPECTED)           : 'an unexpected error in ecr-to-docker; its log above says why',
        (INVALID_INPUT)        : 'invalid input or usage: an argument or environment value was' +
            ' rejected before anything was sent to a registry',
        (ALREADY_EXISTS)       : 'the destination tag already exists on Docker Hub and was not' +
            ' overwritten',
        (AUTHENTICATION_FAILED): 'authentication or authorization failed: check the Docker Hub' +
            ' credentials and the agent\'s AWS access to ECR',
        (REGISTRY_FAILURE)     : 'registry or network failure, or the source image does not exist',
        (VERIFICATION_FAILED)  : 'verification failed: the digest on Docker Hub differs from the' +
            ' source after the copy',
        (SETUP_FAILED)         : 'ecr-to-docker could not be installed on the agent (Python 3' +
            ' with venv and access to the package index are needed); the launcher\'s log above' +
            ' says why',
        (CRANE_MISSING)        : 'crane is not installed on the agent; install it with: ' +
            CRANE_INSTALL_HINT,
    ].asImmutable()

    final boolean succeeded
    final String message
    /** The step's return value when it succeeded: status, source, destination, digest... */
    final Map result

    private EcrToDockerOutcome(boolean succeeded, String message, Map result) {
        this.succeeded = succeeded
        this.message = message
        this.result = result
    }

    @NonCPS
    static EcrToDockerOutcome of(int exitStatus, String output, EcrToDockerArguments arguments) {
        Map printed = parsedOutput(output)
        if (exitStatus == PROMOTED) {
            return promoted(printed, arguments)
        }
        String image = printed?.destination ?: arguments.destinationForMessages()
        if (exitStatus == ALREADY_EXISTS) {
            String how = arguments.ifExists == 'skip-identical' ? ' with a different digest' : ''
            return failed("${image} already exists on Docker Hub${how} and was not overwritten" +
                " (ecr-to-docker exit status 3). Nothing was copied from ${arguments.source}." +
                " Promote a new tag instead; an image that is already there is never replaced.",
                printed)
        }
        return failed("promoting ${arguments.source} to ${image} failed with exit status" +
            " ${exitStatus}: ${meaningOf(exitStatus)}", printed)
    }

    @NonCPS
    static String meaningOf(int exitStatus) {
        if (MEANINGS.containsKey(exitStatus)) {
            return MEANINGS[exitStatus]
        }
        if (exitStatus > 128 && exitStatus < 160) {
            return "stopped by signal ${exitStatus - 128} (the build was aborted or the agent" +
                " stopped the command)"
        }
        return 'an exit status that ecr-to-docker does not define; its log above says what happened'
    }

    @NonCPS
    private static EcrToDockerOutcome promoted(Map printed, EcrToDockerArguments arguments) {
        if (printed == null) {
            return failed("ecr-to-docker exited 0 but printed no JSON result for" +
                " ${arguments.source}; the destination and digest are unknown", null)
        }
        Map result = [
            status      : printed.status,
            source      : printed.source ?: arguments.source,
            sourceDigest: printed.source_digest,
            destination : printed.destination,
            digest      : printed.destination_digest ?: printed.source_digest,
            mediaType   : printed.media_type,
            dryRun      : arguments.dryRun,
        ]
        String message = "ecrToDocker: ${result.status}: ${result.source} ->" +
            " ${result.destination} (digest ${result.digest})"
        return new EcrToDockerOutcome(true, message, result)
    }

    @NonCPS
    private static EcrToDockerOutcome failed(String message, Map printed) {
        String detail = printed?.error ? " ecr-to-docker says: ${printed.error}" : ''
        return new EcrToDockerOutcome(false, 'ecrToDocker: ' + message + detail, null)
    }

    /** The JSON object ecr-to-docker printed, or null when there is none to read. */
    @NonCPS
    private static Map parsedOutput(String output) {
        if (output == null || output.trim().isEmpty()) {
            return null
        }
        try {
            def parsed = new JsonSlurperClassic().parseText(output)
            return parsed instanceof Map ? parsed : null
        } catch (Exception ignored) {
            return null
        }
    }
}

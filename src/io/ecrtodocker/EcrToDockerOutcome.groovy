package io.ecrtodocker

import com.cloudbees.groovy.cps.NonCPS
import groovy.json.JsonSlurperClassic

/**
 * What one run of ecr-to-docker means for the stage: its exit status and the JSON it printed,
 * turned into the step's return value or into the message the stage fails with.
 *
 * For a list of images ecr-to-docker prints a JSON array with one object per image, and exits
 * with the most severe of their exit statuses; an image that failed did not stop the others.
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
        (VERIFICATION_FAILED)  : 'verification failed: after the copy the tag on Docker Hub' +
            ' does not hold the source digest, or a platform is missing; something else may' +
            ' have written to it',
        (SETUP_FAILED)         : 'ecr-to-docker could not be set up on the agent: put it on the' +
            ' PATH at the library\'s version, or set ECR_TO_DOCKER_PIP_SPEC to where pip finds' +
            ' it (Python 3.10+ with venv needed); the launcher\'s log above says why',
        (CRANE_MISSING)        : 'crane is not installed on the agent; install it with: ' +
            CRANE_INSTALL_HINT,
    ].asImmutable()

    /** The statuses of an image that made it to Docker Hub, or would have in a dry run. */
    static final List<String> SUCCEEDED_STATUSES =
        ['promoted', 'identical', 'dry-run'].asImmutable()
    static final String REFUSED_STATUS = 'refused'

    final boolean succeeded
    /** Why the stage fails; on success, the last line for the build log. */
    final String message
    /** What to write to the build log on success: one line per image, then a summary. */
    final List<String> logLines
    /**
     * The step's return value when it succeeded: a map with status, source, destination,
     * digest... for one image; a list of such maps, in the order given, for `images`.
     */
    final Object result

    private EcrToDockerOutcome(boolean succeeded, String message, Object result,
                               List<String> logLines = [message]) {
        this.succeeded = succeeded
        this.message = message
        this.result = result
        this.logLines = logLines
    }

    @NonCPS
    static EcrToDockerOutcome of(int exitStatus, String output, EcrToDockerArguments arguments) {
        if (arguments.batch) {
            return ofList(exitStatus, parsedJson(output), arguments)
        }
        def json = parsedJson(output)
        Map printed = json instanceof Map ? json : null
        if (exitStatus == PROMOTED) {
            return promoted(printed, arguments)
        }
        String image = printed?.destination ?: arguments.destinationForMessages()
        if (exitStatus == ALREADY_EXISTS) {
            String how = arguments.ifExists == 'skip-identical' ? ' with a different digest' : ''
            return failed("${image} already exists on Docker Hub${how} and was not overwritten" +
                " (ecr-to-docker exit status 3). The tag was not written by this run (source" +
                " ${arguments.source}). Promote a new tag instead; an image that is already" +
                " there is never replaced.",
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

    /** What an exit status says about a list of images: the most severe outcome among them. */
    @NonCPS
    static String listMeaningOf(int exitStatus, boolean imagesRan) {
        if (exitStatus == INVALID_INPUT && !imagesRan) {
            return 'invalid input or usage: an image or argument was rejected before anything' +
                ' was sent to a registry, so no image was promoted'
        }
        if (exitStatus == ALREADY_EXISTS) {
            return 'at least one destination tag already exists on Docker Hub and was not' +
                ' overwritten; no image failed for another reason'
        }
        if (exitStatus >= UNEXPECTED && exitStatus <= VERIFICATION_FAILED) {
            return 'at least one image failed; the most severe failure: ' + MEANINGS[exitStatus]
        }
        return meaningOf(exitStatus)
    }

    @NonCPS
    private static EcrToDockerOutcome promoted(Map printed, EcrToDockerArguments arguments) {
        if (printed == null) {
            return failed("ecr-to-docker exited 0 but printed no JSON result for" +
                " ${arguments.source}; the destination and digest are unknown", null)
        }
        Map result = resultOf(printed, arguments.source, arguments.dryRun)
        return new EcrToDockerOutcome(true, logLineOf(result), result)
    }

    @NonCPS
    private static Map resultOf(Map printed, String givenSource, boolean dryRun) {
        return [
            status      : printed.status,
            source      : printed.source ?: givenSource,
            sourceDigest: printed.source_digest,
            destination : printed.destination,
            // The digest on Docker Hub: none after a dry run, which copies nothing.
            digest      : dryRun ? null : printed.destination_digest,
            mediaType   : printed.media_type,
            dryRun      : dryRun,
        ]
    }

    @NonCPS
    private static String logLineOf(Map result) {
        String digest = result.digest != null ? "digest ${result.digest}" :
            "source digest ${result.sourceDigest}, nothing copied"
        return "ecrToDocker: ${result.status}: ${result.source} -> ${result.destination}" +
            " (${digest})"
    }

    @NonCPS
    private static EcrToDockerOutcome ofList(int exitStatus, json, EcrToDockerArguments arguments) {
        int count = arguments.images.size()
        List<Map> printed = json instanceof List ? json.findAll { it instanceof Map } : null
        if (exitStatus == PROMOTED) {
            if (printed == null || printed.size() != count) {
                String found = printed == null ? 'no JSON list' : "${printed.size()} results"
                return failed("ecr-to-docker exited 0 but printed ${found} for the ${count}" +
                    " images; their destinations and digests are unknown", null)
            }
            return promotedList(printed, arguments)
        }
        String message = "promoting ${count} images failed with exit status ${exitStatus}:" +
            " ${listMeaningOf(exitStatus, printed != null)}"
        if (printed == null) {
            // Nothing ran image by image: a rejected argument, a setup failure, a signal.
            return failed(message, json instanceof Map ? json : null)
        }
        return failed(message + imageReport(printed, arguments), null)
    }

    @NonCPS
    private static EcrToDockerOutcome promotedList(List<Map> printed,
                                                   EcrToDockerArguments arguments) {
        List<Map> results = []
        List<String> lines = []
        for (int index = 0; index < printed.size(); index++) {
            Map result = resultOf(printed[index], arguments.images.entries[index].source,
                arguments.dryRun)
            results << result
            lines << logLineOf(result)
        }
        lines << 'ecrToDocker: ' + summaryOf(printed)
        return new EcrToDockerOutcome(true, lines.last(), results, lines)
    }

    /** The same counts as the summary line ecr-to-docker logs. */
    @NonCPS
    private static String summaryOf(List<Map> printed) {
        Map<String, Integer> counts = [promoted: 0, identical: 0, refused: 0, failed: 0]
        int dryRuns = 0
        for (Map image : printed) {
            if (image.status == 'dry-run') {
                dryRuns++
            } else {
                String key = counts.containsKey(image.status) ? image.status : 'failed'
                counts[key] = counts[key] + 1
            }
        }
        String text = "summary: ${counts.promoted} promoted, ${counts.identical} identical," +
            " ${counts.refused} refused, ${counts.failed} failed"
        return dryRuns ? text + ", ${dryRuns} dry runs" : text
    }

    /** One line per image that was refused or failed, then what did make it to Docker Hub. */
    @NonCPS
    private static String imageReport(List<Map> printed, EcrToDockerArguments arguments) {
        List<String> problems = []
        List<String> done = []
        for (int index = 0; index < printed.size(); index++) {
            Map image = printed[index]
            Map given = index < arguments.images.size() ? arguments.images.entries[index] : [:]
            String source = image.source ?: given.source
            String destination = image.destination ?: given.destination ?: '(default destination)'
            if (SUCCEEDED_STATUSES.contains(image.status)) {
                done << "${destination} (${image.status})".toString()
            } else if (image.status == REFUSED_STATUS) {
                String how = arguments.ifExists == 'skip-identical' ?
                    ' with a different digest' : ''
                problems << "${destination} already exists on Docker Hub${how} and was not" +
                    " overwritten (source ${source})"
            } else {
                String why = image.error ? ": ${image.error}" : ''
                problems << "${source} -> ${destination}: ${image.status ?: 'failed'} (exit" +
                    " status ${image.exit_code})${why}"
            }
        }
        String report = problems.collect { "\n  - ${it}" }.join('')
        // Those that did reach Docker Hub stay there: whoever reruns the stage needs to know.
        String reached = arguments.dryRun ? 'passed the dry run' : 'are on Docker Hub'
        if (done) {
            report += "\n${done.size()} of ${printed.size()} images ${reached}: ${done.join(', ')}"
        } else {
            report += "\nNone of the images ${reached}."
        }
        return report
    }

    @NonCPS
    private static EcrToDockerOutcome failed(String message, Map printed) {
        String detail = printed?.error ? " ecr-to-docker says: ${printed.error}" : ''
        return new EcrToDockerOutcome(false, 'ecrToDocker: ' + message + detail, null)
    }

    /** What ecr-to-docker printed: an object, an array for a list, or null when unreadable. */
    @NonCPS
    private static Object parsedJson(String output) {
        if (output == null || output.trim().isEmpty()) {
            return null
        }
        try {
            def parsed = new JsonSlurperClassic().parseText(output)
            return parsed instanceof Map || parsed instanceof List ? parsed : null
        } catch (Exception ignored) {
            return null
        }
    }
}

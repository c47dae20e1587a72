package io.ecrtodocker

import com.cloudbees.groovy.cps.NonCPS

/**
 * Where the agent-side launcher (resources/io/ecrtodocker/launcher.sh) and its files live in a
 * build, and the environment that tells the launcher about them.
 *
 * Everything goes to the build's temporary directory (`pwd(tmp: true)`), beside the workspace
 * rather than in it: the virtual environment is then reused by the job's next build and never
 * ends up in archived artifacts or in a checkout.
 *
 * Each call's own files (the launcher copy, the image list, the JSON result, the command's
 * temporary files) go to a directory of that call alone, named with a random call ID. Parallel
 * branches of one build share the temporary directory, and `writeFile`, `sh` and `readFile` are
 * separate steps that interleave: with shared names one branch would run another's list or read
 * another's result. The step removes that directory after the call; the virtual environment,
 * which the launcher installs safely against a concurrent installation, stays for later builds.
 */
class EcrToDockerLauncher implements Serializable {
    private static final long serialVersionUID = 1L

    static final String SCRIPT_RESOURCE = 'io/ecrtodocker/launcher.sh'
    /** The one place that says which ecr-to-docker version this library runs. */
    static final String VERSION_RESOURCE = 'io/ecrtodocker/version.txt'
    static final String CALL_DIRECTORY_PREFIX = 'ecr-to-docker-call-'

    /*
     * The shell scripts the step runs. Each is a constant that takes every value from the
     * environment, so no value can change what it runs and no secret is ever part of a command
     * line; a shebang keeps Jenkins from running them with `sh -xe`. The list script names no
     * SOURCE: ecr-to-docker then reads the images from ECR_TO_DOCKER_FROM_FILE.
     *
     * Both first delete the report an earlier build may have left: when the command writes none
     * (the launcher stops with 125 or 127, or a signal comes first), that old report would
     * otherwise be archived as this build's. A report path that cannot be deleted (a directory)
     * is invalid input, exit status 2, and nothing runs.
     */
    private static final String SCRIPT_START = '''#!/usr/bin/env bash
set -euo pipefail
if [[ -n "${ECR_TO_DOCKER_REPORT:-}" ]] && ! rm -f -- "$ECR_TO_DOCKER_REPORT"; then
    exit 2
fi
'''
    static final String PROMOTE_ONE_SCRIPT = SCRIPT_START +
        'exec bash "$ECR_TO_DOCKER_LAUNCHER" promote "$ECR_SOURCE_IMAGE" >"$ECR_TO_DOCKER_RESULT"\n'
    static final String PROMOTE_LIST_SCRIPT = SCRIPT_START +
        'exec bash "$ECR_TO_DOCKER_LAUNCHER" promote >"$ECR_TO_DOCKER_RESULT"\n'

    final String temporaryDirectory
    /** This call's own directory inside the temporary directory; deleted after the call. */
    final String callDirectory
    final String version

    /**
     * @param callId a name no other call uses, such as a random UUID; a single path segment,
     *     since the directory it names is deleted recursively after the call
     */
    EcrToDockerLauncher(String temporaryDirectory, String callId, String versionResourceText) {
        if (!(callId ==~ /[A-Za-z0-9][A-Za-z0-9._-]*/)) {
            throw new IllegalArgumentException("not a call ID: '${callId}'")
        }
        this.temporaryDirectory = temporaryDirectory
        this.callDirectory = temporaryDirectory + '/' + CALL_DIRECTORY_PREFIX + callId
        this.version = versionResourceText.trim()
    }

    @NonCPS
    String getScriptPath() {
        return callDirectory + '/ecr-to-docker-launcher.sh'
    }

    /** ecr-to-docker's stdout (its JSON result) goes here; its log stays on the console. */
    @NonCPS
    String getResultPath() {
        return callDirectory + '/ecr-to-docker-result.json'
    }

    /** The `images` list, one `SOURCE [DEST]` per line, for ecr-to-docker's --from-file. */
    @NonCPS
    String getImageListPath() {
        return callDirectory + '/ecr-to-docker-images.txt'
    }

    @NonCPS
    static String promoteScript(boolean imageList) {
        return imageList ? PROMOTE_LIST_SCRIPT : PROMOTE_ONE_SCRIPT
    }

    /**
     * ECR_TO_DOCKER_FROM_FILE is always set, blank for a single image: one left in the job's
     * environment would otherwise turn a single promotion into a list of one.
     * ECR_TO_DOCKER_WORKDIR, where the virtual environment lives, is the shared temporary
     * directory, so that later builds reuse it. TMPDIR is this call's directory, so that even a
     * run killed outright (SIGKILL) leaves its private credentials directory where the step
     * deletes it afterwards, not in the agent's /tmp.
     */
    @NonCPS
    List<String> environment(boolean imageList) {
        return [
            'ECR_TO_DOCKER_LAUNCHER=' + scriptPath,
            'ECR_TO_DOCKER_RESULT=' + resultPath,
            'ECR_TO_DOCKER_WORKDIR=' + temporaryDirectory,
            'TMPDIR=' + callDirectory,
            'ECR_TO_DOCKER_LIBRARY_VERSION=' + version,
            'ECR_TO_DOCKER_FROM_FILE=' + (imageList ? imageListPath : ''),
        ]
    }
}

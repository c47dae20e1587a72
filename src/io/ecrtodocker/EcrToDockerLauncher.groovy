package io.ecrtodocker

import com.cloudbees.groovy.cps.NonCPS

/**
 * Where the agent-side launcher (resources/io/ecrtodocker/launcher.sh) and its files live in a
 * build, and the environment that tells the launcher about them.
 *
 * Everything goes to the build's temporary directory (`pwd(tmp: true)`), beside the workspace
 * rather than in it: the virtual environment is then reused by the job's next build and never
 * ends up in archived artifacts or in a checkout.
 */
class EcrToDockerLauncher implements Serializable {
    private static final long serialVersionUID = 1L

    static final String SCRIPT_RESOURCE = 'io/ecrtodocker/launcher.sh'
    /** The one place that says which ecr-to-docker version this library runs. */
    static final String VERSION_RESOURCE = 'io/ecrtodocker/version.txt'

    /*
     * The shell scripts the step runs. Each is a constant that takes every value from the
     * environment, so no value can change what it runs and no secret is ever part of a command
     * line; a shebang keeps Jenkins from running them with `sh -xe`. The list script names no
     * SOURCE: ecr-to-docker then reads the images from ECR_TO_DOCKER_FROM_FILE.
     */
    static final String PROMOTE_ONE_SCRIPT = '''#!/usr/bin/env bash
set -euo pipefail
exec bash "$ECR_TO_DOCKER_LAUNCHER" promote "$ECR_SOURCE_IMAGE" >"$ECR_TO_DOCKER_RESULT"
'''
    static final String PROMOTE_LIST_SCRIPT = '''#!/usr/bin/env bash
set -euo pipefail
exec bash "$ECR_TO_DOCKER_LAUNCHER" promote >"$ECR_TO_DOCKER_RESULT"
'''

    final String temporaryDirectory
    final String version

    EcrToDockerLauncher(String temporaryDirectory, String versionResourceText) {
        this.temporaryDirectory = temporaryDirectory
        this.version = versionResourceText.trim()
    }

    @NonCPS
    String getScriptPath() {
        return temporaryDirectory + '/ecr-to-docker-launcher.sh'
    }

    /** ecr-to-docker's stdout (its JSON result) goes here; its log stays on the console. */
    @NonCPS
    String getResultPath() {
        return temporaryDirectory + '/ecr-to-docker-result.json'
    }

    /** The `images` list, one `SOURCE [DEST]` per line, for ecr-to-docker's --from-file. */
    @NonCPS
    String getImageListPath() {
        return temporaryDirectory + '/ecr-to-docker-images.txt'
    }

    @NonCPS
    static String promoteScript(boolean imageList) {
        return imageList ? PROMOTE_LIST_SCRIPT : PROMOTE_ONE_SCRIPT
    }

    /**
     * ECR_TO_DOCKER_FROM_FILE is always set, blank for a single image: one left in the job's
     * environment would otherwise turn a single promotion into a list of one. TMPDIR is the
     * build's temporary directory, so that even a run killed outright (SIGKILL) leaves its
     * private credentials directory where Jenkins cleans up, not in the agent's /tmp.
     */
    @NonCPS
    List<String> environment(boolean imageList) {
        return [
            'ECR_TO_DOCKER_LAUNCHER=' + scriptPath,
            'ECR_TO_DOCKER_RESULT=' + resultPath,
            'ECR_TO_DOCKER_WORKDIR=' + temporaryDirectory,
            'TMPDIR=' + temporaryDirectory,
            'ECR_TO_DOCKER_LIBRARY_VERSION=' + version,
            'ECR_TO_DOCKER_FROM_FILE=' + (imageList ? imageListPath : ''),
        ]
    }
}

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

    @NonCPS
    List<String> environment() {
        return [
            'ECR_TO_DOCKER_LAUNCHER=' + scriptPath,
            'ECR_TO_DOCKER_RESULT=' + resultPath,
            'ECR_TO_DOCKER_WORKDIR=' + temporaryDirectory,
            'ECR_TO_DOCKER_LIBRARY_VERSION=' + version,
        ]
    }
}

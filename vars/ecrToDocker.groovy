import io.ecrtodocker.EcrToDockerArguments
import io.ecrtodocker.EcrToDockerLauncher
import io.ecrtodocker.EcrToDockerOutcome

/**
 * Promotes an image from Amazon ECR to Docker Hub with ecr-to-docker, never overwriting a tag.
 * The arguments are described in ecrToDocker.txt. Returns [status, source, sourceDigest,
 * destination, digest, mediaType, dryRun], or a list of those for `images`; any failure fails
 * the stage through error().
 */
def call(Map arguments = [:]) {
    EcrToDockerArguments resolved = null
    try {
        resolved = EcrToDockerArguments.resolve(arguments, params, env)
    } catch (IllegalArgumentException problem) {
        error("ecrToDocker: ${problem.message}")
    }

    EcrToDockerLauncher launcher = new EcrToDockerLauncher(
        pwd(tmp: true), libraryResource(EcrToDockerLauncher.VERSION_RESOURCE))
    writeFile(file: launcher.scriptPath, text: libraryResource(EcrToDockerLauncher.SCRIPT_RESOURCE))
    if (resolved.batch) {
        // A file rather than arguments: the script stays a constant whatever the images are.
        writeFile(file: launcher.imageListPath, text: resolved.images.fileText())
    }
    echo("INFO: ecrToDocker: ${resolved.summary()}")

    // Values reach the shell only as environment variables: the script is a constant, so no
    // value can change what it runs, and no secret is ever part of a command line.
    int exitStatus = -1
    withEnv(resolved.commandEnvironment() + launcher.environment(resolved.batch)) {
        withCredentials([
            usernamePassword(credentialsId: resolved.dockerCredentialsId,
                usernameVariable: 'DOCKERHUB_USERNAME', passwordVariable: 'DOCKERHUB_PASSWORD'),
            string(credentialsId: resolved.repoCredentialsId, variable: 'DOCKERHUB_NAMESPACE'),
        ]) {
            exitStatus = sh(script: EcrToDockerLauncher.promoteScript(resolved.batch),
                returnStatus: true)
        }
    }

    String output = fileExists(launcher.resultPath) ? readFile(file: launcher.resultPath) : ''
    if (resolved.report) {
        // Archived whatever happened: a failed promotion's report is the one worth reading.
        archiveArtifacts(artifacts: resolved.report, allowEmptyArchive: true)
    }
    EcrToDockerOutcome outcome = EcrToDockerOutcome.of(exitStatus, output, resolved)
    if (!outcome.succeeded) {
        error(outcome.message)
    }
    for (String line : outcome.logLines) {
        echo("INFO: ${line}")
    }
    return outcome.result
}

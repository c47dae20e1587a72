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

    // A call ID of its own: parallel branches of one build share the temporary directory.
    EcrToDockerLauncher launcher = new EcrToDockerLauncher(pwd(tmp: true),
        UUID.randomUUID().toString(), libraryResource(EcrToDockerLauncher.VERSION_RESOURCE))
    echo("INFO: ecrToDocker: ${resolved.summary()}")

    int exitStatus = -1
    String output = ''
    try {
        writeFile(file: launcher.scriptPath,
            text: libraryResource(EcrToDockerLauncher.SCRIPT_RESOURCE))
        if (resolved.batch) {
            // A file rather than arguments: the script stays a constant whatever the images are.
            writeFile(file: launcher.imageListPath, text: resolved.images.fileText())
        }

        // Values reach the shell only as environment variables: the script is a constant, so
        // no value can change what it runs, and no secret is ever part of a command line.
        withEnv(resolved.commandEnvironment() + launcher.environment(resolved.batch)) {
            withCredentials([
                usernamePassword(credentialsId: resolved.dockerCredentialsId,
                    usernameVariable: 'DOCKERHUB_USERNAME',
                    passwordVariable: 'DOCKERHUB_PASSWORD'),
                string(credentialsId: resolved.repoCredentialsId,
                    variable: 'DOCKERHUB_NAMESPACE'),
            ]) {
                exitStatus = sh(script: EcrToDockerLauncher.promoteScript(resolved.batch),
                    returnStatus: true)
            }
        }
        output = fileExists(launcher.resultPath) ? readFile(file: launcher.resultPath) : ''
    } finally {
        // This call's files only, also after an abort; the virtual environment installed
        // beside them stays for later builds.
        dir(launcher.callDirectory) {
            deleteDir()
        }
    }

    // The script deleted any earlier report before the command ran, so a report here was
    // written by this run: archived whatever happened, as a failed promotion's is worth reading.
    if (resolved.report && fileExists(resolved.report)) {
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

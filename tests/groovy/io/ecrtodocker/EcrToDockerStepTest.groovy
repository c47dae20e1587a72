package io.ecrtodocker

import io.ecrtodocker.test.LibraryPipelineTest
import io.ecrtodocker.test.PipelineFailure
import org.junit.Test

/** The ecrToDocker step, run from a Jenkinsfile that loads this library with @Library. */
class EcrToDockerStepTest extends LibraryPipelineTest {

    // --- credentials -----------------------------------------------------------------------

    @Test
    void 'by default the account comes from dockerCredentialsId and the namespace from repoCredentialsID'() {
        runStep(source: SOURCE)

        assert buildResult == 'SUCCESS'
        assert credentialBindings.size() == 2
        Map account = credentialBinding('usernamePassword')
        assert account.credentialsId == 'dockerCredentialsId'
        assert account.usernameVariable == 'DOCKERHUB_USERNAME'
        assert account.passwordVariable == 'DOCKERHUB_PASSWORD'
        Map namespace = credentialBinding('string')
        assert namespace.credentialsId == 'repoCredentialsID'
        assert namespace.variable == 'DOCKERHUB_NAMESPACE'
    }

    @Test
    void 'credential IDs given as job parameters replace the defaults'() {
        jobParameters.dockerCredentialsId = 'team-hub-account'
        jobParameters.repoCredentialsId = 'team-hub-namespace'

        runStep(source: SOURCE)

        assert credentialBinding('usernamePassword').credentialsId == 'team-hub-account'
        assert credentialBinding('string').credentialsId == 'team-hub-namespace'
    }

    @Test
    void 'credential IDs from environment variables are used when no job parameter gives them'() {
        environment.dockerCredentialsId = 'folder-hub-account'
        environment.repoCredentialsId = 'folder-hub-namespace'
        jobParameters.repoCredentialsId = 'parameter-hub-namespace'

        runStep(source: SOURCE)

        assert credentialBinding('usernamePassword').credentialsId == 'folder-hub-account'
        assert credentialBinding('string').credentialsId == 'parameter-hub-namespace'
    }

    @Test
    void 'credential IDs given as arguments win over job parameters and environment variables'() {
        jobParameters.dockerCredentialsId = 'parameter-account'
        environment.repoCredentialsId = 'environment-namespace'

        runStep(source: SOURCE, dockerCredentialsId: 'argument-account',
            repoCredentialsId: 'argument-namespace')

        assert credentialBinding('usernamePassword').credentialsId == 'argument-account'
        assert credentialBinding('string').credentialsId == 'argument-namespace'
    }

    @Test
    void 'a blank job parameter does not hide the default credential ID'() {
        jobParameters.dockerCredentialsId = '  '

        runStep(source: SOURCE)

        assert credentialBinding('usernamePassword').credentialsId == 'dockerCredentialsId'
    }

    @Test
    void 'the secrets reach the command only through the credentials binding'() {
        runStep(source: SOURCE)

        assert promoteEnvironment.DOCKERHUB_USERNAME == SECRET_USERNAME
        assert promoteEnvironment.DOCKERHUB_PASSWORD == SECRET_PASSWORD
        assert promoteEnvironment.DOCKERHUB_NAMESPACE == SECRET_NAMESPACE
        assert !environmentBlocks.flatten().any { it.toString().startsWith('DOCKERHUB_') }
        assert !environment.containsKey('DOCKERHUB_PASSWORD'): 'the binding ends with its block'
    }

    // --- the shell script ------------------------------------------------------------------

    @Test
    void 'the shell script is a constant that takes every value from the environment'() {
        runStep(source: SOURCE, destination: 'docker.io/acme/renamed:1.2.3')
        String script = shellCalls[0].script

        assert shellCalls[0].returnStatus == true
        assert script.startsWith('#!/usr/bin/env bash\n'):
            'a shebang keeps Jenkins from running the script with sh -xe'
        assert script.contains('set -euo pipefail')
        assert script.contains('"$ECR_TO_DOCKER_LAUNCHER" promote "$ECR_SOURCE_IMAGE"')
        assert script.contains('>"$ECR_TO_DOCKER_RESULT"')
        assert !script.contains(SOURCE)
        assert !script.contains('renamed')
        assert !script.contains(TEMPORARY_DIRECTORY)
    }

    @Test
    void 'the shell script never turns on xtrace and pipes nothing'() {
        runStep(source: SOURCE)
        String script = shellCalls[0].script

        assert !(script =~ /set\s+-[a-z]*x/)
        assert !script.contains('xtrace')
        assert !script.contains('|'): 'a pipe could hide the exit status of the command'
    }

    @Test
    void 'no secret value appears in a script, a log line, an environment list or a file name'() {
        runStep(source: SOURCE, report: 'promotion.json')
        promoteExitStatus = 4
        runStep(source: SOURCE)

        assert shellCalls.size() == 2
        assert failureMessage
        everythingVisible.each { String text ->
            SECRET_VALUES.each { String secret -> assert !text.contains(secret) }
        }
    }

    @Test
    void 'the non-secret values reach the command as the environment variables ecr-to-docker reads'() {
        runStep(source: SOURCE, destination: 'docker.io/acme/my-app:1.2.3',
            ifExists: 'skip-identical', dryRun: true, awsRegion: 'eu-central-1',
            ecrRegistryId: '123456789012', report: 'reports/promotion.json')

        Map seen = promoteEnvironment
        assert seen.ECR_SOURCE_IMAGE == SOURCE
        assert seen.ECR_TO_DOCKER_DESTINATION == 'docker.io/acme/my-app:1.2.3'
        assert seen.ECR_TO_DOCKER_IF_EXISTS == 'skip-identical'
        assert seen.ECR_TO_DOCKER_DRY_RUN == 'true'
        assert seen.ECR_TO_DOCKER_AWS_REGION == 'eu-central-1'
        assert seen.ECR_TO_DOCKER_ECR_REGISTRY_ID == '123456789012'
        assert seen.ECR_TO_DOCKER_REPORT == 'reports/promotion.json'
    }

    @Test
    void 'flags not given are passed explicitly so that stray environment variables change nothing'() {
        environment.ECR_TO_DOCKER_DESTINATION = 'docker.io/elsewhere/other:9'
        environment.ECR_TO_DOCKER_IF_EXISTS = 'skip-identical'
        environment.ECR_TO_DOCKER_DRY_RUN = 'true'

        runStep(source: SOURCE)

        Map seen = promoteEnvironment
        assert seen.ECR_TO_DOCKER_DESTINATION == ''
        assert seen.ECR_TO_DOCKER_IF_EXISTS == 'fail'
        assert seen.ECR_TO_DOCKER_DRY_RUN == 'false'
    }

    @Test
    void 'the launcher is written from the library resources into a directory of this call'() {
        runStep(source: SOURCE)

        String resource = new File(projectDirectory, 'resources/io/ecrtodocker/launcher.sh').text
        String version = new File(projectDirectory, 'resources/io/ecrtodocker/version.txt').text.trim()
        Map seen = promoteEnvironment
        String callDirectory = seen.ECR_TO_DOCKER_LAUNCHER.replaceFirst('/[^/]+$', '')
        assert callDirectory ==~ /${TEMPORARY_DIRECTORY}\/ecr-to-docker-call-[0-9a-f-]{36}/
        assert seen.ECR_TO_DOCKER_LAUNCHER == callDirectory + '/ecr-to-docker-launcher.sh'
        assert writtenFiles[seen.ECR_TO_DOCKER_LAUNCHER] == resource
        assert seen.ECR_TO_DOCKER_RESULT == callDirectory + '/ecr-to-docker-result.json'
        // The virtual environment is shared, for later builds to reuse it.
        assert seen.ECR_TO_DOCKER_WORKDIR == TEMPORARY_DIRECTORY
        // Temporary credentials go to the call's directory too, which the step deletes even
        // after a run that was killed outright.
        assert seen.TMPDIR == callDirectory
        assert seen.ECR_TO_DOCKER_LIBRARY_VERSION == version
        assert !writtenFiles.keySet().any { it.startsWith(WORKSPACE + '/') }:
            'nothing is written into the workspace itself'
    }

    @Test
    void 'every call has files of its own, so that parallel branches cannot mix them up'() {
        runStep(source: SOURCE)
        runStep(source: SOURCE)

        assert shellCalls.size() == 2
        List<Map> seen = shellCalls*.environment
        ['ECR_TO_DOCKER_LAUNCHER', 'ECR_TO_DOCKER_RESULT', 'TMPDIR'].each { String name ->
            assert seen[0][name] != seen[1][name]
        }
        assert seen[0].ECR_TO_DOCKER_WORKDIR == seen[1].ECR_TO_DOCKER_WORKDIR:
            'both use the one virtual environment'
    }

    @Test
    void 'the call deletes its own directory afterwards and keeps the virtual environment'() {
        runStep(source: SOURCE)

        String callDirectory = promoteEnvironment.TMPDIR
        assert deletedDirectories == [callDirectory]
        assert !agentFiles.keySet().any { it.startsWith(callDirectory) }
        assert !deletedDirectories.contains(TEMPORARY_DIRECTORY)
        assert buildResult == 'SUCCESS'
    }

    @Test
    void 'the call deletes its own directory also when it fails or the build is aborted'() {
        promoteExitStatus = 5
        runStep(source: SOURCE)
        assert buildResult == 'FAILURE'
        assert deletedDirectories == [shellCalls[0].environment.TMPDIR]

        helper.registerAllowedMethod('sh', [Map]) { Map call ->
            runShell(call)
            throw new PipelineFailure('Aborted by someone')
        }
        runStep(images: [SOURCE])
        assert failureMessage == 'Aborted by someone'
        assert deletedDirectories.size() == 2
        assert deletedDirectories[1] == shellCalls[1].environment.TMPDIR
        assert !agentFiles.keySet().any { it.startsWith(TEMPORARY_DIRECTORY) }
    }

    // --- the source ------------------------------------------------------------------------

    @Test
    void 'registry, repository, image and tag compose the source'() {
        runStep(registry: 'https://123456789012.dkr.ecr.eu-central-1.amazonaws.com/',
            repository: 'edp', image: 'my-app', tag: '1.2.3')

        assert buildResult == 'SUCCESS'
        assert promoteEnvironment.ECR_SOURCE_IMAGE == SOURCE
    }

    @Test
    void 'a digest in place of the tag composes a source by digest'() {
        runStep(registry: '123456789012.dkr.ecr.eu-central-1.amazonaws.com', image: 'my-app',
            tag: DIGEST)

        assert promoteEnvironment.ECR_SOURCE_IMAGE ==
            '123456789012.dkr.ecr.eu-central-1.amazonaws.com/my-app@' + DIGEST
    }

    @Test
    void 'a source argument wins over image and tag found in job parameters'() {
        jobParameters.image = 'other-app'
        jobParameters.tag = '9.9.9'

        runStep(source: SOURCE)

        assert buildResult == 'SUCCESS'
        assert promoteEnvironment.ECR_SOURCE_IMAGE == SOURCE
    }

    @Test
    void 'giving both a source and its parts as arguments fails the stage'() {
        runStep(source: SOURCE, image: 'my-app', tag: '1.2.3')

        assertFailedBeforeRunning("give either 'source' or 'registry', 'repository', 'image' and 'tag'")
    }

    @Test
    void 'a missing source fails the stage and says what to give'() {
        runStep([:])

        assertFailedBeforeRunning("the source image is missing: give 'source'")
    }

    @Test
    void 'an incomplete set of source parts fails the stage naming the missing ones'() {
        runStep(registry: '123456789012.dkr.ecr.eu-central-1.amazonaws.com', image: 'my-app')

        assertFailedBeforeRunning("missing: 'tag'")
    }

    // --- other arguments -------------------------------------------------------------------

    @Test
    void 'an unknown argument fails the stage naming it, before anything runs'() {
        runStep(source: SOURCE, dockerCredentialId: 'typo')

        assertFailedBeforeRunning("unknown argument 'dockerCredentialId'")
        assert failureMessage.contains('dockerCredentialsId'): 'the message lists the real names'
        assert agentFiles.isEmpty()
        assert credentialBindings.isEmpty()
    }

    @Test
    void 'an ifExists other than fail or skip-identical fails the stage naming it'() {
        runStep(source: SOURCE, ifExists: 'overwrite')

        assertFailedBeforeRunning("'ifExists' must be one of fail, skip-identical, not 'overwrite'")
    }

    @Test
    void 'a dryRun that is not true or false fails the stage naming it'() {
        jobParameters.dryRun = 'maybe'

        runStep(source: SOURCE)

        assertFailedBeforeRunning("'dryRun' must be true or false, not 'maybe' (from job parameter)")
    }

    @Test
    void 'a report outside the workspace fails the stage naming it'() {
        runStep(source: SOURCE, report: '../promotion.json')

        assertFailedBeforeRunning("'report' must be a file name relative to the workspace")
    }

    @Test
    void 'a report given as a wildcard pattern fails the stage naming it'() {
        runStep(source: SOURCE, report: 'reports/*.json')

        assertFailedBeforeRunning("without '..' or wildcards, not 'reports/*.json'")
    }

    @Test
    void 'the report is archived after a promotion'() {
        runStep(source: SOURCE, report: 'promotion-report.json')

        assert archivedArtifacts == [[artifacts: 'promotion-report.json', allowEmptyArchive: true]]
    }

    @Test
    void 'the report is archived also when the promotion fails'() {
        promoteExitStatus = 5

        runStep(source: SOURCE, report: 'promotion-report.json')

        assert buildResult == 'FAILURE'
        assert archivedArtifacts*.artifacts == ['promotion-report.json']
    }

    @Test
    void 'a report the command did not write is not archived'() {
        promoteExitStatus = 125
        promoteOutput = ''
        promoteWritesReport = false

        runStep(source: SOURCE, report: 'promotion-report.json')

        assert buildResult == 'FAILURE'
        assert archivedArtifacts.isEmpty()
    }

    @Test
    void 'the shell script deletes an earlier report before the command runs'() {
        runStep(source: SOURCE, report: 'promotion-report.json')
        String script = shellCalls[0].script

        int removal = script.indexOf('rm -f -- "$ECR_TO_DOCKER_REPORT"')
        assert removal > 0
        assert removal < script.indexOf('"$ECR_TO_DOCKER_LAUNCHER"')
        assert script.contains('if [[ -n "${ECR_TO_DOCKER_REPORT:-}" ]]'):
            'with no report asked for, nothing is deleted'
    }

    @Test
    void 'nothing is archived when no report is asked for'() {
        runStep(source: SOURCE)

        assert archivedArtifacts.isEmpty()
        assert promoteEnvironment.ECR_TO_DOCKER_REPORT == ''
    }

    // --- exit statuses ---------------------------------------------------------------------

    @Test
    void 'exit status 0 returns the destination and digest and writes them to the log'() {
        runStep(source: SOURCE)

        assert buildResult == 'SUCCESS'
        Map promotion = pipelineVariable('promotion')
        assert promotion.status == 'promoted'
        assert promotion.source == SOURCE
        assert promotion.destination == 'docker.io/acme/my-app:1.2.3'
        assert promotion.digest == DIGEST
        assert promotion.sourceDigest == DIGEST
        assert promotion.dryRun == false
        String logLine = echoes.last()
        assert logLine.startsWith('INFO: ')
        assert logLine.contains('docker.io/acme/my-app:1.2.3') && logLine.contains(DIGEST)
    }

    @Test
    void 'exit status 0 of a dry run returns what ecr-to-docker reported'() {
        promoteOutput = promotedJson(status: 'dry-run', destination_digest: null)

        runStep(source: SOURCE, dryRun: 'true')

        assert buildResult == 'SUCCESS'
        Map promotion = pipelineVariable('promotion')
        assert promotion.status == 'dry-run'
        assert promotion.dryRun == true
        assert promotion.digest == null: 'nothing was copied, so there is no digest on Docker Hub'
        assert promotion.sourceDigest == DIGEST
        assert echoes.last().contains("source digest ${DIGEST}, nothing copied")
    }

    @Test
    void 'exit status 0 without a JSON result fails the stage rather than return nothing'() {
        promoteOutput = ''

        runStep(source: SOURCE)

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('printed no JSON result')
    }

    @Test
    void 'exit status 3 fails the build saying the image already exists on Docker Hub'() {
        promoteExitStatus = 3
        promoteOutput = '{"status": "exists", "destination": "docker.io/acme/my-app:1.2.3",' +
            ' "error": "tag 1.2.3 already exists", "exit_code": 3}'

        runStep(source: SOURCE)

        assert buildResult == 'FAILURE'
        assert failureMessage.contains(
            'docker.io/acme/my-app:1.2.3 already exists on Docker Hub and was not overwritten')
        assert failureMessage.contains('tag 1.2.3 already exists')
        assert pipelineVariable('promotion') == null
    }

    @Test
    void 'exit status 3 says the tag was not written by this run, not that nothing was copied'() {
        // The tag can appear while the copy runs: the image is then on Docker Hub by digest.
        promoteExitStatus = 3
        promoteOutput = ''

        runStep(source: SOURCE)

        assert failureMessage.contains('already exists on Docker Hub and was not overwritten')
        assert failureMessage.contains("The tag was not written by this run (source ${SOURCE}).")
        assert !failureMessage.contains('Nothing was copied')
    }

    @Test
    void 'exit status 3 without a JSON result still names the image'() {
        promoteExitStatus = 3
        promoteOutput = ''

        runStep(source: SOURCE)

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('docker.io/<Docker Hub namespace>/my-app:1.2.3 already' +
            ' exists on Docker Hub and was not overwritten')
    }

    @Test
    void 'exit status 3 under skip-identical says the existing image differs'() {
        promoteExitStatus = 3
        promoteOutput = ''

        runStep(source: SOURCE, ifExists: 'skip-identical')

        assert failureMessage.contains('already exists on Docker Hub with a different digest')
    }

    @Test
    void 'exit status 2 fails the stage as invalid input'() {
        assertExitStatusFailsWith(2, 'invalid input or usage')
    }

    @Test
    void 'exit status 4 fails the stage as an authentication failure'() {
        assertExitStatusFailsWith(4, 'authentication or authorization failed')
    }

    @Test
    void 'exit status 5 fails the stage as a registry or network failure'() {
        assertExitStatusFailsWith(5, 'registry or network failure, or the source image does not exist')
    }

    @Test
    void 'exit status 6 fails the stage as a failed verification'() {
        assertExitStatusFailsWith(6, 'verification failed')
    }

    @Test
    void 'exit status 1 fails the stage as an unexpected error'() {
        assertExitStatusFailsWith(1, 'an unexpected error in ecr-to-docker')
    }

    @Test
    void 'exit status 125 fails the stage saying ecr-to-docker could not be set up'() {
        assertExitStatusFailsWith(125, 'ecr-to-docker could not be set up on the agent')
        assert failureMessage.contains('ECR_TO_DOCKER_PIP_SPEC')
    }

    @Test
    void 'exit status 127 fails the stage saying how to install crane'() {
        assertExitStatusFailsWith(127,
            'crane is not installed on the agent; install it with: go install' +
            ' github.com/google/go-containerregistry/cmd/crane@v0.20.3')
    }

    @Test
    void 'an exit status after a signal fails the stage naming the signal'() {
        assertExitStatusFailsWith(143, 'stopped by signal 15')
    }

    @Test
    void 'any other exit status fails the stage too'() {
        assertExitStatusFailsWith(42, 'an exit status that ecr-to-docker does not define')
    }

    @Test
    void 'a failure message carries what ecr-to-docker printed as its error'() {
        promoteExitStatus = 5
        promoteOutput = '{"status": "failed", "error": "source image not found in ECR"}'

        runStep(source: SOURCE)

        assert failureMessage.endsWith('ecr-to-docker says: source image not found in ECR')
    }

    private void assertExitStatusFailsWith(int exitStatus, String meaning) {
        promoteExitStatus = exitStatus
        promoteOutput = ''

        runStep(source: SOURCE)

        assert buildResult == 'FAILURE'
        assert failureMessage.startsWith('ecrToDocker: promoting ' + SOURCE)
        assert failureMessage.contains("failed with exit status ${exitStatus}: ${meaning}")
        assert pipelineVariable('promotion') == null
        assert !echoes.any { it.contains('INFO: ecrToDocker: promoted') }
    }

    private void assertFailedBeforeRunning(String messageFragment) {
        assert buildResult == 'FAILURE'
        assert failureMessage.startsWith('ecrToDocker: ')
        assert failureMessage.contains(messageFragment)
        assert shellCalls.isEmpty()
    }
}

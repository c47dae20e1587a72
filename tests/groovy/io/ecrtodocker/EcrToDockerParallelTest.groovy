package io.ecrtodocker

import groovy.json.JsonOutput
import io.ecrtodocker.test.LibraryPipelineTest
import org.junit.Test

/**
 * Two ecrToDocker calls in parallel branches of one build. The steps of parallel branches
 * interleave, so these tests run the second branch whole in the middle of the first one's `sh`:
 * before the first command reads its image list, or after it printed its result and before
 * the step reads it. Each command prints the result of what it really read.
 */
class EcrToDockerParallelTest extends LibraryPipelineTest {
    static final String ECR = '123456789012.dkr.ecr.eu-central-1.amazonaws.com/edp'
    static final String API = ECR + '/api:1.2.3'
    static final String WEB = ECR + '/web:1.2.3'
    static final String WORKER = ECR + '/worker:1.2.3'

    enum Interleaving { BEFORE_THE_COMMAND_RUNS, AFTER_THE_COMMAND_PRINTED }

    Interleaving interleaving
    /** The second branch, until it runs. */
    Closure secondBranch

    @Override
    protected void registerAgentSteps() {
        super.registerAgentSteps()
        helper.registerAllowedMethod('parallel', [Map]) { Map branches ->
            List<Closure> bodies = branches.values().toList()
            assert bodies.size() == 2
            secondBranch = bodies[1]
            bodies[0].call()
            runSecondBranch()
        }
    }

    private void runSecondBranch() {
        Closure branch = secondBranch
        secondBranch = null
        branch?.call()
    }

    @Override
    protected Object runShell(Map call) {
        if (interleaving == Interleaving.BEFORE_THE_COMMAND_RUNS) {
            runSecondBranch()
        }
        promoteOutput = outputOfWhatTheCommandReads()
        Object exitStatus = super.runShell(call)
        if (interleaving == Interleaving.AFTER_THE_COMMAND_PRINTED) {
            runSecondBranch()
        }
        return exitStatus
    }

    /** What ecr-to-docker prints for the source or the list file its environment names. */
    private String outputOfWhatTheCommandReads() {
        String listPath = environment.ECR_TO_DOCKER_FROM_FILE
        if (!listPath) {
            return JsonOutput.toJson(resultFor(environment.ECR_SOURCE_IMAGE as String))
        }
        assert agentFiles.containsKey(listPath): 'the image list was deleted before the command'
        List<String> sources = agentFiles[listPath].readLines().findAll { it }
        return JsonOutput.toJson(sources.collect { resultFor(it) })
    }

    private static Map resultFor(String source) {
        String nameAndTag = source.substring(source.lastIndexOf('/') + 1)
        return [status            : 'promoted', source: source, source_digest: DIGEST,
                destination       : 'docker.io/acme/' + nameAndTag,
                destination_digest: DIGEST, exit_code: 0]
    }

    private void runBranches(Map firstArguments, Map secondArguments) {
        runPipeline('parallelPromote',
            [firstArguments: firstArguments, secondArguments: secondArguments])
    }

    @Test
    void 'each branch reads its own result, also when the other wrote one in between'() {
        interleaving = Interleaving.AFTER_THE_COMMAND_PRINTED

        runBranches([source: API], [source: WEB])

        assert buildResult == 'SUCCESS'
        assert pipelineVariable('firstPromotion').source == API
        assert pipelineVariable('firstPromotion').destination == 'docker.io/acme/api:1.2.3'
        assert pipelineVariable('secondPromotion').source == WEB
    }

    @Test
    void 'each branch runs its own image list, also when the other wrote one in between'() {
        interleaving = Interleaving.BEFORE_THE_COMMAND_RUNS

        runBranches([images: [API, WORKER]], [images: [WEB]])

        assert buildResult == 'SUCCESS'
        assert pipelineVariable('firstPromotion')*.source == [API, WORKER]
        assert pipelineVariable('secondPromotion')*.source == [WEB]
    }

    @Test
    void 'a branch that ends first deletes none of the files the other branch still needs'() {
        interleaving = Interleaving.BEFORE_THE_COMMAND_RUNS

        runBranches([images: [API]], [source: WEB, report: 'web-report.json'])

        // The first command found its launcher and its list (runShell checks both) after the
        // second branch had finished and cleaned up.
        assert buildResult == 'SUCCESS'
        assert shellCalls.size() == 2
        assert shellCalls*.environment*.TMPDIR.unique().size() == 2
        assert deletedDirectories.size() == 2
        assert archivedArtifacts*.artifacts == ['web-report.json']
    }
}

package io.ecrtodocker

import io.ecrtodocker.test.FakeEdpJob
import io.ecrtodocker.test.FakeEdpPlatform
import io.ecrtodocker.test.LibraryPipelineTest
import org.junit.Test

/** The EDP stage adapter, run the way an EDP Build pipeline runs a stage: run(context). */
class EcrToDockerStageTest extends LibraryPipelineTest {
    static final String ECR_HOST = '093899590031.dkr.ecr.eu-central-1.amazonaws.com'

    FakeEdpPlatform platform = new FakeEdpPlatform([
        'edpcomponent/docker-registry/.spec.url'          : ECR_HOST,
        'edpcomponent/docker-registry/.metadata.namespace': 'edp-delivery',
    ])
    Map<String, Object> edpJobParameters = [
        dockerCredentialsId: 'dockerhub-account',
        repoCredentialsId  : 'dockerhub-namespace',
    ]

    Map edpContext() {
        return [
            codebase: [config: [name: 'my-app', build_tool: 'maven'], buildVersion: '1.2.3-SNAPSHOT.7'],
            job     : new FakeEdpJob(edpJobParameters),
            platform: platform,
            workDir : WORKSPACE + '/my-app',
        ]
    }

    @Test
    void 'the source is the codebase image in the docker-registry component at the build version'() {
        runPipeline('edpStage', [edpContext: edpContext()])

        assert buildResult == 'SUCCESS'
        assert promoteEnvironment.ECR_SOURCE_IMAGE ==
            ECR_HOST + '/edp-delivery/my-app:1.2.3-SNAPSHOT.7'
        assert platform.queries.contains(['edpcomponent', 'docker-registry', '.spec.url'])
        assert platform.queries.contains(['edpcomponent', 'docker-registry', '.metadata.namespace'])
    }

    @Test
    void 'the destination is the same image and tag under the Docker Hub namespace'() {
        runPipeline('edpStage', [edpContext: edpContext()])

        // ecr-to-docker derives docker.io/<namespace>/<image>:<tag> itself, because the
        // namespace is a secret that only the shell sees.
        assert promoteEnvironment.ECR_TO_DOCKER_DESTINATION == ''
        assert promoteEnvironment.DOCKERHUB_NAMESPACE == SECRET_NAMESPACE
        assert echoes.first().contains('to docker.io/<Docker Hub namespace>/my-app:1.2.3-SNAPSHOT.7')
        assert pipelineVariable('promotion').destination == 'docker.io/acme/my-app:1.2.3'
    }

    @Test
    void 'the credential IDs come from the EDP job parameters'() {
        runPipeline('edpStage', [edpContext: edpContext()])

        assert credentialBinding('usernamePassword').credentialsId == 'dockerhub-account'
        assert credentialBinding('string').credentialsId == 'dockerhub-namespace'
    }

    @Test
    void 'without credential job parameters the step defaults apply'() {
        edpJobParameters.clear()

        runPipeline('edpStage', [edpContext: edpContext()])

        assert credentialBinding('usernamePassword').credentialsId == 'dockerCredentialsId'
        assert credentialBinding('string').credentialsId == 'repoCredentialsID'
    }

    @Test
    void 'the step runs in the codebase work directory'() {
        runPipeline('edpStage', [edpContext: edpContext()])

        assert directories.first() == WORKSPACE + '/my-app'
        assert shellCalls[0].directory == WORKSPACE + '/my-app'
    }

    @Test
    void 'a docker-registry component without a URL fails the stage before anything runs'() {
        platform.values.remove('edpcomponent/docker-registry/.spec.url')

        runPipeline('edpStage', [edpContext: edpContext()])

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('the docker-registry EDP component has no URL')
        assert shellCalls.isEmpty()
    }

    @Test
    void 'an image that already exists on Docker Hub fails the EDP stage'() {
        promoteExitStatus = 3
        promoteOutput = ''

        runPipeline('edpStage', [edpContext: edpContext()])

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('my-app:1.2.3-SNAPSHOT.7 already exists on Docker Hub')
    }
}

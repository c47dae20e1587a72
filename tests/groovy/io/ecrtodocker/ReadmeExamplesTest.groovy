package io.ecrtodocker

import groovy.json.JsonOutput
import io.ecrtodocker.test.LibraryPipelineTest
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.Phases
import org.junit.Test

/**
 * The README's pipeline examples, run as they are written (but for the version the library is
 * pinned to, which the test's library registration does not know): what a reader copies works.
 */
class ReadmeExamplesTest extends LibraryPipelineTest {
    static final String EXAMPLES_FOLDER = 'build/readme-examples'

    final List<Map> awsBlocks = []

    @Override
    protected List<String> extraScriptRoots() {
        return [EXAMPLES_FOLDER]
    }

    @Override
    void setUp() throws Exception {
        File folder = new File(projectDirectory, EXAMPLES_FOLDER)
        folder.mkdirs()
        examples().each { String name, String text ->
            new File(folder, "${name}.jenkins").text =
                text.replace(pinnedLibrary(), "@Library('ecr-to-docker')")
        }
        super.setUp()
        helper.registerAllowedMethod('withAWS', [Map, Closure]) { Map options, Closure body ->
            awsBlocks << options
            body.call()
        }
    }

    /** The @Library line for the release tag of this library's version. */
    String pinnedLibrary() {
        String version =
            new File(projectDirectory, 'resources/io/ecrtodocker/version.txt').text.trim()
        return "@Library('ecr-to-docker@v${version}')"
    }

    /** The README's ```groovy blocks, named by what they show. */
    Map<String, String> examples() {
        String readme = new File(projectDirectory, 'README.md').text
        List<String> blocks = (readme =~ /(?s)```groovy\n(.*?)```/).collect { it[1] as String }
        return [
            declarative: blocks.find { it.contains('pipeline {') },
            scripted   : blocks.find { it.contains('withAWS(') },
            batch      : blocks.find { it.contains('images: [') },
        ]
    }

    @Test
    void 'every example is found, and each pins the version the library reports'() {
        examples().each { String name, String text ->
            assert text: "no ${name} example in the README"
            assert text.contains(pinnedLibrary()): name
        }
    }

    @Test
    void 'the declarative example is valid Groovy'() {
        // Declarative syntax is Jenkins' own; parsing it checks what a copy-paste can break.
        CompilationUnit unit = new CompilationUnit()
        unit.addSource('declarative.jenkins', examples().declarative)
        unit.compile(Phases.CONVERSION)
    }

    @Test
    void 'the scripted example promotes with its credentials, AWS block and pip spec'() {
        promoteOutput = promotedJson(destination: 'docker.io/acme/my-app:1.2.3')

        runPipeline('scripted')

        assert buildResult == 'SUCCESS': failureMessage
        assert credentialBinding('usernamePassword').credentialsId == 'acme-dockerhub'
        assert credentialBinding('string').credentialsId == 'acme-dockerhub-namespace'
        assert awsBlocks == [[credentials: 'ecr-pull', region: 'eu-central-1']]
        assert promoteEnvironment.ECR_TO_DOCKER_PIP_SPEC.startsWith('git+https://')
        assert promoteEnvironment.ECR_TO_DOCKER_IF_EXISTS == 'skip-identical'
        assert echoes.contains("Docker Hub has docker.io/acme/my-app:1.2.3 at ${DIGEST}".toString())
    }

    @Test
    void 'the batch example promotes every image it lists'() {
        jobParameters.VERSION = '2.0.0'
        String ecr = '123456789012.dkr.ecr.eu-central-1.amazonaws.com/team'
        List<Map> results = [
            "${ecr}/api:2.0.0", "${ecr}/worker:2.0.0", "${ecr}/web:2.0.0"].collect { source ->
            [status: 'promoted', source: source, source_digest: DIGEST, destination: 'docker.io/x',
             destination_digest: DIGEST, media_type: 'application/vnd.oci.image.index.v1+json',
             exit_code: 0]
        }
        promoteOutput = JsonOutput.toJson(results)

        runPipeline('batch')

        assert buildResult == 'SUCCESS': failureMessage
        assert imageListRun == "${ecr}/api:2.0.0\n${ecr}/worker:2.0.0\n" +
            "${ecr}/web:2.0.0 docker.io/acme/web-frontend:2.0.0\n"
        assert promoteEnvironment.ECR_TO_DOCKER_JOBS == '2'
        assert echoes.count { it.startsWith('Docker Hub has ') } == 3
    }
}

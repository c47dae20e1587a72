package io.ecrtodocker

import groovy.json.JsonOutput
import io.ecrtodocker.test.LibraryPipelineTest
import org.junit.Test

/** The ecrToDocker step given a list of images with `images`, and what stays as it was without. */
class EcrToDockerImagesTest extends LibraryPipelineTest {
    static final String ECR = '123456789012.dkr.ecr.eu-central-1.amazonaws.com/edp'
    static final String API = ECR + '/api:1.2.3'
    static final String WORKER = ECR + '/worker:1.2.3'
    static final String WEB = ECR + '/web:1.2.3'
    static final String OTHER_DIGEST = 'sha256:' + ('cd' * 32)
    static final String IMAGE_LIST_NAME = 'ecr-to-docker-images.txt'
    static final Map DRY_RUN = [status: 'dry-run', destination_digest: null]

    /** The script a single source has always run; a list must not change it. */
    static final String SINGLE_SOURCE_SCRIPT = '''#!/usr/bin/env bash
set -euo pipefail
if [[ -n "${ECR_TO_DOCKER_REPORT:-}" ]] && ! rm -f -- "$ECR_TO_DOCKER_REPORT"; then
    exit 2
fi
exec bash "$ECR_TO_DOCKER_LAUNCHER" promote "$ECR_SOURCE_IMAGE" >"$ECR_TO_DOCKER_RESULT"
'''

    /** One image's object in ecr-to-docker's JSON array. */
    static Map imageResult(String source, String destination, Map overrides = [:]) {
        return [
            status            : 'promoted',
            source            : source,
            source_digest     : DIGEST,
            destination       : destination,
            destination_digest: DIGEST,
            media_type        : 'application/vnd.oci.image.index.v1+json',
            exit_code         : 0,
        ] + overrides
    }

    static String listJson(Map... images) {
        return JsonOutput.toJson(images as List)
    }

    // --- the list file and the environment -------------------------------------------------

    @Test
    void 'sources go to the list file one per line, and ECR_TO_DOCKER_FROM_FILE names it'() {
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WORKER, 'docker.io/acme/worker:1.2.3'))

        runStep(images: [API, WORKER])

        assert buildResult == 'SUCCESS'
        assert imageListRun == "${API}\n${WORKER}\n"
        assert promoteEnvironment.ECR_TO_DOCKER_FROM_FILE.startsWith(TEMPORARY_DIRECTORY + '/')
        assert promoteEnvironment.ECR_TO_DOCKER_FROM_FILE.endsWith('/' + IMAGE_LIST_NAME)
    }

    @Test
    void 'a map puts its destination on the same line, a map without one gets the default'() {
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WEB, 'docker.io/acme/web-frontend:1.2.3'),
            imageResult(WORKER, 'docker.io/acme/worker:1.2.3'))

        runStep(images: [API, [source: WEB, destination: 'docker.io/acme/web-frontend:1.2.3'],
                         [source: WORKER]])

        assert buildResult == 'SUCCESS'
        assert imageListRun ==
            "${API}\n${WEB} docker.io/acme/web-frontend:1.2.3\n${WORKER}\n"
    }

    @Test
    void 'items built as GStrings are written like plain strings'() {
        String version = '1.2.3'
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WEB, 'docker.io/acme/web:1.2.3'))

        runStep(images: ["${ECR}/api:${version}", [source: "${ECR}/web:${version}",
                                                    destination: "docker.io/acme/web:${version}"]])

        assert buildResult == 'SUCCESS'
        assert imageListRun == "${API}\n${WEB} docker.io/acme/web:1.2.3\n"
    }

    @Test
    void 'the script for a list is a constant that holds no image, path or secret'() {
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))

        runStep(images: [[source: API, destination: 'docker.io/acme/renamed:1.2.3']])
        String script = shellCalls[0].script

        assert shellCalls[0].returnStatus == true
        assert script.startsWith('#!/usr/bin/env bash\n')
        assert script.contains('\nset -euo pipefail\n')
        assert script.contains(
            'exec bash "$ECR_TO_DOCKER_LAUNCHER" promote >"$ECR_TO_DOCKER_RESULT"')
        assert !script.contains('$ECR_SOURCE_IMAGE'): 'a list names no single source'
        [API, 'renamed', TEMPORARY_DIRECTORY, IMAGE_LIST_NAME].each {
            assert !script.contains(it)
        }
        assert !(script =~ /set\s+-[a-z]*x/)
        assert !script.contains('|')
    }

    @Test
    void 'a list passes no single source or destination, so ecr-to-docker reads only the file'() {
        environment.ECR_TO_DOCKER_DESTINATION = 'docker.io/elsewhere/other:9'
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))

        runStep(images: [API])

        assert promoteEnvironment.ECR_SOURCE_IMAGE == ''
        assert promoteEnvironment.ECR_TO_DOCKER_DESTINATION == ''
        assert !echoes.any { it.contains('elsewhere') }
    }

    @Test
    void 'the list file is written beside the launcher, before the command runs'() {
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))

        runStep(images: [API])

        Map<String, String> filesBefore = shellCalls[0].filesBefore
        String launcher = promoteEnvironment.ECR_TO_DOCKER_LAUNCHER
        String imageList = promoteEnvironment.ECR_TO_DOCKER_FROM_FILE
        assert filesBefore.containsKey(launcher)
        assert filesBefore[imageList] == "${API}\n"
        assert imageList == launcher.replaceFirst('[^/]+$', IMAGE_LIST_NAME)
        assert imageList.startsWith(TEMPORARY_DIRECTORY + '/')
        assert !writtenFiles.keySet().any { it.startsWith(WORKSPACE + '/') }
    }

    @Test
    void 'no secret value appears anywhere visible when promoting a list'() {
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))
        runStep(images: [API], report: 'promotion.json')
        promoteExitStatus = 4
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3',
            [status: 'failed', exit_code: 4, error: 'Docker Hub refused the credentials']))
        runStep(images: [API, WORKER])

        assert failureMessage
        (everythingVisible + agentFiles.values()).each { String text ->
            SECRET_VALUES.each { String secret -> assert !text.contains(secret) }
        }
    }

    // --- jobs ------------------------------------------------------------------------------

    @Test
    void 'jobs is passed to ecr-to-docker as ECR_TO_DOCKER_JOBS'() {
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WORKER, 'docker.io/acme/worker:1.2.3'))

        runStep(images: [API, WORKER], jobs: 2)

        assert promoteEnvironment.ECR_TO_DOCKER_JOBS == '2'
        assert echoes.any { it.contains('promoting 2 images, copying up to 2 at a time') }
    }

    @Test
    void 'jobs defaults to 4 and overrides a stray ECR_TO_DOCKER_JOBS'() {
        environment.ECR_TO_DOCKER_JOBS = '32'
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))

        runStep(images: [API])

        assert promoteEnvironment.ECR_TO_DOCKER_JOBS == '4'
    }

    @Test
    void 'jobs comes from a job parameter like the other arguments'() {
        jobParameters.jobs = '8'
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))

        runStep(images: [API])

        assert promoteEnvironment.ECR_TO_DOCKER_JOBS == '8'
    }

    @Test
    void 'a jobs value that is not a whole number of at least 1 fails the stage naming it'() {
        runStep(images: [API], jobs: 0)
        assertFailedBeforeRunning("'jobs' must be a whole number of at least 1, not '0'")

        jobParameters.jobs = 'many'
        runStep(images: [API])
        assertFailedBeforeRunning("not 'many' (from job parameter)")
    }

    // --- conflicts and bad items -----------------------------------------------------------

    @Test
    void 'images and source in the same call fail the stage naming the conflict'() {
        runStep(images: [API], source: SOURCE)

        assertFailedBeforeRunning("give either 'images' or 'source', not both")
        assert agentFiles.isEmpty()
        assert credentialBindings.isEmpty()
    }

    @Test
    void 'images with a destination or the source parts in the same call name each conflict'() {
        runStep(images: [API], destination: 'docker.io/acme/api:1.2.3')
        assertFailedBeforeRunning("give either 'images' or 'destination', not both")
        assert failureMessage.contains('[source: ..., destination: ...]'):
            'the message says where per-image destinations go'

        runStep(images: [API], registry: 'r.example', image: 'api', tag: '1')
        assertFailedBeforeRunning("give either 'images' or 'registry', 'image', 'tag', not both")
    }

    @Test
    void 'images in the call win over a source and destination from job parameters'() {
        jobParameters.source = SOURCE
        jobParameters.destination = 'docker.io/acme/elsewhere:1'
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3'))

        runStep(images: [API])

        assert buildResult == 'SUCCESS'
        assert promoteEnvironment.ECR_SOURCE_IMAGE == ''
        assert promoteEnvironment.ECR_TO_DOCKER_DESTINATION == ''
        assert imageListRun == "${API}\n"
    }

    @Test
    void 'images is never taken from a job parameter or an environment variable'() {
        jobParameters.images = "${API} ${WORKER}"
        environment.images = 'not a list'

        runStep(source: SOURCE)

        assert buildResult == 'SUCCESS'
        assert promoteEnvironment.ECR_SOURCE_IMAGE == SOURCE
        assert promoteEnvironment.ECR_TO_DOCKER_FROM_FILE == ''
    }

    @Test
    void 'an empty list fails the stage'() {
        runStep(images: [])

        assertFailedBeforeRunning("'images' is an empty list")
    }

    @Test
    void 'images given as null fails the stage rather than promote a source from job parameters'() {
        jobParameters.source = SOURCE

        runStep(images: null)

        assertFailedBeforeRunning("'images' is given but null: pass a non-empty list of sources" +
            " or of [source: ..., destination: ...] maps")
        assert failureMessage.contains("or leave 'images' out of the call")
    }

    @Test
    void 'images given as a blank string fails the stage rather than promote a source from env'() {
        environment.source = SOURCE

        runStep(images: '  ')

        assertFailedBeforeRunning("'images' is given but blank: pass a non-empty list")
    }

    @Test
    void 'images given as null fails the stage even beside a source in the call'() {
        runStep(images: null, source: SOURCE)

        assertFailedBeforeRunning("'images' is given but null")
    }

    @Test
    void 'images given as a map fails the stage rather than promote a source from parameters'() {
        jobParameters.source = SOURCE

        runStep(images: [source: API])

        assertFailedBeforeRunning("'images' must be a list of sources or of [source: ...," +
            " destination: ...] maps, not LinkedHashMap")
    }

    @Test
    void 'images that is not a list fails the stage'() {
        runStep(images: API)

        assertFailedBeforeRunning("'images' must be a list of sources or of [source: ...," +
            " destination: ...] maps, not String")
    }

    @Test
    void 'an item with whitespace fails the stage naming its index'() {
        runStep(images: [API, "${WORKER} docker.io/acme/worker:1.2.3"])

        assertFailedBeforeRunning('images[1] must be a single word, without whitespace')
    }

    @Test
    void 'an item with a line break fails the stage naming its index'() {
        runStep(images: [API, [source: WORKER, destination: "docker.io/acme/a:1\n${WEB}"]])

        assertFailedBeforeRunning('images[1].destination must be a single word')
        assert failureMessage.contains('\\n'): 'the value is shown with its line break escaped'
    }

    @Test
    void 'an item with a Unicode line separator or a tab fails the stage too'() {
        runStep(images: [API + '\u2028' + WEB])
        assertFailedBeforeRunning('images[0] must be a single word')

        runStep(images: [API, WEB, [source: "${WORKER}\tx"]])
        assertFailedBeforeRunning('images[2].source must be a single word')
    }

    @Test
    void 'an item with a hash sign fails the stage naming its index'() {
        runStep(images: [API, WEB, WORKER + '#latest'])

        assertFailedBeforeRunning("images[2] must not contain '#'")
    }

    @Test
    void 'an item that is neither a string nor a map fails the stage naming its index and type'() {
        runStep(images: [API, 42])

        assertFailedBeforeRunning('images[1] must be a source string or a [source: ...,' +
            ' destination: ...] map, not Integer')
    }

    @Test
    void 'a map item with a non-string value, no source or an unknown key fails the stage'() {
        runStep(images: [[source: 42]])
        assertFailedBeforeRunning('images[0].source must be a string, not Integer')

        runStep(images: [API, [destination: 'docker.io/acme/api:1.2.3']])
        assertFailedBeforeRunning('images[1].source is missing or blank')

        runStep(images: [[source: API, tag: 'latest']])
        assertFailedBeforeRunning("images[0] has unknown keys 'tag'")
    }

    @Test
    void 'a blank string item fails the stage naming its index'() {
        runStep(images: [API, '  '])

        assertFailedBeforeRunning('images[1] is missing or blank')
    }

    // --- results ---------------------------------------------------------------------------

    @Test
    void 'exit status 0 returns a list of results in the order given and logs each image'() {
        promoteOutput = listJson(
            imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WEB, 'docker.io/acme/web:1.2.3',
                [status: 'identical', destination_digest: OTHER_DIGEST]))

        runStep(images: [API, WEB], ifExists: 'skip-identical')

        assert buildResult == 'SUCCESS'
        List<Map> promotions = pipelineVariable('promotion')
        assert promotions.size() == 2
        assert promotions[0] == [status: 'promoted', source: API, sourceDigest: DIGEST,
                                 destination: 'docker.io/acme/api:1.2.3', digest: DIGEST,
                                 mediaType: 'application/vnd.oci.image.index.v1+json',
                                 dryRun: false]
        assert promotions[1].status == 'identical'
        assert promotions[1].digest == OTHER_DIGEST
        List<String> info = echoes.findAll { it.startsWith('INFO: ecrToDocker: ') }
        assert info.any {
            it.contains("promoted: ${API} -> docker.io/acme/api:1.2.3 (digest ${DIGEST})")
        }
        assert info.any { it.contains("identical: ${WEB} -> docker.io/acme/web:1.2.3") }
        assert echoes.last() ==
            'INFO: ecrToDocker: summary: 1 promoted, 1 identical, 0 refused, 0 failed'
    }

    @Test
    void 'exit status 0 of a dry run of a list returns what ecr-to-docker reported'() {
        promoteOutput = listJson(
            imageResult(API, 'docker.io/acme/api:1.2.3', DRY_RUN),
            imageResult(WEB, 'docker.io/acme/web:1.2.3', DRY_RUN))

        runStep(images: [API, WEB], dryRun: true)

        List<Map> promotions = pipelineVariable('promotion')
        assert promotions*.status == ['dry-run', 'dry-run']
        assert promotions*.dryRun == [true, true]
        assert promotions*.digest == [null, null]
        assert promotions*.sourceDigest == [DIGEST, DIGEST]
        assert echoes.last().endsWith('0 failed, 2 dry runs')
    }

    @Test
    void 'exit status 0 without a JSON list fails the stage rather than return a partial answer'() {
        promoteOutput = promotedJson()

        runStep(images: [API, WEB])

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('exited 0 but printed no JSON list for the 2 images')
        assert pipelineVariable('promotion') == null
    }

    @Test
    void 'exit status 3 with one image refused fails the build naming that image'() {
        promoteExitStatus = 3
        promoteOutput = listJson(
            imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WEB, 'docker.io/acme/web:1.2.3', [status: 'refused', exit_code: 3,
                destination_digest: null, error: 'docker.io/acme/web:1.2.3 already exists']))

        runStep(images: [API, WEB])

        assert buildResult == 'FAILURE'
        assert failureMessage.startsWith('ecrToDocker: promoting 2 images failed with exit' +
            ' status 3: at least one destination tag already exists on Docker Hub and was not' +
            ' overwritten')
        assert failureMessage.contains('docker.io/acme/web:1.2.3 already exists on Docker Hub' +
            " and was not overwritten (source ${WEB})")
        assert !failureMessage.contains('docker.io/acme/api:1.2.3 already exists')
        assert failureMessage.contains(
            '1 of 2 images are on Docker Hub: docker.io/acme/api:1.2.3 (promoted)')
        assert pipelineVariable('promotion') == null
        assert !echoes.any { it.contains('summary:') }
    }

    @Test
    void 'exit status 3 under skip-identical says the refused image differs'() {
        promoteExitStatus = 3
        promoteOutput = listJson(imageResult(WEB, 'docker.io/acme/web:1.2.3',
            [status: 'refused', exit_code: 3]))

        runStep(images: [WEB], ifExists: 'skip-identical')

        assert failureMessage.contains('docker.io/acme/web:1.2.3 already exists on Docker Hub' +
            ' with a different digest and was not overwritten')
        assert failureMessage.endsWith('None of the images are on Docker Hub.')
    }

    @Test
    void 'a failed dry run of a list says which images passed it, not that they are published'() {
        promoteExitStatus = 3
        promoteOutput = listJson(
            imageResult(API, 'docker.io/acme/api:1.2.3', [status: 'dry-run']),
            imageResult(WEB, 'docker.io/acme/web:1.2.3', [status: 'refused', exit_code: 3]))

        runStep(images: [API, WEB], dryRun: true)

        assert failureMessage.contains('docker.io/acme/web:1.2.3 already exists on Docker Hub')
        assert failureMessage.endsWith(
            '1 of 2 images passed the dry run: docker.io/acme/api:1.2.3 (dry-run)')
        assert !failureMessage.contains('are on Docker Hub')
    }

    @Test
    void 'exit status 5 of a mixed list lists every failure with its error and every refusal'() {
        promoteExitStatus = 5
        promoteOutput = listJson(
            imageResult(API, 'docker.io/acme/api:1.2.3'),
            imageResult(WORKER, 'docker.io/acme/worker:1.2.3', [status: 'failed', exit_code: 5,
                destination_digest: null, error: 'source image not found in ECR']),
            imageResult(WEB, 'docker.io/acme/web:1.2.3', [status: 'refused', exit_code: 3]))

        runStep(images: [API, WORKER, WEB])

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('promoting 3 images failed with exit status 5: at least' +
            ' one image failed; the most severe failure: registry or network failure, or the' +
            ' source image does not exist')
        assert failureMessage.contains("\n  - ${WORKER} -> docker.io/acme/worker:1.2.3: failed" +
            ' (exit status 5): source image not found in ECR')
        assert failureMessage.contains('\n  - docker.io/acme/web:1.2.3 already exists on Docker' +
            ' Hub and was not overwritten')
        assert failureMessage.contains('1 of 3 images are on Docker Hub')
        assert !failureMessage.contains("${API} ->"): 'a promoted image is not listed as a problem'
    }

    @Test
    void 'exit status 2 before any image ran says nothing was promoted and why'() {
        promoteExitStatus = 2
        promoteOutput = '{"status": "invalid", "exit_code": 2,' +
            ' "error": "line 2 of the list: SOURCE is not an image reference"}'

        runStep(images: [API, WEB])

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('promoting 2 images failed with exit status 2: invalid' +
            ' input or usage: an image or argument was rejected before anything was sent to a' +
            ' registry, so no image was promoted')
        assert failureMessage.endsWith(
            'ecr-to-docker says: line 2 of the list: SOURCE is not an image reference')
    }

    @Test
    void 'a launcher failure for a list keeps its own meaning'() {
        promoteExitStatus = 127
        promoteOutput = ''

        runStep(images: [API, WEB])

        assert failureMessage.contains('failed with exit status 127: crane is not installed')
    }

    @Test
    void 'the report of a list is archived also when an image fails'() {
        promoteExitStatus = 5
        promoteOutput = listJson(imageResult(API, 'docker.io/acme/api:1.2.3',
            [status: 'failed', exit_code: 5, error: 'timeout']))

        runStep(images: [API], report: 'promotion-report.json')

        assert buildResult == 'FAILURE'
        assert archivedArtifacts == [[artifacts: 'promotion-report.json', allowEmptyArchive: true]]
        assert promoteEnvironment.ECR_TO_DOCKER_REPORT == 'promotion-report.json'
    }

    // --- a single source stays as it was ---------------------------------------------------

    @Test
    void 'a single source runs exactly the script it always ran and writes no list file'() {
        runStep(source: SOURCE)

        assert shellCalls[0].script == SINGLE_SOURCE_SCRIPT
        assert !writtenFiles.keySet().any { it.endsWith(IMAGE_LIST_NAME) }
        assert pipelineVariable('promotion') instanceof Map
    }

    @Test
    void 'a stray ECR_TO_DOCKER_FROM_FILE cannot turn a single source into a list'() {
        environment.ECR_TO_DOCKER_FROM_FILE = '/somewhere/images.txt'

        runStep(source: SOURCE)

        assert buildResult == 'SUCCESS'
        assert promoteEnvironment.ECR_TO_DOCKER_FROM_FILE == ''
        assert promoteEnvironment.ECR_SOURCE_IMAGE == SOURCE
    }

    private void assertFailedBeforeRunning(String messageFragment) {
        assert buildResult == 'FAILURE'
        assert failureMessage.startsWith('ecrToDocker: ')
        assert failureMessage.contains(messageFragment)
        assert shellCalls.isEmpty()
        assert writtenFiles.isEmpty()
    }
}

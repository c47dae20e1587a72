package io.ecrtodocker.test

import com.lesfurets.jenkins.unit.BasePipelineTest
import com.lesfurets.jenkins.unit.global.lib.LibraryConfiguration
import org.junit.Before

/**
 * Runs small pipelines from tests/groovy/pipelines that load this library with @Library, as
 * Jenkins would, on a pretend agent: the steps the library uses are recorded, `sh` runs only
 * the one command the library is expected to run and fails the test on any other.
 */
abstract class LibraryPipelineTest extends BasePipelineTest {
    public static final String LIBRARY_NAME = 'ecr-to-docker'
    public static final String WORKSPACE = '/agent/workspace/app-build'
    public static final String TEMPORARY_DIRECTORY = WORKSPACE + '@tmp'
    public static final String PROMOTE_COMMAND = 'bash "$ECR_TO_DOCKER_LAUNCHER" promote'

    // What the credentials hold; none of these may ever show up in a script or in the log.
    public static final String SECRET_USERNAME = 'robot-user-7f3a'
    public static final String SECRET_PASSWORD = 'dckr_pat_S3cr3t-Pa55w0rd'
    public static final String SECRET_NAMESPACE = 'acme-namespace-9c1d'
    public static final List<String> SECRET_VALUES =
        [SECRET_USERNAME, SECRET_PASSWORD, SECRET_NAMESPACE]

    public static final String SOURCE =
        '123456789012.dkr.ecr.eu-central-1.amazonaws.com/edp/my-app:1.2.3'
    public static final String DIGEST = 'sha256:' + ('ab' * 32)

    final File projectDirectory = ProjectDirectorySource.projectDirectory()

    /** The build's `env` and `params`. */
    final Map<String, Object> environment = [:]
    final Map<String, Object> jobParameters = [:]
    /** Files on the pretend agent, by path (absolute, or relative to the workspace). */
    final Map<String, String> agentFiles = [:]
    /** Every file the library wrote with writeFile, by path, kept after it deleted them. */
    final Map<String, String> writtenFiles = [:]
    /** The directories deleteDir deleted, in order. */
    final List<String> deletedDirectories = []

    final List<Map> shellCalls = []
    final List<String> echoes = []
    final List<List<String>> environmentBlocks = []
    final List<Map> credentialBindings = []
    final List<Map> archivedArtifacts = []
    final List<String> directories = []
    /** The `dir` blocks the pipeline is in, innermost last. */
    final List<String> currentDirectories = []

    /** What the pretend `ecr-to-docker promote` exits with and prints on stdout. */
    int promoteExitStatus = 0
    String promoteOutput = promotedJson()
    /** Whether the pretend command writes the report the step asked for, as the real one does. */
    boolean promoteWritesReport = true

    /** Set when the pipeline failed the build through `error`. */
    String failureMessage

    @Override
    @Before
    void setUp() throws Exception {
        baseScriptRoot = projectDirectory.path
        scriptRoots = (['tests/groovy/pipelines'] + extraScriptRoots()) as String[]
        scriptExtension = 'jenkins'
        super.setUp()

        helper.registerSharedLibrary(new LibraryConfiguration(
            name: LIBRARY_NAME,
            defaultVersion: 'working-tree',
            allowOverride: false,
            implicit: false,
            targetPath: 'unused',
            retriever: new ProjectDirectorySource(projectDirectory)))

        binding.setVariable('env', environment)
        binding.setVariable('params', jobParameters)
        binding.setVariable('currentBuild', [result: null, currentResult: 'SUCCESS'])
        registerAgentSteps()
    }

    protected void registerAgentSteps() {
        helper.registerAllowedMethod('sh', [Map]) { Map call -> runShell(call) }
        helper.registerAllowedMethod('sh', [String]) { String script -> runShell([script: script]) }
        helper.registerAllowedMethod('echo', [String]) { String message -> echoes << message }
        helper.registerAllowedMethod('error', [String]) { String message ->
            throw new PipelineFailure(message)
        }
        helper.registerAllowedMethod('pwd', [Map]) { Map options ->
            options?.tmp ? TEMPORARY_DIRECTORY : WORKSPACE
        }
        helper.registerAllowedMethod('pwd', []) { -> WORKSPACE }
        helper.registerAllowedMethod('dir', [String, Closure]) { String path, Closure body ->
            directories << path
            currentDirectories << path
            try {
                return body.call()
            } finally {
                currentDirectories.remove(currentDirectories.size() - 1)
            }
        }
        helper.registerAllowedMethod('deleteDir', []) { -> deleteCurrentDirectory() }
        helper.registerAllowedMethod('writeFile', [Map]) { Map call ->
            agentFiles[call.file as String] = call.text as String
            writtenFiles[call.file as String] = call.text as String
        }
        helper.registerAllowedMethod('readFile', [Map]) { Map call -> readAgentFile(call.file) }
        helper.registerAllowedMethod('readFile', [String]) { String path -> readAgentFile(path) }
        helper.registerAllowedMethod('fileExists', [String]) { String path ->
            agentFiles.containsKey(path)
        }
        helper.registerAllowedMethod('archiveArtifacts', [Map]) { Map call ->
            archivedArtifacts << call
        }
        helper.registerAllowedMethod('withEnv', [List, Closure]) { List entries, Closure body ->
            withEnvironment(entries*.toString(), body)
        }
        helper.registerAllowedMethod('usernamePassword', [Map]) { Map call ->
            [binding: 'usernamePassword'] + call
        }
        helper.registerAllowedMethod('string', [Map]) { Map call -> [binding: 'string'] + call }
        helper.registerAllowedMethod('withCredentials', [List, Closure]) {
            List bindings, Closure body -> withSecrets(bindings, body)
        }
    }

    /** More folders of pipelines, relative to the project directory. */
    protected List<String> extraScriptRoots() {
        return []
    }

    /** Runs tests/groovy/pipelines/NAME.jenkins; `error` makes the build FAILURE, as in Jenkins. */
    protected void runPipeline(String name, Map<String, Object> variables = [:]) {
        variables.each { String variable, value -> binding.setVariable(variable, value) }
        Script pipeline = loadScript("${name}.jenkins")
        try {
            runScript(pipeline)
            binding.getVariable('currentBuild').result = 'SUCCESS'
        } catch (PipelineFailure failure) {
            failureMessage = failure.message
            binding.getVariable('currentBuild').result = 'FAILURE'
        }
    }

    protected void runStep(Map<String, Object> stepArguments) {
        runPipeline('promote', [stepArguments: stepArguments])
    }

    protected String getBuildResult() {
        return binding.getVariable('currentBuild').result
    }

    /** A variable the pipeline set, or null when it never got that far. */
    protected Object pipelineVariable(String name) {
        return binding.hasVariable(name) ? binding.getVariable(name) : null
    }

    /** The environment the promote command ran with, secrets included. */
    protected Map<String, Object> getPromoteEnvironment() {
        assert shellCalls.size() == 1: "expected one sh call, got ${shellCalls.size()}"
        return shellCalls[0].environment as Map<String, Object>
    }

    protected Map credentialBinding(String type) {
        List<Map> found = credentialBindings.findAll { it.binding == type }
        assert found.size() == 1: "expected one ${type} binding, got ${credentialBindings}"
        return found[0]
    }

    /** Everything the library wrote where a person or another process could read it. */
    protected List<String> getEverythingVisible() {
        List<String> visible = []
        visible.addAll(shellCalls.collect { it.script as String })
        visible.addAll(echoes)
        visible.addAll(environmentBlocks.flatten()*.toString())
        visible.addAll(agentFiles.keySet())
        visible.addAll(writtenFiles.keySet())
        if (failureMessage) {
            visible << failureMessage
        }
        return visible
    }

    static String promotedJson(Map overrides = [:]) {
        Map result = [
            status            : 'promoted',
            source            : SOURCE,
            source_digest     : DIGEST,
            destination       : 'docker.io/acme/my-app:1.2.3',
            destination_digest: DIGEST,
            media_type        : 'application/vnd.oci.image.index.v1+json',
        ] + overrides
        return groovy.json.JsonOutput.toJson(result)
    }

    protected Object runShell(Map call) {
        String script = call.script as String
        shellCalls << [script: script, returnStatus: call.returnStatus,
                       environment: new LinkedHashMap<String, Object>(environment),
                       directory: currentDirectories ? currentDirectories.last() : WORKSPACE,
                       filesBefore: new LinkedHashMap<String, String>(agentFiles)]
        if (!script.contains(PROMOTE_COMMAND)) {
            throw new AssertionError((Object) "unexpected sh command:\n${script}".toString())
        }
        assert agentFiles.containsKey(environment.ECR_TO_DOCKER_LAUNCHER):
            'the launcher must be written before it is run'
        agentFiles[environment.ECR_TO_DOCKER_RESULT as String] = promoteOutput ?: ''
        String report = environment.ECR_TO_DOCKER_REPORT
        if (report && promoteWritesReport) {
            agentFiles[report] = promoteOutput ?: '{}'
        }
        if (call.returnStatus) {
            return promoteExitStatus
        }
        if (promoteExitStatus != 0) {
            throw new PipelineFailure("script returned exit code ${promoteExitStatus}")
        }
        return null
    }

    /** The file a list of images was written to for the command, as the command saw it. */
    protected String getImageListRun() {
        String path = promoteEnvironment.ECR_TO_DOCKER_FROM_FILE
        assert path: 'the command was given no image list'
        return writtenFiles[path]
    }

    /** deleteDir: only ever inside a `dir` block here, as deleting the workspace is not wanted. */
    protected void deleteCurrentDirectory() {
        assert currentDirectories: 'deleteDir outside a dir block deletes the workspace'
        String directory = currentDirectories.last()
        deletedDirectories << directory
        agentFiles.keySet().removeAll { String path ->
            path == directory || path.startsWith(directory + '/')
        }
    }

    protected String readAgentFile(path) {
        if (!agentFiles.containsKey(path as String)) {
            throw new AssertionError((Object) "readFile of a missing file: ${path}".toString())
        }
        return agentFiles[path as String]
    }

    protected Object withEnvironment(List<String> entries, Closure body) {
        environmentBlocks << entries
        Map<String, Object> saved = new LinkedHashMap<String, Object>(environment)
        entries.each { String entry ->
            int equals = entry.indexOf('=')
            environment[entry.substring(0, equals)] = entry.substring(equals + 1)
        }
        try {
            return body.call()
        } finally {
            environment.clear()
            environment.putAll(saved)
        }
    }

    protected Object withSecrets(List bindings, Closure body) {
        Map<String, Object> saved = new LinkedHashMap<String, Object>(environment)
        bindings.each { Map secretBinding ->
            credentialBindings << secretBinding
            if (secretBinding.binding == 'usernamePassword') {
                environment[secretBinding.usernameVariable as String] = SECRET_USERNAME
                environment[secretBinding.passwordVariable as String] = SECRET_PASSWORD
            } else {
                environment[secretBinding.variable as String] = SECRET_NAMESPACE
            }
        }
        try {
            return body.call()
        } finally {
            environment.clear()
            environment.putAll(saved)
        }
    }
}

package io.ecrtodocker

import io.ecrtodocker.test.LibraryPipelineTest
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * The step's constant shell scripts, run for real by bash in a real workspace, with a stand-in
 * launcher: what they do to a report that an earlier build left there.
 */
class PromoteScriptTest extends LibraryPipelineTest {
    static final String REPORT = 'promotion-report.json'
    static final String EARLIER_REPORT = '{"status": "promoted", "run": "the previous build"}'
    static final String THIS_REPORT = '{"status": "promoted", "run": "this build"}'

    /** Stops as the launcher does when ecr-to-docker cannot be installed: no report. */
    static final String LAUNCHER_THAT_CANNOT_INSTALL = '''
echo ran >launcher-ran
echo 'ecr-to-docker launcher: ERROR: pip could not install the package' >&2
exit 125
'''
    /** Writes its report and prints its result, as ecr-to-docker does. */
    static final String LAUNCHER_THAT_PROMOTES = '''
echo ran >launcher-ran
printf '%s' "$THIS_REPORT" >"$ECR_TO_DOCKER_REPORT"
printf '%s' "$THIS_RESULT"
'''

    @Rule
    public TemporaryFolder temporary = new TemporaryFolder()

    File workspace
    String launcherText = LAUNCHER_THAT_PROMOTES

    @Before
    void createWorkspace() {
        workspace = temporary.newFolder('workspace')
        // Relative paths are the workspace's; the step's own files stay pretend.
        helper.registerAllowedMethod('fileExists', [String]) { String path ->
            path.startsWith('/') ? agentFiles.containsKey(path) : new File(workspace, path).exists()
        }
    }

    @Override
    protected Object runShell(Map call) {
        String script = call.script as String
        assert script.contains(PROMOTE_COMMAND)
        shellCalls << [script: script, environment: new LinkedHashMap<String, Object>(environment)]
        File scriptFile = temporary.newFile()
        scriptFile.text = script
        File launcher = temporary.newFile()
        launcher.text = launcherText
        File result = new File(temporary.root, "result-${shellCalls.size()}.json")

        ProcessBuilder builder = new ProcessBuilder('bash', scriptFile.path)
            .directory(workspace).redirectErrorStream(true)
        Map<String, String> processEnvironment = builder.environment()
        environment.each { name, value -> processEnvironment[name] = value as String }
        processEnvironment.ECR_TO_DOCKER_LAUNCHER = launcher.path
        processEnvironment.ECR_TO_DOCKER_RESULT = result.path
        processEnvironment.THIS_REPORT = THIS_REPORT
        processEnvironment.THIS_RESULT = promotedJson()
        Process process = builder.start()
        echoes << process.inputStream.text
        int exitStatus = process.waitFor()

        if (result.exists()) {
            agentFiles[environment.ECR_TO_DOCKER_RESULT as String] = result.text
        }
        return exitStatus
    }

    private File workspaceFile(String name) {
        return new File(workspace, name)
    }

    @Test
    void 'an earlier report is deleted, and nothing archived, when the launcher stops with 125'() {
        workspaceFile(REPORT).text = EARLIER_REPORT
        launcherText = LAUNCHER_THAT_CANNOT_INSTALL

        runStep(source: SOURCE, report: REPORT)

        assert buildResult == 'FAILURE'
        assert failureMessage.contains('failed with exit status 125')
        assert workspaceFile('launcher-ran').exists()
        assert !workspaceFile(REPORT).exists()
        assert archivedArtifacts.isEmpty()
    }

    @Test
    void 'the list script deletes an earlier report too'() {
        workspaceFile(REPORT).text = EARLIER_REPORT
        launcherText = LAUNCHER_THAT_CANNOT_INSTALL

        runStep(images: [SOURCE], report: REPORT)

        assert failureMessage.contains('failed with exit status 125')
        assert !workspaceFile(REPORT).exists()
        assert archivedArtifacts.isEmpty()
    }

    @Test
    void 'the report this run wrote is archived in place of the earlier one'() {
        workspaceFile(REPORT).text = EARLIER_REPORT

        runStep(source: SOURCE, report: REPORT)

        assert buildResult == 'SUCCESS'
        assert workspaceFile(REPORT).text == THIS_REPORT
        assert archivedArtifacts == [[artifacts: REPORT, allowEmptyArchive: true]]
    }

    @Test
    void 'without a report nothing in the workspace is deleted'() {
        workspaceFile(REPORT).text = EARLIER_REPORT
        launcherText = 'printf "%s" "$THIS_RESULT"'

        runStep(source: SOURCE)

        assert buildResult == 'SUCCESS'
        assert workspaceFile(REPORT).text == EARLIER_REPORT
        assert archivedArtifacts.isEmpty()
    }

    @Test
    void 'a report that names a directory is invalid input and the launcher does not run'() {
        assert workspaceFile('reports.json').mkdir()

        runStep(source: SOURCE, report: 'reports.json')

        assert failureMessage.contains('failed with exit status 2: invalid input or usage')
        assert !workspaceFile('launcher-ran').exists()
        assert echoes.any { it.contains('reports.json') }: "rm's reason is in the log"
    }
}

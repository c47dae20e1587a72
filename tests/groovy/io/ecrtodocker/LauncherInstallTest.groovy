package io.ecrtodocker

import io.ecrtodocker.test.ProjectDirectorySource
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import org.junit.Assume
import org.junit.Before
import org.junit.Rule
import org.junit.Test
import org.junit.rules.TemporaryFolder

/**
 * The launcher's installation of ecr-to-docker into a virtual environment, run for real by
 * bash with a stand-in Python whose pip takes its time. Parallel branches of one build share
 * the directory that holds the environment, so two of them may install at once.
 */
class LauncherInstallTest {
    static final String VERSION = '7.7.7-test'
    static final String VENV_NAME = "ecr-to-docker-${VERSION}-venv"

    /**
     * Stands in for python3 and for an environment's python. `-m venv DIR` makes DIR with this
     * script as its python. `-m pip install SPEC` waits FAKE_PIP_SECONDS, then writes an
     * ecr-to-docker reporting FAKE_PACKAGE_VERSION into the bin directory it started in,
     * which fails, as pip would, when that environment was deleted meanwhile. Anything else
     * goes to the real Python.
     */
    static final String FAKE_PYTHON = '''#!/usr/bin/env bash
set -euo pipefail
if [[ "${1:-} ${2:-}" == "-m venv" ]]; then
    mkdir -p "$3/bin"
    cp "$0" "$3/bin/python"
    exit 0
fi
if [[ "${1:-} ${2:-}" == "-m pip" ]]; then
    if [[ "${!#}" == broken ]]; then
        echo "ERROR: No matching distribution found for broken" >&2
        exit 1
    fi
    cd "$(dirname "$0")"
    sleep "${FAKE_PIP_SECONDS:-0}"
    printf '#!/usr/bin/env bash\\necho "ecr-to-docker %s"\\n' "$FAKE_PACKAGE_VERSION" \\
        >ecr-to-docker
    chmod +x ecr-to-docker
    exit 0
fi
exec REAL_PYTHON "$@"
'''

    @Rule
    public TemporaryFolder temporary = new TemporaryFolder()

    final File launcher = new File(ProjectDirectorySource.projectDirectory(),
        'resources/io/ecrtodocker/launcher.sh')
    File workdir
    File fakePython

    @Before
    void createAgent() {
        Process lookUp = new ProcessBuilder('bash', '-c', 'command -v python3').start()
        String realPython = lookUp.inputStream.text.trim()
        Assume.assumeTrue('the launcher renames with Python', lookUp.waitFor() == 0)
        workdir = temporary.newFolder('workspace@tmp')
        fakePython = temporary.newFile('python3')
        fakePython.text = FAKE_PYTHON.replace('REAL_PYTHON', realPython)
        assert fakePython.setExecutable(true)
    }

    /** Starts `bash launcher.sh --version`, which needs no crane; stdout and stderr to files. */
    private Map start(String name, Map<String, String> settings = [:]) {
        File out = new File(temporary.root, "${name}.out")
        File err = new File(temporary.root, "${name}.err")
        ProcessBuilder builder = new ProcessBuilder('bash', launcher.path, '--version')
            .redirectOutput(out).redirectError(err)
        Map<String, String> environment = builder.environment()
        environment.keySet().removeAll { it.startsWith('ECR_TO_DOCKER_') }
        environment.putAll([
            ECR_TO_DOCKER_WORKDIR        : workdir.path,
            ECR_TO_DOCKER_LIBRARY_VERSION: VERSION,
            ECR_TO_DOCKER_PIP_SPEC       : 'ecr-to-docker-stand-in',
            ECR_TO_DOCKER_PYTHON         : fakePython.path,
            FAKE_PACKAGE_VERSION         : VERSION,
            FAKE_PIP_SECONDS             : '0',
        ] + settings)
        return [process: builder.start(), out: out, err: err]
    }

    private Map finish(Map run) {
        Process process = run.process
        assert process.waitFor(60, TimeUnit.SECONDS): 'the launcher did not finish'
        return [exitStatus: process.exitValue(), out: run.out.text, err: run.err.text]
    }

    private Map launch(Map<String, String> settings = [:]) {
        return finish(start('run', settings))
    }

    private File getVenv() {
        return new File(workdir, VENV_NAME)
    }

    @Test
    void 'two runs installing at once both succeed and leave one working environment'() {
        Map first = start('first', [FAKE_PIP_SECONDS: '2'])
        // The second starts while the first installs: the old launcher deleted its environment.
        sleep(500)
        Map second = start('second', [FAKE_PIP_SECONDS: '2'])
        List<Map> runs = [finish(first), finish(second)]

        runs.each { Map run ->
            assert run.exitStatus == 0: run.err
            assert run.out.trim() == "ecr-to-docker ${VERSION}"
        }
        assert Files.isSymbolicLink(venv.toPath())
        assert new File(venv, 'bin/ecr-to-docker').canExecute()
        assert !workdir.list().any { it.endsWith('.link') }

        Map later = launch()
        assert later.exitStatus == 0
        assert later.err.contains('installed by an earlier run')
        assert !later.err.contains('installing')
    }

    @Test
    void 'a half-built environment left by an interrupted run is replaced'() {
        assert new File(venv, 'bin').mkdirs()

        Map run = launch()

        assert run.exitStatus == 0: run.err
        assert run.out.trim() == "ecr-to-docker ${VERSION}"
        assert Files.isSymbolicLink(venv.toPath())
        assert launch().err.contains('installed by an earlier run')
    }

    @Test
    void 'a failed installation leaves nothing behind'() {
        Map run = launch(ECR_TO_DOCKER_PIP_SPEC: 'broken')

        assert run.exitStatus == 125
        assert run.err.contains("pip could not install 'broken'")
        assert workdir.list().toList() == []
    }
}

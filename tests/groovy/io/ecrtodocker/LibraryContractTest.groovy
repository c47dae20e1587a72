package io.ecrtodocker

import io.ecrtodocker.test.LibraryPipelineTest
import org.junit.Test

/** What must stay in agreement between the code, the help page, the launcher and Python. */
class LibraryContractTest extends LibraryPipelineTest {

    private String helpPage() {
        return new File(projectDirectory, 'vars/ecrToDocker.txt').text
    }

    private String launcher() {
        return new File(projectDirectory, 'resources/io/ecrtodocker/launcher.sh').text
    }

    private Object libraryFact(String name) {
        runPipeline('libraryFacts')
        return pipelineVariable(name)
    }

    @Test
    void 'every argument on the help page exists in the code and the other way round'() {
        List<String> documented = (helpPage() =~ /<dt><code>(\w+)<\/code><\/dt>/).collect { it[1] }
        List<String> accepted = libraryFact('argumentNames')

        assert documented == accepted
    }

    @Test
    void 'every exit status with a meaning in the code is on the help page and the other way round'() {
        List<Integer> documented = (helpPage() =~ /<li><code>(\d+)<\/code>/).collect { it[1] as int }
        Map<Integer, String> meanings = libraryFact('exitStatusMeanings')

        assert documented.sort() == meanings.keySet().sort()
    }

    @Test
    void 'the launcher runs the ecr-to-docker version of the Python package in this repository'() {
        String libraryVersion =
            new File(projectDirectory, 'resources/io/ecrtodocker/version.txt').text.trim()
        String init = new File(projectDirectory, 'python/ecr_to_docker/__init__.py').text
        def pythonVersion = init =~ /(?m)^__version__\s*=\s*["']([^"']+)["']/

        assert pythonVersion.find()
        assert libraryVersion == pythonVersion.group(1)
    }

    @Test
    void 'the launcher is bash with strict mode and never xtrace'() {
        String script = launcher()

        assert script.startsWith('#!/usr/bin/env bash\n')
        assert script.contains('\nset -euo pipefail\n')
        assert !(script =~ /set\s+-[a-z]*x/)
        assert !script.contains('set -o xtrace')
    }

    @Test
    void 'the launcher and the step agree on the launcher exit statuses'() {
        String script = launcher()
        Map facts = libraryFact('launcherFacts')

        assert script.contains("readonly SETUP_FAILED=${facts.setupFailed}\n")
        assert script.contains("readonly CRANE_MISSING=${facts.craneMissing}\n")
        assert script.contains("readonly CRANE_INSTALL_HINT='${facts.craneInstallHint}'\n")
    }

    @Test
    void 'the step fails the build only through error and never sets the build result itself'() {
        List<File> sources = [new File(projectDirectory, 'vars/ecrToDocker.groovy')]
        new File(projectDirectory, 'src').eachFileRecurse { File file ->
            if (file.name.endsWith('.groovy')) {
                sources << file
            }
        }

        assert sources.size() > 1
        sources.each { File source ->
            assert !source.text.contains('currentBuild.result'): "${source} sets the build result"
        }
    }
}

package io.ecrtodocker.test

import com.lesfurets.jenkins.unit.global.lib.SourceRetriever

/**
 * Hands JenkinsPipelineUnit this working tree as the library's checkout, the way a Global
 * Pipeline Library's retriever hands Jenkins a checkout: src/ goes on the class path,
 * vars/*.groovy become global variables and resources/ answers libraryResource.
 */
class ProjectDirectorySource implements SourceRetriever {
    final File projectDirectory

    ProjectDirectorySource(File projectDirectory) {
        this.projectDirectory = projectDirectory
    }

    /** The directory of this project: Gradle says where it is; otherwise the working directory. */
    static File projectDirectory() {
        String configured = System.getProperty('ecrToDocker.projectDir')
        File directory = new File(configured ?: '.').canonicalFile
        assert new File(directory, 'vars/ecrToDocker.groovy').isFile():
            "not the library's project directory: ${directory}"
        return directory
    }

    @Override
    List<URL> retrieve(String repository, String branch, String targetPath) {
        return [projectDirectory.toURI().toURL()]
    }

    @Override
    String toString() {
        return "ProjectDirectorySource(${projectDirectory})"
    }
}

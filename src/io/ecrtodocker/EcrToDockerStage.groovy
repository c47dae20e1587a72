package io.ecrtodocker

/**
 * The `ecr-to-docker` stage for EDP (EPAM Delivery Platform) Build pipelines: promotes the image
 * that the build just pushed to ECR to Docker Hub under the same name and tag.
 *
 * It has the shape of an EDP stage (a `script` property and `run(context)`), but lives in this
 * library's own package so that it can be loaded beside EDP's libraries without clashing; a
 * short class in the application's `stages/` folder registers it under EDP's @Stage annotation
 * and hands it the context (see the README, "EDP Build pipelines").
 *
 * From the EDP context it reads:
 *   - the registry host and the repository namespace: the `docker-registry` EDP component's
 *     `.spec.url` and `.metadata.namespace`
 *   - the image name and tag: `context.codebase.config.name` and `context.codebase.buildVersion`
 *   - the credential IDs: the job parameters `dockerCredentialsId` and `repoCredentialsId`
 * The destination is docker.io/<namespace held by repoCredentialsId>/<image>:<tag>, which
 * ecr-to-docker derives itself: the namespace is a secret and never passes through Groovy.
 */
class EcrToDockerStage implements Serializable {
    private static final long serialVersionUID = 1L

    static final String REGISTRY_COMPONENT_KIND = 'edpcomponent'
    static final String REGISTRY_COMPONENT = 'docker-registry'
    static final List<String> CREDENTIAL_PARAMETERS = ['dockerCredentialsId', 'repoCredentialsId']

    Script script

    /** Runs the ecrToDocker step; returns what it returns. */
    def run(context) {
        Map arguments = stepArguments(context)
        if (context.workDir) {
            return script.dir("${context.workDir}") {
                script.ecrToDocker(arguments)
            }
        }
        return script.ecrToDocker(arguments)
    }

    /** The ecrToDocker arguments for this EDP build. */
    Map stepArguments(context) {
        String registry = context.platform.getJsonPathValue(
            REGISTRY_COMPONENT_KIND, REGISTRY_COMPONENT, '.spec.url')
        String namespace = context.platform.getJsonPathValue(
            REGISTRY_COMPONENT_KIND, REGISTRY_COMPONENT, '.metadata.namespace')
        if (!registry?.trim()) {
            script.error("ecr-to-docker stage: the ${REGISTRY_COMPONENT} EDP component has no URL" +
                " (.spec.url), so the ECR registry is unknown")
        }
        Map arguments = [
            registry  : registry,
            repository: namespace,
            image     : context.codebase.config.name,
            tag       : context.codebase.buildVersion,
        ]
        for (String name : CREDENTIAL_PARAMETERS) {
            def credentialsId = context.job.getParameterValue(name)
            // Not set: the step falls back to its own defaults.
            if (credentialsId) {
                arguments[name] = credentialsId.toString()
            }
        }
        return arguments
    }
}

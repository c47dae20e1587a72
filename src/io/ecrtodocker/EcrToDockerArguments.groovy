package io.ecrtodocker

import com.cloudbees.groovy.cps.NonCPS

/**
 * The ecrToDocker step's arguments, resolved and checked.
 *
 * Each argument comes from the step's map; where the map does not give it, from a job
 * parameter of the same name; then from an environment variable of the same name; then from
 * its default. EDP passes the credential IDs as job parameters, which is why this order exists.
 * A blank value counts as not given, so an empty string parameter does not hide a default.
 * `images` is the exception: it is a list, which job parameters and environment variables,
 * being strings, cannot hold, so it is read from the step's map only. And there, even null or
 * blank, it counts as given: `images: params.IMAGES` with an empty parameter must fail rather
 * than promote whatever `source` the job parameters or environment variables happen to hold.
 */
class EcrToDockerArguments implements Serializable {
    private static final long serialVersionUID = 1L

    /** Every argument the step accepts, in the order vars/ecrToDocker.txt lists them. */
    static final List<String> NAMES = [
        'source', 'registry', 'repository', 'image', 'tag', 'destination', 'images', 'jobs',
        'dockerCredentialsId', 'repoCredentialsId', 'ifExists', 'dryRun',
        'awsRegion', 'ecrRegistryId', 'report',
    ].asImmutable()

    /** The pieces a source can be composed from instead of giving `source` whole. */
    static final List<String> SOURCE_PARTS =
        ['registry', 'repository', 'image', 'tag'].asImmutable()
    static final List<String> REQUIRED_SOURCE_PARTS = ['registry', 'image', 'tag'].asImmutable()
    /** What describes one image only, and so cannot go with `images` in the same call. */
    static final List<String> SINGLE_IMAGE_NAMES =
        (['source'] + SOURCE_PARTS + ['destination']).asImmutable()
    static final List<String> CALL_ONLY_NAMES = ['images'].asImmutable()

    /** `repoCredentialsID`, capital D, is the ID the EDP documentation tells teams to create. */
    static final Map<String, String> DEFAULTS = [
        dockerCredentialsId: 'dockerCredentialsId',
        repoCredentialsId  : 'repoCredentialsID',
        ifExists           : 'fail',
        dryRun             : 'false',
        jobs               : '4',
    ].asImmutable()

    static final List<String> IF_EXISTS_CHOICES = ['fail', 'skip-identical'].asImmutable()

    private static final List<String> WHERE_VALUES_COME_FROM =
        ['argument', 'job parameter', 'environment variable', 'default'].asImmutable()
    private static final int FROM_ARGUMENT = 0

    /** The one image to promote; null when `images` gives a list. */
    String source
    String destination
    /** The images to promote in one run; null for a single source. */
    EcrToDockerImageList images
    int jobs
    String dockerCredentialsId
    String repoCredentialsId
    String ifExists
    boolean dryRun
    String awsRegion
    String ecrRegistryId
    String report

    /**
     * Resolves the step's arguments.
     *
     * @param given the map the step was called with
     * @param jobParameters the build's `params` (anything that answers `[name]`), may be null
     * @param environment the build's `env` (anything that answers `[name]`), may be null
     * @throws IllegalArgumentException naming the argument at fault
     */
    @NonCPS
    static EcrToDockerArguments resolve(Map given, jobParameters, environment) {
        Map arguments = given == null ? [:] : given
        rejectUnknownNames(arguments)
        List places = [arguments, jobParameters, environment]
        Map<String, Map> found = [:]
        for (String name : NAMES) {
            found[name] = lookUp(name, CALL_ONLY_NAMES.contains(name) ? [arguments] : places)
        }

        EcrToDockerArguments resolved = new EcrToDockerArguments()
        if (arguments.containsKey('images')) {
            rejectMissingImages(arguments.images)
            rejectSingleImageArguments(arguments)
            // Given in the call, the list wins over a source or destination that job
            // parameters or environment variables hold, as a `source` argument does.
            resolved.images = EcrToDockerImageList.of(arguments.images)
        } else {
            resolved.source = sourceFrom(found)
            resolved.destination = textOf(found.destination)
        }
        resolved.jobs = checkedJobs(found.jobs)
        resolved.dockerCredentialsId = textOf(found.dockerCredentialsId)
        resolved.repoCredentialsId = textOf(found.repoCredentialsId)
        resolved.ifExists = checkedIfExists(found.ifExists)
        resolved.dryRun = booleanOf(found.dryRun)
        resolved.awsRegion = textOf(found.awsRegion)
        resolved.ecrRegistryId = textOf(found.ecrRegistryId)
        resolved.report = checkedReport(found.report)
        return resolved
    }

    /**
     * The non-secret values, as the environment variables that ecr-to-docker reads for its
     * flags. Every one is set, blank when not wanted, so that a variable left in the job's
     * environment cannot change what this step asked for.
     */
    @NonCPS
    List<String> commandEnvironment() {
        return [
            'ECR_SOURCE_IMAGE=' + (source ?: ''),
            'ECR_TO_DOCKER_DESTINATION=' + (destination ?: ''),
            'ECR_TO_DOCKER_JOBS=' + jobs,
            'ECR_TO_DOCKER_IF_EXISTS=' + ifExists,
            'ECR_TO_DOCKER_DRY_RUN=' + dryRun,
            'ECR_TO_DOCKER_REPORT=' + (report ?: ''),
            'ECR_TO_DOCKER_ECR_REGISTRY_ID=' + (ecrRegistryId ?: ''),
            'ECR_TO_DOCKER_AWS_REGION=' + (awsRegion ?: ''),
        ]
    }

    /** True when the step promotes a list of images, whose result is a list too. */
    @NonCPS
    boolean isBatch() {
        return images != null
    }

    /** The destination for messages: the one given, or what ecr-to-docker derives by default. */
    @NonCPS
    String destinationForMessages() {
        if (destination) {
            return destination
        }
        // The last path segment carries the tag (or digest): neither can contain a slash.
        return 'docker.io/<Docker Hub namespace>/' + source.substring(source.lastIndexOf('/') + 1)
    }

    @NonCPS
    String summary() {
        String what = batch ?
            "promoting ${images.size()} images, copying up to ${jobs} at a time " :
            "promoting ${source} to ${destinationForMessages()} "
        return what +
            "(ifExists: ${ifExists}, dryRun: ${dryRun}, credentials: '${dockerCredentialsId}'" +
            " and '${repoCredentialsId}')"
    }

    @NonCPS
    private static void rejectUnknownNames(Map arguments) {
        List<String> unknown = []
        for (Object name : arguments.keySet()) {
            if (!NAMES.contains(name as String)) {
                unknown << "'${name}'".toString()
            }
        }
        if (unknown) {
            String noun = unknown.size() == 1 ? 'argument' : 'arguments'
            throw new IllegalArgumentException(
                "unknown ${noun} ${unknown.join(', ')}; the arguments are: ${NAMES.join(', ')}")
        }
    }

    /** Null or blank only: any other value that is not a list is EcrToDockerImageList's to
     * refuse. */
    @NonCPS
    private static void rejectMissingImages(images) {
        boolean blank = images instanceof CharSequence && images.toString().trim().isEmpty()
        if (images == null || blank) {
            throw new IllegalArgumentException(
                "'images' is given but ${images == null ? 'null' : 'blank'}: pass a non-empty" +
                " list of sources or of [source: ..., destination: ...] maps, such as images:" +
                " ['123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/app:1.2.3'], or leave" +
                " 'images' out of the call to promote one image given by 'source'")
        }
    }

    @NonCPS
    private static void rejectSingleImageArguments(Map arguments) {
        List<String> conflicting = SINGLE_IMAGE_NAMES.findAll { String name ->
            def value = arguments[name]
            value != null && !(value instanceof CharSequence && value.toString().trim().isEmpty())
        }
        if (conflicting) {
            throw new IllegalArgumentException(
                "give either 'images' or ${conflicting.collect { "'${it}'" }.join(', ')}, not" +
                " both: 'images' names every source, and each image's destination goes in its" +
                " [source: ..., destination: ...] item")
        }
    }

    /** Returns [name:, value:, level:] where level indexes WHERE_VALUES_COME_FROM, or null. */
    @NonCPS
    private static Map lookUp(String name, List places) {
        for (int level = 0; level < places.size(); level++) {
            def place = places[level]
            def value = place == null ? null : place[name]
            if (value instanceof CharSequence && value.toString().trim().isEmpty()) {
                value = null
            }
            if (value != null) {
                return [name: name, value: value, level: level]
            }
        }
        if (DEFAULTS.containsKey(name)) {
            return [name: name, value: DEFAULTS[name], level: places.size()]
        }
        return null
    }

    /**
     * A source given whole wins over one composed from parts found at the same or a
     * lower-precedence place; both given as arguments to the same call is a mistake.
     */
    @NonCPS
    private static String sourceFrom(Map<String, Map> found) {
        List<Map> parts = SOURCE_PARTS.collect { found[it] }.findAll { it != null }
        Map whole = found.source
        boolean partsGiven = parts.any { it.level == FROM_ARGUMENT }
        if (whole != null && whole.level == FROM_ARGUMENT && partsGiven) {
            throw new IllegalArgumentException(
                "give either 'source' or 'registry', 'repository', 'image' and 'tag', not both")
        }
        if (whole != null && (parts.isEmpty() || whole.level <= parts*.level.min())) {
            return checkedSource(textOf(whole))
        }
        if (parts.isEmpty()) {
            throw new IllegalArgumentException(
                "the source image is missing: give 'source' (a full ECR reference such as " +
                "123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/app:1.2.3) " +
                "or 'registry', 'image' and 'tag'")
        }
        List<String> missing = REQUIRED_SOURCE_PARTS.findAll { found[it] == null }
        if (missing) {
            throw new IllegalArgumentException(
                "the source image needs 'registry', 'image' and 'tag'; missing: " +
                missing.collect { "'${it}'" }.join(', '))
        }
        return checkedSource(composedSource(textOf(found.registry), textOf(found.repository),
            textOf(found.image), textOf(found.tag)))
    }

    /** registry/repository/image:tag, or registry/repository/image@sha256:... for a digest. */
    @NonCPS
    static String composedSource(String registry, String repository, String image, String tag) {
        String host = registry.replaceFirst('^[A-Za-z][A-Za-z0-9+.-]*://', '').replaceAll('/+$', '')
        String path = [host, trimSlashes(repository), trimSlashes(image)].findAll { it }.join('/')
        String separator = tag.startsWith('sha256:') ? '@' : ':'
        return path + separator + tag
    }

    @NonCPS
    private static String trimSlashes(String text) {
        return text == null ? null : text.replaceAll('^/+|/+$', '')
    }

    @NonCPS
    private static String checkedSource(String source) {
        if (source =~ /\s/) {
            throw new IllegalArgumentException("'source' must not contain whitespace: '${source}'")
        }
        return source
    }

    @NonCPS
    private static String checkedIfExists(Map found) {
        String value = textOf(found)
        if (!IF_EXISTS_CHOICES.contains(value)) {
            throw new IllegalArgumentException(
                "'ifExists' must be one of ${IF_EXISTS_CHOICES.join(', ')}, not '${value}'" +
                " (from ${WHERE_VALUES_COME_FROM[found.level]})")
        }
        return value
    }

    /** The range is ecr-to-docker's to check; here only that it is a count at all. */
    @NonCPS
    private static int checkedJobs(Map found) {
        String value = textOf(found)
        if (!(value ==~ /[0-9]{1,9}/) || (value as int) < 1) {
            throw new IllegalArgumentException(
                "'jobs' must be a whole number of at least 1, not '${value}'" +
                " (from ${WHERE_VALUES_COME_FROM[found.level]})")
        }
        return value as int
    }

    /** Archived with archiveArtifacts, so it must name one file inside the workspace. */
    @NonCPS
    private static String checkedReport(Map found) {
        String value = textOf(found)
        if (value == null) {
            return null
        }
        boolean absolute = value.startsWith('/') || value.startsWith('\\') || value =~ /^[A-Za-z]:/
        boolean climbsOut = value.split('[/\\\\]').any { it == '..' }
        boolean pattern = value =~ /[*?,]/
        if (absolute || climbsOut || pattern) {
            throw new IllegalArgumentException(
                "'report' must be a file name relative to the workspace, without '..' or" +
                " wildcards, not '${value}'")
        }
        return value
    }

    @NonCPS
    private static String textOf(Map found) {
        if (found == null) {
            return null
        }
        def value = found.value
        if (!(value instanceof CharSequence || value instanceof Number)) {
            throw new IllegalArgumentException(
                "'${found.name}' must be a string, not ${value.getClass().simpleName}" +
                " (from ${WHERE_VALUES_COME_FROM[found.level]})")
        }
        return value.toString().trim()
    }

    /** Job parameters and environment variables are strings, so 'true'/'false' count too. */
    @NonCPS
    private static boolean booleanOf(Map found) {
        def value = found.value
        if (value instanceof Boolean) {
            return value
        }
        String text = value.toString().trim().toLowerCase()
        if (text == 'true' || text == 'false') {
            return text == 'true'
        }
        throw new IllegalArgumentException(
            "'${found.name}' must be true or false, not '${value}'" +
            " (from ${WHERE_VALUES_COME_FROM[found.level]})")
    }
}

package io.ecrtodocker.test

/** Stands in for EDP's Platform: answers getJsonPathValue from a table and records the queries. */
class FakeEdpPlatform {
    final Map<String, String> values
    final List<List<String>> queries = []

    FakeEdpPlatform(Map<String, String> values) {
        this.values = values
    }

    String getJsonPathValue(String kind, String name, String jsonPath) {
        queries << [kind, name, jsonPath]
        return values["${kind}/${name}/${jsonPath}".toString()]
    }
}

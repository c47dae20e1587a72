package io.ecrtodocker.test

/** Stands in for EDP's Job: getParameterValue reads the job's parameters, else the default. */
class FakeEdpJob {
    final Map<String, Object> parameters

    FakeEdpJob(Map<String, Object> parameters) {
        this.parameters = parameters
    }

    Object getParameterValue(String name, Object defaultValue = null) {
        return parameters[name] ?: defaultValue
    }
}

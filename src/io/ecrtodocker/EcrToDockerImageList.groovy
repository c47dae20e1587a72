package io.ecrtodocker

import com.cloudbees.groovy.cps.NonCPS

/**
 * The ecrToDocker step's `images` argument, checked only as far as writing it safely to the
 * file that `ecr-to-docker promote --from-file` reads: one `SOURCE [DEST]` per line, fields
 * split on whitespace, `#` starting a comment. A value with whitespace, a line break or a `#`
 * would be read as other fields, another line or a comment, so those are refused here; whether
 * a value is a valid image reference is for ecr-to-docker to say.
 */
class EcrToDockerImageList implements Serializable {
    private static final long serialVersionUID = 1L

    static final List<String> ITEM_KEYS = ['source', 'destination'].asImmutable()

    /** One [source: ..., destination: ... or null] per image, in the order given. */
    final List<Map<String, String>> entries

    private EcrToDockerImageList(List<Map<String, String>> entries) {
        this.entries = entries
    }

    /**
     * @param given the `images` argument: a list of source strings and of
     *     [source: ..., destination: ...] maps
     * @throws IllegalArgumentException naming the item at fault as images[index]
     */
    @NonCPS
    static EcrToDockerImageList of(given) {
        if (!(given instanceof List)) {
            throw new IllegalArgumentException(
                "'images' must be a list of sources or of [source: ..., destination: ...] maps," +
                " not ${given.getClass().simpleName}")
        }
        List items = (List) given
        if (items.isEmpty()) {
            throw new IllegalArgumentException("'images' is an empty list: name at least one image")
        }
        List<Map<String, String>> entries = []
        for (int index = 0; index < items.size(); index++) {
            entries << entryOf(items[index], "images[${index}]")
        }
        return new EcrToDockerImageList(entries)
    }

    @NonCPS
    int size() {
        return entries.size()
    }

    /** The --from-file text: line N is images[N - 1], so ecr-to-docker's line numbers match. */
    @NonCPS
    String fileText() {
        StringBuilder text = new StringBuilder()
        for (Map<String, String> entry : entries) {
            text.append(entry.source)
            if (entry.destination) {
                text.append(' ').append(entry.destination)
            }
            text.append('\n')
        }
        return text.toString()
    }

    @NonCPS
    private static Map<String, String> entryOf(item, String where) {
        if (item instanceof CharSequence) {
            return [source: checkedToken(item, where, true), destination: null]
        }
        if (item instanceof Map) {
            Map map = (Map) item
            List<String> unknown = map.keySet().collect { it as String }.findAll {
                !ITEM_KEYS.contains(it)
            }
            if (unknown) {
                throw new IllegalArgumentException(
                    "${where} has unknown keys ${unknown.collect { "'${it}'" }.join(', ')};" +
                    " an item's keys are 'source' and 'destination'")
            }
            return [
                source     : checkedToken(map.source, "${where}.source", true),
                destination: checkedToken(map.destination, "${where}.destination", false),
            ]
        }
        String kind = item == null ? 'null' : item.getClass().simpleName
        throw new IllegalArgumentException(
            "${where} must be a source string or a [source: ..., destination: ...] map," +
            " not ${kind}")
    }

    /** The trimmed value; null when it is optional and blank, as for every other argument. */
    @NonCPS
    private static String checkedToken(value, String where, boolean required) {
        if (value != null && !(value instanceof CharSequence)) {
            throw new IllegalArgumentException(
                "${where} must be a string, not ${value.getClass().simpleName}")
        }
        String text = value == null ? '' : value.toString().trim()
        if (text.isEmpty()) {
            if (required) {
                throw new IllegalArgumentException("${where} is missing or blank")
            }
            return null
        }
        if (splitsTheLine(text)) {
            throw new IllegalArgumentException(
                "${where} must be a single word, without whitespace or line breaks:" +
                " ${text.inspect()}")
        }
        if (text.contains('#')) {
            throw new IllegalArgumentException(
                "${where} must not contain '#', which starts a comment in the image list:" +
                " ${text.inspect()}")
        }
        return text
    }

    /**
     * Python's str.split() and splitlines() break on more than ASCII whitespace (Unicode
     * spaces, \u0085, \u2028, the \u001c-\u001f separators); control characters cover the rest.
     */
    @NonCPS
    private static boolean splitsTheLine(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i)
            if (Character.isWhitespace(c) || Character.isSpaceChar(c) ||
                Character.isISOControl(c)) {
                return true
            }
        }
        return false
    }
}

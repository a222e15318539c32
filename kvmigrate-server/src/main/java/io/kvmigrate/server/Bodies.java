package io.kvmigrate.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Request bodies read strictly: a JSON object of the body's record type, nothing else. An unknown field, a value of the
 * wrong type, a duplicate key or malformed JSON is a 400 that names the field (or, for JSON that does not parse, the
 * field it broke in and the line and column).
 */
final class Bodies {
    static final ObjectMapper STRICT = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES,
                    DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS, DeserializationFeature.FAIL_ON_TRAILING_TOKENS,
                    DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Bodies() {
    }

    /** The body as a {@code type}; {@code fields} lists the known field names for the hint. */
    static <T> T read(byte[] body, Class<T> type) {
        if (body == null || body.length == 0) {
            throw ApiException.badField("body", "The request has no body; a JSON object is expected.", "Send a JSON object, e.g. "
                    + example(type) + ".");
        }
        try {
            T value = STRICT.readValue(body, type);
            if (value == null) throw ApiException.badField("body", "The body is null; a JSON object is expected.", "Send a JSON object.");
            return value;
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds() == null ? "" : e.getKnownPropertyIds().stream().map(Object::toString).sorted()
                    .collect(Collectors.joining(", "));
            throw ApiException.badField(path(e, e.getPropertyName()), "Unknown field \"" + path(e, e.getPropertyName()) + "\".",
                    "Known fields: " + known + ".");
        } catch (MismatchedInputException e) {
            String field = path(e, null);
            if (field == null) {
                throw ApiException.badField("body", "The body must be a JSON object.", "Send a JSON object, e.g. " + example(type) + ".");
            }
            throw ApiException.badField(field, "Field \"" + field + "\" has a value of the wrong type: " + firstLine(e.getOriginalMessage()) + ".",
                    "See /api/v1/openapi.json for the field's type.");
        } catch (JsonMappingException e) {
            String field = path(e, null);
            throw ApiException.badField(field == null ? "body" : field, "Field \"" + (field == null ? "body" : field) + "\" is not valid: "
                    + firstLine(e.getOriginalMessage()) + ".", null);
        } catch (JsonProcessingException e) {
            // malformed JSON: name the field the parser was in, and where
            String field = null;
            if (e.getProcessor() instanceof JsonParser p && p.getParsingContext() != null) {
                field = p.getParsingContext().getCurrentName();
            }
            var loc = e.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw ApiException.badField(field == null ? "body" : field, "Malformed JSON" + (field == null ? "" : " in field \"" + field + "\"")
                    + where + ": " + firstLine(e.getOriginalMessage()) + ".", "Send valid JSON (RFC 8259).");
        } catch (IOException e) {
            throw ApiException.badField("body", "Cannot read the body: " + e.getMessage(), null);
        }
    }

    private static String path(JsonMappingException e, String last) {
        List<JsonMappingException.Reference> refs = e.getPath();
        if (refs == null || refs.isEmpty()) return last;
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : refs) {
            if (r.getFieldName() != null) {
                if (b.length() > 0) b.append('.');
                b.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.length() == 0 ? last : b.toString();
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String example(Class<?> type) {
        if (type == MoveBody.class) return "{\"vm\": \"web01\", \"from\": \"kvm1\", \"to\": \"kvm2\"}";
        if (type == HostBody.class) return "{\"name\": \"kvm1\", \"uri\": \"qemu+ssh://root@kvm1/system\"}";
        return "{...}";
    }

    /** {@code POST /api/v1/hosts}. */
    record HostBody(String name, String uri) {
    }

    /**
     * {@code POST /api/v1/jobs}, {@code /checks}, {@code /plans}: a move, with the CLI's option names in camelCase. Absent
     * fields take the CLI's defaults.
     */
    record MoveBody(String vm, String from, String to, Boolean offline, Boolean copyStorage, String policy, Long bandwidth,
            Long maxDowntime, Long timeout, Integer parallel, Boolean compress, Map<String, String> mapPool, Map<String, String> mapNetwork,
            List<String> accept, Boolean shutdown, Long shutdownTimeout, Boolean forceOff, Boolean start, Boolean keepSource,
            Boolean measure, Boolean noPlan, Boolean tls, String migrationAddress, String migrationListen) {
    }
}

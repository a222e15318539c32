package io.kvmigrate.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    @Test
    void writeThenParse_everyKindOfValue_roundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "quote \" backslash \\ slash / newline \n tab \t bell \u0007 umlaut \u00fc emoji \uD83D\uDE00");
        m.put("long", Long.MIN_VALUE);
        m.put("double", -1.5e-300);
        m.put("big", 1.0E20);
        m.put("t", true);
        m.put("f", false);
        m.put("null", null);
        m.put("list", Arrays.asList(1L, "two", List.of(), Map.of(), null));
        m.put("nested", Map.of("deep", List.of(Map.of("k", 0.25))));
        String text = Json.write(m);
        assertThat(Json.parse(text)).isEqualTo(m);
        assertThat(text).doesNotContain("\n").contains("\\u0007");
    }

    @Test
    void parse_whitespaceAndEscapesOfOtherWriters() {
        assertThat(Json.parse(" { \"a\" : [ 1 , 2.0 ] , \"b\" : \"\\u00e9\\/\" } ")).isEqualTo(Map.of("a", List.of(1L, 2.0), "b", "\u00e9/"));
    }

    @Test
    void parse_broken_throwsNamingTheOffset() {
        assertThatThrownBy(() -> Json.parse("{\"a\":1")).hasMessageContaining("offset 6");
        assertThatThrownBy(() -> Json.parse("{\"a\":1} x")).hasMessageContaining("text after");
        assertThatThrownBy(() -> Json.parse("[1,]")).hasMessageContaining("a value");
        assertThatThrownBy(() -> Json.parse("99999999999999999999")).hasMessageContaining("fits");
    }

    @Test
    void write_nonFiniteDouble_isRefused() {
        assertThatThrownBy(() -> Json.write(List.of(Double.NaN))).isInstanceOf(IllegalArgumentException.class);
    }
}

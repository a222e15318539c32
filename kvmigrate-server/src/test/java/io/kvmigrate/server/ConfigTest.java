package io.kvmigrate.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.KvmigrateException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ConfigTest {
    @Test
    void listen_hostPortOrBracketedV6_parsed() {
        assertThat(KvmigrateServer.Config.listen(KvmigrateServer.Config.DEFAULT_LISTEN, null, null)).satisfies(c -> {
            assertThat(c.host()).isEqualTo("127.0.0.1");
            assertThat(c.port()).isEqualTo(8470);
        });
        assertThat(KvmigrateServer.Config.listen("[::1]:9000", null, null).host()).isEqualTo("::1");
    }

    @Test
    void listen_badValuesOrHalfATlsPair_invalidInputNamingTheOption() {
        for (String bad : new String[] {"8470", "localhost", "127.0.0.1:", "127.0.0.1:70000", "a b:1", "", "127.0.0.1:80;rm -rf /"}) {
            assertThatThrownBy(() -> KvmigrateServer.Config.listen(bad, null, null)).as(bad).isInstanceOf(KvmigrateException.class)
                    .hasMessageContaining("--listen");
        }
        assertThatThrownBy(() -> KvmigrateServer.Config.listen("127.0.0.1:1", Path.of("c.pem"), null)).hasMessageContaining("--tls-key");
    }

    @Test
    void workers_defaultFewZeroAllowed_outOfRangeInvalidInputNamingTheOption() {
        assertThat(KvmigrateServer.Config.listen(KvmigrateServer.Config.DEFAULT_LISTEN, null, null).workers())
                .isEqualTo(KvmigrateServer.Config.DEFAULT_WORKERS);
        assertThat(KvmigrateServer.Config.listen("127.0.0.1:1", null, null).withWorkers(0).workers()).isZero();
        for (int bad : new int[] {-1, KvmigrateServer.Config.MAX_WORKERS + 1}) {
            assertThatThrownBy(() -> KvmigrateServer.Config.listen("127.0.0.1:1", null, null).withWorkers(bad)).as("" + bad)
                    .isInstanceOf(KvmigrateException.class).hasMessageContaining("--workers");
        }
    }

    @Test
    void isPublic_onlyMetricsUiAndWebjars() {
        assertThat(KvmigrateServer.isPublic("/metrics")).isTrue();
        assertThat(KvmigrateServer.isPublic("/ui/app.js")).isTrue();
        assertThat(KvmigrateServer.isPublic("/webjars/uplot/1.6.30/dist/uPlot.iife.min.js")).isTrue();
        assertThat(KvmigrateServer.isPublic("/api/v1/jobs")).isFalse();
        assertThat(KvmigrateServer.isPublic("/metrics/../api/v1/jobs")).isFalse();
        assertThat(KvmigrateServer.isPublic("/uix")).isFalse();
    }
}

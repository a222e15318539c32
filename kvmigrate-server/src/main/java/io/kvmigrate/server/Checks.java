package io.kvmigrate.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.api.Kvmigrate;
import io.kvmigrate.core.api.MoveRequest;

/** {@code POST /api/v1/checks} and {@code /plans}: the facade's check and plan of a move, as JSON. */
final class Checks {
    private final Kvmigrate k;
    private final ServerMetrics metrics;

    Checks(Kvmigrate k, ServerMetrics metrics) {
        this.k = k;
        this.metrics = metrics;
    }

    ObjectNode check(MoveRequest r) {
        throw new ApiException(501, "NOT_IMPLEMENTED", "Checks through the API wait for the facade's check().", null, null);
    }

    ObjectNode plan(MoveRequest r) {
        throw new ApiException(501, "NOT_IMPLEMENTED", "Plans through the API wait for the facade's plan().", null, null);
    }
}

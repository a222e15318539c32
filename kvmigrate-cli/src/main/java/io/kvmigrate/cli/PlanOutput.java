package io.kvmigrate.cli;

import io.kvmigrate.server.JsonViews;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvmigrate.core.plan.Plan;
import io.kvmigrate.core.plan.Planning;
import java.io.PrintWriter;
import java.util.Locale;

/** How the CLI shows a plan: the text of {@code kvmigrate plan} and the {@code plan} object of {@code --json}. */
final class PlanOutput {
    private PlanOutput() {
    }

    static void print(PrintWriter out, Plan p) {
        var o = p.plainPreCopy();
        out.println("Plan (policy " + p.policy().label() + "): " + p.strategy().label());
        for (String r : p.reasons()) out.println("  - " + r);
        out.println("  plain pre-copy: " + plainText(p, o.converges() ? String.format(Locale.ROOT, "converges in %d pass(es), %s, downtime %d ms",
                o.passes(), Planning.seconds(o.totalMs()), o.downtimeMs()) : "does not converge"));
        out.println("  expected: " + expectedText(p) + "; physical floor " + Planning.seconds(p.floorMs()) + "; auto-converge "
                + (p.autoConverge() ? "on" : "off") + ", post-copy " + (p.postCopy() ? "allowed" : "off"));
        out.flush();
    }

    private static String plainText(Plan p, String measured) {
        return p.lowerBoundOnly() ? "not predicted (dirty rate not measured)" : measured;
    }

    private static String expectedText(Plan p) {
        if (p.lowerBoundOnly()) return "at least " + Planning.seconds(p.expectedTotalMs());
        return p.expectedToComplete() ? "completes in about " + Planning.seconds(p.expectedTotalMs())
                + (p.expectedDowntimeMs() >= 0 ? ", downtime about " + p.expectedDowntimeMs() + " ms" : "") : "does not complete";
    }

    static ObjectNode json(Plan p) {
        return JsonViews.plan(p, t -> t);
    }

}

package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

class WordingWriterTest {
    @Test
    void printsCoreFieldTokensAsTheCliOptionNames_inTextAndJson() {
        StringWriter sink = new StringWriter();
        PrintWriter out = WordingWriter.around(new PrintWriter(sink));
        out.println("Give a higher {bandwidth} or {maxDowntime}, or use {policy} finish; VM {web} keeps its braces.");
        var root = Output.json().createObjectNode().put("hint", "Add {shutdown} and {forceOff}.");
        Output.printJson(out, root);
        assertThat(sink.toString()).contains("Give a higher --bandwidth or --max-downtime, or use --policy finish; VM {web} keeps its braces.")
                .contains("\"hint\" : \"Add --shutdown and --force-off.\"").doesNotContain("{maxDowntime}");
    }

    @Test
    void mainWordsWhatCommandsPrint() {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        int code = Main.run(new PrintWriter(o, true), new PrintWriter(e, true), "migrate", "web", "--from", "qemu+tcp://127.0.0.250/system", "--to", "qemu+tcp://127.0.0.251/system",
                "--bandwidth", "-1");
        assertThat(code).isEqualTo(2);
        assertThat(e.toString()).contains("--bandwidth must be >= 0").doesNotContain("{bandwidth}");
    }
}

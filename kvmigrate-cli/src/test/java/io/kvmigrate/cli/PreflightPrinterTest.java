package io.kvmigrate.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.preflight.Remedy;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How check words a finding's remedy: the command that carries it out, in text and JSON. */
class PreflightPrinterTest {
    private static final Finding NOT_SHARED = Finding.fail("STORAGE_NOT_SHARED", "STORAGE", "/var/lib/libvirt/images/web.img", null,
            "Disk vda (/var/lib/libvirt/images/web.img) is not shared storage.", "Mount the same shared storage at /var/lib/libvirt/images on both hosts.")
            .withRemedy(new Remedy.SharePool("images", "/var/lib/libvirt/images", List.of("kvm1", "kvm2")));
    private static final PreflightReport REPORT = new PreflightReport("web", "kvm1", "kvm2", Mode.LIVE, List.of(NOT_SHARED), List.of());

    @Test
    void print_sharePoolRemedy_namesTheStorageShareCommand() {
        StringWriter out = new StringWriter();
        PreflightPrinter.print(new PrintWriter(out), REPORT, List.of(), true);
        assertThat(out.toString()).contains("fix: Mount the same shared storage")
                .contains("fix: kvmigrate storage share images --path /var/lib/libvirt/images --hosts kvm1,kvm2 --nfs SERVER:/EXPORT")
                .contains("or --dir where the same shared file system is already mounted at /var/lib/libvirt/images");
    }

    @Test
    void json_sharePoolRemedy_structuredWithCommand() {
        JsonNode f = PreflightPrinter.json(REPORT, List.of(), 5).get("findings").get(0);
        assertThat(f.get("remedy").get("kind").asText()).isEqualTo("share-pool");
        assertThat(f.get("remedy").get("pool").asText()).isEqualTo("images");
        assertThat(f.get("remedy").get("hosts")).extracting(JsonNode::asText).containsExactly("kvm1", "kvm2");
        assertThat(f.get("remedy").get("command").asText()).startsWith("kvmigrate storage share images --path /var/lib/libvirt/images");
    }

    @Test
    void print_findingWithoutRemedy_noCommandLine() {
        Finding plain = Finding.fail("STORAGE_NOT_SHARED", "STORAGE", "/dev/vg0/web", null, "block device", "Use a file.");
        StringWriter out = new StringWriter();
        PreflightPrinter.print(new PrintWriter(out), new PreflightReport("web", "a", "b", Mode.LIVE, List.of(plain), List.of()), List.of(), true);
        assertThat(out.toString()).doesNotContain("storage share");
    }
}

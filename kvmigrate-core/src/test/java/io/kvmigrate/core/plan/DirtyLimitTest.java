package io.kvmigrate.core.plan;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.model.VmSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class DirtyLimitTest {
    private static VmSpec vm(String type, String features) {
        String xml = "<domain type='" + type + "'><name>web</name>" + features + "</domain>";
        return new VmSpec("web", "u", type, "x86_64", "pc", "/usr/bin/qemu-system-x86_64", 1024, 1, null, List.of(), List.of(), List.of(), xml);
    }

    @Test
    void status_kvmGuestWithDirtyRing_possible_withoutIt_saysHowToEnable() {
        VmSpec ring = vm("kvm", "<features><kvm><dirty-ring state='on' size='4096'/></kvm></features>");
        assertThat(DirtyLimit.ringSize(ring.xml())).isEqualTo(4096);
        assertThat(DirtyLimit.usable(ring, 7_002_022)).isTrue();
        assertThat(DirtyLimit.status(ring, 7_002_022)).contains("possible").contains("4096 pages");
        VmSpec none = vm("kvm", "<features><acpi/></features>");
        assertThat(DirtyLimit.usable(none, 7_002_022)).isFalse();
        assertThat(DirtyLimit.status(none, 7_002_022)).contains("not enabled").contains(DirtyLimit.HOW);
        VmSpec off = vm("kvm", "<features><kvm><dirty-ring state='off'/></kvm></features>");
        assertThat(DirtyLimit.ringSize(off.xml())).isZero();
    }

    @Test
    void status_emulatedGuestOrOldQemu_notAvailable() {
        VmSpec ring = vm("kvm", "<features><kvm><dirty-ring state='on' size='4096'/></kvm></features>");
        assertThat(DirtyLimit.usable(ring, 7_000_000)).isFalse();
        assertThat(DirtyLimit.status(ring, 7_000_000)).contains("older than 7.1");
        assertThat(DirtyLimit.status(vm("qemu", ""), 7_002_022)).contains("needs KVM");
        assertThat(DirtyLimit.ringSize("<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><domain>&e;</domain>")).isZero();
    }
}

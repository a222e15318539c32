package io.kvmigrate.libvirt;

import static io.kvmigrate.libvirt.RecordedHosts.amdEpyc7601;
import static io.kvmigrate.libvirt.RecordedHosts.amdLab;
import static io.kvmigrate.libvirt.RecordedHosts.ctx;
import static io.kvmigrate.libvirt.RecordedHosts.intelXeon;
import static io.kvmigrate.libvirt.RecordedHosts.oldIntelQemu;
import static io.kvmigrate.libvirt.RecordedHosts.res;
import static io.kvmigrate.libvirt.RecordedHosts.running;
import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.HostInventory.CpuVerdict;
import io.kvmigrate.core.model.HostInventory.GuestView;
import io.kvmigrate.core.model.VmState;
import io.kvmigrate.core.preflight.ArchitectureCheck;
import io.kvmigrate.core.preflight.CacheModeCheck;
import io.kvmigrate.core.preflight.Check;
import io.kvmigrate.core.preflight.CpuCompatibilityCheck;
import io.kvmigrate.core.preflight.CpuVendorCheck;
import io.kvmigrate.core.preflight.DiskStorage;
import io.kvmigrate.core.preflight.Finding;
import io.kvmigrate.core.preflight.HostDeviceCheck;
import io.kvmigrate.core.preflight.HostIdentityCheck;
import io.kvmigrate.core.preflight.HostPassthroughCheck;
import io.kvmigrate.core.preflight.MachineTypeCheck;
import io.kvmigrate.core.preflight.MemoryCheck;
import io.kvmigrate.core.preflight.Mode;
import io.kvmigrate.core.preflight.NameConflictCheck;
import io.kvmigrate.core.preflight.NetworkCheck;
import io.kvmigrate.core.preflight.NxCheck;
import io.kvmigrate.core.preflight.Preflight;
import io.kvmigrate.core.preflight.PreflightContext;
import io.kvmigrate.core.preflight.PreflightReport;
import io.kvmigrate.core.preflight.Severity;
import io.kvmigrate.core.preflight.SnapshotsAndJobsCheck;
import io.kvmigrate.core.preflight.StorageCheck;
import io.kvmigrate.core.preflight.StoragePoolCheck;
import io.kvmigrate.core.preflight.UuidConflictCheck;
import io.kvmigrate.core.preflight.VcpuCheck;
import io.kvmigrate.core.preflight.VersionCheck;
import io.kvmigrate.core.preflight.VmStateCheck;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every check on recorded libvirt XML: the lab's AMD EPYC host (this machine), an Intel Xeon Gold 6148 and an AMD
 * EPYC 7601 (libvirt's cputestdata), an old QEMU (libvirt's capability test data). Each check: pass, warn and fail.
 */
class PreflightRecordedXmlTest {
    private static final HostInventory LAB_A = amdLab("aaaaaaaa-0000-0000-0000-000000000001");
    private static final HostInventory LAB_B = amdLab("bbbbbbbb-0000-0000-0000-000000000002");
    private static final HostInventory XEON = intelXeon("cccccccc-0000-0000-0000-000000000003");
    private static final HostInventory EPYC = amdEpyc7601("dddddddd-0000-0000-0000-000000000004");
    private static final HostInventory OLD = oldIntelQemu("eeeeeeee-0000-0000-0000-000000000005");

    private static List<Finding> run(Check c, PreflightContext ctx) {
        return c.check(ctx);
    }

    private static Finding single(List<Finding> fs) {
        assertThat(fs).hasSize(1);
        return fs.get(0);
    }

    private static void assertFinding(Finding f, Severity s, String code) {
        assertThat(f.severity()).as(f.message()).isEqualTo(s);
        assertThat(f.code()).isEqualTo(code);
        assertThat(f.message()).isNotBlank();
        if (s != Severity.PASS) assertThat(f.hint()).as(code + " has a fix hint").isNotBlank();
    }

    // ---- parsing ----

    @Test
    void parse_labCapabilities_readsUuidCpuAndMachines() {
        CapabilitiesXml.Parsed caps = CapabilitiesXml.parse(res("caps-lab-amd-epyc-nested.xml"));
        assertThat(caps.hostUuid()).isEqualTo("b5368781-c7d5-3d2e-9bcc-cf95ab2d2cfb");
        assertThat(caps.cpu().vendor()).isEqualTo("AMD");
        assertThat(caps.cpu().featuresExpanded()).isFalse();
        HostInventory.GuestSupport x86 = caps.guests().stream().filter(g -> g.arch().equals("x86_64")).findFirst().orElseThrow();
        assertThat(x86.wordsize()).isEqualTo(64);
        assertThat(x86.machines()).contains("pc", "pc-i440fx-7.2", "q35", "pc-q35-7.2");
        assertThat(x86.domainTypes()).containsExactly("qemu", "kvm");
        assertThat(caps.cpuXml()).startsWith("<cpu>").contains("<vendor>AMD</vendor>");
    }

    @Test
    void parseCpu_expandedIntelAndAmd_includeNxAndLm() {
        assertThat(XEON.cpu().features()).contains("nx", "lm", "vmx", "avx512f").doesNotContain("svm");
        assertThat(EPYC.cpu().features()).contains("nx", "lm", "svm", "clzero").doesNotContain("vmx");
        assertThat(CapabilitiesXml.parseCpu(res("cpu-intel-xeon-gold-6148-host.xml"), false).features()).doesNotContain("nx");
    }

    @Test
    void guestCpuXml_runningGuest_isTheCpuElement() {
        assertThat(CapabilitiesXml.guestCpuXml(res("domain-lab-guest-running.xml")))
                .startsWith("<cpu ").contains("mode='custom'").contains("check='full'").contains("<model fallback='forbid'>qemu64</model>").endsWith("</cpu>");
        assertThat(CapabilitiesXml.domainCapsMachine(res("domcaps-libvirt-qemu-2.12-intel-haswell.xml"))).isEqualTo("pc-i440fx-2.12");
    }

    // ---- one check at a time ----

    @Test
    void hostIdentity_sameUuid_failsSameHost() {
        assertFinding(single(run(new HostIdentityCheck(), ctx(running(), Mode.LIVE, LAB_A, amdLab(LAB_A.facts().hostUuid())))),
                Severity.FAIL, "SAME_HOST");
        assertFinding(single(run(new HostIdentityCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "HOST_IDENTITY");
    }

    @Test
    void vmState_shutOffForLive_failsAndRunningForOffline_fails() {
        assertFinding(single(run(new VmStateCheck(), ctx(RecordedHosts.guest(VmState.SHUTOFF), Mode.LIVE, LAB_A, LAB_B))), Severity.FAIL, "VM_NOT_RUNNING");
        assertFinding(single(run(new VmStateCheck(), ctx(running(), Mode.OFFLINE, LAB_A, LAB_B))), Severity.FAIL, "VM_RUNNING");
        assertFinding(single(run(new VmStateCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "VM_STATE");
    }

    @Test
    void cpuVendor_intelToAmd_failsLiveOverridableWarnsOffline() {
        Finding live = single(run(new CpuVendorCheck(), ctx(running(), Mode.LIVE, XEON, EPYC)));
        assertFinding(live, Severity.FAIL, "CPU_VENDOR_MISMATCH");
        assertThat(live.overridable()).isTrue();
        assertThat(live.sourceValue()).isEqualTo("Intel");
        assertThat(live.targetValue()).isEqualTo("AMD");
        assertFinding(single(run(new CpuVendorCheck(), ctx(running(), Mode.OFFLINE, XEON, EPYC))), Severity.WARN, "CPU_VENDOR_MISMATCH");
        assertFinding(single(run(new CpuVendorCheck(), ctx(running(), Mode.LIVE, EPYC, LAB_B))), Severity.PASS, "CPU_VENDOR");
    }

    @Test
    void cpuVendor_capabilitiesWithoutVendor_warns() {
        HostInventory noVendor = RecordedHosts.withCpuFeatures(OLD, Set.of());
        noVendor = new HostInventory(noVendor.facts(), new HostInventory.Cpu("x86_64", null, null, Set.of(), false), noVendor.guests(),
                noVendor.networks(), noVendor.hostInterfaces(), noVendor.pools(), noVendor.domains(), noVendor.guest());
        assertFinding(single(run(new CpuVendorCheck(), ctx(running(), Mode.LIVE, LAB_A, noVendor))), Severity.WARN, "CPU_VENDOR_UNKNOWN");
    }

    @Test
    void cpuCompatibility_recordedVerdicts_passWarnFail() {
        // Verdicts recorded with virsh hypervisor-cpu-compare against the lab host (see ORIGIN.md).
        HostInventory xeonGuestOnLab = RecordedHosts.withGuestView(LAB_B, new GuestView(CpuVerdict.INCOMPATIBLE,
                "the CPU is incompatible with host CPU: host CPU vendor does not match required CPU vendor Intel", null, null, -1, List.of()));
        Finding fail = single(run(new CpuCompatibilityCheck(), ctx(running(), Mode.LIVE, XEON, xeonGuestOnLab)));
        assertFinding(fail, Severity.FAIL, "CPU_INCOMPATIBLE");
        assertThat(fail.message()).contains("vendor does not match");
        assertThat(fail.overridable()).isFalse();
        assertFinding(single(run(new CpuCompatibilityCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "CPU_COMPATIBILITY");
        HostInventory unknown = RecordedHosts.withGuestView(LAB_B, GuestView.UNKNOWN);
        assertFinding(single(run(new CpuCompatibilityCheck(), ctx(running(), Mode.LIVE, LAB_A, unknown))), Severity.WARN, "CPU_COMPARE_UNAVAILABLE");
    }

    @Test
    void cpuCompatibility_offlineCheckNone_warnsFeaturesDropped() {
        HostInventory epycGuestOnLab = RecordedHosts.withGuestView(LAB_B, new GuestView(CpuVerdict.INCOMPATIBLE,
                "the CPU is incompatible with host CPU: Host CPU does not provide required features: ht, pni", null, null, -1, List.of()));
        var vm = RecordedHosts.guest(VmState.SHUTOFF, "check='full'", "check='none'");
        assertFinding(single(run(new CpuCompatibilityCheck(), ctx(vm, Mode.OFFLINE, LAB_A, epycGuestOnLab))), Severity.WARN, "CPU_FEATURES_DROPPED");
        assertFinding(single(run(new CpuCompatibilityCheck(), ctx(running(), Mode.LIVE, LAB_A, epycGuestOnLab))), Severity.FAIL, "CPU_INCOMPATIBLE");
    }

    @Test
    void nx_intelAndAmdBothNx_passes() {
        assertFinding(single(run(new NxCheck(), ctx(running(), Mode.LIVE, XEON, EPYC))), Severity.PASS, "NX");
    }

    @Test
    void nx_targetWithoutNx_failsLiveWarnsOffline() {
        Set<String> noNx = new HashSet<>(EPYC.cpu().features());
        noNx.remove("nx"); // what a BIOS with "Execute Disable Bit" off reports
        HostInventory target = RecordedHosts.withCpuFeatures(EPYC, noNx);
        Finding live = single(run(new NxCheck(), ctx(running(), Mode.LIVE, LAB_A, target)));
        assertFinding(live, Severity.FAIL, "NX_MISMATCH");
        assertThat(live.sourceValue()).isEqualTo("nx");
        assertThat(live.targetValue()).isEqualTo("no nx");
        assertFinding(single(run(new NxCheck(), ctx(running(), Mode.OFFLINE, LAB_A, target))), Severity.WARN, "NX_MISMATCH");
    }

    @Test
    void nx_unexpandedFeatureList_warnsUnknown() {
        HostInventory raw = new HostInventory(XEON.facts(), CapabilitiesXml.parseCpu(res("cpu-intel-xeon-gold-6148-host.xml"), false),
                XEON.guests(), XEON.networks(), XEON.hostInterfaces(), XEON.pools(), XEON.domains(), XEON.guest());
        assertFinding(single(run(new NxCheck(), ctx(running(), Mode.LIVE, raw, EPYC))), Severity.WARN, "NX_UNKNOWN");
    }

    @Test
    void architecture_x86_64OnLab_passesAnd64BitOn32BitHost_fails() {
        assertFinding(single(run(new ArchitectureCheck(), ctx(running(), Mode.LIVE, XEON, LAB_B))), Severity.PASS, "ARCHITECTURE");
        HostInventory i686 = new HostInventory(LAB_B.facts(), new HostInventory.Cpu("i686", "Intel", "pentium3", Set.of(), false),
                LAB_B.guests(), LAB_B.networks(), LAB_B.hostInterfaces(), LAB_B.pools(), LAB_B.domains(), LAB_B.guest());
        assertFinding(single(run(new ArchitectureCheck(), ctx(running(), Mode.LIVE, LAB_A, i686))), Severity.FAIL, "ARCH_UNSUPPORTED");
        var guest32 = running("arch='x86_64'", "arch='i686'");
        assertFinding(single(run(new ArchitectureCheck(), ctx(guest32, Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "ARCHITECTURE");
    }

    @Test
    void architecture_guestArchNotOffered_failsAndUnknownList_warns() {
        var arm = running("arch='x86_64'", "arch='aarch64'");
        assertFinding(single(run(new ArchitectureCheck(), ctx(arm, Mode.LIVE, LAB_A, LAB_B))), Severity.FAIL, "ARCH_UNSUPPORTED");
        HostInventory noGuests = new HostInventory(LAB_B.facts(), LAB_B.cpu(), null, null, null, null, List.of(), null);
        assertFinding(single(run(new ArchitectureCheck(), ctx(running(), Mode.LIVE, LAB_A, noGuests))), Severity.WARN, "ARCH_UNKNOWN");
    }

    @Test
    void nameAndUuid_conflictsOnTarget_fail() {
        var vm = running();
        HostInventory sameName = RecordedHosts.withDomains(LAB_B, List.of(new HostInventory.Domain("pf1", "11111111-2222-3333-4444-555555555555", false)));
        HostInventory sameUuid = RecordedHosts.withDomains(LAB_B, List.of(new HostInventory.Domain("other", vm.spec().uuid(), true)));
        assertFinding(single(run(new NameConflictCheck(), ctx(vm, Mode.LIVE, LAB_A, sameName))), Severity.FAIL, "NAME_CONFLICT");
        assertFinding(single(run(new UuidConflictCheck(), ctx(vm, Mode.LIVE, LAB_A, sameUuid))), Severity.FAIL, "UUID_CONFLICT");
        assertFinding(single(run(new NameConflictCheck(), ctx(vm, Mode.LIVE, LAB_A, sameUuid))), Severity.PASS, "VM_NAME");
        assertFinding(single(run(new UuidConflictCheck(), ctx(vm, Mode.LIVE, LAB_A, sameName))), Severity.PASS, "VM_UUID");
        HostInventory unknown = RecordedHosts.withDomains(LAB_B, null);
        assertFinding(single(run(new NameConflictCheck(), ctx(vm, Mode.LIVE, LAB_A, unknown))), Severity.WARN, "VM_LIST_UNKNOWN");
    }

    private static final String NIC_ANCHOR = "<memballoon model='none'/>";

    @Test
    void networks_missingInactivePresent_failFailPass() {
        var vm = running(NIC_ANCHOR, "<interface type='network'><mac address='52:54:00:00:00:01'/><source network='prod'/></interface>" + NIC_ANCHOR);
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, LAB_B))), Severity.FAIL, "NETWORK_MISSING");
        HostInventory inactive = RecordedHosts.withNetworking(LAB_B, List.of(new HostInventory.Network("prod", false, "virbr1")), List.of("eth0"));
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, inactive))), Severity.FAIL, "NETWORK_INACTIVE");
        HostInventory active = RecordedHosts.withNetworking(LAB_B, List.of(new HostInventory.Network("prod", true, "virbr1")), List.of("eth0"));
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, active))), Severity.PASS, "NETWORKS");
        HostInventory unknown = RecordedHosts.withNetworking(LAB_B, null, null);
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, unknown))), Severity.WARN, "NETWORKS_UNKNOWN");
    }

    @Test
    void networks_runningVmNicOnNetwork_isCheckedAsNetwork() {
        // As a running VM's XML shows it (recorded from the lab): type='bridge' with the network's name and its bridge.
        var vm = running(NIC_ANCHOR, "<interface type='bridge'><mac address='52:54:00:79:6f:18'/><source network='pfnet' "
                + "portid='6f0c4d0e-3c8e-4b8c-9d64-2f0b8d7e5c11' bridge='pfbr0'/><target dev='vnet0'/><model type='e1000'/></interface>" + NIC_ANCHOR);
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, LAB_B))), Severity.FAIL, "NETWORK_MISSING");
    }

    @Test
    void networks_bridgeMissingOrPresent_failsOrPasses() {
        var vm = running(NIC_ANCHOR, "<interface type='bridge'><source bridge='br0'/></interface>" + NIC_ANCHOR);
        Finding f = single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, LAB_B)));
        assertFinding(f, Severity.FAIL, "BRIDGE_MISSING");
        assertThat(f.sourceValue()).isEqualTo("br0");
        HostInventory withBridge = RecordedHosts.withNetworking(LAB_B, List.of(), List.of("eth0", "br0"));
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, withBridge))), Severity.PASS, "NETWORKS");
        HostInventory unknown = RecordedHosts.withNetworking(LAB_B, List.of(), null);
        assertFinding(single(run(new NetworkCheck(), ctx(vm, Mode.LIVE, LAB_A, unknown))), Severity.WARN, "BRIDGES_UNKNOWN");
    }

    @Test
    void storagePools_fileDiskPoolMissing_warnsAndVolumeDiskPoolMissing_fails() {
        HostInventory noPools = RecordedHosts.withPools(LAB_B, List.of());
        assertFinding(single(run(new StoragePoolCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "STORAGE_POOLS");
        assertFinding(single(run(new StoragePoolCheck(), ctx(running(), Mode.LIVE, LAB_A, noPools))), Severity.WARN, "POOL_MISSING");
        var volumeDisk = running("<disk type='file' device='disk'>", "<disk type='volume' device='disk'>",
                "<source file='/var/tmp/kvm-h3/shared/pf1.img' index='1'/>", "<source pool='images' volume='pf1.img'/>");
        assertFinding(single(run(new StoragePoolCheck(), ctx(volumeDisk, Mode.LIVE, LAB_A, noPools))), Severity.FAIL, "POOL_MISSING");
    }

    @Test
    void storage_notSharedLive_failsAndOfflineNeedsSpace() {
        DiskStorage local = new DiskStorage("hda", "/var/lib/libvirt/images/pf1.img", DiskStorage.Sharing.NOT_SHARED,
                "Disk hda (/var/lib/libvirt/images/pf1.img) is not shared storage", null, 2L << 30);
        assertFinding(single(run(new StorageCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "STORAGE");
        Finding live = single(run(new StorageCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B, local)));
        assertFinding(live, Severity.FAIL, "STORAGE_NOT_SHARED");
        assertThat(live.overridable()).isFalse();
        HostInventory small = RecordedHosts.withPools(LAB_B, List.of(new HostInventory.Pool("default", "dir", "/var/lib/libvirt/images", true,
                10L << 30, 1L << 30)));
        List<Finding> offline = run(new StorageCheck(), ctx(RecordedHosts.guest(VmState.SHUTOFF), Mode.OFFLINE, LAB_A, small, local));
        assertThat(offline).extracting(Finding::code).containsExactly("STORAGE_COPY_NEEDED", "TARGET_SPACE_INSUFFICIENT");
        assertThat(offline.get(1).severity()).isEqualTo(Severity.FAIL);
        HostInventory big = RecordedHosts.withPools(LAB_B, List.of(new HostInventory.Pool("default", "dir", "/var/lib/libvirt/images", true,
                10L << 30, 8L << 30)));
        assertThat(run(new StorageCheck(), ctx(RecordedHosts.guest(VmState.SHUTOFF), Mode.OFFLINE, LAB_A, big, local)))
                .extracting(Finding::severity).containsExactly(Severity.WARN, Severity.PASS);
    }

    @Test
    void memory_labFreeMemory_passesTightWarnsTooBigFails() {
        assertFinding(single(run(new MemoryCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "MEMORY");
        var tight = running("<memory unit='KiB'>131072</memory>", "<memory unit='KiB'>3700000</memory>");
        assertFinding(single(run(new MemoryCheck(), ctx(tight, Mode.LIVE, LAB_A, LAB_B))), Severity.WARN, "TARGET_MEMORY_TIGHT");
        var big = running("<memory unit='KiB'>131072</memory>", "<memory unit='GiB'>8</memory>");
        Finding f = single(run(new MemoryCheck(), ctx(big, Mode.LIVE, LAB_A, LAB_B)));
        assertFinding(f, Severity.FAIL, "TARGET_MEMORY_INSUFFICIENT");
        assertThat(f.overridable()).isTrue();
        assertThat(f.targetValue()).startsWith("3693 MiB free");
    }

    @Test
    void vcpus_moreThanTargetCpus_failsOverridable() {
        var four = running("<vcpu placement='static'>1</vcpu>", "<vcpu placement='static'>4</vcpu>");
        Finding f = single(run(new VcpuCheck(), ctx(four, Mode.LIVE, LAB_A, LAB_B)));
        assertFinding(f, Severity.FAIL, "TARGET_CPUS_INSUFFICIENT");
        assertThat(f.overridable()).isTrue();
        assertFinding(single(run(new VcpuCheck(), ctx(four, Mode.LIVE, LAB_A, OLD))), Severity.PASS, "VCPUS");
    }

    @Test
    void machineType_labQemuSupports_oldQemuDoesNot() {
        assertThat(run(new MachineTypeCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))).extracting(Finding::severity)
                .containsOnly(Severity.PASS).hasSize(2);
        List<Finding> old = run(new MachineTypeCheck(), ctx(running(), Mode.LIVE, LAB_A, OLD));
        Finding machine = old.stream().filter(f -> f.code().equals("MACHINE_UNSUPPORTED")).findFirst().orElseThrow();
        assertFinding(machine, Severity.FAIL, "MACHINE_UNSUPPORTED");
        assertThat(machine.sourceValue()).isEqualTo("pc-i440fx-7.2");
        // An alias the old QEMU knows passes through its canonical list.
        var pc = running("machine='pc-i440fx-7.2'", "machine='pc'");
        assertThat(run(new MachineTypeCheck(), ctx(pc, Mode.LIVE, LAB_A, OLD))).extracting(Finding::severity).containsOnly(Severity.PASS);
    }

    @Test
    void machineType_emulatorMissingOnTarget_fails() {
        var vm = running("<emulator>/usr/bin/qemu-system-x86_64</emulator>", "<emulator>/opt/qemu-9/bin/qemu-system-x86_64</emulator>");
        HostInventory target = RecordedHosts.withGuestView(LAB_B, new GuestView(CpuVerdict.UNKNOWN, null, null,
                "Cannot check QEMU binary /opt/qemu-9/bin/qemu-system-x86_64: No such file or directory", -1, List.of()));
        Finding f = run(new MachineTypeCheck(), ctx(vm, Mode.LIVE, LAB_A, target)).get(0);
        assertFinding(f, Severity.FAIL, "EMULATOR_MISSING");
        assertThat(f.message()).contains("No such file");
        HostInventory unknown = new HostInventory(LAB_B.facts(), LAB_B.cpu(), null, null, null, null, List.of(), null);
        assertFinding(single(run(new MachineTypeCheck(), ctx(vm, Mode.LIVE, LAB_A, unknown))), Severity.WARN, "MACHINE_UNKNOWN");
    }

    @Test
    void versions_olderTarget_warnsBoth() {
        assertThat(run(new VersionCheck(), ctx(running(), Mode.LIVE, LAB_A, OLD))).extracting(Finding::code)
                .containsExactly("LIBVIRT_OLDER", "QEMU_OLDER");
        assertThat(run(new VersionCheck(), ctx(running(), Mode.LIVE, LAB_A, OLD))).extracting(Finding::targetValue)
                .containsExactly("8.0.0", "2.12.0");
        assertThat(run(new VersionCheck(), ctx(running(), Mode.LIVE, OLD, LAB_B))).extracting(Finding::severity).containsOnly(Severity.PASS);
    }

    @Test
    void hostDevices_liveFailsOfflineWarns() {
        var vm = running(NIC_ANCHOR, "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x3b'"
                + " slot='0x00' function='0x0'/></source></hostdev>" + NIC_ANCHOR);
        assertFinding(single(run(new HostDeviceCheck(), ctx(vm, Mode.LIVE, LAB_A, LAB_B))), Severity.FAIL, "HOSTDEV_PRESENT");
        assertFinding(single(run(new HostDeviceCheck(), ctx(vm, Mode.OFFLINE, LAB_A, LAB_B))), Severity.WARN, "HOSTDEV_PRESENT");
        assertFinding(single(run(new HostDeviceCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "HOST_DEVICES");
    }

    @Test
    void hostPassthrough_unlikeHostsFailLiveWarnOffline_likeHostsPass() {
        var vm = running("<cpu mode='custom' match='exact' check='full'>", "<cpu mode='host-passthrough' check='none'>");
        Finding f = single(run(new HostPassthroughCheck(), ctx(vm, Mode.LIVE, XEON, EPYC)));
        assertFinding(f, Severity.FAIL, "HOST_PASSTHROUGH_UNLIKE_HOSTS");
        assertThat(f.message()).contains("avx512f");
        assertFinding(single(run(new HostPassthroughCheck(), ctx(vm, Mode.OFFLINE, XEON, EPYC))), Severity.WARN, "HOST_PASSTHROUGH_UNLIKE_HOSTS");
        assertFinding(single(run(new HostPassthroughCheck(), ctx(vm, Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "CPU_PASSTHROUGH");
    }

    @Test
    void snapshotsAndJobs_presentFailUnknownWarns() {
        HostInventory snaps = RecordedHosts.withGuestView(LAB_A, new GuestView(CpuVerdict.IDENTICAL, null, null, null, 2, List.of()));
        assertFinding(single(run(new SnapshotsAndJobsCheck(), ctx(running(), Mode.LIVE, snaps, LAB_B))), Severity.FAIL, "SNAPSHOTS_PRESENT");
        HostInventory job = RecordedHosts.withGuestView(LAB_A, new GuestView(CpuVerdict.IDENTICAL, null, null, null, 0, List.of("hda")));
        assertFinding(single(run(new SnapshotsAndJobsCheck(), ctx(running(), Mode.LIVE, job, LAB_B))), Severity.FAIL, "BLOCK_JOB_ACTIVE");
        HostInventory unknown = RecordedHosts.withGuestView(LAB_A, GuestView.UNKNOWN);
        assertFinding(single(run(new SnapshotsAndJobsCheck(), ctx(running(), Mode.LIVE, unknown, LAB_B))), Severity.WARN, "SNAPSHOTS_UNKNOWN");
        assertFinding(single(run(new SnapshotsAndJobsCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "SNAPSHOTS_JOBS");
    }

    @Test
    void cacheMode_writebackFailsLiveNoneOrOfflinePasses() {
        var writeback = running("cache='none'", "cache='writeback'");
        Finding f = single(run(new CacheModeCheck(), ctx(writeback, Mode.LIVE, LAB_A, LAB_B)));
        assertFinding(f, Severity.FAIL, "UNSAFE_CACHE_MODE");
        assertThat(f.overridable()).isFalse();
        var noDriverCache = running(" cache='none'", "");
        assertFinding(single(run(new CacheModeCheck(), ctx(noDriverCache, Mode.LIVE, LAB_A, LAB_B))), Severity.FAIL, "UNSAFE_CACHE_MODE");
        assertFinding(single(run(new CacheModeCheck(), ctx(running(), Mode.LIVE, LAB_A, LAB_B))), Severity.PASS, "DISK_CACHE");
        assertFinding(single(run(new CacheModeCheck(), ctx(writeback, Mode.OFFLINE, LAB_A, LAB_B))), Severity.PASS, "DISK_CACHE");
    }

    // ---- the whole report ----

    @Test
    void evaluate_labToLab_allPass() {
        PreflightReport r = Preflight.standard().evaluate(ctx(running(), Mode.LIVE, LAB_A, LAB_B), List.of());
        assertThat(r.with(Severity.FAIL)).isEmpty();
        assertThat(r.with(Severity.WARN)).isEmpty();
        assertThat(r.passes(Set.of())).isTrue();
    }

    @Test
    void evaluate_intelToAmdEpyc_refusesWithPreflightFailedListingAll() {
        HostInventory target = RecordedHosts.withGuestView(EPYC, new GuestView(CpuVerdict.INCOMPATIBLE,
                "host CPU vendor does not match required CPU vendor Intel", "pc-i440fx-7.2", null, -1, List.of()));
        PreflightReport r = Preflight.standard().evaluate(ctx(running(), Mode.LIVE, XEON, target), List.of());
        assertThat(r.blocking(Set.of())).extracting(Finding::code).containsExactly("CPU_VENDOR_MISMATCH", "CPU_INCOMPATIBLE");
        // The vendor mismatch may be accepted, the CPU incompatibility may not.
        assertThat(r.blocking(Set.of("CPU_VENDOR_MISMATCH", "CPU_INCOMPATIBLE"))).extracting(Finding::code).containsExactly("CPU_INCOMPATIBLE");
        assertThat(r.ineffectiveAccepts(List.of("CPU_VENDOR_MISMATCH", "CPU_INCOMPATIBLE", "NOPE"))).containsExactly("CPU_INCOMPATIBLE", "NOPE");
        var e = r.refusal("check", Set.of());
        assertThat(e.code()).isEqualTo(ErrorCode.PREFLIGHT_FAILED);
        assertThat(e.getMessage()).contains("CPU_VENDOR_MISMATCH").contains("Also failing: CPU_INCOMPATIBLE");
        assertThat(e.vm()).isEqualTo("pf1");
        assertThat(e.host()).isEqualTo("dst");
    }

    @Test
    void refusal_sameHostAmongOthers_keepsSameHostCode() {
        HostInventory same = RecordedHosts.withDomains(amdLab(LAB_A.facts().hostUuid()),
                List.of(new HostInventory.Domain("pf1", "x", true)));
        PreflightReport r = Preflight.standard().evaluate(ctx(running(), Mode.LIVE, LAB_A, same), List.of());
        assertThat(r.refusal("check", Set.of()).code()).isEqualTo(ErrorCode.SAME_HOST);
        HostInventory conflict = RecordedHosts.withDomains(LAB_B, List.of(new HostInventory.Domain("pf1", "x", true)));
        assertThat(Preflight.standard().evaluate(ctx(running(), Mode.LIVE, LAB_A, conflict), List.of()).refusal("check", Set.of()).code())
                .isEqualTo(ErrorCode.TARGET_CONFLICT);
    }

    @Test
    void blocking_acceptedOverridableMemory_letsMigrationProceed() {
        var big = running("<memory unit='KiB'>131072</memory>", "<memory unit='GiB'>8</memory>");
        PreflightReport r = Preflight.standard().evaluate(ctx(big, Mode.LIVE, LAB_A, LAB_B), List.of());
        assertThat(r.passes(Set.of())).isFalse();
        assertThat(r.passes(Set.of("TARGET_MEMORY_INSUFFICIENT"))).isTrue();
    }
}

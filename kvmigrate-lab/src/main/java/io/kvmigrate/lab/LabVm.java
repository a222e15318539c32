package io.kvmigrate.lab;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.lab.guest.GuestMemory;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.DomainXml;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.UUID;

/** Test-guest VMs for the lab: a raw boot disk holding the dirtying guest, a serial log, no network. */
public final class LabVm {
    private LabVm() {
    }

    /**
     * The VM's definition: name, memory, disk image path and serial log path; {@code dirtyRing}: KVM's dirty ring on (what
     * QEMU's per-vCPU dirty limit needs; KVM only).
     */
    public record Definition(String name, int memoryMiB, Path disk, Path serialLog, TestGuest.Params guest, boolean kvm, int dirtyRingPages) {
        public Definition(String name, int memoryMiB, Path disk, Path serialLog, TestGuest.Params guest, boolean kvm) {
            this(name, memoryMiB, disk, serialLog, guest, kvm, 0);
        }

        /** The same VM with KVM's dirty ring (the dirty limit's prerequisite) of {@link #DIRTY_RING_PAGES}, when it runs on KVM. */
        public Definition withDirtyRing() {
            return new Definition(name, memoryMiB, disk, serialLog, guest, kvm, kvm ? DIRTY_RING_PAGES : 0);
        }

        public String xml() {
            String type = kvm ? "kvm" : "qemu";
            return """
                    <domain type='%s'>
                      <name>%s</name>
                      <uuid>%s</uuid>
                      <memory unit='MiB'>%d</memory>
                      <vcpu>1</vcpu>
                      <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
                      <features><acpi/>%s</features>
                      <clock offset='utc'/>
                      <on_poweroff>destroy</on_poweroff>
                      <on_reboot>restart</on_reboot>
                      <on_crash>destroy</on_crash>
                      <devices>
                        <emulator>/usr/bin/qemu-system-x86_64</emulator>
                        <disk type='file' device='disk'>
                          <driver name='qemu' type='raw' cache='none'/>
                          <source file='%s'/>
                          <target dev='hda' bus='ide'/>
                        </disk>
                        <serial type='file'><source path='%s' append='on'/><target port='0'/></serial>
                        <memballoon model='none'/>
                      </devices>
                    </domain>
                    """.formatted(type, DomainXml.escape(name), UUID.randomUUID(), memoryMiB,
                    dirtyRingPages > 0 ? "<kvm><dirty-ring state='on' size='" + dirtyRingPages + "'/></kvm>" : "", DomainXml.escape(disk.toString()),
                    DomainXml.escape(serialLog.toString()));
        }
    }

    /** The lab's dirty ring: the smallest KVM takes, so a limited vCPU dirties in bursts of 4 MiB (see docs/convergence.md). */
    public static final int DIRTY_RING_PAGES = 1024;

    /** A definition for a test guest whose files live in {@code dir}. */
    public static Definition definition(String name, Path dir, TestGuest.Params guest, boolean kvm) {
        int mem = Math.max(128, TestGuest.minimumMemoryMiB(guest));
        return new Definition(name, mem, dir.resolve(name + ".img"), dir.resolve(name + ".serial.log"), guest, kvm);
    }

    /** Writes the disk image and defines the VM on {@code host} (not started). */
    public static VmInfo create(HostSession host, Definition d) {
        try {
            Files.createDirectories(d.disk().getParent());
            Files.write(d.disk(), TestGuest.diskImage(d.guest()));
            Files.deleteIfExists(d.serialLog());
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", host.host().name(), d.name(),
                    "Tried to write the guest image " + d.disk() + " but failed because: " + e.getMessage(), "Check free space.");
        }
        return host.defineVm(d.xml());
    }

    /** Reads the guest's memory through libvirt. */
    public static GuestMemory memory(HostSession host, String vm) {
        return (address, length) -> host.peekPhysicalMemory(vm, address, length);
    }

    /** The guest's pass counter as read through libvirt; empty while it is still in the BIOS. */
    public static OptionalLong passCounter(HostSession host, String vm) {
        return TestGuest.passCounter(memory(host, vm));
    }

    /** Where the guest's rewrite loop is: pass number, then page within the pass. Only ever grows while the guest runs. */
    public record Position(long pass, long page) implements Comparable<Position> {
        @Override
        public int compareTo(Position o) {
            return pass != o.pass ? Long.compare(pass, o.pass) : Long.compare(page, o.page);
        }

        @Override
        public String toString() {
            return "pass " + pass + " page " + page;
        }
    }

    /** Reads the guest's loop position through libvirt. */
    public static Position position(HostSession host, String vm) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(host.peekPhysicalMemory(vm, TestGuest.PASS_ADDRESS, 8))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        return new Position(Integer.toUnsignedLong(b.getInt()), Integer.toUnsignedLong(b.getInt()));
    }

    /** Waits until the guest has filled its span and runs its second pass (so a migration sees real content). */
    public static long awaitRunning(HostSession host, String vm, Duration timeout) {
        boolean ok = Poll.until(timeout, Duration.ofMillis(100), () -> passCounter(host, vm).orElse(0) >= 2);
        if (!ok) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", host.host().name(), vm,
                    "The test guest did not reach its second pass within " + timeout.toSeconds() + " s.",
                    "Check the serial log and the QEMU log of the host.");
        }
        return passCounter(host, vm).orElseThrow();
    }

    /**
     * A definition whose boot disk lives in a host's pool {@link Lab#LOCAL_POOL} (local storage) and whose serial log is in
     * the host's own log directory; create it with {@link #createInPool}.
     */
    public static Definition localDefinition(String name, TestGuest.Params guest, boolean kvm) {
        int mem = Math.max(128, TestGuest.minimumMemoryMiB(guest));
        return new Definition(name, mem, Path.of(Lab.LOCAL_DIR, name + ".img"), Path.of("/var/log/libvirt", name + ".serial.log"), guest, kvm);
    }

    /** Writes the boot disk into {@code pool} through the host's storage API (its directory may be private to the host) and defines the VM. */
    public static VmInfo createInPool(HostSession host, Definition d, String pool, String xml) {
        byte[] image = TestGuest.diskImage(d.guest());
        host.deleteVolume(d.disk().toString());
        host.createVolume(pool, d.disk().getFileName().toString(), "raw", image.length);
        try (var up = host.uploadVolume(d.disk().toString(), true)) {
            up.data(image, image.length);
            up.finish();
        }
        return host.defineVm(xml);
    }
}

package io.kvmigrate.lab.linux;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.libvirt.DomainXml;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;

/**
 * The lab's real Linux guest: a Debian kernel booted by libvirt ({@code <kernel>}/{@code <initrd>}) into a busybox
 * initramfs whose init ({@code init.sh}) dirties memory through the kernel and verifies it, and optionally a virtio
 * disk whose blocks it writes once and keeps checking. It runs under software emulation ({@code <domain type='qemu'>}):
 * this machine's nested KVM emulates ring 0 so slowly that a Linux kernel does not boot under it (see
 * docs/architecture.md). {@link SerialLog} reads what it reports.
 */
public final class LinuxGuest {
    private LinuxGuest() {
    }

    /**
     * What the guest does: memory, the span it rewrites ({@code blocks} of {@code blockMiB}), how often it verifies an
     * earlier block (every n-th write; 0 = never, the fastest dirtying) and the disk's data blocks (MiB; 0 = no disk).
     */
    public record Params(int memoryMiB, int blocks, int blockMiB, int verifyEvery, int diskBlocks) {
        public Params {
            if (memoryMiB < 128 || blocks < 2 || blockMiB < 1 || verifyEvery < 0 || diskBlocks < 0
                    || blocks * blockMiB + 96 > memoryMiB) {
                throw new IllegalArgumentException("bad real-guest parameters " + memoryMiB + "/" + blocks + "x" + blockMiB);
            }
        }

        /** 512 MiB, rewriting 192 MiB in 8 MiB blocks, verifying a block after every second write; no disk. */
        public static Params defaults() {
            return new Params(512, 24, 8, 2, 0);
        }

        public Params withDisk(int mib) {
            return new Params(memoryMiB, blocks, blockMiB, verifyEvery, mib);
        }

        /** Bytes of the disk image: the data blocks plus the block holding their checksums. */
        public long diskBytes() {
            return (diskBlocks + 1L) * 1048576L;
        }

        /**
         * The lockup and RCU stall detectors wait 120 s instead of 20 s: the emulated guest reported "soft lockup - CPU#0
         * stuck for 22s" once in CI, at 32 s of uptime after a short live move (no mismatch, disk intact). A guest that stops
         * for longer still fails its health check, which wants it ticking on; damage shows as mismatches and BUG/Oops lines.
         * docs/reliability.md has what is known of these stalls.
         */
        String cmdline() {
            return "console=ttyS0 loglevel=4 panic=0 mitigations=off watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120 kvmblocks=" + blocks + " kvmbs=" + blockMiB + " kvmverify="
                    + verifyEvery + " kvmdisk=" + diskBlocks;
        }
    }

    /** A defined guest's files: the boot files (shared by all guests), its serial log and its disk (or null). */
    public record Definition(String name, Params params, LinuxGuestImages.Images images, Path serialLog, Path disk) {
        public String xml() {
            String diskXml = disk == null ? "" : """
                        <disk type='file' device='disk'>
                          <driver name='qemu' type='raw' cache='none'/>
                          <source file='%s'/>
                          <target dev='vda' bus='virtio'/>
                        </disk>
                    """.formatted(DomainXml.escape(disk.toString()));
            return """
                    <domain type='qemu'>
                      <name>%s</name>
                      <uuid>%s</uuid>
                      <memory unit='MiB'>%d</memory>
                      <vcpu>1</vcpu>
                      <os>
                        <type arch='x86_64' machine='pc'>hvm</type>
                        <kernel>%s</kernel>
                        <initrd>%s</initrd>
                        <cmdline>%s</cmdline>
                      </os>
                      <features><acpi/></features>
                      <clock offset='utc'/>
                      <on_poweroff>destroy</on_poweroff>
                      <on_reboot>destroy</on_reboot>
                      <on_crash>destroy</on_crash>
                      <devices>
                        <emulator>/usr/bin/qemu-system-x86_64</emulator>
                    %s    <serial type='file'><source path='%s' append='on'/><target port='0'/></serial>
                        <memballoon model='none'/>
                      </devices>
                    </domain>
                    """.formatted(DomainXml.escape(name), UUID.nameUUIDFromBytes(("kvmigrate-linux-" + name).getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                    params.memoryMiB(), DomainXml.escape(images.kernel().toString()), DomainXml.escape(images.initrd().toString()),
                    params.cmdline(), diskXml, DomainXml.escape(serialLog.toString()));
        }
    }

    /** A guest whose serial log and disk (if any) are files in {@code dir} (shared storage in the lab). */
    public static Definition definition(String name, Params params, LinuxGuestImages.Images images, Path dir) {
        return new Definition(name, params, images, dir.resolve(name + ".serial.log"), params.diskBlocks() > 0 ? dir.resolve(name + ".img") : null);
    }

    /**
     * A guest whose disk is a volume in {@code pool} (the lab's local pool: private to each host, same path) and whose serial
     * log is in {@code logDir}; create it with {@link #createInPool}.
     */
    public static Definition localDefinition(String name, Params params, LinuxGuestImages.Images images, String poolDir, Path logDir) {
        return new Definition(name, params, images, logDir.resolve(name + ".serial.log"), Path.of(poolDir, name + ".img"));
    }

    /** Starts a fresh serial log, writes an empty (sparse) disk file if the guest has one, and defines the VM. */
    public static VmInfo create(HostSession host, Definition d) {
        try {
            Files.createDirectories(d.serialLog().getParent());
            Files.deleteIfExists(d.serialLog());
            if (d.disk() != null) {
                Files.deleteIfExists(d.disk());
                try (RandomAccessFile f = new RandomAccessFile(d.disk().toFile(), "rw")) {
                    f.setLength(d.params().diskBytes());
                }
            }
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", host.host().name(), d.name(),
                    "Tried to prepare the real guest's files but failed because: " + e.getMessage(), "Check free space.");
        }
        return host.defineVm(d.xml());
    }

    /** As {@link #create}, with the disk made as an empty volume of {@code pool} through the host's storage API. */
    public static VmInfo createInPool(HostSession host, Definition d, String pool) {
        try {
            Files.createDirectories(d.serialLog().getParent());
            Files.deleteIfExists(d.serialLog());
        } catch (IOException e) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", host.host().name(), d.name(),
                    "Tried to reset the real guest's serial log but failed because: " + e.getMessage(), null);
        }
        host.deleteVolume(d.disk().toString());
        host.createVolume(pool, d.disk().getFileName().toString(), "raw", d.params().diskBytes());
        return host.defineVm(d.xml());
    }

    /** Waits until the guest has filled its span and ticked once (boot, disk set-up and fill take ~10-20 s under emulation). */
    public static SerialLog awaitTicking(HostSession host, Definition d, Duration timeout) {
        SerialLog[] log = {SerialLog.read(d.serialLog())};
        boolean ok = io.kvmigrate.lab.Poll.until(timeout, Duration.ofMillis(200), () -> {
            log[0] = SerialLog.read(d.serialLog());
            return log[0].ticks() >= 1 || !log[0].clean();
        });
        if (!ok || !log[0].clean()) {
            throw new KvmigrateException(ErrorCode.LAB_FAILED, "lab", host.host().name(), d.name(), "The real guest did not start ticking"
                    + " within " + timeout.toSeconds() + " s: " + log[0].summary(), "See its serial log " + d.serialLog() + ".");
        }
        return log[0];
    }
}

package io.kvmigrate.cli;

import io.kvmigrate.core.engine.VolumeCopier;
import io.kvmigrate.core.model.VmInfo;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.VolumeUpload;
import io.kvmigrate.lab.Lab;
import io.kvmigrate.lab.LabVm;
import io.kvmigrate.lab.guest.TestGuest;
import io.kvmigrate.libvirt.DomainXml;
import io.kvmigrate.core.engine.BlockDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

/** Test VMs with disks in the lab hosts' local pools, made and checked through libvirt's storage API only. */
final class LabDisks {
    static final long MIB = 1 << 20;
    static final String DIR = Lab.LOCAL_DIR;

    private LabDisks() {
    }

    /** A test guest booting from a raw disk in host {@code host}'s local pool, with extra disks (XML) as vdb, vdc... Not started. */
    static LabVm.Definition define(int host, String name, TestGuest.Params params, String extraDisksXml) {
        LabVm.Definition d = LabVm.localDefinition(name, params, ItLab.get().kvmAvailable());
        String xml = d.xml().replace("<serial ", extraDisksXml + "<serial ");
        try (HostSession s = ItLab.open(host)) {
            LabVm.createInPool(s, d, Lab.LOCAL_POOL, xml);
        }
        return d;
    }

    static String diskXml(String dev, String format, String path) {
        return "<disk type='file' device='disk'><driver name='qemu' type='" + format + "' cache='none'/><source file='"
                + DomainXml.escape(path) + "'/><target dev='" + dev + "' bus='virtio'/></disk>\n";
    }

    /** An empty qcow2 volume, created by libvirt. */
    static String qcow2(HostSession s, String name, long capacity) {
        return s.createVolume(Lab.LOCAL_POOL, name, "qcow2", capacity).path();
    }

    /**
     * A sparse raw volume: pseudo-random data in {@code dataMiB} MiB at the start and again in the middle, holes elsewhere.
     * Returns the digest its full content must have (the {@link BlockDigest} {@link #sha} reads back, computed here, holes
     * as zeros).
     */
    static String sparseRaw(HostSession s, String name, long capacity, int dataMiB, long seed) throws Exception {
        s.createVolume(Lab.LOCAL_POOL, name, "raw", capacity);
        BlockDigest md = new BlockDigest();
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] chunk = new byte[(int) MIB];
        long half = dataMiB / 2 * MIB;
        long middle = capacity / 2;
        try (VolumeUpload up = s.uploadVolume(DIR + "/" + name, true)) {
            long pos = 0;
            for (long[] run : List.of(new long[] {0, half}, new long[] {middle, dataMiB * MIB - half})) {
                if (run[0] > pos) {
                    up.hole(run[0] - pos);
                    md.hole(run[0] - pos);
                }
                for (long left = run[1]; left > 0; left -= chunk.length) {
                    rnd.nextBytes(chunk);
                    up.data(chunk, chunk.length);
                    md.data(chunk, chunk.length);
                }
                pos = run[0] + run[1];
            }
            up.hole(capacity - pos);
            md.hole(capacity - pos);
            up.finish();
        }
        return md.finish().sha256();
    }

    /** The {@link BlockDigest} of a volume's content, read through libvirt on that host. */
    static String sha(HostSession s, String path) {
        return new VolumeCopier(Clock.systemUTC(), () -> false, Duration.ofSeconds(5)).digest(s, path).sha256();
    }

    /** Powers off and undefines the VM and deletes the given volumes on every lab host. */
    static void removeEverywhere(String vm, List<String> paths) {
        ItLab.removeEverywhere(vm);
        for (int i = 0; i < 2; i++) {
            try (HostSession s = ItLab.open(i)) {
                for (String p : paths) s.deleteVolume(p);
            }
        }
    }

    static boolean persistentOn(int host, String vm) {
        try (HostSession s = ItLab.open(host)) {
            return s.findVm(vm).map(VmInfo::persistent).orElse(false);
        }
    }
}

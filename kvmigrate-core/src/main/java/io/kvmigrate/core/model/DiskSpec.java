package io.kvmigrate.core.model;

/** One disk of a VM: guest target (vda), device kind (disk, cdrom), source type (file, block, volume, network), path and format. */
public record DiskSpec(String target, String device, String sourceType, String sourcePath, String format,
        String pool, String volume, boolean readOnly, boolean shareable) {

    /** True for disks with host-side data that must be reachable on the target. */
    public boolean hasLocalSource() {
        return sourcePath != null && !sourcePath.isBlank() && ("file".equals(sourceType) || "block".equals(sourceType)
                || "volume".equals(sourceType));
    }
}

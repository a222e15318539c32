package io.kvmigrate.core.preflight;

import java.util.List;

/** A VM with host devices passed through (PCI, USB, mediated) cannot be live-migrated: the device state stays in the source's hardware. */
public final class HostDeviceCheck implements Check {
    @Override
    public String name() {
        return "HOST_DEVICES";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        List<String> devs = ctx.vm().spec().hostDevices();
        if (devs.isEmpty()) return List.of(Finding.pass(name(), "none", null, "No host devices are passed through."));
        String list = devs.size() + " (" + String.join(", ", devs) + ")";
        if (ctx.live()) {
            return List.of(Finding.fail("HOSTDEV_PRESENT", name(), list, null, "The VM has host device(s) passed through: " + list
                    + "; QEMU cannot live-migrate them.", "Detach them first (virsh detach-device --live), migrate, then attach "
                    + "the target's equivalent devices; or migrate offline."));
        }
        return List.of(Finding.warn("HOSTDEV_PRESENT", name(), list, null, "The VM has host device(s) passed through: " + list
                + "; the same devices must exist on the target.", "Check the devices' addresses on the target, or edit the VM after moving it."));
    }
}

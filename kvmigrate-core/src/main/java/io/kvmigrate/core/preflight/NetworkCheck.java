package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory;
import io.kvmigrate.core.model.NicSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Every libvirt network, bridge and host interface the VM's NICs use must exist (and networks be active) on the target. */
public final class NetworkCheck implements Check {
    @Override
    public String name() {
        return "NETWORKS";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        List<Finding> out = new ArrayList<>();
        HostInventory t = ctx.target();
        for (NicSpec nic : ctx.vm().spec().nics()) {
            String src = nic.source();
            String nicName = "NIC " + (nic.mac() == null ? "" : nic.mac() + " ") + "(" + nic.type() + " " + src + ")";
            if ("network".equals(nic.type())) {
                if (t.networks() == null) {
                    out.add(Finding.warn("NETWORKS_UNKNOWN", name(), src, null, "The target did not list its networks; " + nicName
                            + " not checked.", "Check 'virsh net-list --all' on the target."));
                    continue;
                }
                Optional<HostInventory.Network> n = t.networks().stream().filter(x -> x.name().equals(src)).findFirst();
                if (n.isEmpty()) {
                    out.add(Finding.fail("NETWORK_MISSING", name(), src, null, "The VM's " + nicName + " uses libvirt network '" + src
                            + "', which the target does not have.", "Define and start network '" + src + "' on the target "
                            + "(virsh net-dumpxml " + src + " on the source, net-define and net-start on the target)."));
                } else if (!n.get().active()) {
                    out.add(Finding.fail("NETWORK_INACTIVE", name(), src, src + " (inactive)", "Network '" + src + "' exists on the target "
                            + "but is not active.", "Start it: 'virsh net-start " + src + "' (and net-autostart) on the target."));
                } else {
                    out.add(Finding.pass(name(), src, src, "Network '" + src + "' is active on the target."));
                }
            } else if ("bridge".equals(nic.type()) || "direct".equals(nic.type())) {
                boolean bridge = "bridge".equals(nic.type());
                if (t.hostInterfaces() == null) {
                    out.add(Finding.warn(bridge ? "BRIDGES_UNKNOWN" : "INTERFACES_UNKNOWN", name(), src, null, "The target did not list "
                            + "its host interfaces; " + nicName + " not checked.", "Check 'ip link show " + src + "' on the target."));
                    continue;
                }
                boolean present = t.hostInterfaces().contains(src)
                        || (bridge && t.networks() != null && t.networks().stream().anyMatch(n -> src.equals(n.bridge()) && n.active()));
                if (!present) {
                    out.add(Finding.fail(bridge ? "BRIDGE_MISSING" : "INTERFACE_MISSING", name(), src, null, "The VM's " + nicName
                            + " needs host " + (bridge ? "bridge" : "interface") + " '" + src + "', which the target does not have.",
                            bridge ? "Create bridge '" + src + "' on the target with the same uplink as on the source."
                                    : "Use a target whose interface '" + src + "' reaches the same network, or change the NIC."));
                } else {
                    out.add(Finding.pass(name(), src, src, "Host " + (bridge ? "bridge" : "interface") + " '" + src + "' exists on the target."));
                }
            } else if (!"user".equals(nic.type())) {
                out.add(Finding.warn("NIC_TYPE_UNCHECKED", name(), nic.type(), null, "The VM's " + nicName + " is of a kind kvmigrate does "
                        + "not check.", "Check by hand that the target provides it."));
            }
        }
        if (out.isEmpty()) out.add(Finding.pass(name(), "none", null, "The VM has no host-backed network interfaces."));
        return out;
    }
}

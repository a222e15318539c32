package io.kvmigrate.core.plan;

import io.kvmigrate.core.model.HostFacts;
import io.kvmigrate.core.model.SafeXml;
import io.kvmigrate.core.model.VmSpec;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Whether a VM can use QEMU's per-vCPU dirty limit ({@code set-vcpu-dirty-limit}, QEMU 7.1+), which slows only the vCPUs
 * that dirty memory instead of the whole guest as auto-converge does. It needs the guest's KVM dirty ring, which libvirt
 * (8.0+) enables with {@code <features><kvm><dirty-ring state='on' size='4096'/></kvm></features>} (a restart of the VM).
 * Verified here on QEMU 7.2.22 under KVM: with the ring the command is accepted and {@code query-vcpu-dirty-limit} reports it;
 * libvirt 9.0 has no API for it, only {@code qemu-monitor-command}. Where pre-copy cannot converge, the policy sets the limit
 * mid-job instead of throttling with auto-converge ({@link Planner#withDirtyLimit}); the libvirt adapter lifts it again when a
 * migration ends with the VM still on the source (docs/convergence.md).
 */
public final class DirtyLimit {
    /** QEMU 7.1.0 as libvirt encodes it: the first with set-vcpu-dirty-limit. */
    public static final long QEMU_WITH_DIRTY_LIMIT = 7_001_000;
    /**
     * What to add to a definition to enable it: the smallest ring KVM takes, since a limited vCPU dirties in bursts of a ring
     * and a coarse one leaves pre-copy a burst to send after every pass (see {@link ConvergenceModel#dirtyLimit}).
     */
    public static final String HOW = "<features><kvm><dirty-ring state='on' size='1024'/></kvm></features>";

    private DirtyLimit() {
    }

    /** The KVM dirty ring's size in pages from the domain XML, 0 when it has none (or is off). */
    public static int ringSize(String xml) {
        return SafeXml.root(xml).map(root -> {
            NodeList rings = root.getElementsByTagName("dirty-ring");
            for (int i = 0; i < rings.getLength(); i++) {
                Element r = (Element) rings.item(i);
                if (!(r.getParentNode() instanceof Element kvm) || !kvm.getTagName().equals("kvm")) continue;
                if ("off".equals(r.getAttribute("state"))) return 0;
                String size = r.getAttribute("size").trim();
                return size.matches("\\d{1,9}") ? Integer.parseInt(size) : 0;
            }
            return 0;
        }).orElse(0);
    }

    /** The VM's vCPUs and ring when it can use the per-vCPU dirty limit on a source QEMU of {@code qemuVersion}, else {@link DirtyRing#NONE}. */
    public static DirtyRing ring(VmSpec vm, long qemuVersion) {
        if (!"kvm".equals(vm.domainType()) || qemuVersion < QEMU_WITH_DIRTY_LIMIT) return DirtyRing.NONE;
        int pages = ringSize(vm.xml());
        return pages > 0 ? new DirtyRing(vm.vcpus(), pages) : DirtyRing.NONE;
    }

    /** True when the VM can use the per-vCPU dirty limit on a source QEMU of {@code qemuVersion}. */
    public static boolean usable(VmSpec vm, long qemuVersion) {
        return ring(vm, qemuVersion).usable();
    }

    /** One sentence for check and plan: whether the VM can use the dirty limit, and how to enable it. */
    public static String status(VmSpec vm, long qemuVersion) {
        if (!"kvm".equals(vm.domainType())) return "per-vCPU dirty limit: not available (it needs KVM; domain type " + vm.domainType() + ")";
        if (qemuVersion > 0 && qemuVersion < QEMU_WITH_DIRTY_LIMIT) {
            return "per-vCPU dirty limit: not available (QEMU " + HostFacts.version(qemuVersion) + " is older than 7.1)";
        }
        int ring = ringSize(vm.xml());
        if (ring <= 0) {
            return "per-vCPU dirty limit: not enabled (the VM has no KVM dirty ring; add " + HOW + " to its definition and restart it"
                    + " to allow it, instead of auto-converge); kvmigrate throttles with auto-converge";
        }
        return "per-vCPU dirty limit: possible (KVM dirty ring of " + ring + " pages): used instead of auto-converge where pre-copy cannot"
                + " converge, set mid-job and lifted again if the VM stays";
    }
}

package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.GuestSupport;
import java.util.List;

/** A 64-bit guest needs a 64-bit target that offers its architecture; a 32-bit guest may go to either. */
public final class ArchitectureCheck implements Check {
    @Override
    public String name() {
        return "ARCHITECTURE";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        String arch = ctx.vm().spec().arch();
        String type = ctx.vm().spec().domainType();
        String hostArch = ctx.target().cpu().arch();
        if (arch == null) return List.of(Finding.warn("ARCH_UNKNOWN", name(), null, hostArch, "The VM's XML names no architecture.", "Set <os><type arch=...> in the VM's XML."));
        int bits = wordsize(arch);
        if (bits == 64 && wordsize(hostArch) == 32) {
            return List.of(Finding.fail("ARCH_UNSUPPORTED", name(), arch, hostArch, "A 64-bit guest (" + arch + ") cannot run on a 32-bit "
                    + "host (" + hostArch + ").", "Pick a 64-bit target."));
        }
        if (bits == 64 && "kvm".equals(type) && "x86_64".equals(arch) && ctx.target().cpu().featuresExpanded()
                && !ctx.target().cpu().features().contains("lm")) {
            return List.of(Finding.fail("ARCH_UNSUPPORTED", name(), arch, "no lm", "The target CPU lacks long mode (lm): it cannot run a "
                    + "64-bit KVM guest.", "Pick a 64-bit target."));
        }
        List<GuestSupport> guests = ctx.target().guests();
        if (guests == null) {
            return List.of(Finding.warn("ARCH_UNKNOWN", name(), arch, hostArch, "The target did not list the guest architectures it runs.", "Check 'virsh capabilities' on the target."));
        }
        boolean offered = guests.stream().anyMatch(g -> arch.equals(g.arch()) && (type == null || g.domainTypes().contains(type)));
        if (!offered) {
            return List.of(Finding.fail("ARCH_UNSUPPORTED", name(), arch + "/" + type, hostArch, "The target cannot run " + type + " guests "
                    + "of architecture " + arch + ".", "Install the matching QEMU system emulator on the target (and enable KVM)."));
        }
        return List.of(Finding.pass(name(), arch + "/" + type, hostArch, "The target runs " + type + " guests of architecture " + arch + "."));
    }

    static int wordsize(String arch) {
        if (arch == null) return 0;
        return switch (arch) {
            case "x86_64", "aarch64", "ppc64", "ppc64le", "s390x", "riscv64", "mips64", "mips64el", "loongarch64", "sparc64" -> 64;
            default -> 32;
        };
    }
}

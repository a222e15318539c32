package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.HostInventory.GuestSupport;
import io.kvmigrate.core.model.HostInventory.GuestView;
import io.kvmigrate.core.model.VmSpec;
import java.util.ArrayList;
import java.util.List;

/**
 * The target's QEMU must have the VM's emulator and support its machine type (e.g. pc-q35-7.2): a machine type
 * the target's QEMU does not know means the VM cannot be started or received there.
 */
public final class MachineTypeCheck implements Check {
    @Override
    public String name() {
        return "MACHINE_TYPE";
    }

    @Override
    public List<Finding> check(PreflightContext ctx) {
        VmSpec vm = ctx.vm().spec();
        List<GuestSupport> guests = ctx.target().guests();
        GuestView view = ctx.target().guest();
        if (guests == null) {
            return List.of(Finding.warn("MACHINE_UNKNOWN", name(), vm.machine(), null, "The target did not list its machine types.", "Check 'virsh capabilities' on the target."));
        }
        List<Finding> out = new ArrayList<>();
        List<GuestSupport> forArch = guests.stream().filter(g -> g.arch().equals(vm.arch())).toList();
        String emulator = vm.emulator();
        boolean emulatorListed = emulator == null || forArch.stream().anyMatch(g -> emulator.equals(g.emulator()));
        // The target's own domain capabilities for exactly this emulator, arch, machine and type: the strongest evidence.
        boolean domainCapsOk = view != null && view.domainCapsError() == null && view.domainCapsMachine() != null;
        if (emulator != null) {
            if (emulatorListed || domainCapsOk) {
                out.add(Finding.pass(name(), emulator, emulator, "The target has emulator " + emulator + "."));
            } else {
                out.add(Finding.fail("EMULATOR_MISSING", name(), emulator, emulators(forArch), "The VM's emulator " + emulator
                        + " is not usable on the target" + (view != null && view.domainCapsError() != null ? ": " + view.domainCapsError() : "."),
                        "Install QEMU at that path on the target, or change the VM's <emulator> to one both hosts have."));
            }
        }
        String machine = vm.machine();
        if (machine == null) return out;
        boolean listed = forArch.stream().anyMatch(g -> g.machines().contains(machine));
        if (listed || (domainCapsOk && machine.equals(view.domainCapsMachine()))) {
            out.add(Finding.pass(name(), machine, machine, "The target's QEMU supports machine type " + machine + "."));
        } else {
            out.add(Finding.fail("MACHINE_UNSUPPORTED", name(), machine, newest(forArch), "The target's QEMU does not support machine type "
                    + machine + (forArch.isEmpty() ? " (it has no emulator for " + vm.arch() + ")." : "."),
                    "Upgrade QEMU on the target to at least the source's version, or pick a target that supports " + machine + "."));
        }
        return out;
    }

    private static String emulators(List<GuestSupport> gs) {
        return gs.isEmpty() ? null : String.join(",", gs.stream().map(GuestSupport::emulator).distinct().toList());
    }

    private static String newest(List<GuestSupport> gs) {
        return gs.stream().flatMap(g -> g.machines().stream()).filter(m -> m.startsWith("pc-")).max(String::compareTo).orElse(null);
    }
}

package io.kvmigrate.core.model;

import java.util.List;
import java.util.Set;

/**
 * Everything preflight needs to know about one host, gathered in one call per command
 * ({@link io.kvmigrate.core.spi.HostSession#inventory}). Lists are {@code null} when the adapter could not
 * find out (the checks then warn "not checked" instead of guessing), empty when there is nothing.
 *
 * @param hostInterfaces host network interfaces (bridges included) by name
 * @param guest what this host says about the VM being checked: how its CPU compares, whether its emulator and
 *        machine type are usable here, and (on the host that runs it) its snapshots and block jobs
 */
public record HostInventory(HostFacts facts, Cpu cpu, List<GuestSupport> guests, List<Network> networks,
        List<String> hostInterfaces, List<Pool> pools, List<Domain> domains, GuestView guest) {

    public HostInventory {
        guests = guests == null ? null : List.copyOf(guests);
        networks = networks == null ? null : List.copyOf(networks);
        hostInterfaces = hostInterfaces == null ? null : List.copyOf(hostInterfaces);
        pools = pools == null ? null : List.copyOf(pools);
        domains = domains == null ? null : List.copyOf(domains);
    }

    /** The host CPU; {@code featuresExpanded} says the feature set includes those implied by the model. */
    public record Cpu(String arch, String vendor, String model, Set<String> features, boolean featuresExpanded) {
        public Cpu {
            features = features == null ? Set.of() : Set.copyOf(features);
        }
    }

    /** One {@code <guest>} of the capabilities XML: an architecture the host can run, its emulator and machine types (aliases included). */
    public record GuestSupport(String osType, String arch, int wordsize, String emulator, List<String> machines,
            List<String> domainTypes) {
        public GuestSupport {
            machines = List.copyOf(machines);
            domainTypes = List.copyOf(domainTypes);
        }
    }

    /** A libvirt virtual network. */
    public record Network(String name, boolean active, String bridge) {
    }

    /** A storage pool; sizes in bytes, 0 when inactive. */
    public record Pool(String name, String type, String path, boolean active, long capacityBytes, long availableBytes) {
    }

    /** A VM known to the host (defined or running), without its XML. */
    public record Domain(String name, String uuid, boolean active) {
    }

    /** How the guest CPU compares with what this host's hypervisor can provide. */
    public enum CpuVerdict { IDENTICAL, SUPERSET, INCOMPATIBLE, NOT_APPLICABLE, UNKNOWN }

    /**
     * The VM as seen by this host.
     *
     * @param cpuDetail the hypervisor's words when incompatible or unknown
     * @param domainCapsError null when the host's domain capabilities for the VM's emulator, arch, machine and
     *        type could be read (so it can run that combination); else why not
     * @param snapshots -1 when unknown or the VM is not on this host
     */
    public record GuestView(CpuVerdict cpuVerdict, String cpuDetail, String domainCapsMachine, String domainCapsError,
            int snapshots, List<String> blockJobs) {
        public static final GuestView UNKNOWN = new GuestView(CpuVerdict.UNKNOWN, "not reported by this adapter", null, null, -1, List.of());

        public GuestView {
            blockJobs = blockJobs == null ? List.of() : List.copyOf(blockJobs);
        }
    }
}

package io.kvmigrate.libvirt;

import static io.kvmigrate.libvirt.DomainXml.attr;
import static io.kvmigrate.libvirt.DomainXml.child;
import static io.kvmigrate.libvirt.DomainXml.children;
import static io.kvmigrate.libvirt.DomainXml.text;

import io.kvmigrate.core.model.HostInventory;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.w3c.dom.Element;

/** libvirt capabilities, domain capabilities, CPU, pool and node-device XML → the plain data of {@link HostInventory}. */
public final class CapabilitiesXml {
    private CapabilitiesXml() {
    }

    /** What the capabilities XML says: host UUID, host CPU (features as listed, not expanded), guest architectures. */
    public record Parsed(String hostUuid, HostInventory.Cpu cpu, String cpuXml, List<HostInventory.GuestSupport> guests) {
    }

    public static Parsed parse(String capabilitiesXml) {
        Element root = DomainXml.parseDocument(capabilitiesXml, "capabilities XML").getDocumentElement();
        Element host = child(root, "host");
        Element cpu = host == null ? null : child(host, "cpu");
        List<HostInventory.GuestSupport> guests = new ArrayList<>();
        for (Element g : children(root, "guest")) {
            Element arch = child(g, "arch");
            if (arch == null) continue;
            Set<String> machines = new LinkedHashSet<>();
            List<String> types = new ArrayList<>();
            machines(arch, machines);
            for (Element d : children(arch, "domain")) {
                types.add(d.getAttribute("type"));
                machines(d, machines);
            }
            String ws = text(child(arch, "wordsize"));
            guests.add(new HostInventory.GuestSupport(text(child(g, "os_type")), arch.getAttribute("name"),
                    ws == null ? 0 : Integer.parseInt(ws), text(child(arch, "emulator")), List.copyOf(machines), types));
        }
        return new Parsed(host == null ? null : text(child(host, "uuid")), cpu == null ? new HostInventory.Cpu(null, null, null, Set.of(), false)
                : cpu(cpu, false), cpu == null ? null : serialize(cpu), guests);
    }

    /** A {@code <cpu>} element (host CPU from capabilities or cputestdata, or an expanded baseline). */
    public static HostInventory.Cpu parseCpu(String cpuXml, boolean expanded) {
        return cpu(DomainXml.parseDocument(cpuXml, "CPU XML").getDocumentElement(), expanded);
    }

    /** Feature names of an expanded CPU ({@code virConnectBaselineCPU} with EXPAND_FEATURES); disabled ones left out. */
    public static Set<String> features(String cpuXml) {
        return cpu(DomainXml.parseDocument(cpuXml, "CPU XML").getDocumentElement(), true).features();
    }

    private static HostInventory.Cpu cpu(Element cpu, boolean expanded) {
        Set<String> features = new LinkedHashSet<>();
        for (Element f : children(cpu, "feature")) {
            String policy = f.getAttribute("policy");
            if (!policy.equals("disable") && !policy.equals("forbid")) features.add(f.getAttribute("name"));
        }
        return new HostInventory.Cpu(text(child(cpu, "arch")), text(child(cpu, "vendor")), text(child(cpu, "model")), features, expanded);
    }

    private static void machines(Element parent, Set<String> out) {
        for (Element m : children(parent, "machine")) {
            out.add(text(m));
            String canonical = attr(m, "canonical");
            if (canonical != null) out.add(canonical);
        }
    }

    /** The {@code <machine>} of a domain capabilities document (the canonical name of the machine asked for). */
    public static String domainCapsMachine(String domainCapsXml) {
        Element root = DomainXml.parseDocument(domainCapsXml, "domain capabilities XML").getDocumentElement();
        return text(child(root, "machine"));
    }

    /** The guest's {@code <cpu>} element as XML for a CPU comparison, or null when the domain has none. */
    public static String guestCpuXml(String domainXml) {
        Element cpu = child(DomainXml.parseDocument(domainXml, "domain XML").getDocumentElement(), "cpu");
        return cpu == null ? null : serialize(cpu);
    }

    /** Name, type, target path of a pool XML. */
    public static String[] pool(String poolXml) {
        Element root = DomainXml.parseDocument(poolXml, "pool XML").getDocumentElement();
        Element target = child(root, "target");
        String path = target == null ? null : text(child(target, "path"));
        if (path != null && path.endsWith("/") && path.length() > 1) path = path.substring(0, path.length() - 1);
        return new String[] {text(child(root, "name")), root.getAttribute("type"), path};
    }

    /** The interface name of a node device with the net capability, or null. */
    public static String netDeviceInterface(String nodeDeviceXml) {
        Element root = DomainXml.parseDocument(nodeDeviceXml, "node device XML").getDocumentElement();
        for (Element cap : children(root, "capability")) {
            if ("net".equals(cap.getAttribute("type"))) return text(child(cap, "interface"));
        }
        return null;
    }

    /**
     * Writes an element back as XML. By hand rather than with a JAXP Transformer: the Transformer's first use
     * costs most of a second of class loading, which is most of a {@code kvmigrate check}.
     */
    static String serialize(Element e) {
        StringBuilder sb = new StringBuilder();
        write(e, sb);
        return sb.toString();
    }

    private static void write(Element e, StringBuilder sb) {
        sb.append('<').append(e.getTagName());
        var attrs = e.getAttributes();
        for (int i = 0; i < attrs.getLength(); i++) {
            var a = attrs.item(i);
            sb.append(' ').append(a.getNodeName()).append("='").append(DomainXml.escape(a.getNodeValue())).append('\'');
        }
        if (!e.hasChildNodes()) {
            sb.append("/>");
            return;
        }
        sb.append('>');
        for (org.w3c.dom.Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c) write(c, sb);
            else if (n.getNodeType() == org.w3c.dom.Node.TEXT_NODE) sb.append(DomainXml.escape(n.getNodeValue()));
        }
        sb.append("</").append(e.getTagName()).append('>');
    }
}

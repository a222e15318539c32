package io.kvmigrate.libvirt;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.DiskSpec;
import io.kvmigrate.core.model.NicSpec;
import io.kvmigrate.core.model.VmSpec;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

/** libvirt domain XML to {@link VmSpec}, and small XML helpers shared by the other parsers. */
public final class DomainXml {
    private DomainXml() {
    }

    public static VmSpec parse(String xml) {
        Element dom = parseDocument(xml, "domain XML").getDocumentElement();
        if (!"domain".equals(dom.getTagName())) {
            throw KvmigrateException.invalidInput("Expected a <domain> element, found <" + dom.getTagName() + ">.", "Give libvirt domain XML.");
        }
        Element os = child(dom, "os");
        Element osType = os == null ? null : child(os, "type");
        Element devices = child(dom, "devices");
        List<DiskSpec> disks = new ArrayList<>();
        List<NicSpec> nics = new ArrayList<>();
        List<String> hostdevs = new ArrayList<>();
        String emulator = null;
        if (devices != null) {
            emulator = text(child(devices, "emulator"));
            for (Element d : children(devices, "disk")) {
                Element src = child(d, "source");
                Element drv = child(d, "driver");
                Element tgt = child(d, "target");
                String type = d.getAttribute("type");
                String path = null;
                if (src != null) {
                    path = switch (type) {
                        case "file" -> attr(src, "file");
                        case "block" -> attr(src, "dev");
                        case "dir" -> attr(src, "dir");
                        case "network" -> attr(src, "protocol") + ":" + attr(src, "name");
                        default -> null;
                    };
                }
                disks.add(new DiskSpec(tgt == null ? null : attr(tgt, "dev"), attrOr(d, "device", "disk"), type, path,
                        drv == null ? null : attr(drv, "type"), src == null ? null : attr(src, "pool"),
                        src == null ? null : attr(src, "volume"), child(d, "readonly") != null, child(d, "shareable") != null));
            }
            for (Element n : children(devices, "interface")) {
                Element src = child(n, "source");
                Element mac = child(n, "mac");
                Element model = child(n, "model");
                String source = src == null ? null : firstNonEmpty(attr(src, "network"), attr(src, "bridge"), attr(src, "dev"));
                // A running VM's XML shows a NIC on a libvirt network as type='bridge' with both network= and bridge=:
                // it is still the network that the target must provide.
                String nicType = src != null && attr(src, "network") != null ? "network" : n.getAttribute("type");
                nics.add(new NicSpec(nicType, source, mac == null ? null : attr(mac, "address"),
                        model == null ? null : attr(model, "type")));
            }
            for (Element h : children(devices, "hostdev")) {
                hostdevs.add(h.getAttribute("type"));
            }
        }
        Element cpu = child(dom, "cpu");
        return new VmSpec(text(child(dom, "name")), text(child(dom, "uuid")), dom.getAttribute("type"),
                osType == null ? null : attr(osType, "arch"), osType == null ? null : attr(osType, "machine"), emulator,
                memoryKiB(child(dom, "memory")), parseInt(text(child(dom, "vcpu")), 1), cpu == null ? null : attr(cpu, "mode"),
                disks, nics, hostdevs, xml);
    }

    static long memoryKiB(Element mem) {
        if (mem == null) return 0;
        long v = Long.parseLong(text(mem).trim());
        String unit = attrOr(mem, "unit", "KiB");
        return switch (unit) {
            case "b", "bytes" -> v / 1024;
            case "KB" -> v * 1000 / 1024;
            case "k", "KiB" -> v;
            case "MB" -> v * 1_000_000 / 1024;
            case "M", "MiB" -> v * 1024;
            case "GB" -> v * 1_000_000_000 / 1024;
            case "G", "GiB" -> v * 1024 * 1024;
            default -> v;
        };
    }

    /** Parses XML with external entities and DTDs disabled. */
    public static Document parseDocument(String xml, String what) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return b.parse(new InputSource(new StringReader(xml)));
        } catch (Exception e) {
            throw KvmigrateException.invalidInput("Malformed " + what + ": " + e.getMessage(), "Check the XML with 'virt-xml-validate'.");
        }
    }

    public static Element child(Element parent, String name) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && e.getTagName().equals(name)) return e;
        }
        return null;
    }

    public static List<Element> children(Element parent, String name) {
        List<Element> out = new ArrayList<>();
        NodeList list = parent.getChildNodes();
        for (int i = 0; i < list.getLength(); i++) {
            if (list.item(i) instanceof Element e && e.getTagName().equals(name)) out.add(e);
        }
        return out;
    }

    public static String text(Element e) {
        return e == null ? null : e.getTextContent().trim();
    }

    public static String attr(Element e, String name) {
        String v = e.getAttribute(name);
        return v.isEmpty() ? null : v;
    }

    static String attrOr(Element e, String name, String def) {
        String v = attr(e, name);
        return v == null ? def : v;
    }

    /** Escapes text for use inside XML attributes and elements. */
    public static String escape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '&' -> sb.append("&amp;");
                case '\'' -> sb.append("&apos;");
                case '"' -> sb.append("&quot;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    private static String firstNonEmpty(String... s) {
        for (String x : s) if (x != null && !x.isEmpty()) return x;
        return null;
    }

    private static int parseInt(String s, int def) {
        try {
            return s == null ? def : Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            return def;
        }
    }
}

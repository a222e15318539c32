package io.kvmigrate.core.preflight;

import io.kvmigrate.core.model.SafeXml;
import io.kvmigrate.core.model.VmSpec;
import java.util.LinkedHashMap;
import java.util.Map;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Details of a domain XML that {@link VmSpec} does not model but preflight needs: each disk's cache mode, and
 * how strictly the guest CPU is checked at start ({@code <cpu check='none|partial|full'>}) and its model (null when absent).
 * Read with {@link SafeXml}.
 */
public record GuestDetails(Map<String, String> diskCache, String cpuCheck, String cpuModel) {

    public static GuestDetails of(VmSpec vm) {
        Map<String, String> cache = new LinkedHashMap<>();
        String cpuCheck = null;
        String cpuModel = null;
        // A VmSpec built by hand (tests, fakes) may carry a placeholder XML: then there is nothing more to learn.
        Element root = SafeXml.root(vm.xml()).orElse(null);
        if (root != null) {
            for (var n = root.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e && e.getTagName().equals("cpu")) {
                    if (!e.getAttribute("check").isEmpty()) cpuCheck = e.getAttribute("check");
                    NodeList models = e.getElementsByTagName("model");
                    if (models.getLength() > 0) cpuModel = models.item(0).getTextContent().trim();
                }
            }
            NodeList disks = root.getElementsByTagName("disk");
            for (int i = 0; i < disks.getLength(); i++) {
                Element d = (Element) disks.item(i);
                String target = null;
                String mode = null;
                for (var n = d.getFirstChild(); n != null; n = n.getNextSibling()) {
                    if (n instanceof Element e && e.getTagName().equals("target")) target = e.getAttribute("dev");
                    if (n instanceof Element e && e.getTagName().equals("driver") && !e.getAttribute("cache").isEmpty()) {
                        mode = e.getAttribute("cache");
                    }
                }
                if (target != null) cache.put(target, mode == null ? "default" : mode);
            }
        }
        return new GuestDetails(cache, cpuCheck, cpuModel);
    }
}

package io.kvmigrate.libvirt;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.DefinitionRewriter;
import java.io.StringWriter;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import javax.xml.transform.OutputKeys;
import javax.xml.transform.Transformer;
import javax.xml.transform.TransformerFactory;
import javax.xml.transform.dom.DOMSource;
import javax.xml.transform.stream.StreamResult;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * Adapts libvirt domain XML for another host: file disks (matched by their guest target, e.g. vdb) get their new
 * path, network interfaces their mapped network. Everything else is kept as it is, so the target defines the same VM.
 */
public final class DomainXmlRewriter implements DefinitionRewriter {
    @Override
    public String rewrite(String definition, Map<String, String> diskPaths, Map<String, String> networks) {
        Document doc = DomainXml.parseDocument(definition, "domain XML");
        Element devices = DomainXml.child(doc.getDocumentElement(), "devices");
        Set<String> seen = new HashSet<>();
        if (devices != null) {
            for (Element d : DomainXml.children(devices, "disk")) {
                Element tgt = DomainXml.child(d, "target");
                String dev = tgt == null ? null : DomainXml.attr(tgt, "dev");
                String path = dev == null ? null : diskPaths.get(dev);
                if (path == null) continue;
                Element src = DomainXml.child(d, "source");
                if (!"file".equals(d.getAttribute("type")) || src == null) {
                    throw KvmigrateException.invalidInput("Disk " + dev + " is not a file disk; cannot point it at " + path + ".", null);
                }
                src.setAttribute("file", path);
                seen.add(dev);
            }
            for (Element n : DomainXml.children(devices, "interface")) {
                Element src = DomainXml.child(n, "source");
                if (!"network".equals(n.getAttribute("type")) || src == null) continue;
                String mapped = networks.get(src.getAttribute("network"));
                if (mapped != null) src.setAttribute("network", mapped);
            }
        }
        for (String dev : diskPaths.keySet()) {
            if (!seen.contains(dev)) throw KvmigrateException.invalidInput("The definition has no file disk " + dev + " to rewrite.", null);
        }
        try {
            Transformer t = TransformerFactory.newInstance().newTransformer();
            t.setOutputProperty(OutputKeys.OMIT_XML_DECLARATION, "yes");
            StringWriter out = new StringWriter();
            t.transform(new DOMSource(doc), new StreamResult(out));
            return out.toString();
        } catch (Exception e) {
            throw new KvmigrateException(ErrorCode.INTERNAL, "define", null, null, "Tried to write the adapted domain XML but failed because: "
                    + e.getMessage(), "This is a bug; please report it.", e);
        }
    }
}

package io.kvmigrate.core.model;

import java.io.StringReader;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.xml.sax.InputSource;

/** Domain XML read by the core with the JDK's parser: DTDs and external entities off, so the core stays free of the libvirt adapter. */
public final class SafeXml {
    private SafeXml() {
    }

    /** The document's root element; empty for a blank or unparsable text (a VmSpec built by hand in tests and fakes). */
    public static Optional<Element> root(String xml) {
        if (xml == null || xml.isBlank()) return Optional.empty();
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            var b = f.newDocumentBuilder();
            b.setErrorHandler(null);
            return Optional.of(b.parse(new InputSource(new StringReader(xml))).getDocumentElement());
        } catch (Exception e) {
            return Optional.empty();
        }
    }
}

package io.kvmigrate.libvirt;

import static io.kvmigrate.libvirt.DomainXml.attr;
import static io.kvmigrate.libvirt.DomainXml.child;
import static io.kvmigrate.libvirt.DomainXml.escape;
import static io.kvmigrate.libvirt.DomainXml.text;

import io.kvmigrate.core.spi.PoolSpec;
import org.w3c.dom.Element;

/**
 * libvirt storage pool XML ⇄ {@link PoolSpec}. An NFS pool states its format and protocol version (libvirt 9.0's
 * {@code <source><host name/><dir path/><format type='nfs'/><protocol ver/></source>}): without them mount picks the
 * version, and may fall back to NFSv3. Built with {@link DomainXml#escape} from a validated spec; parsed with DTDs and
 * external entities off ({@link DomainXml#parseDocument}).
 */
final class PoolXml {
    private PoolXml() {
    }

    /** The XML that defines {@code spec} (validated here: nothing odd reaches libvirt). */
    static String build(PoolSpec spec) {
        spec.validated();
        StringBuilder sb = new StringBuilder();
        sb.append("<pool type='").append(escape(spec.type())).append("'>\n");
        sb.append("  <name>").append(escape(spec.name())).append("</name>\n");
        if (spec.isNfs()) {
            sb.append("  <source>\n");
            sb.append("    <host name='").append(escape(spec.sourceHost())).append("'/>\n");
            sb.append("    <dir path='").append(escape(spec.sourceDir())).append("'/>\n");
            sb.append("    <format type='").append(escape(spec.sourceFormat())).append("'/>\n");
            sb.append("    <protocol ver='").append(escape(spec.protocolVersion())).append("'/>\n");
            sb.append("  </source>\n");
        }
        sb.append("  <target>\n    <path>").append(escape(spec.path())).append("</path>\n  </target>\n");
        sb.append("</pool>\n");
        return sb.toString();
    }

    /** The spec of any pool's XML (type as libvirt names it; source fields null where absent). */
    static PoolSpec parse(String xml) {
        Element root = DomainXml.parseDocument(xml, "pool XML").getDocumentElement();
        if (!"pool".equals(root.getTagName())) {
            throw io.kvmigrate.core.api.KvmigrateException.invalidInput("Expected a <pool> element, found <" + root.getTagName() + ">.", null);
        }
        Element target = child(root, "target");
        Element source = child(root, "source");
        Element host = source == null ? null : child(source, "host");
        Element dir = source == null ? null : child(source, "dir");
        Element format = source == null ? null : child(source, "format");
        Element protocol = source == null ? null : child(source, "protocol");
        return new PoolSpec(text(child(root, "name")), attr(root, "type"), target == null ? null : text(child(target, "path")),
                host == null ? null : attr(host, "name"), dir == null ? null : attr(dir, "path"), format == null ? null : attr(format, "type"),
                protocol == null ? null : attr(protocol, "ver"));
    }
}

package io.kvmigrate.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.model.VmSpec;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DomainXmlRewriterTest {
    private static final String XML = """
            <domain type='kvm'><name>db</name><uuid>0b1c2d3e-0000-4000-8000-000000000001</uuid><memory unit='KiB'>131072</memory>
              <os><type arch='x86_64' machine='pc'>hvm</type></os>
              <devices>
                <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/db.qcow2'/><target dev='vda' bus='virtio'/></disk>
                <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/nfs/db-data.raw'/><target dev='vdb' bus='virtio'/></disk>
                <interface type='network'><mac address='52:54:00:00:00:01'/><source network='default'/><model type='virtio'/></interface>
                <interface type='bridge'><source bridge='br0'/></interface>
              </devices>
            </domain>
            """;

    @Test
    void rewrite_mappedDiskAndNetwork_changesOnlyThose() {
        String out = new DomainXmlRewriter().rewrite(XML, Map.of("vda", "/big/db.qcow2"), Map.of("default", "prod"));

        VmSpec spec = DomainXml.parse(out);
        assertThat(spec.disks().get(0).sourcePath()).isEqualTo("/big/db.qcow2");
        assertThat(spec.disks().get(0).format()).isEqualTo("qcow2");
        assertThat(spec.disks().get(1).sourcePath()).isEqualTo("/nfs/db-data.raw");
        assertThat(spec.nics().get(0).source()).isEqualTo("prod");
        assertThat(spec.nics().get(0).mac()).isEqualTo("52:54:00:00:00:01");
        assertThat(spec.nics().get(1).source()).isEqualTo("br0");
        assertThat(spec.uuid()).isEqualTo("0b1c2d3e-0000-4000-8000-000000000001");
    }

    @Test
    void rewrite_unknownDisk_isRejected() {
        assertThatThrownBy(() -> new DomainXmlRewriter().rewrite(XML, Map.of("vdz", "/x.img"), Map.of()))
                .isInstanceOf(KvmigrateException.class).hasMessageContaining("vdz");
    }
}

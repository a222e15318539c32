package io.kvmigrate.libvirt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvmigrate.core.api.ErrorCode;
import io.kvmigrate.core.api.KvmigrateException;
import io.kvmigrate.core.spi.PoolSpec;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Pool XML built for libvirt and read back from XML libvirt 9.0 wrote (src/test/resources/storage/ORIGIN.md). */
class PoolXmlTest {
    private static final PoolSpec NFS = PoolSpec.nfs("nfs42", "/kvm/disk", "192.0.2.4", "/nfsshare", "4.2");

    private static String recorded(String name) throws IOException {
        try (InputStream in = PoolXmlTest.class.getResourceAsStream("/storage/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void build_nfsPool_statesFormatAndProtocolVersion() {
        assertThat(PoolXml.build(NFS)).isEqualTo("""
                <pool type='netfs'>
                  <name>nfs42</name>
                  <source>
                    <host name='192.0.2.4'/>
                    <dir path='/nfsshare'/>
                    <format type='nfs'/>
                    <protocol ver='4.2'/>
                  </source>
                  <target>
                    <path>/kvm/disk</path>
                  </target>
                </pool>
                """);
    }

    @Test
    void build_dirPool_targetOnly() {
        assertThat(PoolXml.build(PoolSpec.dir("vmstore", "/kvm/disk/"))).isEqualTo("""
                <pool type='dir'>
                  <name>vmstore</name>
                  <target>
                    <path>/kvm/disk</path>
                  </target>
                </pool>
                """);
    }

    @Test
    void parse_recordedNetfsPoolDefinedFromBuiltXml_isTheSpecAgain() throws IOException {
        PoolSpec read = PoolXml.parse(recorded("pool-netfs-nfs42-libvirt9.xml"));
        assertThat(read).isEqualTo(NFS);
        assertThat(read.differencesFrom(NFS, "wanted")).isEmpty();
        assertThat(PoolXml.parse(PoolXml.build(NFS))).isEqualTo(NFS);
    }

    @Test
    void parse_recordedNetfsPoolDefinedTheRunbookWay_differsInFormatAndVersion() throws IOException {
        PoolSpec read = PoolXml.parse(recorded("pool-netfs-defaults-libvirt9.xml"));
        assertThat(read.type()).isEqualTo("netfs");
        assertThat(read.sourceFormat()).isEqualTo("auto");
        assertThat(read.protocolVersion()).isNull();
        assertThat(read.differencesFrom(PoolSpec.nfs("nfsdef", "/kvm/disk2", "192.0.2.4", "/nfsshare", "4.2"), "wanted"))
                .containsExactly("format auto (wanted: nfs)", "NFS version unset (wanted: 4.2)");
        assertThat(read.source()).isEqualTo("192.0.2.4:/nfsshare (auto, version unset)");
    }

    @Test
    void parse_recordedActiveDirPool_isADirSpec() throws IOException {
        assertThat(PoolXml.parse(recorded("pool-dir-active-libvirt9.xml"))).isEqualTo(PoolSpec.dir("shared", "/var/tmp/kvmigrate-storage-hand/shared"));
    }

    @Test
    void build_oddCharacters_invalidInputBeforeLibvirtSeesThem() {
        for (PoolSpec bad : new PoolSpec[] {PoolSpec.dir("a<b", "/x"), PoolSpec.dir("ok", "/x'/>"), PoolSpec.dir("ok", "/x&y"),
                PoolSpec.nfs("ok", "/x", "srv'/><dir path='/etc", "/e", "4.2"), PoolSpec.nfs("ok", "/x", "srv", "/e", "4'/>")}) {
            assertThatThrownBy(() -> PoolXml.build(bad)).isInstanceOfSatisfying(KvmigrateException.class,
                    e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT));
        }
    }

    @Test
    void parse_xmlWithExternalEntity_refused() {
        String xxe = "<?xml version='1.0'?><!DOCTYPE pool [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
                + "<pool type='dir'><name>&x;</name><target><path>/x</path></target></pool>";
        assertThatThrownBy(() -> PoolXml.parse(xxe)).isInstanceOfSatisfying(KvmigrateException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_INPUT));
    }
}

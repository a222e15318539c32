package io.kvmigrate.core.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvmigrate.core.spi.PoolSpec;
import io.kvmigrate.testkit.FakeHypervisor;
import io.kvmigrate.testkit.FakeHypervisor.FakeHost;
import java.util.List;
import org.junit.jupiter.api.Test;

class StorageListingTest {
    private final FakeHypervisor hv = new FakeHypervisor();
    private final FakeHost a = hv.addHost("kvm1");
    private final FakeHost b = hv.addHost("kvm2");

    @Test
    void list_samePoolSamePathOnBoth_noMismatchAndBothPairsProved() {
        hv.shareDirectory("/kvm/disk");
        a.storagePools().put(PoolSpec.dir("vmstore", "/kvm/disk"), true, true, true);
        b.storagePools().put(PoolSpec.dir("vmstore", "/kvm/disk"), true, true, true);

        List<StorageListing.Row> rows = new StorageListing().list(List.of(a, b), true);

        assertThat(rows).hasSize(1);
        StorageListing.Row r = rows.get(0);
        assertThat(r.byHost()).containsOnlyKeys("kvm1", "kvm2");
        assertThat(r.mismatch()).isFalse();
        assertThat(r.pairs()).extracting(p -> p.writer() + ">" + p.reader() + ":" + p.shared()).containsExactly("kvm1>kvm2:true", "kvm2>kvm1:true");
    }

    @Test
    void list_sameNameOtherPath_mismatchNamedAndNotProbed() {
        hv.shareDirectory("/kvm/disk");
        a.storagePools().put(PoolSpec.dir("vmstore", "/kvm/disk"), true, true, true);
        b.storagePools().put(PoolSpec.dir("vmstore", "/srv/disk"), true, true, true);
        b.storagePools().put(PoolSpec.dir("local", "/var/lib/libvirt/images"), true, true, true);

        List<StorageListing.Row> rows = new StorageListing().list(List.of(a, b), true);

        assertThat(rows).extracting(StorageListing.Row::pool).containsExactly("local", "vmstore");
        StorageListing.Row vmstore = rows.get(1);
        assertThat(vmstore.mismatch()).isTrue();
        assertThat(vmstore.differences()).containsExactly("kvm2: path /srv/disk (kvm1: /kvm/disk)");
        assertThat(vmstore.pairs()).isEmpty();
        assertThat(rows.get(0).byHost()).containsOnlyKeys("kvm2");
        assertThat(rows.get(0).mismatch()).isFalse();
    }

    @Test
    void list_samePathButNotShared_pairsNotProved() {
        a.storagePools().put(PoolSpec.dir("local", "/var/lib/libvirt/images"), true, true, true);
        b.storagePools().put(PoolSpec.dir("local", "/var/lib/libvirt/images"), true, true, true);

        StorageListing.Row r = new StorageListing().list(List.of(a, b), true).get(0);

        assertThat(r.mismatch()).isFalse();
        assertThat(r.pairs()).hasSize(2).noneMatch(PairProof::shared);
    }

    @Test
    void list_withoutProbeOrWithInactivePool_noPairs() {
        hv.shareDirectory("/kvm/disk");
        a.storagePools().put(PoolSpec.dir("vmstore", "/kvm/disk"), true, true, true);
        b.storagePools().put(PoolSpec.dir("vmstore", "/kvm/disk"), false, true, true);

        assertThat(new StorageListing().list(List.of(a, b), true).get(0).pairs()).isEmpty();
        b.storagePools().start("vmstore");
        assertThat(new StorageListing().list(List.of(a, b), false).get(0).pairs()).isEmpty();
        assertThat(hv.log).containsExactly("kvm2: pool-start vmstore");
    }
}

package io.kvmigrate.libvirt;

import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import io.kvmigrate.core.model.HostRef;
import io.kvmigrate.core.spi.HostSession;
import io.kvmigrate.core.spi.HypervisorConnector;

/** Opens libvirt connections with libvirt's default authentication callback (ssh keys, SASL prompts, TLS certificates). */
public final class LibvirtConnector implements HypervisorConnector {
    /** libvirt's default authentication callback (ssh keys, SASL prompts on the terminal). */
    static Pointer defaultAuth() {
        return NativeLibrary.getInstance("virt").getGlobalVariableAddress("virConnectAuthPtrDefault").getPointer(0);
    }

    @Override
    public HostSession open(HostRef host) {
        LibvirtError.init();
        Pointer conn = Libvirt.INSTANCE.virConnectOpenAuth(host.uri(), defaultAuth(), 0);
        if (conn == null) {
            LibvirtError err = LibvirtError.last();
            throw new io.kvmigrate.core.api.KvmigrateException(io.kvmigrate.core.api.ErrorCode.HOST_UNREACHABLE, "connect", host.name(), null,
                    "Tried to connect to " + host.uri() + " but failed because: " + err.message(),
                    "Check that libvirtd runs there and accepts this URI (network, ssh keys, TLS certificates, auth settings).");
        }
        return new LibvirtHostSession(host, conn);
    }
}

package io.kvmigrate.core.spi;

import java.util.Map;

/** Adapts a VM definition for another host: new disk paths (by guest target, e.g. vda) and renamed networks. */
@FunctionalInterface
public interface DefinitionRewriter {
    String rewrite(String definition, Map<String, String> diskPaths, Map<String, String> networks);
}

package io.kvmigrate.core.model;

import io.kvmigrate.core.api.KvmigrateException;

/** Rules for VM names taken from the user: libvirt accepts almost anything, we refuse what is surely a mistake. */
public final class VmNames {
    private VmNames() {
    }

    public static void validate(String name) {
        if (name == null || name.isBlank()) {
            throw KvmigrateException.invalidInput("VM name is empty.", "Give the VM's libvirt name, as the host's VM list shows it.");
        }
        if (name.length() > 200) {
            throw KvmigrateException.invalidInput("VM name is longer than 200 characters.", "Give the VM's libvirt name, as the host's VM list shows it.");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '/') {
                throw KvmigrateException.invalidInput("VM name '" + printable(name) + "' contains a control character or '/'.",
                        "libvirt names cannot contain these; check the name in the host's VM list.");
            }
        }
    }

    private static String printable(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) sb.append(c < 0x20 || c == 0x7f ? String.format("\\x%02x", (int) c) : String.valueOf(c));
        return sb.toString();
    }
}

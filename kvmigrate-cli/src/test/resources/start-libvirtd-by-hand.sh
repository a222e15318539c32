#!/usr/bin/env bash
# Starts one libvirtd as an admin would by hand (not through kvmigrate's lab code):
# its own config, run and state directories under DIR, listening on ADDRESS (qemu+tcp, loopback only).
set -euo pipefail
dir=$1
addr=$2
mkdir -p "$dir/etc" "$dir/run" "$dir/lib" "$dir/log" "$dir/cache"
cat > "$dir/etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "$addr"
auth_tcp = "none"
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
EOF
cat > "$dir/etc/qemu.conf" <<EOF
user = "root"
group = "root"
security_driver = "none"
namespaces = [ ]
cgroup_controllers = [ ]
dynamic_ownership = 0
remember_owner = 0
stdio_handler = "file"
migration_address = "$addr"
migration_host = "$addr"
EOF
unshare -m --propagation private bash -c '
  set -e
  mkdir -p /run/libvirt /var/cache/libvirt
  mount --bind "$1/etc" /etc/libvirt
  mount --bind "$1/run" /run/libvirt
  mount --bind "$1/lib" /var/lib/libvirt
  mount --bind "$1/log" /var/log/libvirt
  mount --bind "$1/cache" /var/cache/libvirt
  exec /usr/sbin/libvirtd -d -l -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
' hand-libvirtd "$dir"

#!/bin/busybox sh
# The lab's real Linux guest: PID 1 of a busybox initramfs. It keeps rewriting a tmpfs span from /dev/urandom (dirtying
# memory through the kernel: page cache, the RNG, process stacks), checks the MD5 of one earlier block after every
# few writes, and with a disk checks blocks written once at first boot. Everything it finds goes to the serial console:
#   KVMREADY ...            span filled, loop starts
#   KVMTICK pass=N up=S bad=M   one full pass over the span (M: memory mismatches so far)
#   KVMMISMATCH / KVMDISKMISMATCH   a block whose content changed behind the guest's back
#   KVMDISK ok=N bad=M      the disk checked in full at boot
# The kernel's own BUG/Oops/panic lines go to the same console.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
blocks=64; bs=1; every=4; disk=0
for a in $(cat /proc/cmdline); do
  case "$a" in
    kvmblocks=*) blocks=${a#*=};; kvmbs=*) bs=${a#*=};; kvmverify=*) every=${a#*=};; kvmdisk=*) disk=${a#*=};;
  esac
done
mount -t tmpfs -o size=$((blocks * bs + 8))m w /w

disksum() { dd if=/dev/vda bs=1M skip=$1 count=1 2>/dev/null | md5sum; }
if [ "$disk" -gt 0 ]; then
  for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk; do insmod /lib/modules/$m.ko; done
  n=0; while [ ! -b /dev/vda ] && [ $n -lt 50 ]; do sleep 0.2; n=$((n + 1)); done
  # never write a disk that is not there (devtmpfs would take the writes as a plain file)
  [ -b /dev/vda ] || { echo "KVMDISKMISSING no /dev/vda"; disk=0; }
fi
if [ "$disk" -gt 0 ]; then
  if [ "$(dd if=/dev/vda bs=8 count=1 2>/dev/null)" != "KVMDISK1" ]; then
    # First boot: blocks 1..disk get random content; block 0 holds their sums, written last.
    i=1; : > /w/disk.sums
    while [ $i -le $disk ]; do
      dd if=/dev/urandom of=/dev/vda bs=1M seek=$i count=1 conv=fsync 2>/dev/null
      echo "$i $(disksum $i)" >> /w/disk.sums; i=$((i + 1))
    done
    # from a file, not a pipe: dd would take the pipe's first short read as the whole block
    { printf 'KVMDISK1\n'; cat /w/disk.sums; } > /w/disk.table
    dd if=/w/disk.table of=/dev/vda bs=1M count=1 conv=sync,fsync 2>/dev/null
    echo "KVMDISK written=$disk"
  fi
  dd if=/dev/vda bs=1M count=1 2>/dev/null | head -n $((disk + 1)) | tail -n $disk > /w/disk.sums
  echo 3 > /proc/sys/vm/drop_caches
  ok=0; dbad=0
  while read i sum rest; do
    if [ "$(disksum $i)" = "$sum  -" ]; then ok=$((ok + 1)); else dbad=$((dbad + 1)); echo "KVMDISKMISMATCH block=$i"; fi
  done < /w/disk.sums
  echo "KVMDISK ok=$ok bad=$dbad"
fi

i=0
while [ $i -lt $blocks ]; do
  dd if=/dev/urandom of=/w/b$i bs=1M count=$bs 2>/dev/null
  [ "$every" -gt 0 ] && md5sum < /w/b$i > /w/s$i
  i=$((i + 1))
done
echo "KVMREADY blocks=$blocks bs=$bs verify=$every disk=$disk"
pass=0; bad=0; d=1
while :; do
  i=0
  while [ $i -lt $blocks ]; do
    dd if=/dev/urandom of=/w/b$i bs=1M count=$bs 2>/dev/null
    if [ "$every" -gt 0 ]; then
      md5sum < /w/b$i > /w/s$i
      j=$(( (i + blocks / 2) % blocks ))
      if [ $((i % every)) -eq 0 ] && [ "$(md5sum < /w/b$j)" != "$(cat /w/s$j)" ]; then
        bad=$((bad + 1)); echo "KVMMISMATCH block=$j pass=$pass"
      fi
    fi
    i=$((i + 1))
  done
  if [ "$disk" -gt 0 ]; then
    echo 1 > /proc/sys/vm/drop_caches
    want=$(sed -n "${d}p" /w/disk.sums | cut -d' ' -f2-)
    [ "$(disksum $d)" = "$want" ] || { bad=$((bad + 1)); echo "KVMDISKMISMATCH block=$d pass=$pass"; }
    d=$((d % disk + 1))
  fi
  pass=$((pass + 1))
  read up idle < /proc/uptime
  echo "KVMTICK pass=$pass up=$up bad=$bad"
done

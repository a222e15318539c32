#!/usr/bin/env bash
# Bisects the post-copy + auto-converge guest corruption (docs/reliability.md) with plain virsh on the demo lab
# (./kvmigrate lab up): a real Linux guest (bench/realguest-files.sh builds kernel + initramfs into $dir) is started on
# lab1, migrated to lab2 with the variant's flags, switched to post-copy when the variant says, then watched for 25 s.
# Usage: bench/realguest-bisect.sh RUNS CAP_MIB AC_INITIAL AC_INCREMENT SWITCH_AT_THROTTLE [extra virsh flags...]
#   AC_INITIAL=0: no auto-converge. SWITCH_AT_THROTTLE: switch once the throttle reaches this (0: switch after 6 s;
#   -1: --postcopy-after-precopy; -2: no post-copy at all; -3: kvmigrate migrate with the extra flags instead of virsh).
set -uo pipefail
runs=$1 cap=$2 aci=$3 acs=$4 at=$5; shift 5
dir=/var/lib/kvmigrate-lab/shared/lg
src=qemu+tcp://127.0.0.2/system dst=qemu+tcp://127.0.0.3/system
crashes=0 mism=0 done=0
for r in $(seq 1 "$runs"); do
  virsh -q -c $src destroy lg >/dev/null 2>&1; virsh -q -c $dst destroy lg >/dev/null 2>&1
  virsh -q -c $dst undefine lg >/dev/null 2>&1; virsh -q -c $src undefine lg >/dev/null 2>&1
  : > $dir/serial.log
  virsh -q -c $src define $dir/lg.xml >/dev/null && virsh -q -c $src start lg >/dev/null || exit 2
  for _ in $(seq 1 120); do grep -q 'KVMTICK pass=2 ' $dir/serial.log && break; sleep 0.5; done
  flags=(--live --p2p --persistent --undefinesource --unsafe --bandwidth "$cap")
  [ "$aci" -gt 0 ] && flags+=(--auto-converge --auto-converge-initial "$aci" --auto-converge-increment "$acs")
  [ "$at" -ge -1 ] && flags+=(--postcopy)
  [ "$at" -eq -1 ] && flags+=(--postcopy-after-precopy)
  start=$(date +%s.%N)
  if [ "$at" -eq -3 ]; then
    java -jar "${KVMIGRATE_JAR:-$(dirname "$0")/../kvmigrate-cli/target/kvmigrate.jar}" migrate lg --from lab1 --to lab2 --bandwidth "$cap" "$@" >/tmp/bisect-migrate.log 2>&1 &
  else
    virsh -c $src migrate "${flags[@]}" "$@" lg $dst >/tmp/bisect-migrate.log 2>&1 &
  fi
  mig=$!
  seen=0 switched=""
  while kill -0 $mig 2>/dev/null; do
    sleep 0.25
    [ "$at" -lt 0 ] || [ -n "$switched" ] && continue
    thr=$(virsh -c $src domjobinfo lg 2>/dev/null | awk -F: '/Auto converge throttle/ {gsub(/[ %]/,"",$2); print $2}')
    el=$(echo "$(date +%s.%N) - $start" | bc)
    if { [ "$at" -gt 0 ] && [ "${thr:-0}" -ge "$at" ]; } || { [ "$at" -eq 0 ] && [ "$(echo "$el > 6" | bc)" = 1 ]; }; then
      virsh -c $src migrate-postcopy lg >/dev/null 2>&1 && switched="throttle ${thr:-0}% at ${el}s"
    fi
  done
  wait $mig; rc=$?
  total=$(echo "$(date +%s.%N) - $start" | bc)
  before=$(grep -c KVMTICK $dir/serial.log)
  sleep 25
  after=$(grep -c KVMTICK $dir/serial.log)
  bad=$(grep -cE 'KVMMISMATCH' $dir/serial.log)
  oops=$(grep -cE 'BUG:|Oops|Kernel panic|stack-protector|general protection|Unable to handle|unable to handle|segfault|Call Trace' $dir/serial.log)
  verdict=fine
  [ "$rc" -ne 0 ] && verdict="migration failed ($(tail -1 /tmp/bisect-migrate.log))"
  if [ "$oops" -gt 0 ] || [ "$bad" -gt 0 ] || [ "$after" -le "$before" ]; then verdict="CRASHED (oops lines $oops, mismatches $bad, ticks $before->$after)"; crashes=$((crashes + 1)); fi
  [ "$rc" -eq 0 ] && done=$((done + 1))
  printf 'run %d: rc=%d total %.1fs switch [%s] -> %s\n' "$r" "$rc" "$total" "${switched:-none}" "$verdict"
  [ "$verdict" != fine ] && cp $dir/serial.log /tmp/bisect-crash-$r-$(date +%s).log
done
echo "RESULT cap=$cap ac=$aci/$acs switch=$at extra=[$*] runs=$runs migrated=$done crashed=$crashes"

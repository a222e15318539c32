#!/usr/bin/env bash
# Times `kvmigrate check VM --from SOURCE --to TARGET` RUNS times, each a fresh JVM as a user runs it, and prints a
# table: wall time (what the user waits for: wrapper, JVM start, everything) and the time the command itself measured
# (connections, facts of both hosts, storage probe, checks).
# Usage: bench/check-latency.sh VM SOURCE TARGET [RUNS]   (hosts as registered, e.g. by 'kvmigrate lab up')
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 VM SOURCE TARGET [RUNS]" >&2
  exit 2
fi
vm="$1"; from="$2"; to="$3"; runs="${4:-5}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/kvmigrate" --version >/dev/null   # builds the jar first if needed, outside the timings
walls=()
printf '%-4s %8s %10s %5s\n' run wall_ms command_ms exit
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  set +e
  out="$("$here/kvmigrate" check "$vm" --from "$from" --to "$to")"
  rc=$?
  set -e
  end=$(date +%s%N)
  wall=$(( (end - start) / 1000000 ))
  cmd=$(printf '%s\n' "$out" | sed -n '1s/^Preflight of .*, \([0-9]*\) ms$/\1/p')
  walls+=("$wall")
  printf '%-4s %8s %10s %5s\n' "$i" "$wall" "${cmd:--}" "$rc"
done
sorted=($(printf '%s\n' "${walls[@]}" | sort -n))
n=${#sorted[@]}
printf 'wall ms: min %s, median %s, max %s over %s runs\n' "${sorted[0]}" "${sorted[$((n / 2))]}" "${sorted[$((n - 1))]}" "$n"

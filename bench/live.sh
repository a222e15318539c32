#!/usr/bin/env bash
# Live-migration benchmark: kvmigrate vs plain `virsh migrate --live` on lab hosts (root; 5-8 min on 2 cores).
# Arguments go to `kvmigrate bench live`, e.g. --root /var/tmp/lab --first-octet 60 --cap 64 --out docs/benchmarks.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../kvmigrate" bench live "$@"

#!/usr/bin/env bash
# Fuzzing every reader: the property tests named *never_panic* (Backup.xml and its class store,
# bkupInfo.xml, manifest.xml, gpreport.xml, .migtable, GPT.INI, GptTmpl.inf, registry.pol,
# fdeploy*.ini, scripts*.ini, GPP XML, reference finders, security descriptors), each fed
# arbitrary and mutated real bytes. `cargo test` runs them with proptest's 256 cases in CI;
# this runs each with many more and prints how long each ran and what it found.
#
#   benches/fuzz.sh [--cases N]      (default 20000 per target)
#
# Why proptest and not cargo-fuzz: cargo-fuzz needs a nightly toolchain (sanitizer flags), and
# this project's machines have one stable toolchain and cannot fetch another. A failure prints
# proptest's minimised input and leaves it in proptest-regressions/, which `cargo test` replays.
set -euo pipefail

CASES=20000
while [ $# -gt 0 ]; do
  case "$1" in
    --cases) CASES="$2"; shift 2 ;;
    *) echo "usage: $0 [--cases N]" >&2; exit 2 ;;
  esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo test --quiet --lib --no-run 2>/dev/null
mapfile -t targets < <(cargo test --quiet --lib never_panic -- --list 2>/dev/null | sed -n 's/: test$//p')
[ "${#targets[@]}" -gt 0 ] || { echo "no fuzz targets found" >&2; exit 1; }

printf '%-78s %8s %8s  %s\n' target cases seconds found
failed=0
for target in "${targets[@]}"; do
  start=$(date +%s.%N)
  if out=$(PROPTEST_CASES="$CASES" cargo test --quiet --lib "$target" -- --exact 2>&1); then
    found="nothing"
  else
    found="FAILURE (below)"; failed=1
  fi
  end=$(date +%s.%N)
  printf '%-78s %8s %8.1f  %s\n' "$target" "$CASES" "$(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }')" "$found"
  [ "$found" = nothing ] || printf '%s\n' "$out" | tail -n 30
done
exit "$failed"

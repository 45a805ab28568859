#!/usr/bin/env bash
# Benchmark: gpvault check and gpvault search against Back Up All of the same estate (issue 11:
# check in at most 1.5x the time of Back Up All, search in at most 1x).
#
#   benches/check.sh [--gpos N] [--runs R] [--no-seed]
#
# Seeds the corp lab domain up to N bulk GPOs (default 1000; --no-seed uses the lab as it is),
# then, interleaved, R times each (median reported): (a) `gpvault backup --all` into a fresh
# tmpfs folder, (b) `gpvault check`, (c) `gpvault check --backups` against that folder (which
# also re-hashes every instance), (d) `gpvault search` for a registry value, (e) the same search
# in the backup folder. Prints seconds, GPOs/s, peak memory and the ratios to (a). Figures,
# not pass/fail. GPVAULT_BIN picks the binary (default: a release build, made here).
set -euo pipefail

GPOS=1000
RUNS=3
SEED=1
while [ $# -gt 0 ]; do
  case "$1" in
    --gpos) GPOS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --no-seed) SEED=0; shift ;;
    *) echo "usage: $0 [--gpos N] [--runs R] [--no-seed]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LAB="${GPVAULT_LAB_DIR:-/tmp/gpvault-lab}"
command -v /usr/bin/time >/dev/null || { apt-get install -y -q time >&2; }

[ "$SEED" = 1 ] && scripts/lab up --gpos "$GPOS" >&2
# shellcheck disable=SC1091
. "$LAB/env"
if [ -z "${GPVAULT_BIN:-}" ]; then
  cargo build --release --quiet
  GPVAULT_BIN="$ROOT/target/release/gpvault"
fi
BIN="$GPVAULT_BIN"
WORK=/dev/shm/gpvault-bench-check.$$
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

count=$("$BIN" --profile corp gpo list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "GPOs in $GPVAULT_LAB_CORP_DOMAIN: $count" >&2

# Runs a command under GNU time; prints "seconds peak_kib". Exit 1 is an answer for check
# (findings) and search (nothing found), not a failure.
measure() {
  local stats="$WORK/time" rc=0
  /usr/bin/time -f '%e %M' -o "$stats" "$@" >/dev/null 2>"$WORK/stderr" || rc=$?
  if [ "$rc" -gt 1 ]; then echo "command failed ($rc): $*" >&2; cat "$WORK/stderr" >&2; exit 1; fi
  cat "$stats"
}

declare -A times mem
for key in a b c d e; do times[$key]=""; mem[$key]=0; done
record() { times[$1]="${times[$1]} $2"; [ "$3" -gt "${mem[$1]}" ] && mem[$1]=$3; return 0; }
for run in $(seq 1 "$RUNS"); do
  dir="$WORK/backups$run"
  read -r t m < <(measure "$BIN" --profile corp backup --all --dir "$dir" --comment bench --json); record a "$t" "$m"
  read -r t m < <(measure "$BIN" --profile corp check --json); record b "$t" "$m"
  read -r t m < <(measure "$BIN" --profile corp check --json --backups "$dir"); record c "$t" "$m"
  read -r t m < <(measure "$BIN" --profile corp search fDenyTSConnections --kind registry --json); record d "$t" "$m"
  read -r t m < <(measure "$BIN" --profile corp search fDenyTSConnections --kind registry --in "$dir" --json); record e "$t" "$m"
  echo "run $run: backup ${times[a]##* } s, check ${times[b]##* } s, check --backups ${times[c]##* } s, search ${times[d]##* } s, search in backups ${times[e]##* } s" >&2
  rm -rf "$dir"
done

/usr/bin/python3 - "$count" "${times[a]}" "${times[b]}" "${times[c]}" "${times[d]}" "${times[e]}" \
  "${mem[a]}" "${mem[b]}" "${mem[c]}" "${mem[d]}" "${mem[e]}" <<'PY'
import statistics, sys
count = int(sys.argv[1])
med = [statistics.median(map(float, t.split())) for t in sys.argv[2:7]]
mem = [int(m) / 1024 for m in sys.argv[7:12]]
names = ["(a) backup --all", "(b) check", "(c) check --backups", "(d) search live", "(e) search in backups"]
print(f"{'':26}{'seconds':>10}{'GPOs/s':>10}{'peak MiB':>10}{'/ (a)':>8}")
for name, t, m in zip(names, med, mem):
    print(f"{name:26}{t:>10.2f}{count / t if t else 0:>10.0f}{m:>10.1f}{t / med[0]:>8.2f}")
print(f"GPOs: {count}; medians of {len(sys.argv[2].split())} interleaved runs, backups into tmpfs")
print(f"check / backup = {med[1] / med[0]:.2f} (target <= 1.5); search / backup = {med[3] / med[0]:.2f} (target <= 1.0)")
PY

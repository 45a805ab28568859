#!/usr/bin/env bash
# Benchmark: gpvault backup --all against the raw SMB copy floor and samba-tool.
#
#   benches/backup.sh [--gpos N] [--runs R] [--sample S] [--disk DIR]
#
# Seeds the corp lab domain up to N bulk GPOs (default 1000), then, in one run and interleaved,
# times (a) `gpvault backup --all`, (b) smbclient's recursive mget of the domain's Policies
# folder (the raw copy floor), each into fresh folders on tmpfs and on disk (DIR, default
# /var/tmp/gpvault-bench-disk: gpvault's instances are durable there, synced per batch; smbclient
# syncs nothing), R times each (default 5; medians, after one untimed run of each), and (c)
# `samba-tool gpo backup` over a sample of S GPOs. Prints seconds, GPOs/s, peak memory and the
# ratios a/b (tmpfs and disk) and per-GPO a/c. Figures, not pass/fail: this is not a timed
# test. GPVAULT_BIN names the binary to time (default: a release build of this checkout).
set -euo pipefail

GPOS=1000
RUNS=5
SAMPLE=50
DISK=/var/tmp/gpvault-bench-disk
while [ $# -gt 0 ]; do
  case "$1" in
    --gpos) GPOS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    --disk) DISK="$2"; shift 2 ;;
    *) echo "usage: $0 [--gpos N] [--runs R] [--sample S] [--disk DIR]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LAB="${GPVAULT_LAB_DIR:-/tmp/gpvault-lab}"
command -v /usr/bin/time >/dev/null || { apt-get install -y -q time >&2; }

scripts/lab up --gpos "$GPOS" >&2
# shellcheck disable=SC1091
. "$LAB/env"
if [ -n "${GPVAULT_BIN:-}" ]; then
  BIN="$GPVAULT_BIN"
else
  cargo build --release --quiet
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/gpvault"
fi
PW="$GPVAULT_LAB_PASSWORD"
DOMAIN="$GPVAULT_LAB_CORP_DOMAIN"
SERVER="$GPVAULT_LAB_CORP_SERVER"
WORK=/dev/shm/gpvault-bench
left_over=$([ -e "$DISK" ] && echo yes || true)
rm -rf "$WORK" "$DISK"; mkdir -p "$WORK" "$DISK"
if [ -n "$left_over" ]; then
  echo "removed an earlier run's $DISK: waiting 60 s before timing (see below)" >&2
  sync; sleep 60
fi
# Every run's folders stay until the end. Deleting them between runs would time ext4, not the
# copy: for a minute after a big delete, ext4's inode allocator skips the freed inodes one by one
# (recently_deleted() in find_inode_bit), which made file creation here up to 5x slower in
# system time for whichever command ran next.
trap 'rm -rf "$WORK" "$DISK"' EXIT

count=$("$BIN" --profile corp gpo list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "GPOs in $DOMAIN: $count" >&2

# Runs a command under GNU time; prints "seconds peak_kib".
measure() {
  local stats="$WORK/time.$$"
  /usr/bin/time -f '%e %M' -o "$stats" "$@" >/dev/null 2>"$WORK/stderr.$$" || {
    echo "command failed: $*" >&2; cat "$WORK/stderr.$$" >&2; exit 1; }
  cat "$stats"
}

# One untimed run of each first: the first run after a quiet spell pays for waking the DC's
# caches and the disk (seen here: 7-9 s instead of 2.5 s, once per idle spell).
"$BIN" --profile corp backup --all --dir "$WORK/warm-a" --quiet >/dev/null 2>&1 || true
mkdir -p "$WORK/warm-b"
smbclient "//$SERVER/sysvol" -U "Administrator%$PW" \
    -c "prompt off; recurse; lcd $WORK/warm-b; cd $DOMAIN/Policies; mget *" >/dev/null 2>&1 || true

a_times=(); b_times=(); ad_times=(); bd_times=(); a_mem=0; b_mem=0
for run in $(seq 1 "$RUNS"); do
  for place in tmpfs disk; do
    if [ "$place" = tmpfs ]; then into="$WORK"; else into="$DISK"; fi
    read -r t m < <(measure "$BIN" --profile corp backup --all --dir "$into/a$run" --comment bench --json)
    if [ "$place" = tmpfs ]; then a_times+=("$t"); else ad_times+=("$t"); fi
    [ "$m" -gt "$a_mem" ] && a_mem=$m
    mkdir -p "$into/b$run"
    read -r t m < <(measure smbclient "//$SERVER/sysvol" -U "Administrator%$PW" \
        -c "prompt off; recurse; lcd $into/b$run; cd $DOMAIN/Policies; mget *")
    if [ "$place" = tmpfs ]; then b_times+=("$t"); else bd_times+=("$t"); fi
    [ "$m" -gt "$b_mem" ] && b_mem=$m
    sync
  done
  echo "run $run: tmpfs gpvault ${a_times[-1]} s, smbclient ${b_times[-1]} s;" \
       "disk gpvault ${ad_times[-1]} s, smbclient ${bd_times[-1]} s" >&2
done

# samba-tool over a sample of GPOs (it takes ~0.2 s each, so not the whole estate).
mapfile -t sample < <("$BIN" --profile corp gpo list --json |
  /usr/bin/python3 -c "import json,sys; [print(r['id']) for r in json.load(sys.stdin)[:$SAMPLE]]")
mkdir -p "$WORK/c"
c_start=$(date +%s.%N)
for id in "${sample[@]}"; do
  samba-tool gpo backup "$id" --tmpdir "$WORK/c" -H "ldap://$SERVER" -U "Administrator%$PW" >/dev/null 2>&1 ||
    echo "samba-tool gpo backup $id failed" >&2
done
c_end=$(date +%s.%N)

/usr/bin/python3 - "$count" "${#sample[@]}" "$c_start" "$c_end" "$a_mem" "$b_mem" "${a_times[*]}" "${b_times[*]}" \
    "${ad_times[*]}" "${bd_times[*]}" "$DISK" <<'PY'
import statistics, sys
count, sample = int(sys.argv[1]), int(sys.argv[2])
c_time = float(sys.argv[4]) - float(sys.argv[3])
a_mem, b_mem = int(sys.argv[5]), int(sys.argv[6])
a = statistics.median(map(float, sys.argv[7].split()))
b = statistics.median(map(float, sys.argv[8].split()))
ad = statistics.median(map(float, sys.argv[9].split()))
bd = statistics.median(map(float, sys.argv[10].split()))
per_a, per_c = a / count, c_time / sample
print(f"{'':34}{'seconds':>10}{'GPOs/s':>10}{'peak MiB':>10}")
print(f"{'(a) gpvault backup --all':34}{a:>10.2f}{count / a:>10.0f}{a_mem / 1024:>10.1f}")
print(f"{'(b) smbclient recursive mget':34}{b:>10.2f}{count / b:>10.0f}{b_mem / 1024:>10.1f}")
print(f"{'(a) on disk':34}{ad:>10.2f}{count / ad:>10.0f}")
print(f"{'(b) on disk':34}{bd:>10.2f}{count / bd:>10.0f}")
print(f"{'(c) samba-tool gpo backup':34}{c_time:>10.2f}{sample / c_time:>10.1f}{'':>10}   ({sample} GPOs)")
print(f"GPOs: {count}; medians of {len(sys.argv[7].split())} interleaved runs into tmpfs and into {sys.argv[11]}")
print(f"ratio a/b = {a / b:.2f} on tmpfs, {ad / bd:.2f} on disk  (target <= 0.35)")
print(f"per GPO: gpvault {per_a * 1000:.1f} ms, samba-tool {per_c * 1000:.0f} ms: {per_c / per_a:.0f}x faster (target >= 100x)")
PY

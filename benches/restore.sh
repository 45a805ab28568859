#!/usr/bin/env bash
# Benchmark: restore of one GPO, and restore --all-latest of the whole estate against the time
# of a Back Up All of it, side by side in one run; and per GPO against `samba-tool gpo restore`.
#
#   benches/restore.sh [--gpos N] [--runs R] [--sample S]
#
# Uses its own lab (GPVAULT_LAB_DIR, default /tmp/gpvault-lab-rb on 127.0.0.41/.42: restores
# bump every version, so not a lab other tests read), seeded up to N bulk GPOs (default 1000).
# Each run, interleaved: (a) `gpvault backup --all` into a fresh tmpfs folder; (b) `gpvault
# restore --all-latest --yes` from a copy of that folder (the copy is not timed: a restore adds
# its safety backups to the folder it reads); (c) `gpvault restore ID --yes` of one GPO. Then
# (d) `samba-tool gpo restore` of S GPOs from `samba-tool gpo backup` copies (each makes a new
# GPO, deleted again afterwards, not timed). Prints seconds, GPOs/s, peak memory, the ratio
# b/a (target <= 2) and per-GPO times. Figures, not pass/fail.
#
# The gpvault binary is $GPVAULT_BIN when set, else this checkout's debug build (the project's
# rule on its shared build machine: no release builds); both (a) and (b) use the same binary.
set -euo pipefail

GPOS=1000
RUNS=3
SAMPLE=20
while [ $# -gt 0 ]; do
  case "$1" in
    --gpos) GPOS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    *) echo "usage: $0 [--gpos N] [--runs R] [--sample S]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export GPVAULT_LAB_DIR="${GPVAULT_LAB_DIR:-/tmp/gpvault-lab-rb}"
export GPVAULT_LAB_CORP_IP="${GPVAULT_LAB_CORP_IP:-127.0.0.41}"
export GPVAULT_LAB_BRANCH_IP="${GPVAULT_LAB_BRANCH_IP:-127.0.0.42}"
LAB="$GPVAULT_LAB_DIR"
command -v /usr/bin/time >/dev/null || { apt-get install -y -q time >&2; }

scripts/lab up --gpos "$GPOS" >&2
# shellcheck disable=SC1091
. "$LAB/env"
if [ -n "${GPVAULT_BIN:-}" ]; then
  BIN="$GPVAULT_BIN"
else
  cargo build --quiet
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/gpvault"
fi
PW="$GPVAULT_LAB_PASSWORD"
SERVER="$GPVAULT_LAB_CORP_SERVER"
SMBCONF="$GPVAULT_LAB_CORP_SMBCONF"
WORK=/dev/shm/gpvault-restore-bench
rm -rf "$WORK"; mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT

count=$("$BIN" --profile corp gpo list --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
echo "GPOs in $GPVAULT_LAB_CORP_DOMAIN: $count ($BIN)" >&2

# Runs a command under GNU time; prints "seconds peak_kib".
measure() {
  local stats="$WORK/time.$$"
  /usr/bin/time -f '%e %M' -o "$stats" "$@" >"$WORK/stdout.$$" 2>"$WORK/stderr.$$" || {
    echo "command failed: $*" >&2; cat "$WORK/stderr.$$" "$WORK/stdout.$$" >&2; exit 1; }
  cat "$stats"
}

# The backup ID of one GPO (the first listed) in a backup folder.
one_backup_id() {
  "$BIN" backups list --dir "$1" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["backup_id"])'
}

a_times=(); b_times=(); c_times=(); a_mem=0; b_mem=0
for run in $(seq 1 "$RUNS"); do
  read -r t m < <(measure "$BIN" --profile corp backup --all --dir "$WORK/a$run" --comment bench --json)
  a_times+=("$t"); [ "$m" -gt "$a_mem" ] && a_mem=$m
  cp -a "$WORK/a$run" "$WORK/b$run"
  read -r t m < <(measure "$BIN" --profile corp restore --all-latest --yes --json --dir "$WORK/b$run")
  b_times+=("$t"); [ "$m" -gt "$b_mem" ] && b_mem=$m
  restored=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(len(r["restored"]), len(r["failed"]))' "$WORK/stdout.$$")
  id=$(one_backup_id "$WORK/a$run")
  read -r t _ < <(measure "$BIN" --profile corp restore "$id" --yes --json --dir "$WORK/a$run")
  c_times+=("$t")
  echo "run $run: backup all ${a_times[-1]} s, restore all ${b_times[-1]} s (restored, failed: $restored), restore one ${c_times[-1]} s" >&2
  rm -rf "$WORK/a$run" "$WORK/b$run"
done

# samba-tool over a sample: back up each (not timed), then time the restores.
mapfile -t sample < <("$BIN" --profile corp gpo list --json |
  /usr/bin/python3 -c "import json,sys; [print(r['id']) for r in json.load(sys.stdin)[:$SAMPLE]]")
mkdir -p "$WORK/st" "$WORK/st-tmp"
for id in "${sample[@]}"; do
  samba-tool gpo backup "$id" --tmpdir "$WORK/st" -H "ldap://$SERVER" -U "Administrator%$PW" -s "$SMBCONF" >/dev/null 2>&1 ||
    echo "samba-tool gpo backup $id failed" >&2
done
made=()
d_start=$(date +%s.%N)
for id in "${sample[@]}"; do
  out=$(samba-tool gpo restore "bench restore $id" "$WORK/st/policy/$id" --tmpdir "$WORK/st-tmp" \
        -H "ldap://$SERVER" -U "Administrator%$PW" -s "$SMBCONF" 2>&1) || echo "samba-tool gpo restore $id failed: $out" >&2
  made+=("$(grep -o '{[0-9A-Fa-f-]*}' <<<"$out" | tail -1)")
done
d_end=$(date +%s.%N)
for id in "${made[@]}"; do
  [ -n "$id" ] && samba-tool gpo del "$id" -H "ldap://$SERVER" -U "Administrator%$PW" -s "$SMBCONF" >/dev/null 2>&1
done

/usr/bin/python3 - "$count" "${#sample[@]}" "$d_start" "$d_end" "$a_mem" "$b_mem" "${a_times[*]}" "${b_times[*]}" "${c_times[*]}" <<'PY'
import statistics, sys
count, sample = int(sys.argv[1]), int(sys.argv[2])
d_time = float(sys.argv[4]) - float(sys.argv[3])
a_mem, b_mem = int(sys.argv[5]), int(sys.argv[6])
a, b, c = (statistics.median(map(float, sys.argv[i].split())) for i in (7, 8, 9))
print(f"{'':40}{'seconds':>10}{'GPOs/s':>10}{'peak MiB':>10}")
print(f"{'(a) gpvault backup --all':40}{a:>10.2f}{count / a:>10.0f}{a_mem / 1024:>10.1f}")
print(f"{'(b) gpvault restore --all-latest':40}{b:>10.2f}{count / b:>10.0f}{b_mem / 1024:>10.1f}")
print(f"{'(c) gpvault restore ID (one GPO)':40}{c:>10.2f}{'':>10}{'':>10}")
print(f"{'(d) samba-tool gpo restore':40}{d_time:>10.2f}{sample / d_time:>10.1f}{'':>10}   ({sample} GPOs)")
print(f"GPOs: {count}; medians of {len(sys.argv[7].split())} interleaved runs, backups in tmpfs")
print(f"ratio b/a = {b / a:.2f}  (target <= 2)")
per_b, per_d = b / count, d_time / sample
print(f"per GPO: gpvault restore --all-latest {per_b * 1000:.1f} ms, one GPO end to end {c * 1000:.0f} ms, "
      f"samba-tool gpo restore {per_d * 1000:.0f} ms: {per_d / per_b:.0f}x (all) / {per_d / c:.1f}x (one)")
PY

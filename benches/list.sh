#!/usr/bin/env bash
# Benchmark: `gpvault backups list` on a folder of many instances, from manifest.xml (the fast
# path) and by scanning every instance (no manifest).
#
#   benches/list.sh [--instances N] [--runs R] [--gpos G] [--bin PATH] [--work DIR] [--keep]
#
# Builds a synthetic backup folder of N instances (default 100000) of G GPOs (default 1000): each
# is a copy of a real GPMC backup from the fixtures (the DoD Chrome baseline: 5 files, 4 folders)
# whose files are hard links (to a copy in the work folder), except its own bkupInfo.xml (new backup ID, GPO, time and
# comment). `gpvault backups repair` then writes manifest.xml and gpvault-index.tsv (timed: a full
# scan that also measures every instance). Then, R times each (median reported), interleaved:
#   (a) backups list --json         from manifest.xml and the index
#   (b) backups list (table)        the same, printed as the table
#   (c) backups list --latest       newest instance of each GPO
#   (d) backups list --json, no manifest.xml (index kept): every bkupInfo.xml read
#   (e) backups list --json, neither manifest.xml nor index: every instance read and measured
# Output goes to /dev/null; the page cache is warm (nothing here drops it: the machine is shared).
# Figures, not pass/fail. The binary is a release build unless --bin names another.
set -euo pipefail

INSTANCES=100000
RUNS=3
GPOS=1000
BIN=""
WORK=/tmp/gpvault-list-bench
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --instances) INSTANCES="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --gpos) GPOS="$2"; shift 2 ;;
    --bin) BIN="$2"; shift 2 ;;
    --work) WORK="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    *) echo "usage: $0 [--instances N] [--runs R] [--gpos G] [--bin PATH] [--work DIR] [--keep]" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v /usr/bin/time >/dev/null || { apt-get install -y -q time >&2; }
if [ -z "$BIN" ]; then
  cargo build --release --quiet
  BIN="$ROOT/target/release/gpvault"
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
TEMPLATE="$ROOT/tests/fixtures/gpmc/nsacyber-shb/Chrome/Group Policy Objects/Computer/{403B3DA7-7021-439A-8CA4-B2B0C1138937}"
DIR="$WORK/backups"
rm -rf "$WORK"; mkdir -p "$DIR"
[ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT

echo "making $INSTANCES instances of $GPOS GPOs in $DIR" >&2
gen_start=$(date +%s.%N)
/usr/bin/python3 - "$TEMPLATE" "$DIR" "$INSTANCES" "$GPOS" <<'PY'
import os, shutil, sys, uuid, datetime
template, out, count, gpos = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
# Hard links to a copy of the template (never to the repository's files), a fresh copy every
# 50,000 instances: ext4 allows 65,000 links to one file.
def seed(k):
    path = os.path.join(os.path.dirname(out), "seed-%d" % k)
    if not os.path.isdir(path):
        shutil.copytree(template, path)
    return path
files, dirs = [], []
for base, subdirs, names in os.walk(template):
    rel = os.path.relpath(base, template)
    if rel != ".":
        dirs.append(rel)
    files += [os.path.join(rel, n) for n in names if n != "bkupInfo.xml"]
info = open(os.path.join(template, "bkupInfo.xml"), "rb").read().decode("utf-8")
def field(name):
    start = info.index("<%s><![CDATA[" % name) + len(name) + 11
    return info[start:info.index("]]>", start)]
start = datetime.datetime(2020, 1, 1)
gpo_ids = ["{%s}" % str(uuid.UUID(int=0x5EED0000 << 96 | g)).upper() for g in range(gpos)]
for i in range(count):
    backup_id = "{%s}" % str(uuid.uuid4()).upper()
    instance = os.path.join(out, backup_id)
    os.mkdir(instance)
    for d in dirs:
        os.makedirs(os.path.join(instance, d), exist_ok=True)
    source = seed(i // 50000)
    for f in files:
        os.link(os.path.join(source, f), os.path.join(instance, f))
    text = info
    for name, value in [("GPOGuid", gpo_ids[i % gpos]), ("ID", backup_id),
                        ("BackupTime", (start + datetime.timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S")),
                        ("Comment", "nightly %d" % (i // gpos)),
                        ("GPODisplayName", "Baseline %04d" % (i % gpos))]:
        text = text.replace("<%s><![CDATA[%s]]>" % (name, field(name)), "<%s><![CDATA[%s]]>" % (name, value), 1)
    with open(os.path.join(instance, "bkupInfo.xml"), "wb") as fh:
        fh.write(text.encode("utf-8"))
PY
gen_end=$(date +%s.%N)

# Runs a command under GNU time; prints "seconds peak_kib".
measure() {
  local stats="$WORK/time.$$"
  /usr/bin/time -f '%e %M' -o "$stats" "$@" >/dev/null 2>"$WORK/stderr.$$" || {
    echo "command failed: $*" >&2; cat "$WORK/stderr.$$" >&2; exit 1; }
  cat "$stats"
}

read -r repair_t repair_m < <(measure "$BIN" backups repair --dir "$DIR")
listed=$("$BIN" backups list --json --dir "$DIR" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$listed" = "$INSTANCES" ] || { echo "listed $listed instances, made $INSTANCES" >&2; exit 1; }
"$BIN" backups list --dir "$DIR" 2>&1 >/dev/null | grep -q "out of date" && { echo "manifest unexpectedly stale" >&2; exit 1; }
manifest_bytes=$(stat -c %s "$DIR/manifest.xml")

declare -A times mem
for run in $(seq 1 "$RUNS"); do
  for case in a b c d e; do
    case $case in
      a) read -r t m < <(measure "$BIN" backups list --json --dir "$DIR") ;;
      b) read -r t m < <(measure "$BIN" backups list --dir "$DIR") ;;
      c) read -r t m < <(measure "$BIN" backups list --latest --dir "$DIR") ;;
      d) mv "$DIR/manifest.xml" "$WORK/manifest.xml"
         read -r t m < <(measure "$BIN" backups list --json --dir "$DIR")
         mv "$WORK/manifest.xml" "$DIR/manifest.xml" ;;
      e) mv "$DIR/manifest.xml" "$WORK/manifest.xml"; mv "$DIR/gpvault-index.tsv" "$WORK/gpvault-index.tsv"
         read -r t m < <(measure "$BIN" backups list --json --dir "$DIR")
         mv "$WORK/manifest.xml" "$DIR/manifest.xml"; mv "$WORK/gpvault-index.tsv" "$DIR/gpvault-index.tsv" ;;
    esac
    times[$case]="${times[$case]:-} $t"
    [ "$m" -gt "${mem[$case]:-0}" ] && mem[$case]=$m
  done
  echo "run $run: a ${times[a]##* } s, d ${times[d]##* } s, e ${times[e]##* } s" >&2
done

/usr/bin/python3 - "$INSTANCES" "$GPOS" "$gen_start:$gen_end" "$repair_t" "$repair_m" "$manifest_bytes" \
  "${times[a]}" "${times[b]}" "${times[c]}" "${times[d]}" "${times[e]}" \
  "${mem[a]}" "${mem[b]}" "${mem[c]}" "${mem[d]}" "${mem[e]}" "$BIN" <<'PY'
import statistics, sys
n, gpos, repair_t, repair_m, manifest = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
gen = (lambda a, b: float(b) - float(a))(*sys.argv[3].split(":"))
times = [[float(x) for x in s.split()] for s in sys.argv[7:12]]
mems = [int(m) for m in sys.argv[12:17]]
print(f"binary: {sys.argv[17]}")
print(f"{n} instances of {gpos} GPOs; manifest.xml {manifest / 2**20:.1f} MiB; made in {gen:.0f} s")
print(f"backups repair (full scan + measure, writes manifest and index): {repair_t:.2f} s, peak {repair_m / 1024:.1f} MiB")
print()
print(f"| {'':46} | seconds (median) | peak MiB |")
print(f"| {'-' * 46} | ---: | ---: |")
labels = ["(a) list --json, from manifest.xml + index", "(b) list (table), from manifest.xml + index",
          "(c) list --latest, from manifest.xml + index", "(d) list --json, no manifest (index kept)",
          "(e) list --json, no manifest, no index"]
for label, t, m in zip(labels, times, mems):
    print(f"| {label:46} | {statistics.median(t):.2f} | {m / 1024:.1f} |")
a, d, e = (statistics.median(t) for t in (times[0], times[3], times[4]))
print()
print(f"scan without manifest / from manifest: {d / a:.1f}x (index kept), {e / a:.1f}x (no index)")
PY

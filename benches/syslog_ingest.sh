#!/usr/bin/env bash
# End-to-end syslog ingest benchmark: a release telltale on loopback, `telltale loadgen` sending
# LINES lines of ~120 bytes over 4 TCP connections, timed until every line is committed (and so
# searchable); then the on-disk size and search latency (p50/p99 of 50 rounds per query).
# Runs TRIALS trials, each on a fresh data directory, and prints every trial plus the medians.
#   benches/syslog_ingest.sh [LINES=5000000] [TRIALS=3]
# Set INPUT=file to replay real lines (cycled) instead of synthetic ones.
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-5000000}
TRIALS=${2:-3}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/telltale/target}"
cargo build --release --quiet
BIN="$CARGO_TARGET_DIR/release/telltale"
work=$(mktemp -d /tmp/telltale-bench.XXXXXX)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
results="$work/results.txt"
extra=()
if [ -n "${INPUT:-}" ]; then
  extra=(--input "$INPUT" --query '"Failed password"' --query 'host:combo' --query 'app:sshd')
fi
for t in $(seq 1 "$TRIALS"); do
  rm -rf "$work/data"
  "$BIN" serve --data-dir "$work/data" --http 127.0.0.1:18099 --syslog 127.0.0.1:15599 \
    --statsd off --carbon off 2>"$work/server.log" &
  echo $! >"$work/pid"
  for _ in $(seq 100); do curl -sf http://127.0.0.1:18099/health >/dev/null && break; sleep 0.1; done
  out=$("$BIN" loadgen --syslog 127.0.0.1:15599 --server http://127.0.0.1:18099 \
    --lines "$LINES" --connections 4 --search-rounds 50 --latency-probes 20 --timeout 900 "${extra[@]}")
  kill -TERM "$(cat "$work/pid")"; wait "$(cat "$work/pid")" || true
  bytes=$(echo "$out" | sed -n 's/.* bytes=\([0-9]*\).*/\1/p')
  disk=$(du -sb "$work/data/logs" | cut -f1)
  echo "trial=$t $out" | tr '\n' ' ' >>"$results"
  echo " disk_bytes=$disk disk_per_line=$((disk / LINES)) disk_ratio=$(python3 -c "print(round($disk/$bytes,3))")" >>"$results"
  tail -1 "$results" >&2
done
python3 - "$results" <<'PY'
import re, statistics, sys
rows = [l for l in open(sys.argv[1]) if l.strip()]
def col(pat):
    vals = [float(m.group(1)) for l in rows for m in [re.search(pat, l)] if m]
    return f"{statistics.median(vals):g} [{min(vals):g}, {max(vals):g}]" if vals else "-"
print("median [min, max] of", len(rows), "trials")
print("lines_per_s", col(r"lines_per_s=([\d.]+)"))
print("searchable latency of single lines: p50_ms", col(r"latency probes=\d+ p50_ms=([\d.]+)"), " max_ms", col(r"latency probes=\d+ p50_ms=[\d.]+ max_ms=([\d.]+)"))
print("disk_ratio", col(r"disk_ratio=([\d.]+)"), " disk_per_line", col(r"disk_per_line=([\d.]+)"))
for q in sorted(set(re.findall(r'search q="((?:[^"\\]|\\.)*)"', "".join(rows)))):
    pq = re.escape(q)
    print(f"search {q}: p50_ms", col(pq + r'" matches=\d+ rounds=\d+ p50_ms=([\d.]+)'),
          " p99_ms", col(pq + r'" matches=\d+ rounds=\d+ p50_ms=[\d.]+ p99_ms=([\d.]+)'))
PY

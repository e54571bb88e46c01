#!/usr/bin/env bash
# Graphite render/find latency and throughput, telltale side by side with graphite-web, with
# the method of ../shared/bench/graphite_render.py (its §4): 1000 series a.<i>.b, 24 h of
# 10 s points (same random walk, seed and draw order), schema 10s:6h,1m:7d,10m:5y, average,
# xFilesFactor 0.5; 4 warm-up requests, then `wrk -t min(c,2) -c c -d 15s (30 s for b)
# --timeout 30s --latency` per query and concurrency, TRIALS runs each, median.
#
# telltale gets the data through its carbon listener with the timestamps graphite-web's
# whisper files hold (the peer's load time, read from its marker file): first everything
# older than 2 h, then a restart (the head is cut into a block), then the last 2 h, so reads
# cross blocks and the head as on a server that has been up for a day.
# Then one answer is compared with graphite-web's, and the peer's own script runs every
# query the same number of times (PEER=0 skips it).
#   benches/graphite_render.sh [TRIALS=3]
# Env: QUERIES="a b c d", CONCS="1 8", PEER=1 (0: telltale only), TELLTALE_BIN (skip the build).
set -euo pipefail
cd "$(dirname "$0")/.."
TRIALS=${1:-3}
QUERIES=${QUERIES:-a b c d}
CONCS=${CONCS:-1 8}
PEER=${PEER:-1}
BENCH=${BENCH:-/work/shared/bench}
HTTP_PORT=18084
CARBON_PORT=12004
URL=http://127.0.0.1:$HTTP_PORT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/telltale/target}"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
work=$(mktemp -d /tmp/telltale-gbench.XXXXXX)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT
# a private copy: the target dir is shared, and another build may replace the binary mid-run
# (TELLTALE_BIN=path runs an already built binary instead)
BIN="$work/telltale"
if [ -z "${TELLTALE_BIN:-}" ]; then
  cargo build --release --quiet
  TELLTALE_BIN="$CARGO_TARGET_DIR/release/telltale"
fi
cp "$TELLTALE_BIN" "$BIN"

declare -A Q=(
  [a]="/render?target=a.1.b&from=-24h&format=json"
  [b]="/render?target=sumSeries(a.*.b)&from=-24h&format=json"
  [c]="/render?target=aliasByNode(movingAverage(a.1%5B0-9%5D.b,10),1)&from=-6h&format=json"
  [d]="/metrics/find?query=a.*"
)

# the peer's data (rewritten by its script when older than 30 min) fixes the timestamps
/usr/bin/python3 "$BENCH/graphite_render.py" --load-only
NOW=$(cut -d' ' -f1 /tmp/peers/graphite/whisper/a/.anchor)

cat >"$work/schemas.conf" <<'EOF'
[default]
pattern = .*
retentions = 10s:6h,1m:7d,10m:5y
EOF
cat >"$work/aggregation.conf" <<'EOF'
[default]
pattern = .*
xFilesFactor = 0.5
aggregationMethod = average
EOF
cat >"$work/telltale.toml" <<EOF
[metrics]
schemas = "$work/schemas.conf"
aggregations = "$work/aggregation.conf"
self_interval_ms = 0
EOF

start() {
  "$BIN" serve --config "$work/telltale.toml" --data-dir "$work/data" --http "127.0.0.1:$HTTP_PORT" \
    --syslog off --statsd off --carbon "127.0.0.1:$CARBON_PORT" 2>>"$work/server.log" &
  echo $! >"$work/pid"
  for _ in $(seq 100); do curl -sf "$URL/health" >/dev/null && return; sleep 0.1; done
  echo "telltale did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill -TERM "$(cat "$work/pid")"; wait "$(cat "$work/pid")" || true; }

start
python3 benches/graphite_load.py --carbon "127.0.0.1:$CARBON_PORT" --http "$URL" --now "$NOW" --until $((NOW - 7200)) >&2
stop
start
python3 benches/graphite_load.py --carbon "127.0.0.1:$CARBON_PORT" --http "$URL" --now "$NOW" --before $((NOW - 7200)) >&2

# "12.3ms" -> milliseconds
to_ms() { awk -v s="$1" 'BEGIN { n = s + 0; u = s; sub(/^[0-9.]+/, "", u);
  f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : 60000; printf "%.3f", n * f }'; }

results="$work/results.txt"
for q in $QUERIES; do
  for c in $CONCS; do
    dur=15; [ "$q" = b ] && dur=30
    for _ in 1 2 3 4; do curl -sf -o "$work/body" "$URL${Q[$q]}"; done
    for t in $(seq 1 "$TRIALS"); do
      out=$(wrk -t"$(( c < 2 ? c : 2 ))" -c"$c" -d"${dur}s" --timeout 30s --latency "$URL${Q[$q]}")
      p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
      p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
      rps=$(echo "$out" | awk '/Requests\/sec:/ { print $2 }')
      reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
      non2=$(echo "$out" | awk '/Non-2xx/ { print $NF }')
      line="telltale query=$q conc=$c trial=$t p50_ms=$p50 p99_ms=$p99 rps=$rps requests=$reqs non2xx=${non2:-0} resp_bytes=$(stat -c %s "$work/body") loadavg1=$(cut -d" " -f1 /proc/loadavg)"
      echo "$line" | tee -a "$results" >&2
    done
  done
done

# the same answer? (a) over the peer's exact window, from both servers
curl -sf -o "$work/tt.json" "$URL/render?target=a.1.b&from=$((NOW - 86400))&until=$NOW&format=json"
if [ "$PEER" = 1 ]; then
  for q in $QUERIES; do
    for c in $CONCS; do
      /usr/bin/python3 "$BENCH/median3.py" -- "$BENCH/graphite_render.py" --query "$q" --conc "$c" 2>/dev/null |
        grep '^graphite_render' | sed 's/^graphite_render /graphite-web /' | tee -a "$results" >&2
    done
  done
  curl -sf -o "$work/gw.json" "http://127.0.0.1:28080/render?target=a.1.b&from=$((NOW - 86400))&until=$NOW&format=json"
  python3 - "$work/tt.json" "$work/gw.json" <<'PY' | tee -a "$results" >&2
import json, sys
tt, gw = (json.load(open(p))[0]["datapoints"] for p in sys.argv[1:])
same_ts = [p[1] for p in tt] == [p[1] for p in gw]
both = [(a[0], b[0]) for a, b in zip(tt, gw)]
equal = sum(1 for a, b in both if a == b or (a is not None and b is not None and abs(a - b) < 1e-9))
diff = max((abs(a - b) for a, b in both if a is not None and b is not None), default=0)
print(f"compare a.1.b: points telltale={len(tt)} graphite-web={len(gw)} same_timestamps={same_ts}"
      f" equal_values={equal} max_abs_diff={diff:.6g}"
      f" nulls telltale={sum(a is None for a, _ in both)} graphite-web={sum(b is None for _, b in both)}")
PY
fi

python3 - "$results" <<'PY'
import re, statistics, sys
rows = [dict(re.findall(r"(\w+)=(\S+)", l)) | {"who": l.split()[0]} for l in open(sys.argv[1]) if l.strip()]
def med(xs):
    return statistics.median(xs)
print(f"{'query':5} {'conc':4} {'who':12} {'p50_ms':>9} {'p99_ms':>9} {'req/s':>10}")
for q in sorted({r["query"] for r in rows if "query" in r}):
    for c in sorted({r["conc"] for r in rows if r.get("query") == q}, key=int):
        for who in ("telltale", "graphite-web"):
            rs = [r for r in rows if r["who"] == who and r.get("query") == q and r.get("conc") == c]
            if not rs:
                continue
            if who == "telltale":
                p50, p99, rps = (med(float(r[k]) for r in rs) for k in ("p50_ms", "p99_ms", "rps"))
            else:  # median3's summary: key=median[min,max]
                r = rs[-1]
                p50, p99, rps = (float(r[k].split("[")[0]) for k in ("p50_ms", "p99_ms", "rps"))
            print(f"{q:5} {c:4} {who:12} {p50:9.2f} {p99:9.2f} {rps:10.1f}")
for r in open(sys.argv[1]):
    if r.startswith("compare"):
        print(r.strip())
PY

#!/usr/bin/env bash
# A/B of syslog ingest between two telltale binaries (e.g. before and after a change to the
# ingest path): each trial starts one on a fresh data directory, sends LINES synthetic 120-byte
# lines over 4 TCP connections with the second binary's `loadgen`, times until every line is
# searchable, and stops it; the binaries alternate, TRIALS trials each. Prints lines/s per
# trial and each data directory's size after its last trial.
#   benches/ingest_ab.sh OLD_BIN NEW_BIN [LINES=2000000] [TRIALS=3]
set -euo pipefail
OLD=$1 NEW=$2 LINES=${3:-2000000} TRIALS=${4:-3}
work=$(mktemp -d /tmp/telltale-ab.XXXXXX)
trap 'kill "$(cat "$work/pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
for t in $(seq 1 "$TRIALS"); do
  for which in old new; do
    bin=$OLD; [ "$which" = new ] && bin=$NEW
    rm -rf "$work/$which"
    "$bin" serve --data-dir "$work/$which" --http 127.0.0.1:18099 --syslog 127.0.0.1:15599 \
      --statsd off --carbon off 2>"$work/server.log" &
    echo $! >"$work/pid"
    for _ in $(seq 100); do curl -sf http://127.0.0.1:18099/health >/dev/null && break; sleep 0.1; done
    out=$("$NEW" loadgen --syslog 127.0.0.1:15599 --server http://127.0.0.1:18099 \
      --lines "$LINES" --connections 4 --timeout 900)
    kill -TERM "$(cat "$work/pid")"; wait "$(cat "$work/pid")" || true
    echo "$which trial=$t $(grep -oE 'lines_per_s=[0-9]+' <<<"$out")"
  done
done
echo "old logs_bytes=$(du -sb "$work/old/logs" | cut -f1) new logs_bytes=$(du -sb "$work/new/logs" | cut -f1)"

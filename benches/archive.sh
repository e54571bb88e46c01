#!/usr/bin/env bash
# Log archive size and speed (issue 7), the numbers in BENCHMARKS.md "Log archive":
#   1. archive bytes of the 6000-line LogHub replay (and of a 600 000-line day) against stock
#      `zstd -19 --long=27`, `zstd -19` and `zstd -3` of the same raw lines, plus sealing MB/s
#      of raw log per core (CPU time of the sealing thread, median of 3);
#   2. with GRID=1, every level / window / receive-time unit combination on the 6000 lines;
#   3. the whole seal of a 600 000-line day as the server runs it: read from the hot index,
#      encode, compress, write, fsync, read back, verify, delete (CPU of the sealing thread);
#   4. archive search over one day of LINES (default 5 000 000) lines (wall time, median of 3).
#   benches/archive.sh [LINES]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/telltale/target}"
LINES=${1:-5000000}
run() { cargo bench --quiet --bench archive -- "$@" 2>/dev/null; }
run size 6000
run size 600000
run sealday 600000
if [ -n "${GRID:-}" ]; then run grid 6000; fi
run search "$LINES"

#!/usr/bin/env bash
# The test command (README): installs what the tests drive when missing (rsyslog, logger,
# monit, zstd), then checks format,
# lints and runs every test. Safe to run on a fresh Debian machine as root.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/telltale/target}"
export CARGO_TERM_COLOR=never

cleanup=()
trap 'rm -f "${cleanup[@]}"' EXIT
need=()
command -v logger >/dev/null || need+=(bsdutils)
[ -x /usr/sbin/rsyslogd ] || command -v rsyslogd >/dev/null || need+=(rsyslog)
[ -x /usr/bin/monit ] || command -v monit >/dev/null || need+=(monit)
command -v zstd >/dev/null || need+=(zstd)
[ -x /usr/bin/monit ] || need+=(monit)
if [ ${#need[@]} -gt 0 ]; then
  echo "# installing ${need[*]}"
  # never start the daemons we install: the tests run their own private rsyslogd and monit
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    cleanup+=(/usr/sbin/policy-rc.d)
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${need[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi

echo "# cargo fmt --check"
cargo fmt --check
echo "# cargo clippy"
cargo clippy --all-targets --quiet -- -D warnings
echo "# cargo test"
log=$(mktemp)
cleanup+=("$log")
status=0
cargo test --quiet 2>&1 | tee "$log" || status=$?
# one closing line over every test binary
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit $status

#!/usr/bin/python3
"""Loads the data of ../shared/bench/graphite_render.py into telltale through its carbon
listener: 1000 series a.<i>.b, 24 h of 10 s points ending at NOW, the same random walk
(random.Random(11), same draw order, 2 decimals), so every (series, timestamp) gets the same
value graphite-web's whisper files hold when NOW is the same. Each series is sent in time
order (whisper keeps the newest point of a minute written straight to the 1 min archive, and
so does telltale's last-write-wins slot). Only points with BEFORE <= ts < UNTIL are sent,
so a caller can send the older part, restart the server (its head is cut into a block) and
then send the rest. Waits until /metrics counts every point as written (= readable).

  graphite_load.py --carbon 127.0.0.1:12004 --http http://127.0.0.1:18084 --now NOW \
      [--before T] [--until T]
Prints `loaded points=N seconds=S`.
"""
import argparse
import random
import socket
import sys
import time
import urllib.request


def written(http):
    with urllib.request.urlopen(http + "/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("telltale_metric_points_written_total "):
                return int(line.split()[1])
    raise SystemExit("no telltale_metric_points_written_total in /metrics")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--carbon", required=True)
    ap.add_argument("--http", required=True)
    ap.add_argument("--now", type=int, required=True)
    ap.add_argument("--before", type=int, default=-(1 << 62))
    ap.add_argument("--until", type=int, default=1 << 62)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--points", type=int, default=8640)
    a = ap.parse_args()
    rng = random.Random(11)
    now = a.now
    parts = []
    count = 0
    for i in range(a.series):
        # the same draws in the same order as graphite_render.load()
        v = 100 + rng.uniform(-50, 50)
        name = f"a.{i}.b "
        for j in range(a.points):
            v += rng.uniform(-1, 1)
            t = now - 10 * (a.points - 1 - j)
            if a.before <= t < a.until:
                parts.append(f"{name}{round(v, 2)!r} {t}\n")
                count += 1
    payload = "".join(parts).encode()
    del parts
    host, port = a.carbon.rsplit(":", 1)
    before = written(a.http)
    t0 = time.time()
    with socket.create_connection((host, int(port))) as s:
        for k in range(0, len(payload), 1 << 20):
            s.sendall(payload[k:k + (1 << 20)])
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    while written(a.http) - before < count:
        if time.time() - t0 > 300:
            raise SystemExit(f"only {written(a.http) - before} of {count} points written")
        time.sleep(0.2)
    print(f"loaded points={count} seconds={time.time() - t0:.1f}")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Records etsy statsd 0.9.0's Graphite output for each scenario here (CI has no node).

  ./record.py [NAME...]     (default: every *.json in this directory)

For each NAME.json ({"config": {etsy config members}, "steps": [[packet, ...], ...]}) it starts
etsy statsd through ../shared/peers/statsd/start.sh with a capture sink, waits for the first
(idle) flush, then sends step k's packets (UDP, one datagram each) right after flush k-1 has
arrived, and writes every flush, verbatim, to NAME.graphite.txt: flush 0 (idle) followed by one
flush per step. The Rust differential test (aggregate.rs) replays the same packets against the
same flush timestamps.
"""
import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PEER = os.path.normpath(os.path.join(HERE, "../../../../shared/peers/statsd"))
if not os.path.isdir(PEER):
    PEER = "/work/shared/peers/statsd"
SINK = "/tmp/peers/statsd-sink/graphite.txt"
GRAPHITE_KEYS = ("legacyNamespace", "globalPrefix", "prefixCounter", "prefixTimer",
                 "prefixGauge", "prefixSet", "globalSuffix")


def flushes():
    try:
        with open(SINK) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    out, cur = [], []
    for line in text.splitlines(keepends=True):
        cur.append(line)
        if ".graphiteStats.flush_length" in line:
            out.append("".join(cur))
            cur = []
    return out


def wait_flushes(n, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        f = flushes()
        if len(f) >= n:
            return f
        time.sleep(0.01)
    sys.exit("timed out waiting for flush %d" % n)


def record(name):
    with open(os.path.join(HERE, name + ".json")) as f:
        sc = json.load(f)
    cfg = dict(sc.get("config", {}))
    env = dict(os.environ)
    env["STATSD_FLUSH_MS"] = str(cfg.pop("flushInterval", 1000))
    graphite = {k: cfg.pop(k) for k in GRAPHITE_KEYS if k in cfg}
    env["STATSD_LEGACY"] = "true" if graphite.get("legacyNamespace", True) else "false"
    extra = "".join("%s: %s,\n" % (k, json.dumps(v)) for k, v in cfg.items())
    if graphite:
        extra += "graphite: %s,\n" % json.dumps(graphite)
    env["STATSD_EXTRA"] = extra
    subprocess.run([PEER + "/stop.sh"], check=False, capture_output=True)
    if os.path.exists(SINK):
        os.remove(SINK)
    subprocess.run([PEER + "/start.sh"], check=True, env=env, capture_output=True)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        wait_flushes(1)
        for k, step in enumerate(sc["steps"], start=1):
            for p in step:
                sock.sendto(p.encode("utf-8"), ("127.0.0.1", 28125))
            wait_flushes(k + 1)
        got = flushes()[: len(sc["steps"]) + 1]
    finally:
        subprocess.run([PEER + "/stop.sh"], check=False, capture_output=True)
    with open(os.path.join(HERE, name + ".graphite.txt"), "w") as f:
        f.write("".join(got))
    print("%s: %d flushes" % (name, len(got)))


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(n[:-5] for n in os.listdir(HERE) if n.endswith(".json"))
    for n in names:
        record(n)

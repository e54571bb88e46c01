#!/usr/bin/python3
"""Builds the golden suite's dataset deterministically (fixed timestamps, seeded values).

Writes, next to this file:
  dataset.txt.gz             every point as carbon plaintext `name value timestamp`, in write
                             order (gzip with mtime 0, so the bytes are reproducible)
  storage-schemas.conf       the retention of each group, in Graphite's format (telltale reads it)
  storage-aggregation.conf   each series' method and xFilesFactor (telltale reads it)

The same SERIES table gives record.py the whisper archives, method and xFilesFactor of each
file it creates for graphite-web, so both servers hold the same points with the same rules.
All points are written as of NOW (whisper's `update_many(now=NOW)`, telltale's
`write_at(now=NOW)`), which decides the archive each point lands in.

  /usr/bin/python3 gen_dataset.py
"""
import gzip
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
# 2025-11-24 16:00:00 UTC: a multiple of 3600, so 1m, 10m and 1h slots all end on it
NOW = 1764000000
SPAN = 6 * 3600

# group: (schema pattern, retentions as (step, points)) ; first match wins in the conf file
SCHEMAS = [
    ("multi", r"^gg\.multi\.", [(10, 60), (60, 120), (600, 144)]),  # 10s:10m,1m:2h,10m:1d
    ("gg", r"^gg\.", [(60, 1440), (600, 1008)]),  # 1m:1d,10m:7d
    ("tagged", r"^gg[a-z.]+;", [(60, 1440), (600, 1008)]),
]


# graphite events (POST /events/): (when, what, tags, data); tags are unique to this suite
EVENTS = [
    (NOW - 550, "deploy web", ["ggdeploy", "ggweb"], "v1.2.3"),
    (NOW - 430, "deploy db", ["ggdeploy"], ""),
    (NOW - 430, "deploy db again", ["ggdeploy", "ggdb"], "retry"),
    (NOW - 125, "alert", ["ggalert"], "cpu high"),
    (NOW - 7200, "old deploy", ["ggdeploy"], ""),
]

# /tags queries recorded into tags.jsonl, each restricted to this suite's series
TAG_QUERIES = [
    "/tags/findSeries?expr=name%3D~%5Egg%28cpu%7Cmem%29%24&expr=dc%3Dams",
    "/tags/findSeries?expr=name%3Dggcpu&expr=host%21%3Dweb1",
    "/tags/findSeries?expr=name%3Dggmem&expr=env%3D~%5Ed",
    "/tags/findSeries?expr=name%3Dggdisk.used",
    "/tags/findSeries?expr=name%3Dggcpu&expr=host%3Dnope",
    "/tags/autoComplete/tags?expr=name%3Dggcpu",
    "/tags/autoComplete/tags?expr=name%3Dggcpu&tagPrefix=h",
    "/tags/autoComplete/tags?expr=name%3D~%5Egg&limit=2",
    "/tags/autoComplete/values?expr=name%3Dggcpu&tag=host",
    "/tags/autoComplete/values?expr=name%3Dggcpu&tag=host&valuePrefix=web&limit=2",
    "/tags/autoComplete/values?expr=name%3D~%5Egg&tag=dc",
    "/tags/autoComplete/values?expr=name%3D~%5Egg&tag=name",
]


def schema_of(name):
    import re
    for _, pat, arch in SCHEMAS:
        if re.search(pat, name):
            return arch
    raise SystemExit(f"no schema for {name}")


def fmt(v):
    return repr(float(v))


def build():
    """[(name, method, xff, [(ts, value)])] in write order."""
    rng = random.Random(20261124)
    out = []

    def add(name, pts, method="average", xff=0.5):
        out.append((name, method, xff, pts))

    m1 = [NOW - SPAN + 60 * (i + 1) for i in range(SPAN // 60)]  # (NOW-6h, NOW], 360 points
    # a small fleet: many leaves for wildcards, grouping and sorting
    hosts = ["web1", "web2", "web3", "web10", "db1", "db2"]
    for h_i, host in enumerate(hosts):
        for m_i, metric in enumerate(["cpu", "load", "mem"]):
            name = f"gg.srv.{host}.{metric}"
            base = [40.0, 2.0, 1000.0][m_i] + 7 * h_i
            amp = [30.0, 1.5, 200.0][m_i]
            pts = []
            for i, t in enumerate(m1):
                v = round(base + amp * math.sin((i + 11 * h_i) / 17.0) + rng.uniform(-1, 1), 3)
                pts.append((t, v))
            if name == "gg.srv.web3.cpu":  # nulls: every 7th point missing
                pts = [p for i, p in enumerate(pts) if i % 7 != 3]
            if name == "gg.srv.db1.cpu":  # a gap of 20 minutes
                pts = [p for p in pts if not (NOW - 2400 <= p[0] < NOW - 1200)]
            if name == "gg.srv.db2.load":  # constant
                pts = [(t, 5.0) for t, _ in pts]
            if name == "gg.srv.web10.mem":  # negative and positive
                pts = [(t, round(v - 1070.0, 3)) for t, v in pts]
            if name == "gg.srv.web2.load":  # stops 15 minutes before NOW (current is None)
                pts = [p for p in pts if p[0] <= NOW - 900]
            add(name, pts)
    # counters
    c = 0
    pts_bytes, pts_wrap100, pts_wrap32, pts_reset = [], [], [], []
    w32 = 2 ** 32 - 50000
    r = 0
    for i, t in enumerate(m1):
        c += rng.randint(0, 40)
        pts_bytes.append((t, c))
        pts_wrap100.append((t, (i * 13) % 100))
        w32 = (w32 + rng.randint(100, 900)) % (2 ** 32)
        pts_wrap32.append((t, w32))
        r = 0 if i % 50 == 49 else r + rng.randint(1, 9)
        pts_reset.append((t, r))
    add("gg.counter.bytes", pts_bytes, "max", 0.0)
    add("gg.counter.wrap100", pts_wrap100, "last", 0.0)
    add("gg.counter.wrap32", pts_wrap32, "last", 0.0)
    # a counter with nulls between increments
    add("gg.counter.reset", [p for i, p in enumerate(pts_reset) if i % 9 != 4], "last", 0.0)
    # constants
    add("gg.const.zero", [(t, 0.0) for t in m1])
    add("gg.const.one", [(t, 1.0) for t in m1])
    add("gg.const.neg", [(t, -3.5) for t in m1])
    # mostly empty series
    add("gg.sparse.a", [(t, float(i)) for i, t in enumerate(m1) if i % 23 == 0])
    add("gg.sparse.b", [(t, -float(i)) for i, t in enumerate(m1) if i % 31 == 5])
    add("gg.sparse.old", [(t, 1.5) for t in m1[:60]])  # only the first hour: none in the last 5h
    # pairs for the *SeriesLists functions, asPercent and divideSeries
    for grp in ["a", "b", "c"]:
        for leaf in ["x", "y"]:
            pts = [(t, round(rng.uniform(-20, 100), 2)) for t in m1]
            if grp == "b" and leaf == "y":  # zeros and nulls in a divisor
                pts = [(t, 0.0 if i % 5 == 0 else v) for i, (t, v) in enumerate(pts) if i % 11 != 2]
            add(f"gg.lists.{grp}.{leaf}", pts)
    # several aggregation methods over a three-archive schema (10s:10m,1m:2h,10m:1d)
    # 5 s into each slot, the last at NOW-5: no point is exactly an archive's retention old,
    # where whisper's ring buffer would let it and the newest slot overwrite each other
    # (COMPATIBILITY.md, "Golden suite")
    s10 = [NOW - SPAN + 10 * i + 5 for i in range(SPAN // 10)]
    for method in ["average", "sum", "min", "max", "last", "avg_zero", "absmax", "absmin"]:
        pts = [(t, round(rng.uniform(-10, 10), 2)) for t in s10]
        pts = [p for i, p in enumerate(pts) if i % 6 != 2]  # one null per minute
        add(f"gg.multi.{method}", pts, method, 0.0)
    # xFilesFactor 0.5 with slots half known and less than half known
    pts = [(t, float(i % 60)) for i, t in enumerate(s10) if (i // 6) % 3 != 0 and i % 6 in (0, 1, 2)]
    add("gg.multi.xff", pts, "average", 0.5)
    # tagged series (names as carbon stores them: tags sorted)
    for host, dc, env in [("web1", "ams", "prod"), ("web2", "ams", "prod"), ("web3", "fra", "prod"),
                          ("web4", "fra", "dev")]:
        for metric in ["ggcpu", "ggmem"]:
            name = f"{metric};dc={dc};env={env};host={host}"
            base = 10.0 if metric == "ggcpu" else 500.0
            add(name, [(t, round(base + rng.uniform(0, 50), 2)) for t in m1])
    add("ggdisk.used;dc=ams;host=web1;mount=root", [(t, round(rng.uniform(0, 100), 1)) for t in m1])
    return out


def main():
    data = build()
    lines = []
    for name, _, _, pts in data:
        for t, v in pts:
            lines.append(f"{name} {fmt(v)} {t}\n")
    with open(os.path.join(HERE, "dataset.txt.gz"), "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
            g.write("".join(lines).encode())
    with open(os.path.join(HERE, "storage-schemas.conf"), "w") as f:
        f.write("# generated by gen_dataset.py: the golden suite's retentions\n")
        for grp, pat, arch in SCHEMAS:
            ret = ",".join(f"{s}s:{s * p}s" for s, p in arch)
            f.write(f"\n[{grp}]\npattern = {pat}\nretentions = {ret}\n")
    with open(os.path.join(HERE, "storage-aggregation.conf"), "w") as f:
        f.write("# generated by gen_dataset.py: each golden series' method and xFilesFactor\n")
        for name, method, xff, _ in data:
            esc = "^" + "".join("\\" + ch if ch == "." else ch for ch in name) + "$"
            sec = "".join(ch if ch.isalnum() else "_" for ch in name)
            f.write(f"\n[{sec}]\npattern = {esc}\nxFilesFactor = {xff}\naggregationMethod = {method}\n")
    print(f"{len(data)} series, {len(lines)} points")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Loads the golden dataset into the graphite-web peer and records its answers as fixtures.

1. Writes one whisper file per series of gen_dataset.build() under
   /tmp/peers/graphite/whisper/ (gg/... and, for tagged series, _tagged/<hash>/... as carbon
   names them), each with its group's archives, method and xFilesFactor, all points written
   with update_many(now=NOW); tagged names are registered with POST /tags/tagSeries.
2. For every line of expressions.txt (`TARGET` or `TARGET<TAB>extra params`) GETs
   /render?target=TARGET&from=NOW-3600&until=NOW&now=NOW&format=json (extra params override;
   noCache=1 so graphite-web never answers from its cache) and writes fixtures.jsonl: one
   object per expression, {"query", "status", "body"} (for 200 the body as graphite-web wrote
   it, else its error message or, for a 500, the exception its log shows).
3. Posts G.EVENTS to /events/ (once) and records each of G.TAG_QUERIES into tags.jsonl
   ({"path", "status", "body"}).

Start the peer first: /work/shared/peers/graphite/start.sh (graphite-web on 127.0.0.1:28080).

  /usr/bin/python3 record.py            # load + record
  /usr/bin/python3 record.py --no-load  # record only
"""
import hashlib
import json
import os
import shutil
import sys
import urllib.error
import urllib.parse
import urllib.request

import whisper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_dataset as G  # noqa: E402

WSP = "/tmp/peers/graphite/whisper"
WEB = "http://127.0.0.1:28080"
HERE = G.HERE
# graphite-web's 500 page says nothing; its exception log names the exception
EXC_LOG = "/tmp/peers/graphite-web/log/exception.log"


def log_size():
    try:
        return os.path.getsize(EXC_LOG)
    except OSError:
        return 0


def last_exception(since):
    try:
        with open(EXC_LOG, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    found = [ln for ln in text.splitlines() if ln and not ln[0].isspace() and ": " in ln
             and ln.split(":")[0].split(".")[-1].endswith(("Error", "Exception"))]
    return found[-1] if found else ""


def wsp_path(name):
    if ";" in name:
        h = hashlib.sha256(name.encode()).hexdigest()
        return os.path.join(WSP, "_tagged", h[0:3], h[3:6], h + ".wsp")
    return os.path.join(WSP, *name.split(".")) + ".wsp"


def load():
    shutil.rmtree(os.path.join(WSP, "gg"), ignore_errors=True)
    for name, method, xff, pts in G.build():
        p = wsp_path(name)
        if os.path.exists(p):
            os.unlink(p)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        whisper.create(p, G.schema_of(name), xFilesFactor=xff, aggregationMethod=method)
        whisper.update_many(p, pts, now=G.NOW)
        if ";" in name:
            body = urllib.parse.urlencode({"path": name}).encode()
            with urllib.request.urlopen(WEB + "/tags/tagSeries", body) as r:
                canon = json.loads(r.read())
            assert canon == name, (canon, name)
    load_events()


def load_events():
    """Posts each of G.EVENTS unless graphite-web already holds it (events cannot be deleted
    over HTTP, so re-running must not add them twice)."""
    for when, what, tags, data in G.EVENTS:
        q = urllib.parse.urlencode({"tags": tags[0], "from": when, "until": when + 1})
        with urllib.request.urlopen(f"{WEB}/events/get_data?{q}") as r:
            have = json.loads(r.read())
        if any(e.get("what") == what for e in have):
            continue
        body = json.dumps({"what": what, "tags": tags, "when": when, "data": data}).encode()
        req = urllib.request.Request(WEB + "/events/", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 200, r.status


def expressions():
    out = []
    with open(os.path.join(HERE, "expressions.txt")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            target, _, extra = line.partition("\t")
            out.append((target.strip(), extra.strip()))
    return out


def query_of(target, extra):
    params = {"from": str(G.NOW - 3600), "until": str(G.NOW), "now": str(G.NOW)}
    for k, v in urllib.parse.parse_qsl(extra, keep_blank_values=True):
        params[k] = v
    items = [("target", target)] + sorted(params.items())
    return urllib.parse.urlencode(items, quote_via=urllib.parse.quote, safe="")


def record():
    out = []
    for target, extra in expressions():
        q = query_of(target, extra)
        url = f"{WEB}/render?{q}&format=json&noCache=1"
        before = log_size()
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode(errors="replace")
        if status == 200:
            json.loads(text)  # valid JSON (1e9999 for infinities), kept byte for byte
            body = text
        else:
            # the last line of graphite-web's error page names the exception
            lines = [ln for ln in text.splitlines() if ln.strip()]
            msg = (last_exception(before) if status == 500 else "") or (lines[-1] if lines else "")
            body = json.dumps(msg[:300])
        out.append({"query": q, "status": status, "body": body})
        print(status, target, extra, file=sys.stderr)
    with open(os.path.join(HERE, "fixtures.jsonl"), "w") as f:
        for o in out:
            f.write('{"query":%s,"status":%d,"body":%s}\n' % (json.dumps(o["query"]), o["status"], o["body"]))
    ok = sum(1 for o in out if o["status"] == 200)
    print(f"{len(out)} expressions recorded, {ok} answered 200")
    with open(os.path.join(HERE, "tags.jsonl"), "w") as f:
        for path in G.TAG_QUERIES:
            try:
                with urllib.request.urlopen(WEB + path, timeout=60) as r:
                    status, text = r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                status, text = e.code, json.dumps(e.read().decode(errors="replace")[-300:])
            if status == 200:
                json.loads(text)
            f.write('{"path":%s,"status":%d,"body":%s}\n' % (json.dumps(path), status, text))
    print(f"{len(G.TAG_QUERIES)} tag queries recorded")


if __name__ == "__main__":
    if "--no-load" not in sys.argv:
        load()
    record()

"""Prints graphite-web's answers for the unit tests of the functions added for issue 5's
remaining list (holtWinters*, linearRegression, smartSummarize, stdev, timeSlice, ...):
run `/usr/bin/python3 check_more_functions.py` here. Functions that evaluate a target again
(bootstrap, aliasQuery, applyByNode) get a stub evaluateTarget that serves the same
range-aware series as the Rust test backend (src/query/graphite/functions/mod.rs)."""
import os, sys, time
os.environ['TZ'] = 'UTC'; time.tzset()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); import gwstub
from datetime import datetime, timezone
from graphite.render.datalib import TimeSeries
from graphite.render import functions as F

def dt(t): return datetime.fromtimestamp(t, timezone.utc)
def ctx(frm=100, until=140):
    return {'startTime': dt(frm), 'endTime': dt(until), 'now': dt(1000), 'tzinfo': timezone.utc,
            'xFilesFactor': 0, 'args': [], 'localOnly': False, 'template': {}}
def mk(name, start, step, vals, pe=None):
    s = TimeSeries(name, start, start+step*len(vals), step, vals)
    s.pathExpression = pe or name
    return s
ax = lambda: mk('a.x', 100, 10, [1, None, 3, 4], 'a.*')
ay = lambda: mk('a.y', 100, 10, [10, 20, 30, 40], 'a.*')
def ranged(name, frm, until, f):
    start = frm - frm % 10
    return mk(name, start, 10, [f(t) for t in range(start, until, 10)])
shift = lambda t: t / 10
wave = lambda t: None if (t // 10) % 7 == 3 else ((t // 10) % 5) * 3.0 + t / 100
SERIES = {'a.x': lambda c: [ax()], 'a.y': lambda c: [ay()], 'a.*': lambda c: [ax(), ay()],
          't.shift': lambda c: [ranged('t.shift', *c, shift)],
          't.wave': lambda c: [ranged('t.wave', *c, wave)]}
def evaluateTarget(c, target):
    rng = (int(c['startTime'].timestamp()), int(c['endTime'].timestamp()))
    if target in SERIES: return SERIES[target](rng)
    if target == 'sumSeries(a.*)': return F.sumSeries(c, [ax(), ay()])
    raise KeyError(target)
F.evaluateTarget = evaluateTarget
def show(r):
    for s in r: print(repr(s.name), s.start, s.end, s.step, [None if v is None else repr(v) for v in s], dict(s.tags), s.pathExpression)
def call(f, target, *a, c=None):
    c = c or ctx(); c['args'] = [target]
    return f(c, evaluateTarget(c, target), *a)

print('# stdev'); show(F.stdev(ctx(), [ay()], 2)); show(F.stdev(ctx(), [ax()], 3, 0.5))
print('# timeSlice'); show(F.timeSlice(ctx(), [ay()], '110', '120'))
print('# verticalLine'); show(F.verticalLine(ctx(), '115', 'lbl'))
print('# weightedAverage'); show(F.weightedAverage(ctx(), [ax(), ay()], [ax(), ay()]))
show(F.weightedAverage(ctx(), [ax(), ay()], [ay(), ax()], 1))
print('# stacked'); c = ctx(); show(F.stacked(c, [ax(), ay()])); show(F.stacked(c, [ax()], 'tx')); show(F.stacked(c, [ay()], 'tx'))
print('# areaBetween'); show(F.areaBetween(ctx(), [ax(), ay()]))
print('# sin'); show(F.sinFunction(ctx(), 's', 2, 10))
print('# aliasQuery'); show(F.aliasQuery(ctx(), [ax()], r'a\.x', 'a.y', 'v=%d'))
for fmt in ['%d', '%.2f', '%5.1f|', '%-6g|', '%s', '%e', '%+d', '%05d', '%g%%']:
    print(repr(fmt), repr(fmt % 40.0), repr(fmt % -2.5), repr(fmt % 1234567.0))
print('# applyByNode'); show(F.applyByNode(ctx(), [ax(), ay()], 0, 'sumSeries(%.*)', '%.total'))
print('# reduceSeries'); show(F.reduceSeries(ctx(), F.mapSeries(ctx(), [ax(), ay()], 0), 'divideSeries', 1, 'y', 'x'))
print('# linearRegression'); show(call(F.linearRegression, 'a.x'))
show(call(F.linearRegression, 't.shift', '50', '90'))
print('# holtWintersForecast'); show(call(F.holtWintersForecast, 't.wave', '60s', '30s'))
print('# holtWintersConfidenceBands'); show(call(F.holtWintersConfidenceBands, 't.wave', 2, '60s', '30s'))
print('# holtWintersAberration'); show(call(F.holtWintersAberration, 't.wave', 1, '60s', '30s'))
print('# holtWintersConfidenceArea'); show(call(F.holtWintersConfidenceArea, 't.wave', 3, '60s', '30s'))
print('# smartSummarize'); show(F.smartSummarize(ctx(), [ay()], '20s'))
show(call(F.smartSummarize, 't.shift', '30s', 'sum', 'minutes'))
show(call(F.smartSummarize, 't.shift', '30s', 'max', True))
print('# asPercent nodes')
cw = lambda: mk('c.wrap', 100, 10, [250, 254, 3, 10], 'c.wrap')
gg = lambda: mk('g.gaps', 100, 10, [1, None, None, 4, None], 'g.gaps')
show(F.asPercent(ctx(), [ax(), ay()], None, 0))
show(F.asPercent(ctx(), [ax(), cw()], [ay()], 0))
show(F.asPercent(ctx(), [ax()], [ay(), gg()], 0))
try: show(F.asPercent(ctx(), [ax(), ay()], [ay(), gg()], 1))
except UnboundLocalError as e: print('500:', e)  # telltale answers with the series' own range

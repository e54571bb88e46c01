"""Prints graphite-web's answers for the hand-built series the Rust unit tests use
(src/query/graphite/functions/*): run `/usr/bin/python3 check_functions.py` here."""
import sys; sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__))); import gwstub
from graphite.render.datalib import TimeSeries
from graphite.render import functions as F
ctx = {'startTime': None, 'endTime': None, 'xFilesFactor': 0, 'args': []}
def mk(name, start, step, vals, pe=None):
    s = TimeSeries(name, start, start+step*len(vals), step, vals)
    s.pathExpression = pe or name
    return s
ax = lambda: mk('a.x', 100, 10, [1, None, 3, 4], 'a.*')
ay = lambda: mk('a.y', 100, 10, [10, 20, 30, 40], 'a.*')
def show(r):
    for s in r: print(repr(s.name), s.start, s.end, s.step, list(s), dict(s.tags))
show(F.aliasByNode(ctx, F.scale(ctx, [ax()], 2.0), 1))
show(F.aliasByNode(ctx, [mk('cpu;host=web1', 100, 10, [1])], 'host', 0))
show(F.aliasByMetric(ctx, [mk('sumSeries(a.b, c.d)', 100, 10, [1])]))
show(F.derivative(ctx, [ax()])); show(F.integral(ctx, [ax()]))
show(F.countSeries(ctx, [ax(), ay()]))
show(F.divideSeries(ctx, [ax(), ay()], [ax()]))
show(F.highest(ctx, [ax(), ay()], 2, 'min'))
show(F.dashed(ctx, [ax()])); show(F.secondYAxis(ctx, [ax()]))
show(F.removeEmptySeries(ctx, [mk('g',100,10,[1,None,None,4,None])], 0.4))
show(F.sortByName(ctx, [mk('web10',0,1,[1]), mk('web2',0,1,[1])], True))
show(F.asPercent(ctx, [ax(), ay()], [ay()]))
show(F.diffSeries(ctx, [mk('a',0,10,[5,None,2])], [mk('b',0,10,[1,3,4])]))
show(F.multiplySeries(ctx, [mk('a',0,10,[5,None,2])], [mk('b',0,10,[1,3,4])]))
show(F.roundFunction(ctx, F.scale(ctx, [ax()], 0.33), 1))
show(F.changed(ctx, [mk('g',100,10,[1,None,None,4,None])]))
show(F.delay(ctx, [ay()], 0)); show(F.delay(ctx, [ay()], -1))
show(F.sortByMinima(ctx, [ay(), ax()]))
show(F.currentBelow(ctx, [ax(), ay(), mk('e',100,10,[None])], 4.0))
show(F.aliasSub(ctx, [ax(), ay()], r'^a\.(\w)$', r'node-\1'))
show(F.minMax(ctx, [ay()])); show(F.offsetToZero(ctx, [ay()]))
show(F.logarithm(ctx, [ay()])); show(F.pow(ctx, [mk('n',0,1,[-8, 0, 2])], 0.5)); show(F.invert(ctx, [mk('n',0,1,[0, 2])]))
show(F.isNonNull(ctx, [ax()]))
show(F.interpolate(ctx, [mk('g',100,10,[1,None,None,4,None])]))
show(F.interpolate(ctx, [mk('g',100,10,[1,None,None,4,None])], 1))
show(F.removeAbovePercentile(ctx, [ay()], 50.0)); show(F.removeBelowPercentile(ctx, [ay()], 50.0))
show(F.mostDeviant(ctx, [ax(), ay()], 1))
show(F.sumSeriesLists(ctx, [ax(), ay()], [ax(), ay()]))
show(F.aggregateSeriesLists(ctx, [ax(), ay()], [ax(), ay()], 'rangeOf'))
show(F.percentileOfSeries(ctx, [ax(), ay()], 50.0)); show(F.nPercentile(ctx, [ay()], 50.0))
show(F.scaleToSeconds(ctx, [ay()], 1.0))
show(F.hitcount(ctx, [ay()], '20s')); show(F.hitcount(ctx, [ay()], '15s'))
show(F.legendValue(ctx, [ay()], 'avg', 'last', 'nope'))
m3 = lambda: [mk('s.a',0,10,[1,2,3]), mk('s.b',0,10,[5,5,5]), mk('s.c',0,10,[9,8,7]), mk('s.d',0,10,[4,6,5])]
show(F.averageOutsidePercentile(ctx, m3(), 70.0)); print('--')
show(F.removeBetweenPercentile(ctx, m3(), 70.0))
print([s.name for s in F.cactiStyle(ctx, [ax(), ay()])])

"""Imports graphite-web 1.1.8 render functions (/usr/lib/python3/dist-packages/graphite) without
Django: stub modules stand in for django, graphite.storage (no tag database), graphite.util and
graphite.events, so functions can be called directly on hand-built TimeSeries to compute expected
values for telltale's unit tests. Run with /usr/bin/python3: `import gwstub` before importing
graphite.render.functions (see check_functions.py)."""
import sys, types
dj = types.ModuleType('django'); conf = types.ModuleType('django.conf')
class S:
    DEFAULT_XFILES_FACTOR = 0; RENDER_TRIM_RECENT_IN_AGGREGATE = False; UTF8_METRICS = False
    ENFORCE_INPUT_VALIDATION = False; FUNCTION_PLUGINS = []; REMOTE_STORE_MERGE_RESULTS = False
    TIME_ZONE = 'UTC'; LOG_DIR = '/tmp'; DATE_FORMAT = '%m/%d'
    def __getattr__(self, k): return None
conf.settings = S(); dj.conf = conf
sys.modules['django'] = dj; sys.modules['django.conf'] = conf
st = types.ModuleType('graphite.storage'); st.STORE = types.SimpleNamespace(tagdb=None)
sys.modules['graphite.storage'] = st
for m in ['graphite.logger']:
    lg = types.ModuleType(m); lg.log = types.SimpleNamespace(debug=lambda *a, **k: None, warning=lambda *a, **k: None, info=lambda *a, **k: None, exception=lambda *a, **k: None, rendering=lambda *a, **k: None)
    sys.modules[m] = lg
import datetime
ut = types.ModuleType('graphite.util')
def logtime(f):
    def w(*a, **k):
        k['timer'] = types.SimpleNamespace(set_msg=lambda *x: None)
        return f(*a, **k)
    return w
ut.timebounds = lambda ctx: (ctx['startTime'], ctx['endTime'], ctx.get('now'))
ut.logtime = logtime
ut.epoch = lambda dt: dt.timestamp() if hasattr(dt, 'timestamp') else dt
ut.timestamp = ut.epoch
ut.jsonResponse = lambda *a, **k: (lambda f: f)
ut.HttpResponse = object; ut.HttpError = Exception
sys.modules['graphite.util'] = ut
for name in ['django.http', 'django.utils', 'django.utils.timezone', 'django.core', 'django.core.cache', 'django.utils.html', 'django.shortcuts', 'django.template', 'django.utils.safestring', 'django.conf.urls']:
    m = types.ModuleType(name)
    m.HttpResponseBadRequest = Exception; m.HttpResponse = object; m.make_aware = lambda x, tz=None: x
    m.cache = None; m.escape = lambda s: s; m.now = datetime.datetime.utcnow
    sys.modules[name] = m
dj.__path__ = []
ut.htmlEscape = lambda s: s; ut.is_unsafe_str = lambda s: False
ut.epoch_to_dt = lambda e: e; ut.deltaseconds = lambda d: d.total_seconds()
ev = types.ModuleType('graphite.events'); evm = types.ModuleType('graphite.events.models'); ev.models = evm
sys.modules['graphite.events'] = ev; sys.modules['graphite.events.models'] = evm
import json as _json, io as _io
ut.json = _json; ut.BytesIO = _io.BytesIO

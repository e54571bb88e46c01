//! The function library: one file per function, each with a static [`FunctionDef`] that both
//! the evaluator (parameter binding) and `/functions` (graphite-web's schema) read.

use serde_json::{Map, Value as Json, json};

use super::eval::{Args, Context, EvalError};
use super::series::TimeSeries;

mod absolute;
mod add;
mod aggregate;
pub(crate) use aggregate::fused as fused_aggregate;
mod aggregate_line;
mod aggregate_with_wildcards;
mod alias;
mod alias_by_metric;
mod alias_by_node;
mod alias_query;
mod alias_sub;
mod apply_by_node;
mod area_between;
mod as_percent;
mod cacti_style;
mod changed;
mod consolidate_by;
mod constant_line;
mod count_series;
mod delay;
mod derivative;
mod divide_series;
mod events;
mod exp;
mod exponential_moving_average;
mod fallback_series;
mod filter_series;
mod grep;
mod group;
mod group_by_node;
mod group_by_tags;
mod highest;
mod hitcount;
mod holt_winters;
mod integral;
mod integral_by_interval;
mod interpolate;
mod invert;
mod is_non_null;
mod keep_last_value;
mod legend_value;
mod limit;
mod linear_regression;
mod log;
mod logit;
mod map_reduce;
mod min_max;
mod most_deviant;
mod moving_window;
mod non_negative_derivative;
mod offset;
mod offset_to_zero;
mod outside_percentile;
mod per_second;
mod percentile;
mod pow;
mod pow_series;
mod random_walk;
mod remove_empty_series;
mod remove_percentile;
mod remove_value;
mod round;
mod scale;
mod scale_to_seconds;
mod series_by_tag;
mod series_lists;
mod set_x_files_factor;
mod sigmoid;
mod sin_function;
mod smart_summarize;
mod sort_by;
mod sort_by_name;
mod square_root;
mod stacked;
mod stdev;
mod style;
mod substr;
mod summarize;
mod threshold;
mod time_function;
mod time_shift;
mod time_slice;
mod time_stack;
mod transform_null;
mod unique;
mod use_series_above;
mod vertical_line;
mod weighted_average;

/// graphite-web's parameter types (`functions/params.py`), by the names `/functions` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    SeriesList,
    SeriesLists,
    Float,
    Integer,
    IntOrInf,
    IntOrInterval,
    Interval,
    Node,
    NodeOrTag,
    String,
    Boolean,
    Date,
    AggFunc,
    AggOrSeriesFunc,
    Tag,
    Any,
}

impl ParamType {
    pub fn name(self) -> &'static str {
        match self {
            ParamType::SeriesList => "seriesList",
            ParamType::SeriesLists => "seriesLists",
            ParamType::Float => "float",
            ParamType::Integer => "integer",
            ParamType::IntOrInf => "intOrInf",
            ParamType::IntOrInterval => "intOrInterval",
            ParamType::Interval => "interval",
            ParamType::Node => "node",
            ParamType::NodeOrTag => "nodeOrTag",
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::Date => "date",
            ParamType::AggFunc => "aggFunc",
            ParamType::AggOrSeriesFunc => "aggOrSeriesFunc",
            ParamType::Tag => "tag",
            ParamType::Any => "any",
        }
    }
}

/// A default or suggested value as `/functions` shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(&'static str),
    /// Python's `None` (JSON null), which a few option lists hold.
    Null,
}

impl Literal {
    fn to_json(self) -> Json {
        match self {
            Literal::Int(i) => json!(i),
            // serde_json cannot hold infinity; a sentinel is swapped for 1e9999 on output
            Literal::Float(f) if f.is_infinite() => Json::String(INF_SENTINEL.into()),
            Literal::Float(f) => json!(f),
            Literal::Bool(b) => json!(b),
            Literal::Str(s) => json!(s),
            Literal::Null => Json::Null,
        }
    }
}

const INF_SENTINEL: &str = "\u{0}telltale-infinity\u{0}";

/// One parameter of a function (graphite-web's `Param`).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub default: Option<Literal>,
    pub multiple: bool,
    pub options: &'static [&'static str],
    /// Options that are not all strings (smartSummarize's alignTo), shown as given, in
    /// graphite-web's order (sorted by their Python `str`).
    pub literal_options: &'static [Literal],
    pub suggestions: &'static [Literal],
}

impl Param {
    pub const fn new(name: &'static str, ty: ParamType) -> Param {
        Param {
            name,
            ty,
            required: false,
            default: None,
            multiple: false,
            options: &[],
            literal_options: &[],
            suggestions: &[],
        }
    }
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }
    pub const fn multiple(mut self) -> Param {
        self.multiple = true;
        self
    }
    pub const fn default(mut self, d: Literal) -> Param {
        self.default = Some(d);
        self
    }
    pub const fn suggestions(mut self, s: &'static [Literal]) -> Param {
        self.suggestions = s;
        self
    }
    pub const fn options(mut self, o: &'static [&'static str]) -> Param {
        self.options = o;
        self
    }
    pub const fn literal_options(mut self, o: &'static [Literal]) -> Param {
        self.literal_options = o;
        self
    }

    fn to_json(self) -> Json {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.ty.name()));
        if self.required {
            m.insert("required".into(), json!(true));
        }
        if let Some(d) = self.default {
            m.insert("default".into(), d.to_json());
        }
        if self.multiple {
            m.insert("multiple".into(), json!(true));
        }
        let mut options: Vec<&str> = self.options.to_vec();
        if matches!(self.ty, ParamType::AggFunc | ParamType::AggOrSeriesFunc) {
            options.extend(AGG_FUNCS);
        }
        if !self.literal_options.is_empty() {
            let o: Vec<Json> = self.literal_options.iter().map(|l| l.to_json()).collect();
            m.insert("options".into(), Json::Array(o));
        } else if !options.is_empty() {
            options.sort_unstable();
            options.dedup();
            m.insert("options".into(), json!(options));
        }
        if !self.suggestions.is_empty() {
            let s: Vec<Json> = self.suggestions.iter().map(|l| l.to_json()).collect();
            m.insert("suggestions".into(), Json::Array(s));
        }
        Json::Object(m)
    }
}

/// A function's implementation: the series it returns for bound arguments.
pub type Run = fn(&Context<'_>, &mut Args<'_>) -> Result<Vec<TimeSeries>, EvalError>;

/// One function as the registry and `/functions` know it.
pub struct FunctionDef {
    pub group: &'static str,
    /// graphite-web's Python signature without `requestContext`, e.g. `(seriesList, factor)`.
    pub signature: &'static str,
    pub description: &'static str,
    pub params: &'static [Param],
    pub run: Run,
}

/// Names the evaluator accepts, aliases included (`sum` is `sumSeries`).
static REGISTRY: &[(&str, &FunctionDef)] = &[
    ("absolute", &absolute::DEF),
    ("aggregate", &aggregate::DEF),
    ("alias", &alias::DEF),
    ("aliasByMetric", &alias_by_metric::DEF),
    ("aliasByNode", &alias_by_node::DEF),
    ("aliasByTags", &alias_by_node::TAGS_DEF),
    ("averageSeries", &aggregate::AVERAGE),
    ("avg", &aggregate::AVERAGE),
    ("color", &style::COLOR),
    ("constantLine", &constant_line::DEF),
    ("countSeries", &count_series::DEF),
    ("dashed", &style::DASHED),
    ("derivative", &derivative::DEF),
    ("diffSeries", &aggregate::DIFF),
    ("integral", &integral::DEF),
    ("keepLastValue", &keep_last_value::DEF),
    ("lineWidth", &style::LINE_WIDTH),
    ("maxSeries", &aggregate::MAX),
    ("minSeries", &aggregate::MIN),
    ("movingAverage", &moving_window::AVERAGE),
    ("movingMax", &moving_window::MAX),
    ("movingMedian", &moving_window::MEDIAN),
    ("movingMin", &moving_window::MIN),
    ("movingSum", &moving_window::SUM),
    ("movingWindow", &moving_window::DEF),
    ("multiplySeries", &aggregate::MULTIPLY),
    ("nonNegativeDerivative", &non_negative_derivative::DEF),
    ("offset", &offset::DEF),
    ("perSecond", &per_second::DEF),
    ("scale", &scale::DEF),
    ("secondYAxis", &style::SECOND_Y_AXIS),
    ("sum", &aggregate::SUM),
    ("sumSeries", &aggregate::SUM),
    ("timeShift", &time_shift::DEF),
    ("transformNull", &transform_null::DEF),
    ("asPercent", &as_percent::DEF),
    ("divideSeries", &divide_series::DEF),
    ("exclude", &grep::EXCLUDE),
    ("grep", &grep::GREP),
    ("highest", &highest::HIGHEST),
    ("highestAverage", &highest::HIGHEST_AVERAGE),
    ("highestCurrent", &highest::HIGHEST_CURRENT),
    ("highestMax", &highest::HIGHEST_MAX),
    ("limit", &limit::DEF),
    ("lowest", &highest::LOWEST),
    ("lowestAverage", &highest::LOWEST_AVERAGE),
    ("lowestCurrent", &highest::LOWEST_CURRENT),
    ("removeEmptySeries", &remove_empty_series::DEF),
    ("sortByName", &sort_by_name::DEF),
    ("summarize", &summarize::DEF),
    ("aliasSub", &alias_sub::DEF),
    ("alpha", &style::ALPHA),
    ("averageAbove", &filter_series::AVERAGE_ABOVE),
    ("averageBelow", &filter_series::AVERAGE_BELOW),
    ("changed", &changed::DEF),
    ("consolidateBy", &consolidate_by::DEF),
    ("cumulative", &consolidate_by::CUMULATIVE),
    ("currentAbove", &filter_series::CURRENT_ABOVE),
    ("currentBelow", &filter_series::CURRENT_BELOW),
    ("delay", &delay::DEF),
    ("drawAsInfinite", &style::DRAW_AS_INFINITE),
    ("filterSeries", &filter_series::DEF),
    ("invert", &invert::DEF),
    ("isNonNull", &is_non_null::DEF),
    ("log", &log::DEF),
    ("maximumAbove", &filter_series::MAXIMUM_ABOVE),
    ("maximumBelow", &filter_series::MAXIMUM_BELOW),
    ("minMax", &min_max::DEF),
    ("minimumAbove", &filter_series::MINIMUM_ABOVE),
    ("minimumBelow", &filter_series::MINIMUM_BELOW),
    ("offsetToZero", &offset_to_zero::DEF),
    ("pow", &pow::DEF),
    ("removeAboveValue", &remove_value::ABOVE),
    ("removeBelowValue", &remove_value::BELOW),
    ("round", &round::DEF),
    ("sortBy", &sort_by::SORT_BY),
    ("sortByMaxima", &sort_by::MAXIMA),
    ("sortByMinima", &sort_by::MINIMA),
    ("sortByTotal", &sort_by::TOTAL),
    ("squareRoot", &square_root::DEF),
    ("unique", &unique::DEF),
    ("aggregateWithWildcards", &aggregate_with_wildcards::DEF),
    (
        "averageSeriesWithWildcards",
        &aggregate_with_wildcards::AVERAGE,
    ),
    ("fallbackSeries", &fallback_series::DEF),
    ("groupByNode", &group_by_node::NODE),
    ("groupByNodes", &group_by_node::NODES),
    (
        "multiplySeriesWithWildcards",
        &aggregate_with_wildcards::MULTIPLY,
    ),
    ("nPercentile", &percentile::N_PERCENTILE),
    ("percentileOfSeries", &percentile::OF_SERIES),
    ("rangeOfSeries", &aggregate::RANGE),
    ("scaleToSeconds", &scale_to_seconds::DEF),
    ("stddevSeries", &aggregate::STDDEV),
    ("sumSeriesWithWildcards", &aggregate_with_wildcards::SUM),
    ("aggregateLine", &aggregate_line::DEF),
    ("aggregateSeriesLists", &series_lists::AGGREGATE),
    ("diffSeriesLists", &series_lists::DIFF),
    ("divideSeriesLists", &series_lists::DIVIDE),
    ("interpolate", &interpolate::DEF),
    ("mostDeviant", &most_deviant::DEF),
    ("multiplySeriesLists", &series_lists::MULTIPLY),
    ("removeAbovePercentile", &remove_percentile::ABOVE),
    ("removeBelowPercentile", &remove_percentile::BELOW),
    ("sumSeriesLists", &series_lists::SUM),
    ("threshold", &threshold::DEF),
    ("exponentialMovingAverage", &exponential_moving_average::DEF),
    ("integralByInterval", &integral_by_interval::DEF),
    ("timeStack", &time_stack::DEF),
    ("group", &group::DEF),
    ("hitcount", &hitcount::DEF),
    ("legendValue", &legend_value::DEF),
    ("add", &add::DEF),
    ("exp", &exp::DEF),
    ("logit", &logit::DEF),
    ("pct", &as_percent::DEF),
    ("setXFilesFactor", &set_x_files_factor::DEF),
    ("sigmoid", &sigmoid::DEF),
    ("xFilesFactor", &set_x_files_factor::DEF),
    ("identity", &time_function::IDENTITY),
    ("powSeries", &pow_series::DEF),
    ("time", &time_function::TIME),
    ("timeFunction", &time_function::TIME),
    ("useSeriesAbove", &use_series_above::DEF),
    ("averageOutsidePercentile", &outside_percentile::AVERAGE),
    (
        "removeBetweenPercentile",
        &outside_percentile::REMOVE_BETWEEN,
    ),
    ("cactiStyle", &cacti_style::DEF),
    ("groupByTags", &group_by_tags::DEF),
    ("seriesByTag", &series_by_tag::DEF),
    ("events", &events::DEF),
    ("substr", &substr::DEF),
    ("aliasQuery", &alias_query::DEF),
    ("applyByNode", &apply_by_node::DEF),
    ("areaBetween", &area_between::DEF),
    ("holtWintersAberration", &holt_winters::ABERRATION),
    ("holtWintersConfidenceArea", &holt_winters::AREA),
    ("holtWintersConfidenceBands", &holt_winters::BANDS),
    ("holtWintersForecast", &holt_winters::FORECAST),
    ("linearRegression", &linear_regression::DEF),
    ("map", &map_reduce::MAP),
    ("mapSeries", &map_reduce::MAP),
    ("randomWalk", &random_walk::DEF),
    ("randomWalkFunction", &random_walk::DEF),
    ("reduce", &map_reduce::REDUCE),
    ("reduceSeries", &map_reduce::REDUCE),
    ("sin", &sin_function::DEF),
    ("sinFunction", &sin_function::DEF),
    ("smartSummarize", &smart_summarize::DEF),
    ("stacked", &stacked::DEF),
    ("stdev", &stdev::DEF),
    ("timeSlice", &time_slice::DEF),
    ("verticalLine", &vertical_line::DEF),
    ("weightedAverage", &weighted_average::DEF),
];

/// The function named `name`, if telltale implements it.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    REGISTRY.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
}

/// Every name graphite-web 1.1.8 registers, so a name it knows but telltale does not yet
/// implement answers "unsupported" rather than "unknown".
pub static GRAPHITE_WEB_FUNCTIONS: &[&str] = &[
    "absolute",
    "add",
    "aggregate",
    "aggregateLine",
    "aggregateSeriesLists",
    "aggregateWithWildcards",
    "alias",
    "aliasByMetric",
    "aliasByNode",
    "aliasByTags",
    "aliasQuery",
    "aliasSub",
    "alpha",
    "applyByNode",
    "areaBetween",
    "asPercent",
    "averageAbove",
    "averageBelow",
    "averageOutsidePercentile",
    "averageSeries",
    "averageSeriesWithWildcards",
    "avg",
    "cactiStyle",
    "changed",
    "color",
    "consolidateBy",
    "constantLine",
    "countSeries",
    "cumulative",
    "currentAbove",
    "currentBelow",
    "dashed",
    "delay",
    "derivative",
    "diffSeries",
    "diffSeriesLists",
    "divideSeries",
    "divideSeriesLists",
    "drawAsInfinite",
    "events",
    "exclude",
    "exp",
    "exponentialMovingAverage",
    "fallbackSeries",
    "filterSeries",
    "grep",
    "group",
    "groupByNode",
    "groupByNodes",
    "groupByTags",
    "highest",
    "highestAverage",
    "highestCurrent",
    "highestMax",
    "hitcount",
    "holtWintersAberration",
    "holtWintersConfidenceArea",
    "holtWintersConfidenceBands",
    "holtWintersForecast",
    "identity",
    "integral",
    "integralByInterval",
    "interpolate",
    "invert",
    "isNonNull",
    "keepLastValue",
    "legendValue",
    "limit",
    "lineWidth",
    "linearRegression",
    "log",
    "logit",
    "lowest",
    "lowestAverage",
    "lowestCurrent",
    "map",
    "mapSeries",
    "maxSeries",
    "maximumAbove",
    "maximumBelow",
    "minMax",
    "minSeries",
    "minimumAbove",
    "minimumBelow",
    "mostDeviant",
    "movingAverage",
    "movingMax",
    "movingMedian",
    "movingMin",
    "movingSum",
    "movingWindow",
    "multiplySeries",
    "multiplySeriesLists",
    "multiplySeriesWithWildcards",
    "nPercentile",
    "nonNegativeDerivative",
    "offset",
    "offsetToZero",
    "pct",
    "perSecond",
    "percentileOfSeries",
    "pow",
    "powSeries",
    "randomWalk",
    "randomWalkFunction",
    "rangeOfSeries",
    "reduce",
    "reduceSeries",
    "removeAbovePercentile",
    "removeAboveValue",
    "removeBelowPercentile",
    "removeBelowValue",
    "removeBetweenPercentile",
    "removeEmptySeries",
    "round",
    "scale",
    "scaleToSeconds",
    "secondYAxis",
    "seriesByTag",
    "setXFilesFactor",
    "sigmoid",
    "sin",
    "sinFunction",
    "smartSummarize",
    "sortBy",
    "sortByMaxima",
    "sortByMinima",
    "sortByName",
    "sortByTotal",
    "squareRoot",
    "stacked",
    "stddevSeries",
    "stdev",
    "substr",
    "sum",
    "sumSeries",
    "sumSeriesLists",
    "sumSeriesWithWildcards",
    "summarize",
    "template",
    "threshold",
    "time",
    "timeFunction",
    "timeShift",
    "timeSlice",
    "timeStack",
    "transformNull",
    "unique",
    "useSeriesAbove",
    "verticalLine",
    "weightedAverage",
    "xFilesFactor",
];

/// graphite-web's aggregation function names (`functions/aggfuncs.py`), aliases included.
pub const AGG_FUNCS: &[&str] = &[
    "average", "avg_zero", "median", "sum", "min", "max", "diff", "stddev", "count", "range",
    "multiply", "last", "rangeOf", "avg", "total", "current",
];

/// graphite-web's `functionInfo`: what `/functions/<name>` answers.
pub fn info(name: &str) -> Option<Json> {
    let def = lookup(name)?;
    Some(info_of(name, def))
}

fn info_of(name: &str, def: &FunctionDef) -> Json {
    let params: Vec<Json> = def.params.iter().map(|p| p.to_json()).collect();
    json!({
        "name": name,
        "function": format!("{name}{}", def.signature),
        "description": def.description,
        "module": "graphite.render.functions",
        "group": def.group,
        "params": params,
    })
}

/// `/functions`: every function by name, or by group then name when `grouped`; only `group`'s
/// functions when given.
pub fn list(group: Option<&str>, grouped: bool) -> Json {
    let mut out = Map::new();
    for (name, def) in REGISTRY {
        if group.is_some_and(|g| g != def.group) {
            continue;
        }
        let info = info_of(name, def);
        if grouped {
            let g = out
                .entry(def.group.to_string())
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(m) = g {
                m.insert((*name).to_string(), info);
            }
        } else {
            out.insert((*name).to_string(), info);
        }
    }
    Json::Object(out)
}

/// Strict JSON text of a `/functions` answer: infinity (`keepLastValue`'s default) is written
/// `1e9999`, which parsers read back as infinity, where graphite-web writes `Infinity` when
/// it is the last key.
pub fn to_strict_json(v: &Json) -> String {
    let text = serde_json::to_string(v).unwrap_or_default();
    let quoted = serde_json::to_string(INF_SENTINEL).unwrap_or_default();
    text.replace(&quoted, "1e9999")
}

/// graphite-web's `normalize`: every series consolidated to the least common multiple of the
/// steps, over the union of their ranges, the end trimmed to a whole number of steps.
/// `None` for no series (graphite-web's `NormalizeEmptyResultError`).
pub fn normalize(lists: Vec<Vec<TimeSeries>>) -> Option<(Vec<TimeSeries>, i64, i64, i64)> {
    let mut all: Vec<TimeSeries> = lists.into_iter().flatten().collect();
    if all.is_empty() {
        return None;
    }
    let step = all.iter().map(|s| s.step.max(1)).fold(1, lcm);
    for s in &mut all {
        s.values_per_point = usize::try_from(step / s.step.max(1)).unwrap_or(1).max(1);
    }
    let start = all.iter().map(|s| s.start).min().unwrap_or(0);
    let mut end = all.iter().map(|s| s.end).max().unwrap_or(0);
    end -= (end - start).rem_euclid(step);
    Some((all, start, end, step))
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

fn lcm(a: i64, b: i64) -> i64 {
    if a == 0 || b == 0 {
        return a.max(b);
    }
    (a / gcd(a, b)).saturating_mul(b).abs()
}

/// graphite-web's `formatPathExpressions`: distinct path expressions in order, comma-joined.
pub fn format_path_expressions(series: &[TimeSeries]) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in series {
        if !seen.contains(&s.path_expression.as_str()) {
            seen.push(&s.path_expression);
        }
    }
    seen.join(",")
}

/// Rows of `izip_longest(*series)` over the readers' (consolidated) points.
pub fn rows(series: &[TimeSeries]) -> Vec<Vec<Option<f64>>> {
    let cols: Vec<Vec<Option<f64>>> = series.iter().map(TimeSeries::points).collect();
    let n = cols.iter().map(Vec::len).max().unwrap_or(0);
    (0..n)
        .map(|i| cols.iter().map(|c| c.get(i).copied().flatten()).collect())
        .collect()
}

/// graphite-web's `xff`: enough non-null values among `total`.
pub fn xff(non_null: usize, total: usize, x_files_factor: f64) -> bool {
    non_null > 0 && total > 0 && non_null as f64 / total as f64 >= x_files_factor
}

/// graphite-web's `getNodeOrTag`: an integer picks a node of the first path expression
/// (negative from the end), anything else a tag (empty when missing).
pub fn node_or_tag(series: &TimeSeries, n: &super::eval::Value, path: Option<&str>) -> String {
    use super::eval::Value;
    let idx = match n {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    };
    if let Some(i) = idx {
        let base = path.unwrap_or(&series.name);
        let base = base.split(';').next().unwrap_or_default();
        let nodes: Vec<&str> = base.split('.').collect();
        let at = if i < 0 { nodes.len() as i64 + i } else { i };
        if let Some(node) = usize::try_from(at).ok().and_then(|a| nodes.get(a)) {
            return (*node).to_string();
        }
    }
    let key = match n {
        Value::Str(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => super::series::format_py_float(*f),
        _ => String::new(),
    };
    series.tags.get(&key).cloned().unwrap_or_default()
}

/// graphite-web's `_getFirstPathExpression`: the first path in a name shaped like a call
/// (`sumSeries(a.b.c)` → `a.b.c`), following first arguments.
pub fn first_path_expression(name: &str) -> Option<String> {
    use super::parser::{Expr, parse};
    let mut e = parse(name).ok()?;
    loop {
        match e {
            Expr::Path(p) => return Some(p),
            Expr::Call(c) => e = c.args.into_iter().next()?,
            _ => return None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! A fixed in-memory backend and helpers shared by the function tests.
    use std::collections::BTreeMap;

    use super::super::eval::Context;
    use super::super::series::TimeSeries;
    use crate::model::MetricPoint;
    use crate::store::metrics::{MetricsBackend, MetricsError, Series};

    pub struct Mem(BTreeMap<&'static str, Vec<Option<f64>>>);

    /// Series start at 100 with a 10 s step, except `t.shift` and `t.wave`, which have a
    /// value at every slot of the requested range: `ts / 10`, and a sawtooth over 5 steps
    /// plus `ts / 100`, null every 7th step (see check_more_functions.py).
    pub fn backend() -> Mem {
        let mut m = BTreeMap::new();
        m.insert("a.x", vec![Some(1.0), None, Some(3.0), Some(4.0)]);
        m.insert("a.y", vec![Some(10.0), Some(20.0), Some(30.0), Some(40.0)]);
        m.insert(
            "c.wrap",
            vec![Some(250.0), Some(254.0), Some(3.0), Some(10.0)],
        );
        m.insert("g.gaps", vec![Some(1.0), None, None, Some(4.0), None]);
        m.insert("cpu;host=web1", vec![Some(5.0)]);
        m.insert("t.shift", vec![]);
        m.insert("t.wave", vec![]);
        Mem(m)
    }

    fn glob(pattern: &str, name: &str) -> bool {
        let p: Vec<&str> = pattern.split('.').collect();
        let n: Vec<&str> = name.split('.').collect();
        p.len() == n.len() && p.iter().zip(&n).all(|(p, n)| *p == "*" || p == n)
    }

    impl MetricsBackend for Mem {
        fn write_at(&self, _: &[MetricPoint], _: i64) -> Result<(), MetricsError> {
            Ok(())
        }
        fn read(
            &self,
            name: &str,
            from: i64,
            until: i64,
            _: i64,
        ) -> Result<Option<Series>, MetricsError> {
            let Some(v) = self.0.get(name) else {
                return Ok(None);
            };
            let ranged: Option<fn(i64) -> Option<f64>> = match name {
                "t.shift" => Some(|t| Some(t as f64 / 10.0)),
                "t.wave" => Some(|t| {
                    ((t / 10) % 7 != 3).then(|| ((t / 10) % 5) as f64 * 3.0 + t as f64 / 100.0)
                }),
                _ => None,
            };
            if let Some(f) = ranged {
                let start = from - from.rem_euclid(10);
                let values = (start..until).step_by(10).map(f).collect();
                return Ok(Some(Series {
                    start,
                    end: until,
                    step: 10,
                    values,
                }));
            }
            Ok(Some(Series {
                start: 100,
                end: 100 + 10 * v.len() as i64,
                step: 10,
                values: v.clone(),
            }))
        }
        fn find(&self, _: &str) -> Result<Vec<(String, bool)>, MetricsError> {
            Ok(Vec::new())
        }
        fn expand(&self, pattern: &str) -> Result<Vec<String>, MetricsError> {
            Ok(self
                .0
                .keys()
                .filter(|n| glob(pattern, n))
                .map(|n| n.to_string())
                .collect())
        }
        fn names(&self) -> Result<Vec<String>, MetricsError> {
            Ok(self.0.keys().map(|n| n.to_string()).collect())
        }
        fn flush(&self) -> Result<(), MetricsError> {
            Ok(())
        }
    }

    static MEM: std::sync::LazyLock<Mem> = std::sync::LazyLock::new(backend);

    /// The request context of the function tests: 100..140.
    pub fn ctx_none() -> Context<'static> {
        Context::new(&*MEM, 100, 140, 1000)
    }

    pub fn eval(target: &str) -> Vec<TimeSeries> {
        match ctx_none().eval_target(target) {
            Ok(s) => s,
            Err(e) => panic!("{target}: {e}"),
        }
    }

    pub fn names(s: &[TimeSeries]) -> Vec<&str> {
        s.iter().map(|s| s.name.as_str()).collect()
    }

    pub fn vals(s: &TimeSeries) -> Vec<Option<f64>> {
        s.points()
    }

    pub fn series(name: &str, start: i64, step: i64, v: &[Option<f64>]) -> TimeSeries {
        TimeSeries::new(name, start, start + step * v.len() as i64, step, v.to_vec())
    }

    #[test]
    fn unknown_and_unsupported_names() {
        // names graphite-web has that telltale does not implement answer "unsupported"
        for name in super::GRAPHITE_WEB_FUNCTIONS {
            if super::lookup(name).is_none() && *name != "template" {
                let e = ctx_none().eval_target(&format!("{name}(a.x)")).unwrap_err();
                assert_eq!(e.to_string(), format!("unsupported function {name}"));
            }
        }
        let e = ctx_none().eval_target("noSuchThing(a.x)").unwrap_err();
        assert_eq!(e.to_string(), "unknown function noSuchThing");
        let e = ctx_none().eval_target("scale(a.x)").unwrap_err();
        assert_eq!(e.to_string(), "scale: missing required parameter factor");
        let e = ctx_none().eval_target("scale(a.x, 'x')").unwrap_err();
        assert!(e.to_string().contains("invalid \"float\" value"), "{e}");
        let e = ctx_none().eval_target("scale(a.x, 2, nope=1)").unwrap_err();
        assert!(e.is_client_error());
    }

    #[test]
    fn paths_fetch_sorted_with_their_expression() {
        let out = eval("a.*");
        assert_eq!(names(&out), ["a.x", "a.y"]);
        assert!(out.iter().all(|s| s.path_expression == "a.*"));
        assert!(eval("no.such").is_empty());
    }

    #[test]
    fn normalize_uses_lcm_and_trims_end() {
        let a = series("a", 0, 10, &[Some(1.0); 6]);
        let b = series("b", 0, 15, &[Some(1.0); 4]);
        let (s, start, end, step) = super::normalize(vec![vec![a, b]]).unwrap();
        assert_eq!((start, end, step), (0, 60, 30));
        assert_eq!(s[0].values_per_point, 3);
        assert_eq!(s[1].values_per_point, 2);
        assert!(super::normalize(vec![vec![]]).is_none());
    }

    #[test]
    fn function_schema_is_strict_json_with_infinity() {
        let text = super::to_strict_json(&super::info("keepLastValue").unwrap());
        assert!(text.contains(r#""default":1e9999"#), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text.replace("1e9999", "0")).unwrap();
        assert_eq!(v["function"], "keepLastValue(seriesList, limit=inf)");
        let all = super::list(None, false);
        assert!(all.get("sum").is_some() && all.get("sumSeries").is_some());
        let grouped = super::list(Some("Combine"), true);
        assert!(grouped["Combine"].get("sumSeries").is_some());
        assert!(grouped.get("Alias").is_none());
        // every registered name is one graphite-web has
        for (n, _) in super::REGISTRY {
            assert!(super::GRAPHITE_WEB_FUNCTIONS.contains(n), "{n}");
        }
    }
}

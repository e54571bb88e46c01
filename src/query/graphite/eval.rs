//! Evaluates parsed targets as graphite-web's `render/evaluator.py` does: path expressions are
//! fetched (expanded, read, sorted by name), calls go to the function registry with their
//! arguments evaluated first and bound to the function's parameter schema.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::functions::{self, FunctionDef, ParamType};
use super::parser::{self, Call, Expr, ParseError, Template};
use super::series::TimeSeries;
use crate::store::metrics::MetricsBackend;

/// Why a target could not be evaluated. Everything but `Store` is the request's fault.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("invalid target: {0}")]
    Parse(#[from] ParseError),
    #[error("unsupported function {0}")]
    Unsupported(String),
    #[error("unknown function {0}")]
    Unknown(String),
    #[error("{func}: {msg}")]
    BadArgument { func: String, msg: String },
    #[error("metric store: {0}")]
    Store(String),
}

impl EvalError {
    pub fn bad(func: &str, msg: impl Into<String>) -> EvalError {
        EvalError::BadArgument {
            func: func.to_string(),
            msg: msg.into(),
        }
    }

    /// Whether the client caused it (400) rather than the server (500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, EvalError::Store(_))
    }
}

/// A function argument after evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Series(Vec<TimeSeries>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    None,
}

/// What graphite-web keeps in its `requestContext` across all targets of one render request.
#[derive(Debug, Default)]
pub struct Request {
    /// `template[name]=value` URL parameters in order; they override a `template()`'s own
    /// values.
    pub templates: Vec<(String, String)>,
    /// `stacked()`'s running totals by stack name, so a stack continues across targets.
    pub stacks: RefCell<BTreeMap<String, Vec<f64>>>,
}

impl Request {
    pub fn with_templates(templates: Vec<(String, String)>) -> Request {
        Request {
            templates,
            stacks: RefCell::default(),
        }
    }
}

/// The request's time range (epoch seconds) and where series come from; functions that need
/// other ranges (timeShift, movingAverage) evaluate through [`Context::with_range`].
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub from: i64,
    pub until: i64,
    pub now: i64,
    pub backend: &'a dyn MetricsBackend,
    /// The request's `xFilesFactor`, if given (graphite-web's default is 0).
    pub x_files_factor: Option<f64>,
    /// State shared by the request's targets; `None` evaluates each target on its own.
    pub request: Option<&'a Request>,
    /// Graphite events, for the `events()` function (none: it finds no events).
    pub events: Option<&'a crate::store::events::EventStore>,
}

impl<'a> Context<'a> {
    pub fn new(backend: &'a dyn MetricsBackend, from: i64, until: i64, now: i64) -> Context<'a> {
        Context {
            from,
            until,
            now,
            backend,
            x_files_factor: None,
            request: None,
            events: None,
        }
    }

    /// The same request over another range.
    pub fn with_range(&self, from: i64, until: i64) -> Context<'a> {
        Context {
            from,
            until,
            ..*self
        }
    }

    /// Parses and evaluates one `target`.
    pub fn eval_target(&self, target: &str) -> Result<Vec<TimeSeries>, EvalError> {
        let expr = parser::parse(target)?;
        self.eval_series(&expr)
    }

    /// Evaluates an expression that must give series (a path or a call).
    pub fn eval_series(&self, expr: &Expr) -> Result<Vec<TimeSeries>, EvalError> {
        match self.eval(expr)? {
            Value::Series(s) => Ok(s),
            other => Err(EvalError::bad(
                "target",
                format!("expected a series list, got {other:?}"),
            )),
        }
    }

    pub fn eval(&self, expr: &Expr) -> Result<Value, EvalError> {
        Ok(match expr {
            Expr::Path(p) => Value::Series(self.fetch(p)?),
            Expr::Call(c) => Value::Series(self.call(c)?),
            Expr::Str(s) => Value::Str(s.clone()),
            Expr::Int(i) => Value::Int(*i),
            Expr::Float(f) => Value::Float(*f),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::None => Value::None,
            Expr::Inf => Value::Float(f64::INFINITY),
            Expr::Template(t) => self.eval(&self.expand_template(t)?)?,
        })
    }

    /// graphite-web's `template()`: the template's own values (keywords, or positional ones
    /// named `1`, `2`...), overridden by the request's `template[name]` parameters, are
    /// substituted for `$name` in every path expression inside it.
    fn expand_template(&self, t: &Template) -> Result<Expr, EvalError> {
        let mut vars: Vec<(String, Value)> = Vec::new();
        for (k, v) in &t.kwargs {
            vars.push((k.clone(), self.eval(v)?));
        }
        for (i, v) in t.args.iter().enumerate() {
            vars.push(((i + 1).to_string(), self.eval(v)?));
        }
        for (k, v) in self.request.map(|r| r.templates.as_slice()).unwrap_or(&[]) {
            match vars.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = Value::Str(v.clone()),
                None => vars.push((k.clone(), Value::Str(v.clone()))),
            }
        }
        substitute(&t.inner, &vars)
    }

    /// graphite-web's fetchData: every name the pattern expands to, read over the range,
    /// sorted by name; names without data in range are left out.
    pub fn fetch(&self, pattern: &str) -> Result<Vec<TimeSeries>, EvalError> {
        let names = self
            .backend
            .expand(pattern)
            .map_err(|e| EvalError::Store(e.to_string()))?;
        self.read_all(names, pattern)
    }

    /// Reads the named series over the range, sorted by name, each tagged with the path
    /// expression it came from; names without data in range are left out.
    pub fn read_all(
        &self,
        mut names: Vec<String>,
        pattern: &str,
    ) -> Result<Vec<TimeSeries>, EvalError> {
        names.sort();
        names.dedup();
        let read = self
            .backend
            .read_many(&names, self.from, self.until, self.now)
            .map_err(|e| EvalError::Store(e.to_string()))?;
        let mut out = Vec::with_capacity(names.len());
        for (name, s) in names.into_iter().zip(read) {
            let Some(s) = s else { continue };
            let mut ts = TimeSeries::new(name, s.start, s.end, s.step, s.values);
            ts.path_expression = pattern.to_string();
            ts.x_files_factor = self.x_files_factor.unwrap_or(0.0);
            out.push(ts);
        }
        Ok(out)
    }

    fn call(&self, call: &Call) -> Result<Vec<TimeSeries>, EvalError> {
        if call.name == "template" {
            // the template grammar did not match, as in graphite-web
            return Err(EvalError::bad(
                "template",
                "invalid template() syntax, only string/numeric arguments are allowed",
            ));
        }
        let def = lookup(&call.name)?;
        if let Some(out) = functions::fused_aggregate(self, def, call)? {
            return Ok(out);
        }
        let positional = call
            .args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut keyword = Vec::with_capacity(call.kwargs.len());
        for (k, v) in &call.kwargs {
            keyword.push((k.clone(), self.eval(v)?));
        }
        let mut args = Args::bind(def, &call.name, call, positional, keyword)?;
        (def.run)(self, &mut args)
    }

    /// Calls function `name` with already evaluated positional arguments, as graphite-web's
    /// `reduceSeries` does; `call` stands for the expression being evaluated, which a function
    /// that re-fetches its first argument reads.
    pub fn apply(
        &self,
        name: &str,
        positional: Vec<Value>,
        call: &Call,
    ) -> Result<Vec<TimeSeries>, EvalError> {
        let def = lookup(name)?;
        let mut args = Args::bind(def, name, call, positional, Vec::new())?;
        (def.run)(self, &mut args)
    }
}

fn lookup(name: &str) -> Result<&'static FunctionDef, EvalError> {
    functions::lookup(name).ok_or_else(|| {
        if functions::GRAPHITE_WEB_FUNCTIONS.contains(&name) {
            EvalError::Unsupported(name.to_string())
        } else {
            EvalError::Unknown(name.to_string())
        }
    })
}

/// `expr` with template variables substituted into its path expressions, as graphite-web's
/// `evaluateTokens` does with `replacements`: a path that is exactly `$name` becomes the value
/// itself (a numeric-looking string a float), otherwise each `$name` is replaced by the
/// value's text, in the variables' order. Nested templates keep their own variables.
fn substitute(expr: &Expr, vars: &[(String, Value)]) -> Result<Expr, EvalError> {
    Ok(match expr {
        Expr::Path(p) => {
            let mut path = p.clone();
            for (name, v) in vars {
                let var = format!("${name}");
                if path == var {
                    return Ok(match v {
                        Value::Int(i) => Expr::Int(*i),
                        Value::Float(f) => Expr::Float(*f),
                        Value::Str(s) if is_py_numeric(s) => {
                            Expr::Float(s.parse().map_err(|_| {
                                EvalError::bad("template", format!("invalid number {s}"))
                            })?)
                        }
                        Value::Str(s) => Expr::Str(s.clone()),
                        other => {
                            return Err(EvalError::bad(
                                "template",
                                format!("invalid value {other:?}"),
                            ));
                        }
                    });
                }
                let text = match v {
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => super::series::format_py_float(*f),
                    Value::Str(s) => s.clone(),
                    _ => continue,
                };
                path = path.replace(&var, &text);
            }
            Expr::Path(path)
        }
        Expr::Call(c) => {
            let mut c = c.clone();
            for a in &mut c.args {
                *a = substitute(a, vars)?;
            }
            for (_, a) in &mut c.kwargs {
                *a = substitute(a, vars)?;
            }
            Expr::Call(c)
        }
        other => other.clone(),
    })
}

/// `^-?[\d.]+$`: what graphite-web turns into a float.
fn is_py_numeric(s: &str) -> bool {
    let body = s.strip_prefix('-').unwrap_or(s);
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A call's arguments bound to its function's parameters, as graphite-web's `validateParams`:
/// positional first, then keywords by name; a `multiple` last parameter takes the rest.
pub struct Args<'c> {
    pub def: &'static FunctionDef,
    /// The function's name as called (an alias such as `sum` included).
    name: String,
    /// The call as written, so a function can evaluate an argument again over another range.
    pub call: &'c Call,
    slots: Vec<Option<Value>>,
    rest: Vec<Value>,
}

impl<'c> Args<'c> {
    fn bind(
        def: &'static FunctionDef,
        name: &str,
        call: &'c Call,
        positional: Vec<Value>,
        keyword: Vec<(String, Value)>,
    ) -> Result<Args<'c>, EvalError> {
        let params = def.params;
        let multiple = params.last().is_some_and(|p| p.multiple);
        if positional.len() + keyword.len() > params.len() && !multiple {
            return Err(EvalError::bad(name, "too many parameters"));
        }
        let mut slots: Vec<Option<Value>> = vec![None; params.len()];
        let mut rest = Vec::new();
        for (i, v) in positional.into_iter().enumerate() {
            if i < params.len() {
                slots[i] = Some(v);
            } else {
                rest.push(v);
            }
        }
        for (k, v) in keyword {
            // graphite-web's schema and its Python signatures disagree on case in places
            // (timeShift's `alignDst` is the keyword `alignDST`): an exact match first
            let pos = params
                .iter()
                .position(|p| p.name == k)
                .or_else(|| params.iter().position(|p| p.name.eq_ignore_ascii_case(&k)));
            match pos {
                Some(i) if slots[i].is_none() => slots[i] = Some(v),
                _ => {
                    return Err(EvalError::bad(
                        name,
                        format!("unexpected keyword argument {k}"),
                    ));
                }
            }
        }
        for (p, slot) in params.iter().zip(&slots) {
            match slot {
                None | Some(Value::None) if p.required => {
                    return Err(EvalError::bad(
                        name,
                        format!("missing required parameter {}", p.name),
                    ));
                }
                Some(v) => check_type(name, p.name, p.ty, v)?,
                None => {}
            }
        }
        if let Some(p) = params.last() {
            for v in &rest {
                check_type(name, p.name, p.ty, v)?;
            }
        }
        Ok(Args {
            def,
            name: name.to_string(),
            call,
            slots,
            rest,
        })
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// The value of parameter `i`, `None` when absent or given as `None`.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.slots.get(i)?.as_ref().filter(|v| **v != Value::None)
    }

    /// Takes a series-list parameter (empty when absent).
    pub fn series(&mut self, i: usize) -> Vec<TimeSeries> {
        match self.slots.get_mut(i).and_then(Option::take) {
            Some(Value::Series(s)) => s,
            _ => Vec::new(),
        }
    }

    /// Every series list from parameter `i` on (a `multiple` parameter), in order.
    pub fn series_lists(&mut self, i: usize) -> Vec<Vec<TimeSeries>> {
        let mut out = Vec::new();
        for j in i..self.slots.len() {
            if let Some(Value::Series(s)) = self.slots.get_mut(j).and_then(Option::take) {
                out.push(s);
            }
        }
        for v in std::mem::take(&mut self.rest) {
            if let Value::Series(s) = v {
                out.push(s);
            }
        }
        out
    }

    /// Every value from parameter `i` on, for `multiple` scalar parameters (nodes).
    pub fn values_from(&self, i: usize) -> Vec<Value> {
        let mut out: Vec<Value> = self.slots.iter().skip(i).flatten().cloned().collect();
        out.extend(self.rest.iter().cloned());
        out
    }

    pub fn float(&self, i: usize) -> Option<f64> {
        match self.get(i)? {
            Value::Int(x) => Some(*x as f64),
            Value::Float(x) => Some(*x),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn float_or(&self, i: usize, default: f64) -> f64 {
        self.float(i).unwrap_or(default)
    }

    pub fn int(&self, i: usize) -> Option<i64> {
        match self.get(i)? {
            Value::Int(x) => Some(*x),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn string(&self, i: usize) -> Option<&str> {
        match self.get(i)? {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn bool_or(&self, i: usize, default: bool) -> bool {
        match self.get(i) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Int(x)) => *x != 0,
            Some(Value::Float(x)) => *x != 0.0,
            Some(Value::Str(s)) => s.eq_ignore_ascii_case("true"),
            _ => default,
        }
    }

    /// An error naming this call.
    pub fn bad(&self, msg: impl Into<String>) -> EvalError {
        EvalError::bad(self.name(), msg)
    }
}

/// graphite-web's parameter validators, reduced to what changes the answer: a wrong type is a
/// 400 rather than a Python exception deep in the function.
fn check_type(func: &str, param: &str, ty: ParamType, v: &Value) -> Result<(), EvalError> {
    let ok = match ty {
        ParamType::SeriesList | ParamType::SeriesLists => matches!(v, Value::Series(_)),
        ParamType::Float => match v {
            Value::Int(_) | Value::Float(_) | Value::Bool(_) | Value::None => true,
            Value::Str(s) => s.trim().parse::<f64>().is_ok(),
            Value::Series(_) => false,
        },
        ParamType::Integer | ParamType::Node => match v {
            Value::Int(_) | Value::Bool(_) | Value::None => true,
            Value::Str(s) => s.trim().parse::<i64>().is_ok(),
            _ => false,
        },
        ParamType::IntOrInf => match v {
            Value::Int(_) | Value::Bool(_) | Value::None => true,
            Value::Float(f) => *f == f64::INFINITY,
            _ => false,
        },
        ParamType::Boolean => match v {
            Value::Bool(_) | Value::None => true,
            Value::Int(x) => *x == 0 || *x == 1,
            Value::Float(x) => *x == 0.0 || *x == 1.0,
            Value::Str(s) => s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false"),
            Value::Series(_) => false,
        },
        ParamType::Interval => match v {
            Value::Str(s) => crate::query::time::parse_offset_seconds(s).is_some(),
            Value::None => true,
            _ => false,
        },
        ParamType::Date => matches!(v, Value::Str(_) | Value::Int(_) | Value::None),
        ParamType::String
        | ParamType::NodeOrTag
        | ParamType::IntOrInterval
        | ParamType::AggFunc
        | ParamType::AggOrSeriesFunc
        | ParamType::Tag => !matches!(v, Value::Series(_)),
        ParamType::Any => true,
    };
    if ok {
        Ok(())
    } else {
        Err(EvalError::bad(
            func,
            format!("invalid \"{}\" value for parameter \"{param}\"", ty.name()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::Request;
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    // expected answers: graphite-web's evaluator on the same data
    #[test]
    fn template_substitutes_keyword_and_positional_values() {
        assert_eq!(names(&eval("template(a.$x, x='y')")), ["a.y"]);
        assert_eq!(names(&eval("template(a.$1, 'y')")), ["a.y"]);
        let out = eval("template(scale(a.$1, $2), 'y', 3)");
        assert_eq!(names(&out), ["scale(a.y,3)"]);
        assert_eq!(vals(&out[0])[0], Some(30.0));
        assert_eq!(
            names(&eval("template(a.$x, x='y')|scale(2)")),
            ["scale(a.y,2)"]
        );
        let out = eval("sumSeries(template(a.$x, x='y'), a.x)");
        assert_eq!(names(&out), ["sumSeries(a.y,a.x)"]);
        assert_eq!(names(&eval("template(a.$x$y, x='', y='y')")), ["a.y"]);
        // `$1` is replaced before `$10`, as graphite-web iterates its values
        let t = "template(a.$1$10, 'x', '2','3','4','5','6','7','8','9','y')";
        assert!(eval(t).is_empty());
        assert!(eval("template(a.$n, n=1.5)").is_empty());
    }

    #[test]
    fn template_url_values_override_and_numbers_become_floats() {
        let req = Request::with_templates(vec![("x".into(), "x".into()), ("f".into(), "2".into())]);
        let mut ctx = ctx_none();
        ctx.request = Some(&req);
        let out = ctx.eval_target("template(a.$x, x='y')").unwrap();
        assert_eq!(names(&out), ["a.x"]);
        let out = ctx
            .eval_target("template(sumSeries(a.$x),x='none')")
            .unwrap();
        assert_eq!(names(&out), ["sumSeries(a.x)"]);
        let out = ctx.eval_target("template(scale(a.y, $f))").unwrap();
        assert_eq!(names(&out), ["scale(a.y,2)"]);
        assert_eq!(vals(&out[0])[0], Some(20.0));
    }

    #[test]
    fn template_with_other_arguments_is_refused() {
        for t in ["template(a.b, x=y)", "template(a.$x, 1, x='y')"] {
            let e = ctx_none().eval_target(t).unwrap_err();
            assert!(e.is_client_error());
            assert!(e.to_string().contains("invalid template() syntax"), "{e}");
        }
    }

    #[test]
    fn template_refetches_see_the_substituted_path() {
        // graphite-web loses the values when movingAverage fetches again; telltale keeps them
        let out = eval("template(movingAverage(t.$n, 2), n='shift')");
        assert_eq!(names(&out), ["movingAverage(t.shift,2)"]);
        assert_eq!(vals(&out[0])[0], Some(8.5));
    }
}

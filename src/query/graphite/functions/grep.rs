//! `grep(seriesList, pattern)` and `exclude(seriesList, pattern)`: keep (or drop) series whose
//! name matches a regular expression anywhere (Python's `re.search`).

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, EvalError};
use crate::query::graphite::series::TimeSeries;

const PARAMS: &[Param] = &[
    Param::new("seriesList", ParamType::SeriesList).required(),
    Param::new("pattern", ParamType::String).required(),
];

pub static GREP: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, pattern)",
    description: "Only the series whose name matches the regular expression.",
    params: PARAMS,
    run: |_, args| filter(args, true),
};

pub static EXCLUDE: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, pattern)",
    description: "Only the series whose name does not match the regular expression.",
    params: PARAMS,
    run: |_, args| filter(args, false),
};

fn filter(args: &mut Args<'_>, keep_matching: bool) -> Result<Vec<TimeSeries>, EvalError> {
    let pattern = args
        .string(1)
        .ok_or_else(|| args.bad("pattern must be a string"))?;
    let re = regex::Regex::new(pattern).map_err(|e| args.bad(format!("invalid pattern: {e}")))?;
    let list = args.series(0);
    Ok(list
        .into_iter()
        .filter(|s| re.is_match(&s.name) == keep_matching)
        .collect())
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names};

    #[test]
    fn regex_filters() {
        assert_eq!(names(&eval("grep(a.*, 'y$')")), ["a.y"]);
        assert_eq!(names(&eval("exclude(a.*, 'y$')")), ["a.x"]);
        assert!(ctx_none().eval_target("grep(a.*, '(')").is_err());
    }
}

//! `consolidateBy(seriesList, consolidationFunc)` and `cumulative(seriesList)` (its `sum`
//! form): how points are merged when maxDataPoints (or a combining function) consolidates.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::{Args, EvalError};
use crate::query::graphite::series::{Consolidation, TimeSeries};

const OPTIONS: &[&str] = &[
    "sum", "average", "avg", "avg_zero", "min", "max", "first", "last",
];

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList, consolidationFunc)",
    description: "Sets how points are consolidated when several become one (sum, average, avg_zero, min, max, first, last).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("consolidationFunc", ParamType::String)
            .required()
            .options(OPTIONS),
    ],
    run: |_, args| {
        let f = args.string(1).unwrap_or_default().to_string();
        consolidate_by(args, &f)
    },
};

pub static CUMULATIVE: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList)",
    description: "consolidateBy(seriesList, 'sum').",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| consolidate_by(args, "sum"),
};

fn consolidate_by(args: &mut Args<'_>, func: &str) -> Result<Vec<TimeSeries>, EvalError> {
    let c = Consolidation::parse(func)
        .filter(|_| OPTIONS.contains(&func))
        .ok_or_else(|| args.bad(format!("invalid option for consolidationFunc: '{func}'")))?;
    let mut list = args.series(0);
    for s in &mut list {
        s.consolidation = c;
        s.tags.insert("consolidateBy".into(), func.to_string());
        s.name = format!("consolidateBy({},\"{func}\")", s.name);
        s.path_expression = s.name.clone();
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names};
    use crate::query::graphite::series::Consolidation;

    #[test]
    fn sets_the_consolidation() {
        let out = eval("consolidateBy(a.x, 'max')");
        assert_eq!(names(&out), [r#"consolidateBy(a.x,"max")"#]);
        assert_eq!(out[0].consolidation, Consolidation::Max);
        assert_eq!(
            names(&eval("cumulative(a.x)")),
            [r#"consolidateBy(a.x,"sum")"#]
        );
        assert!(
            ctx_none()
                .eval_target("consolidateBy(a.x, 'median')")
                .is_err()
        );
    }
}

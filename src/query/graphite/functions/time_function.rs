//! `timeFunction(name, step=60)` (also `time`) and `identity(name)`: each point's value is its
//! own timestamp, from the request's start.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::{Context, EvalError};
use crate::query::graphite::series::TimeSeries;

pub static TIME: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(name, step=60)",
    description: "A series whose value at each point is that point's timestamp.",
    params: &[
        Param::new("name", ParamType::String).required(),
        Param::new("step", ParamType::Integer).default(Literal::Int(60)),
    ],
    run: |ctx, args| {
        let name = args.string(0).unwrap_or_default().to_string();
        let step = args.int(1).unwrap_or(60);
        line(ctx, name, step, None)
    },
};

pub static IDENTITY: FunctionDef = FunctionDef {
    group: "Calculate",
    signature: "(name)",
    description: "A series whose value at each minute is that minute's timestamp.",
    params: &[Param::new("name", ParamType::String).required()],
    run: |ctx, args| {
        let name = args.string(0).unwrap_or_default().to_string();
        let path = format!("identity(\"{name}\")");
        line(ctx, name, 60, Some(path))
    },
};

fn line(
    ctx: &Context<'_>,
    name: String,
    step: i64,
    path: Option<String>,
) -> Result<Vec<TimeSeries>, EvalError> {
    if step <= 0 {
        return Err(EvalError::bad("timeFunction", "step must be positive"));
    }
    let count = (ctx.until - ctx.from).div_euclid(step) + 1;
    if count > 10_000_000 {
        return Err(EvalError::bad("timeFunction", "too many points"));
    }
    let values = (ctx.from..ctx.until)
        .step_by(usize::try_from(step).unwrap_or(60))
        .map(|t| Some(t as f64))
        .collect();
    let mut s = TimeSeries::new(name, ctx.from, ctx.until, step, values);
    if let Some(p) = path {
        s.path_expression = p;
    }
    s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
    Ok(vec![s])
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn timestamps_as_values() {
        let out = eval("time('t', 10)");
        assert_eq!(names(&out), ["t"]);
        assert_eq!(
            vals(&out[0]),
            [Some(100.0), Some(110.0), Some(120.0), Some(130.0)]
        );
        let out = eval("identity('i')");
        assert_eq!(vals(&out[0]), [Some(100.0)]);
        assert_eq!(out[0].path_expression, "identity(\"i\")");
    }
}

//! `verticalLine(ts, label=None, color=None)`: graphite-web's two-point series at `ts` with
//! step 1 (drawn as infinite on graphs), named by the label. A time outside the request's
//! range is an error, as in graphite-web.

use super::time_slice::date_arg;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(ts, label=None, color=None)",
    description: "A vertical line at the given time, with an optional label and color (graphs only).",
    params: &[
        Param::new("ts", ParamType::Date).required(),
        Param::new("label", ParamType::String),
        Param::new("color", ParamType::String),
    ],
    run: |ctx, args| {
        let ts = date_arg(ctx, args, 0)?.ok_or_else(|| args.bad("ts is required"))?;
        if ts < ctx.from {
            return Err(args.bad(format!("timestamp {ts} exists before start of range")));
        }
        if ts > ctx.until {
            return Err(args.bad(format!("timestamp {ts} exists after end of range")));
        }
        // graphite-web names it by the label; without one its name is Python's None
        let label = args.string(1).unwrap_or("None").to_string();
        let mut s = TimeSeries::new(label, ts, ts, 1, vec![Some(1.0), Some(1.0)]);
        s.x_files_factor = ctx.x_files_factor.unwrap_or(0.0);
        s.options.insert("drawAsInfinite".into(), "True".into());
        if let Some(c) = args.string(2) {
            s.options.insert("color".into(), c.to_string());
        }
        Ok(vec![s])
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn two_points_at_the_time_inside_the_range_only() {
        let out = eval("verticalLine('115', 'lbl', 'red')");
        assert_eq!(names(&out), ["lbl"]);
        assert_eq!((out[0].start, out[0].end, out[0].step), (115, 115, 1));
        assert_eq!(vals(&out[0]), [Some(1.0), Some(1.0)]);
        assert_eq!(out[0].options["color"], "red");
        let e = ctx_none().eval_target("verticalLine('90')").unwrap_err();
        assert!(e.to_string().contains("before start of range"), "{e}");
        let e = ctx_none().eval_target("verticalLine('141')").unwrap_err();
        assert!(e.to_string().contains("after end of range"), "{e}");
    }
}

//! `timeStack(seriesList, timeShiftUnit='1d', timeShiftStart=0, timeShiftEnd=7)`: the first
//! argument evaluated again once per shift in `start..end` (each `unit` further into the past),
//! all drawn over the request's range.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::time::parse_offset_seconds;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, timeShiftUnit='1d', timeShiftStart=0, timeShiftEnd=7)",
    description: "Stacks copies of the series shifted back by multiples of timeShiftUnit.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("timeShiftUnit", ParamType::Interval)
            .default(Literal::Str("1d"))
            .suggestions(&[
                Literal::Str("1h"),
                Literal::Str("6h"),
                Literal::Str("12h"),
                Literal::Str("1d"),
                Literal::Str("2d"),
                Literal::Str("7d"),
                Literal::Str("14d"),
                Literal::Str("30d"),
            ]),
        Param::new("timeShiftStart", ParamType::Integer).default(Literal::Int(0)),
        Param::new("timeShiftEnd", ParamType::Integer).default(Literal::Int(7)),
    ],
    run: |ctx, args| {
        let mut unit = args.string(1).unwrap_or("1d").to_string();
        if unit.starts_with(|c: char| c.is_ascii_digit()) {
            unit.insert(0, '-');
        }
        let delta = parse_offset_seconds(&unit)
            .ok_or_else(|| args.bad(format!("invalid interval {unit}")))?;
        let (from, to) = (args.int(2).unwrap_or(0), args.int(3).unwrap_or(7));
        if to.saturating_sub(from) > 1000 {
            return Err(args.bad("at most 1000 shifts"));
        }
        let original = args.series(0);
        let Some(first) = original.first() else {
            return Ok(Vec::new());
        };
        let (start, end) = (first.start, first.end);
        let raw = args
            .call
            .args
            .first()
            .ok_or_else(|| args.bad("missing seriesList"))?;
        let mut out = Vec::new();
        for shift in from..to {
            let d = delta.saturating_mul(shift);
            let c = ctx.with_range(ctx.from.saturating_add(d), ctx.until.saturating_add(d));
            for mut s in c.eval_series(raw)? {
                s.tags.insert("timeShiftUnit".into(), unit.clone());
                s.tags.insert("timeShift".into(), shift.to_string());
                s.name = format!("timeShift({}, {unit}, {shift})", s.name);
                s.path_expression = s.name.clone();
                s.start = start;
                s.end = end;
                out.push(s);
            }
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn one_copy_per_shift() {
        let out = eval("timeStack(t.shift, '10s', 0, 2)");
        assert_eq!(
            names(&out),
            ["timeShift(t.shift, -10s, 0)", "timeShift(t.shift, -10s, 1)"]
        );
        assert_eq!(vals(&out[0])[0], Some(10.0));
        assert_eq!(vals(&out[1])[0], Some(9.0));
        assert_eq!(out[1].start, 100);
    }
}

//! `integralByInterval(seriesList, intervalUnit)`: running sum that restarts at every interval
//! boundary counted from the request's `from`; a null repeats the running sum.

use super::{FunctionDef, Param, ParamType};
use crate::query::time::parse_offset_seconds;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, intervalUnit)",
    description: "The running sum of each series, reset at every intervalUnit from the start of the request.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("intervalUnit", ParamType::String).required(),
    ],
    run: |ctx, args| {
        let unit = args.string(1).unwrap_or_default().to_string();
        let interval = parse_offset_seconds(&unit)
            .map(i64::abs)
            .filter(|i| *i > 0)
            .ok_or_else(|| args.bad(format!("invalid interval {unit}")))?;
        let start_time = ctx.from;
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                let mut t = s.start;
                let mut current = 0.0;
                let values = s
                    .points()
                    .into_iter()
                    .map(|v| {
                        if (t - start_time).div_euclid(interval)
                            != (t - start_time - s.step).div_euclid(interval)
                        {
                            current = 0.0;
                        }
                        if let Some(x) = v {
                            current += x;
                        }
                        t += s.step;
                        Some(current)
                    })
                    .collect();
                s.tags.insert("integralByInterval".into(), unit.clone());
                s.derive(format!("integralByInterval({},'{unit}')", s.name), values)
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn resets_each_interval() {
        // from = 100; a.y = 10, 20, 30, 40 at 100..130
        let out = eval("integralByInterval(a.y, '20s')");
        assert_eq!(names(&out), ["integralByInterval(a.y,'20s')"]);
        assert_eq!(
            vals(&out[0]),
            [Some(10.0), Some(30.0), Some(30.0), Some(70.0)]
        );
    }
}

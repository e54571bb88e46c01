//! `scaleToSeconds(seriesList, seconds)`: values per step rescaled to per `seconds`, rounded
//! to 6 decimals as graphite-web does.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, seconds)",
    description: "Scales per-step values to per-seconds values (value * seconds / step).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("seconds", ParamType::Float).required(),
    ],
    run: |_, args| {
        let seconds = args
            .float(1)
            .ok_or_else(|| args.bad("seconds must be a number"))?;
        let mut list = args.series(0);
        for s in &mut list {
            s.tags
                .insert("scaleToSeconds".into(), format_py_float(seconds));
            s.name = format!("scaleToSeconds({},{})", s.name, seconds.trunc() as i64);
            s.path_expression = s.name.clone();
            let factor = seconds / s.step.max(1) as f64;
            for v in s.values.iter_mut().flatten() {
                *v = super::round::py_round(*v * factor, 6);
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn per_seconds() {
        let out = eval("scaleToSeconds(a.y, 1)");
        assert_eq!(names(&out), ["scaleToSeconds(a.y,1)"]);
        assert_eq!(vals(&out[0]), [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]);
    }
}

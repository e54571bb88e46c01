//! `setXFilesFactor(seriesList, xFilesFactor)` (also `xFilesFactor`): the share of non-null
//! points later consolidation (maxDataPoints, normalize) requires.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList, xFilesFactor)",
    description: "Sets the xFilesFactor used when the series' points are consolidated.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("xFilesFactor", ParamType::Float).required(),
    ],
    run: |_, args| {
        let x = args
            .float(1)
            .ok_or_else(|| args.bad("xFilesFactor must be a number"))?;
        let mut list = args.series(0);
        for s in &mut list {
            s.x_files_factor = x;
            s.tags.insert("xFilesFactor".into(), format_py_float(x));
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::eval;

    #[test]
    fn sets_xff() {
        let out = eval("xFilesFactor(a.x, 0.5)");
        assert_eq!(out[0].x_files_factor, 0.5);
        assert_eq!(out[0].name, "a.x");
    }
}

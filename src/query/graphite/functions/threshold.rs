//! `threshold(value, label=None, color=None)`: a constantLine, optionally renamed.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(value, label=None, color=None)",
    description: "A horizontal line at value, named label when given.",
    params: &[
        Param::new("value", ParamType::Float).required(),
        Param::new("label", ParamType::String),
        Param::new("color", ParamType::String),
    ],
    run: |ctx, args| {
        let mut out = (super::constant_line::DEF.run)(ctx, args)?;
        let label = args.string(1).filter(|l| !l.is_empty()).map(String::from);
        let color = args.string(2).filter(|c| !c.is_empty()).map(String::from);
        for s in &mut out {
            if let Some(l) = &label {
                s.name = l.clone();
            }
            if let Some(c) = &color {
                s.options.insert("color".into(), c.clone());
            }
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn labelled_line() {
        assert_eq!(names(&eval("threshold(5)")), ["5.0"]);
        assert_eq!(names(&eval("threshold(5, 'max', 'red')")), ["max"]);
    }
}

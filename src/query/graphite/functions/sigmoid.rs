//! `sigmoid(seriesList)`: Replaces each value by the logistic sigmoid 1 / (1 + e^-x).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Replaces each value by the logistic sigmoid 1 / (1 + e^-x).",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("sigmoid".into(), "sigmoid".into());
            s.name = format!("sigmoid({})", s.name);
            s.path_expression = s.name.clone();
            s.values = s
                .values
                .iter()
                .map(|v| v.and_then(|x: f64| Some(1.0 / (1.0 + (-x).exp()))))
                .collect();
        }
        Ok(list)
    },
};

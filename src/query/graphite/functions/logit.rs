//! `logit(seriesList)`: Replaces each value by its logit ln(x / (1 - x)); values outside 0..1 become null.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Replaces each value by its logit ln(x / (1 - x)); values outside 0..1 become null.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("logit".into(), "logit".into());
            s.name = format!("logit({})", s.name);
            s.path_expression = s.name.clone();
            s.values = s
                .values
                .iter()
                .map(|v| {
                    v.and_then(|x: f64| {
                        if x == 1.0 {
                            None
                        } else {
                            Some(x / (1.0 - x)).filter(|r| *r > 0.0).map(f64::ln)
                        }
                    })
                })
                .collect();
        }
        Ok(list)
    },
};

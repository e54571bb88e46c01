//! `legendValue(seriesList, *valueTypes)`: appends ` (<type>: <value>)` to names for each
//! aggregation type (`(?)` for an unknown one). The `si`/`binary` unit-formatted form is not
//! implemented yet.

use super::aggregate::agg_func;
use super::{AGG_FUNCS, FunctionDef, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, *valueTypes)",
    description: "Appends the given aggregates of each series (average, max, last...) to its name.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("valuesTypes", ParamType::String)
            .multiple()
            .options(AGG_FUNCS),
    ],
    run: |_, args| {
        let types: Vec<String> = args
            .values_from(1)
            .into_iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        if types.last().is_some_and(|t| t == "si" || t == "binary") {
            return Err(args.bad("unit systems (si, binary) are not supported yet"));
        }
        let mut list = args.series(0);
        for t in &types {
            let f = agg_func(t);
            for s in &mut list {
                let text = match f {
                    Some(f) => f(&s.points()).map_or("None".to_string(), format_py_float),
                    None => "(?)".to_string(),
                };
                s.name = format!("{} ({t}: {text})", s.name);
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn appends_values() {
        assert_eq!(
            names(&eval("legendValue(a.y, 'avg', 'last', 'nope')")),
            ["a.y (avg: 25.0) (last: 40.0) (nope: (?))"]
        );
    }
}

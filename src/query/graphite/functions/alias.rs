//! `alias(seriesList, newName)`: renames every series (graphite-web keeps tags and the path
//! expression).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, newName)",
    description: "Takes a seriesList and applies the given name to every series in it.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("newName", ParamType::String).required(),
    ],
    run: |_, args| {
        let name = args
            .string(1)
            .ok_or_else(|| args.bad("newName must be a string"))?
            .to_string();
        let mut list = args.series(0);
        for s in &mut list {
            s.name = name.clone();
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::eval;

    #[test]
    fn renames_every_series() {
        let out = eval("alias(a.*, 'x')");
        assert_eq!(
            out.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["x", "x"]
        );
        assert_eq!(out[0].path_expression, "a.*");
    }
}

//! `useSeriesAbove(seriesList, value, search, replace)`: for each series whose maximum is
//! above `value`, the series named by substituting `search` with `replace` in its name,
//! fetched over the same range (graphite-web evaluates `group(<names>)`).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, value, search, replace)",
    description: "Fetches, for every series whose maximum is above value, the series named by a regex substitution on its name.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("value", ParamType::Float).required(),
        Param::new("search", ParamType::String).required(),
        Param::new("replace", ParamType::String).required(),
    ],
    run: |ctx, args| {
        let value = args
            .float(1)
            .ok_or_else(|| args.bad("value must be a number"))?;
        let search = args.string(2).unwrap_or_default();
        let re = regex::Regex::new(search).map_err(|e| args.bad(format!("invalid search: {e}")))?;
        let replace = super::alias_sub::python_replacement(args.string(3).unwrap_or_default());
        let names: Vec<String> = args
            .series(0)
            .iter()
            .filter(|s| {
                s.points()
                    .into_iter()
                    .flatten()
                    .reduce(f64::max)
                    .is_some_and(|m| m > value)
            })
            .map(|s| re.replace_all(&s.name, replace.as_str()).into_owned())
            .collect();
        let mut out = Vec::new();
        for n in names {
            out.extend(ctx.fetch(&n)?.into_iter().filter(|s| !s.values.is_empty()));
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn fetches_the_substituted_names() {
        assert_eq!(
            names(&eval("useSeriesAbove(a.*, 5, 'a', 'c')")),
            Vec::<&str>::new()
        );
        assert_eq!(names(&eval(r"useSeriesAbove(a.*, 5, 'y', 'x')")), ["a.x"]);
    }
}

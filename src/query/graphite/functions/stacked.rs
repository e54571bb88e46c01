//! `stacked(seriesLists, stackName='__DEFAULT__')`: each series becomes the running total of
//! the series stacked before it (nulls stay null and add nothing). A named stack continues
//! across the targets of one request, as graphite-web keeps it in its request context; the
//! default stack renames series `stacked(...)`, a named one keeps their names.

use std::collections::BTreeMap;

use super::{FunctionDef, Param, ParamType};

const DEFAULT_STACK: &str = "__DEFAULT__";

pub static DEF: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesLists, stackName='__DEFAULT__')",
    description: "Stacks the series on each other (each is the running total of those before it); a named stack continues across targets.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("stack", ParamType::String),
    ],
    run: |ctx, args| {
        let name = args.string(1).unwrap_or(DEFAULT_STACK).to_string();
        let list = args.series(0);
        let mut local = BTreeMap::new();
        let mut shared = ctx.request.map(|r| r.stacks.borrow_mut());
        let stacks = shared.as_deref_mut().unwrap_or(&mut local);
        let total = stacks.entry(name.clone()).or_default();
        Ok(list
            .into_iter()
            .map(|mut s| {
                let values = s
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        if total.len() <= i {
                            total.push(0.0);
                        }
                        v.map(|x| {
                            total[i] += x;
                            total[i]
                        })
                    })
                    .collect();
                let new_name = if name == DEFAULT_STACK {
                    s.tags.insert("stacked".into(), name.clone());
                    format!("stacked({})", s.name)
                } else {
                    s.name.clone()
                };
                let mut n = s.derive(new_name, values);
                n.options.insert("stacked".into(), "True".into());
                n
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::eval::Request;
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    // expected values: graphite-web's stacked (check_more_functions.py)
    #[test]
    fn running_totals_and_named_stacks_across_targets() {
        let out = eval("stacked(a.*)");
        assert_eq!(names(&out), ["stacked(a.x)", "stacked(a.y)"]);
        assert_eq!(out[1].tags["stacked"], "__DEFAULT__");
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(3.0), Some(4.0)]);
        assert_eq!(
            vals(&out[1]),
            [Some(11.0), Some(20.0), Some(33.0), Some(44.0)]
        );
        let req = Request::default();
        let mut ctx = ctx_none();
        ctx.request = Some(&req);
        let first = ctx.eval_target("stacked(a.x, 'tx')").unwrap();
        assert_eq!(names(&first), ["a.x"]);
        let second = ctx.eval_target("stacked(a.y, 'tx')").unwrap();
        assert_eq!(names(&second), ["a.y"]);
        assert!(!second[0].tags.contains_key("stacked"));
        assert_eq!(
            vals(&second[0]),
            [Some(11.0), Some(20.0), Some(33.0), Some(44.0)]
        );
    }
}

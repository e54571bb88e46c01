//! `groupByTags(seriesList, callback, *tags)`: series grouped by the values of the given tags,
//! each group aggregated with `callback` and named `<name>;tag=value;...` (tags sorted), where
//! `<name>` is the common `name` tag, the callback when names differ, or each series' own name
//! when grouping by `name`.

use std::collections::BTreeSet;

use super::group_by_node::{aggregate_groups, series_function};
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::parse_tags;

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, callback, *tags)",
    description: "Groups series by the given tags and aggregates each group with callback.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("callback", ParamType::AggOrSeriesFunc).required(),
        Param::new("tags", ParamType::Tag).required().multiple(),
    ],
    run: |ctx, args| {
        let callback = args.string(1).unwrap_or_default().to_string();
        let tags: Vec<String> = args
            .values_from(2)
            .into_iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        if tags.is_empty() {
            return Err(args.bad("no tags specified"));
        }
        let list = args.series(0);
        let by_name = tags.iter().any(|t| t == "name");
        // graphite-web builds `tag=` for a series without the tag, then refuses that name
        if let Some((s, t)) = list.iter().find_map(|s| {
            tags.iter()
                .find(|t| *t != "name" && s.tags.get(*t).is_none_or(String::is_empty))
                .map(|t| (s, t))
        }) {
            return Err(args.bad(format!(
                "value for tag \"{t}\" may not be empty (series {})",
                s.name
            )));
        }
        let names: BTreeSet<&str> = list
            .iter()
            .map(|s| s.tags.get("name").map_or("", String::as_str))
            .collect();
        let common = if names.len() == 1 {
            names.into_iter().next().unwrap_or_default().to_string()
        } else {
            callback.clone()
        };
        let keyed = list
            .into_iter()
            .map(|s| {
                let mut parts: Vec<String> = tags
                    .iter()
                    .filter(|t| *t != "name")
                    .map(|t| format!("{t}={}", s.tags.get(t).map_or("", String::as_str)))
                    .collect();
                parts.sort();
                let head = if by_name {
                    s.tags.get("name").cloned().unwrap_or_default()
                } else {
                    common.clone()
                };
                let key = std::iter::once(head)
                    .chain(parts)
                    .collect::<Vec<_>>()
                    .join(";");
                (key, s)
            })
            .collect();
        let mut out =
            aggregate_groups(ctx, keyed, series_function(&callback)).map_err(|m| args.bad(m))?;
        for s in &mut out {
            s.path_expression = s.name.clone();
            s.tags = parse_tags(&s.name);
        }
        Ok(out)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn groups_by_tag_values() {
        let out = eval("groupByTags(cpu;host=web1, 'sum', 'host')");
        assert_eq!(names(&out), ["cpu;host=web1"]);
        assert_eq!(vals(&out[0]), [Some(5.0)]);
        assert_eq!(out[0].tags["host"], "web1");
        // as graphite-web: a series without a grouping tag is an error, not `dc=`
        let err = ctx_none()
            .eval_target("groupByTags(group(cpu;host=web1, a.x), 'sumSeries', 'dc')")
            .unwrap_err();
        assert!(err.to_string().contains("\"dc\" may not be empty"), "{err}");
    }
}

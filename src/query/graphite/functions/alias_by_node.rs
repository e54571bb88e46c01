//! `aliasByNode(seriesList, *nodes)` and `aliasByTags(seriesList, *tags)`: names series by
//! dot-separated nodes of their first path expression (negative from the end) or by tags.

use super::{FunctionDef, Param, ParamType, first_path_expression, node_or_tag};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, *nodes)",
    description: "Names each series by the given nodes of its name (0-based, negative from the end) or tags, joined by dots.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("nodes", ParamType::NodeOrTag)
            .required()
            .multiple(),
    ],
    run: |_, args| {
        let nodes = args.values_from(1);
        let mut list = args.series(0);
        for s in &mut list {
            s.name = agg_key(s, &nodes);
        }
        Ok(list)
    },
};

pub static TAGS_DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, *tags)",
    description: "Names each series by the given tags (or nodes), joined by dots.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("tags", ParamType::NodeOrTag)
            .required()
            .multiple(),
    ],
    run: DEF.run,
};

/// graphite-web's `aggKey`: a name ending in `)` is read for its first path expression.
pub fn agg_key(s: &TimeSeries, nodes: &[Value]) -> String {
    let path = if s.name.ends_with(')') {
        first_path_expression(&s.name)
    } else {
        None
    };
    nodes
        .iter()
        .map(|n| node_or_tag(s, n, path.as_deref()))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn nodes_negative_nodes_and_tags() {
        assert_eq!(names(&eval("aliasByNode(a.*, 1)")), ["x", "y"]);
        assert_eq!(names(&eval("aliasByNode(a.*, 0, -1)")), ["a.x", "a.y"]);
        assert_eq!(names(&eval("aliasByNode(scale(a.x, 2), 1)")), ["x"]);
        assert_eq!(
            names(&eval("aliasByNode(cpu;host=web1, 'host', 0)")),
            ["web1.cpu"]
        );
        assert_eq!(
            names(&eval("aliasByTags(cpu;host=web1, 'host', 'nope')")),
            ["web1."]
        );
        // out of range nodes fall back to a (missing) tag: empty
        assert_eq!(names(&eval("aliasByNode(a.x, 5)")), [""]);
    }
}

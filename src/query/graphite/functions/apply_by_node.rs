//! `applyByNode(seriesList, nodeNum, templateFunction, newName=None)`: for each distinct
//! prefix of the names (nodes up to `nodeNum`), `%` in the template is replaced by the
//! prefix and the result evaluated; `newName` (with `%` replaced too) renames its series.
//! As in graphite-web, every result takes the start and end of the *last* input series and
//! its path expression is the prefix.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(seriesList, nodeNum, templateFunction, newName=None)",
    description: "Evaluates a target template once per distinct name prefix (up to nodeNum), with % replaced by the prefix.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("nodeNum", ParamType::Node).required(),
        Param::new("templateFunction", ParamType::String).required(),
        Param::new("newName", ParamType::String),
    ],
    run: |ctx, args| {
        let node = args
            .int(1)
            .ok_or_else(|| args.bad("nodeNum must be an integer"))?;
        let template = args.string(2).unwrap_or_default().to_string();
        let new_name = args.string(3).filter(|n| !n.is_empty()).map(String::from);
        let list = args.series(0);
        let Some(last) = list.last() else {
            return Ok(Vec::new());
        };
        let (start, end) = (last.start, last.end);
        let mut prefixes: Vec<String> = list.iter().map(|s| prefix(&s.name, node)).collect();
        prefixes.sort_unstable();
        prefixes.dedup();
        let mut out = Vec::new();
        for p in prefixes {
            for mut s in ctx.eval_target(&template.replace('%', &p))? {
                if let Some(n) = &new_name {
                    s.name = n.replace('%', &p);
                }
                s.path_expression = p.clone();
                s.start = start;
                s.end = end;
                out.push(s);
            }
        }
        Ok(out)
    },
};

/// `'.'.join(name.split('.')[:node + 1])` with Python's slice rules for negative ends.
fn prefix(name: &str, node: i64) -> String {
    let parts: Vec<&str> = name.split('.').collect();
    let end = node.saturating_add(1);
    let n = parts.len() as i64;
    let end = if end < 0 {
        (n + end).max(0)
    } else {
        end.min(n)
    };
    parts[..usize::try_from(end).unwrap_or(0)].join(".")
}

#[cfg(test)]
mod tests {
    use super::prefix;
    use crate::query::graphite::functions::tests::{eval, names, vals};

    // expected values: graphite-web's applyByNode (check_more_functions.py)
    #[test]
    fn evaluates_the_template_per_prefix() {
        let out = eval("applyByNode(a.*, 0, 'sumSeries(%.*)', '%.total')");
        assert_eq!(names(&out), ["a.total"]);
        assert_eq!(out[0].path_expression, "a");
        assert_eq!(out[0].tags["name"], "sumSeries(a.*)");
        assert_eq!(
            vals(&out[0]),
            [Some(11.0), Some(20.0), Some(33.0), Some(44.0)]
        );
        let out = eval("applyByNode(a.*, 1, 'scale(%, 2)')");
        assert_eq!(names(&out), ["scale(a.x,2)", "scale(a.y,2)"]);
    }

    #[test]
    fn prefixes_follow_python_slices() {
        assert_eq!(prefix("a.b.c", 1), "a.b");
        assert_eq!(prefix("a.b.c", 9), "a.b.c");
        assert_eq!(prefix("a.b.c", -1), "");
        assert_eq!(prefix("a.b.c", -2), "a.b");
        assert_eq!(prefix("a.b.c", -9), "");
    }
}

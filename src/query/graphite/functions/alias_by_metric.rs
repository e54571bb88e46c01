//! `aliasByMetric(seriesList)`: the last node of the innermost name (graphite-web's
//! `substr(seriesList, -1, 0)`).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList)",
    description: "Names each series by the last node of its metric name.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.name = substr_last(&s.name);
        }
        Ok(list)
    },
};

/// graphite-web's `substr` with start -1: the text between the last `(` and the first `)`,
/// its last dot-separated node, cut at the first comma.
fn substr_last(name: &str) -> String {
    let left = name.rfind('(').map_or(0, |i| i + 1);
    let right = name.find(')').unwrap_or(name.len());
    let clean = if left <= right {
        &name[left..right]
    } else {
        ""
    };
    let last = clean.rsplit('.').next().unwrap_or_default();
    last.split(',').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::substr_last;
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn last_node_of_the_inner_name() {
        assert_eq!(names(&eval("aliasByMetric(a.*)")), ["x", "y"]);
        assert_eq!(substr_last("scale(a.b.c,2)"), "c");
        assert_eq!(substr_last("sumSeries(a.b, c.d)"), "d");
    }
}

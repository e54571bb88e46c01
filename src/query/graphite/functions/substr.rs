//! `substr(seriesList, start=0, stop=0)`: names cut to nodes `start..stop` (Python slice
//! semantics; stop 0 means to the end) of the innermost name, then cut at the first comma.

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList, start=0, stop=0)",
    description: "Names each series by a slice of the nodes of its innermost name.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("start", ParamType::Node).default(Literal::Int(0)),
        Param::new("stop", ParamType::Node).default(Literal::Int(0)),
    ],
    run: |_, args| {
        let (start, stop) = (args.int(1).unwrap_or(0), args.int(2).unwrap_or(0));
        let mut list = args.series(0);
        for s in &mut list {
            s.name = substr(&s.name, start, stop);
        }
        Ok(list)
    },
};

/// Python's `'.'.join(clean.split('.')[start:stop or None])`, cut at the first comma.
pub fn substr(name: &str, start: i64, stop: i64) -> String {
    let left = name.rfind('(').map_or(0, |i| i + 1);
    let right = name.find(')').unwrap_or(name.len());
    let clean = if left <= right {
        &name[left..right]
    } else {
        ""
    };
    let nodes: Vec<&str> = clean.split('.').collect();
    let len = nodes.len() as i64;
    let idx = |i: i64| if i < 0 { (len + i).max(0) } else { i.min(len) };
    let a = idx(start);
    let b = if stop == 0 { len } else { idx(stop) };
    let joined = if a < b {
        nodes[a as usize..b as usize].join(".")
    } else {
        String::new()
    };
    joined.split(',').next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::substr;
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn python_slices_of_nodes() {
        assert_eq!(
            substr("carbon.agents.host.avgUpdateTime", 2, 4),
            "host.avgUpdateTime"
        );
        assert_eq!(substr("scale(a.b.c,2)", 1, 0), "b.c");
        assert_eq!(substr("a.b.c", -1, 0), "c");
        assert_eq!(substr("a.b.c", 5, 0), "");
        assert_eq!(names(&eval("substr(a.*, 1)")), ["x", "y"]);
    }
}

//! `areaBetween(seriesList)`: exactly two series, both renamed `areaBetween(<path>)` after the
//! second's path expression and sharing its tags; the area itself is drawn only on graphs.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::TimeSeries;

pub static DEF: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList)",
    description: "Draws the area between exactly two series (graphs only); both are renamed areaBetween(...).",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let list = args.series(0);
        area_between(list).map_err(|m| args.bad(m))
    },
};

/// graphite-web's `areaBetween` on a list, shared with holtWintersConfidenceArea.
pub fn area_between(mut list: Vec<TimeSeries>) -> Result<Vec<TimeSeries>, String> {
    if list.len() != 2 {
        return Err(format!(
            "series argument must reference exactly 2 series, got {}",
            list.len()
        ));
    }
    list[1].tags.insert("areaBetween".into(), "1".into());
    let tags = list[1].tags.clone();
    let name = format!("areaBetween({})", list[1].path_expression);
    for (i, s) in list.iter_mut().enumerate() {
        s.options.insert("stacked".into(), "True".into());
        if i == 0 {
            s.options.insert("invisible".into(), "True".into());
        }
        s.tags = tags.clone();
        s.name = name.clone();
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{ctx_none, eval, names, vals};

    #[test]
    fn two_series_renamed_after_the_upper_path() {
        let out = eval("areaBetween(a.*)");
        assert_eq!(names(&out), ["areaBetween(a.*)", "areaBetween(a.*)"]);
        assert_eq!(out[0].tags["name"], "a.y");
        assert_eq!(out[0].tags["areaBetween"], "1");
        assert_eq!(out[0].options["invisible"], "True");
        assert_eq!(
            vals(&out[1]),
            [Some(10.0), Some(20.0), Some(30.0), Some(40.0)]
        );
        assert!(ctx_none().eval_target("areaBetween(a.x)").is_err());
    }
}

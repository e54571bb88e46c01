//! Style-only functions (color, alpha, lineWidth, dashed, secondYAxis, drawAsInfinite): they set drawing options
//! that only graphs use; JSON sees their name changes (dashed, secondYAxis) and nothing else.
//! Kept in one file because each is three lines.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::series::{format_g, format_py_float};

pub static COLOR: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList, theColor)",
    description: "Sets the color of each series (graphs only).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("theColor", ParamType::String).required(),
    ],
    run: |_, args| {
        let c = args.string(1).unwrap_or_default().to_string();
        let mut list = args.series(0);
        for s in &mut list {
            s.options.insert("color".into(), c.clone());
        }
        Ok(list)
    },
};

pub static LINE_WIDTH: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList, width)",
    description: "Sets the line width of each series (graphs only).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("width", ParamType::Float).required(),
    ],
    run: |_, args| {
        let w = args.float(1).unwrap_or(1.0);
        let mut list = args.series(0);
        for s in &mut list {
            s.options.insert("lineWidth".into(), format_py_float(w));
        }
        Ok(list)
    },
};

pub static DASHED: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList, dashLength=5)",
    description: "Draws each series dashed (graphs only); the name records it.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        // graphite-web's schema says integer, yet its own example (and its code) take 2.5
        Param::new("dashLength", ParamType::Float).default(Literal::Int(5)),
    ],
    run: |_, args| {
        let len = args.float(1).unwrap_or(5.0);
        let mut list = args.series(0);
        for s in &mut list {
            let l = format_g(len);
            s.tags.insert("dashed".into(), l.clone());
            s.options.insert("dashed".into(), l.clone());
            s.name = format!("dashed({}, {l})", s.name);
        }
        Ok(list)
    },
};

pub static SECOND_Y_AXIS: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList)",
    description: "Draws each series against the second Y axis (graphs only); the name records it.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.options.insert("secondYAxis".into(), "True".into());
            s.tags.insert("secondYAxis".into(), "1".into());
            s.name = format!("secondYAxis({})", s.name);
        }
        Ok(list)
    },
};

pub static ALPHA: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList, alpha)",
    description: "Sets the opacity of each series (graphs only).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("alpha", ParamType::Float).required(),
    ],
    run: |_, args| {
        let a = args.float(1).unwrap_or(1.0);
        let mut list = args.series(0);
        for s in &mut list {
            s.options.insert("alpha".into(), format_py_float(a));
        }
        Ok(list)
    },
};

pub static DRAW_AS_INFINITE: FunctionDef = FunctionDef {
    group: "Graph",
    signature: "(seriesList)",
    description: "Draws non-zero values as vertical lines (graphs only); the name records it.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.options.insert("drawAsInfinite".into(), "True".into());
            s.tags.insert("drawAsInfinite".into(), "1".into());
            s.name = format!("drawAsInfinite({})", s.name);
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn style_only_names() {
        assert_eq!(names(&eval("color(a.x, 'red')")), ["a.x"]);
        assert_eq!(names(&eval("lineWidth(a.x, 2)")), ["a.x"]);
        assert_eq!(names(&eval("dashed(a.x)")), ["dashed(a.x, 5)"]);
        assert_eq!(names(&eval("dashed(a.x, 2.5)")), ["dashed(a.x, 2.5)"]);
        assert_eq!(names(&eval("secondYAxis(a.x)")), ["secondYAxis(a.x)"]);
        assert_eq!(names(&eval("alpha(a.x, 0.5)")), ["a.x"]);
        assert_eq!(names(&eval("drawAsInfinite(a.x)")), ["drawAsInfinite(a.x)"]);
    }
}

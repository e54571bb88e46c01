//! `legendValue(seriesList, *valueTypes)`: appends ` (<type>: <value>)` to names for each
//! aggregation type (`(?)` for an unknown one). With a last argument `si` or `binary` the
//! values are scaled to that unit system and laid out in graphite-web's columns
//! (`%-20s%-5s%-10s`).

use super::aggregate::agg_func;
use super::{AGG_FUNCS, FunctionDef, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, *valueTypes)",
    description: "Appends the given aggregates of each series (average, max, last...) to its name.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("valuesTypes", ParamType::String)
            .multiple()
            .options(AGG_FUNCS),
    ],
    run: |_, args| {
        let types: Vec<String> = args
            .values_from(1)
            .into_iter()
            .filter_map(|v| match v {
                Value::Str(s) => Some(s),
                _ => None,
            })
            .collect();
        let mut types = types;
        let system = match types.last().map(String::as_str) {
            Some(sys @ ("si" | "binary")) => {
                let sys = sys.to_string();
                types.pop();
                Some(sys)
            }
            _ => None,
        };
        let mut list = args.series(0);
        for t in &types {
            let f = agg_func(t);
            for s in &mut list {
                if let Some(sys) = &system {
                    let text = match f {
                        Some(f) => f(&s.points()).map_or("None".to_string(), |v| {
                            let (v, prefix) = format_units(v, sys);
                            format!("{v:.2}{prefix}")
                        }),
                        None => "(?)".to_string(),
                    };
                    s.name = format!("{:<20}{t:<5}{text:<10}", s.name);
                    continue;
                }
                let text = match f {
                    // graphite-web's count is a Python int: `52`, not `52.0`
                    Some(f) if t == "count" => {
                        f(&s.points()).map_or("None".to_string(), |v| format!("{}", v as i64))
                    }
                    Some(f) => f(&s.points()).map_or("None".to_string(), format_py_float),
                    None => "(?)".to_string(),
                };
                s.name = format!("{} ({t}: {text})", s.name);
            }
        }
        Ok(list)
    },
};

/// graphite-web's `format_units`: `v` scaled by the largest prefix of `system` (`si`: k M G
/// T P by 1000, `binary`: Ki Mi Gi Ti Pi by 1024) not above `|v|`, snapped down to an integer
/// when within 1e-11 above one (and `v > 1`).
pub fn format_units(v: f64, system: &str) -> (f64, &'static str) {
    const SI: [(&str, f64); 5] = [("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)];
    const BINARY: [(&str, f64); 5] = [
        ("Pi", 1_125_899_906_842_624.0),
        ("Ti", 1_099_511_627_776.0),
        ("Gi", 1_073_741_824.0),
        ("Mi", 1_048_576.0),
        ("Ki", 1024.0),
    ];
    let table: &[(&'static str, f64)] = if system == "binary" { &BINARY } else { &SI };
    let snap = |x: f64| {
        if x - x.floor() < 0.000_000_000_01 && v > 1.0 {
            x.floor()
        } else {
            x
        }
    };
    for &(prefix, size) in table {
        if v.abs() >= size {
            return (snap(v / size), prefix);
        }
    }
    (snap(v), "")
}

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn appends_values() {
        assert_eq!(
            names(&eval("legendValue(a.y, 'avg', 'last', 'nope')")),
            ["a.y (avg: 25.0) (last: 40.0) (nope: (?))"]
        );
        assert_eq!(
            names(&eval("legendValue(a.x, 'count', 'sum')")),
            ["a.x (count: 3) (sum: 8.0)"]
        );
    }

    #[test]
    fn unit_systems_scale_and_pad_as_graphite_web() {
        // a.y = 10, 20, 30, 40 ; graphite-web: "%-20s%-5s%-10s" % (name, type, "%.2f%s")
        assert_eq!(
            names(&eval("legendValue(scale(a.y, 100), 'last', 'si')")),
            ["scale(a.y,100)      last 4.00k     "]
        );
        assert_eq!(
            names(&eval(
                "legendValue(scale(a.y, 1024), 'max', 'avg', 'binary')"
            )),
            ["scale(a.y,1024)     max  40.00Ki   avg  25.00Ki   "]
        );
        assert_eq!(super::format_units(1536.0, "binary"), (1.5, "Ki"));
        assert_eq!(super::format_units(-2500.0, "si"), (-2.5, "k"));
        assert_eq!(super::format_units(999.0, "si"), (999.0, ""));
    }
}

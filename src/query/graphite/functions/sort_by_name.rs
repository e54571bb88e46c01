//! `sortByName(seriesList, natural=False, reverse=False)`: by name; `natural` compares digit
//! runs as numbers (graphite-web zero-pads them to ten digits).

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Sorting",
    signature: "(seriesList, natural=False, reverse=False)",
    description: "Sorts series by name; natural sorts numbers inside names by value.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("natural", ParamType::Boolean).default(Literal::Bool(false)),
        Param::new("reverse", ParamType::Boolean).default(Literal::Bool(false)),
    ],
    run: |_, args| {
        let natural = args.bool_or(1, false);
        let reverse = args.bool_or(2, false);
        let list = args.series(0);
        let mut keyed: Vec<(String, _)> = list
            .into_iter()
            .map(|s| {
                let k = if natural {
                    natural_key(&s.name)
                } else {
                    s.name.clone()
                };
                (k, s)
            })
            .collect();
        if reverse {
            keyed.sort_by(|a, b| b.0.cmp(&a.0));
        } else {
            keyed.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Ok(keyed.into_iter().map(|(_, s)| s).collect())
    },
};

/// Digit runs as `"{:010}".format(int(run))`: leading zeros dropped, padded to ten digits.
fn natural_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 16);
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if !digits.is_empty() {
            let trimmed = digits.trim_start_matches('0');
            let v = if trimmed.is_empty() { "0" } else { trimmed };
            out.push_str(&format!("{v:0>10}"));
            digits.clear();
        }
    };
    for c in name.chars() {
        // Python's \d matches Unicode digits too; ASCII is what metric names use
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::natural_key;
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn sorts_plain_reverse_and_natural() {
        assert_eq!(
            names(&eval("sortByName(a.*, reverse=True)")),
            ["a.y", "a.x"]
        );
        assert_eq!(natural_key("web10.cpu007"), "web0000000010.cpu0000000007");
        assert!(natural_key("web2") < natural_key("web10"));
    }
}

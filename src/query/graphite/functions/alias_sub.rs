//! `aliasSub(seriesList, search, replace)`: Python's `re.sub` on each name; `\1` and
//! `\g<name>` back-references are translated to the regex crate's `${1}` and `${name}`.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, search, replace)",
    description: "Renames series by a regular expression substitution on their names.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("search", ParamType::String).required(),
        Param::new("replace", ParamType::String).required(),
    ],
    run: |_, args| {
        let search = args
            .string(1)
            .ok_or_else(|| args.bad("search must be a string"))?;
        let re = regex::Regex::new(search).map_err(|e| args.bad(format!("invalid search: {e}")))?;
        let replace = python_replacement(args.string(2).unwrap_or_default());
        let mut list = args.series(0);
        for s in &mut list {
            s.name = re.replace_all(&s.name, replace.as_str()).into_owned();
        }
        Ok(list)
    },
};

/// Python replacement syntax to the regex crate's: `\N`, `\g<N>`, `\g<name>` become `${..}`,
/// `$` is escaped, `\\` is a backslash.
pub fn python_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len());
    let mut chars = r.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut n = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        n.push(d);
                        chars.next();
                        if n.len() == 2 {
                            break;
                        }
                    }
                    out.push_str(&format!("${{{n}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|c| *c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::python_replacement;
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn substitutes_with_python_backrefs() {
        assert_eq!(
            names(&eval(r"aliasSub(a.*, '^a\.(\w)$', 'node-\1')")),
            ["node-x", "node-y"]
        );
        assert_eq!(python_replacement(r"\g<1>$"), "${1}$$");
    }
}

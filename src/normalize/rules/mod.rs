//! Rule-driven field extraction (`parsers/*.toml`, format in `parsers/README.md`):
//! [`format`] is the file schema, [`pattern`] compiles patterns to linear-time regexes,
//! [`engine`] indexes rules by app and matches them.

pub mod engine;
pub mod format;
pub mod pattern;

use std::collections::BTreeMap;
use std::path::Path;

pub use engine::{LoadError, MatchInfo, RuleSet, run_file_tests};

/// The library file's name; every other `*.toml` in a parsers directory is a rule file.
pub const LIBRARY_FILE: &str = "patterns.toml";

/// The shipped library, compiled in so a fresh `telltale serve` has it without `parsers/`.
pub const SHIPPED_LIBRARY: &str = include_str!("../../../parsers/patterns.toml");

/// Embeds `parsers/<name>` for each name.
macro_rules! shipped {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../../parsers/", $name)))),*]
    };
}

/// The shipped rule files `(name, text)`, compiled in for the same reason.
pub const SHIPPED: &[(&str, &str)] = shipped![
    "sshd.toml",
    "pam_unix.toml",
    "apache.toml",
    "sudo.toml",
    "su.toml",
    "cron.toml",
    "systemd.toml",
    "kernel.toml",
    "postfix.toml",
    "nginx.toml",
    "php-fpm.toml",
    "mysql.toml",
    "redis.toml",
    "haproxy.toml",
    "monit.toml",
    "ftpd.toml",
];

/// The texts a rule set is built from: the pattern library and the rule files `(name, text)`
/// in name order. Building is deterministic, so the same sources give the same rules (the
/// archive keeps a copy of them to re-derive fields on read).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sources {
    pub library: String,
    pub files: Vec<(String, String)>,
}

impl Sources {
    /// Compiles the rules; errors name file and line, and the rules that compile are kept.
    pub fn build(&self) -> (RuleSet, Vec<LoadError>) {
        match engine::parse_library(LIBRARY_FILE, &self.library) {
            Ok(library) => RuleSet::build(&self.files, &library),
            Err(e) => {
                let library =
                    engine::parse_library(LIBRARY_FILE, SHIPPED_LIBRARY).unwrap_or_default();
                let (set, mut errors) = RuleSet::build(&self.files, &library);
                errors.insert(0, e);
                (set, errors)
            }
        }
    }
}

/// Builds the rule set from the shipped files overlaid by `dir` (when given and present): a
/// file in `dir` replaces the shipped file of the same name, so an operator can edit a copy,
/// and new files add rules. Errors never stop loading; they are returned for the caller to log.
pub fn load(dir: Option<&Path>) -> (RuleSet, Vec<LoadError>) {
    let (sources, mut errors) = load_sources(dir);
    let (set, mut errs) = sources.build();
    errors.append(&mut errs);
    (set, errors)
}

/// The sources [`load`] builds from (a library that does not parse is replaced by the shipped
/// one here, so the sources build exactly the rules in use).
pub fn load_sources(dir: Option<&Path>) -> (Sources, Vec<LoadError>) {
    let mut errors = Vec::new();
    let mut files: BTreeMap<String, String> = SHIPPED
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let mut library_text = SHIPPED_LIBRARY.to_string();
    if let Some(dir) = dir
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !name.ends_with(".toml") {
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(text) if name == LIBRARY_FILE => library_text = text,
                Ok(text) => {
                    files.insert(name.to_string(), text);
                }
                Err(e) => errors.push(LoadError {
                    file: path.display().to_string(),
                    line: 0,
                    reason: e.to_string(),
                }),
            }
        }
    }
    if let Err(e) = engine::parse_library(LIBRARY_FILE, &library_text) {
        errors.push(e);
        library_text = SHIPPED_LIBRARY.to_string();
    }
    let sources = Sources {
        library: library_text,
        files: files.into_iter().collect(),
    };
    (sources, errors)
}

#[cfg(test)]
mod tests;

//! The on-disk rule format (`parsers/*.toml`, documented in `parsers/README.md`). Every table
//! denies unknown keys so a typo (`pattern =` for `patterns =`) is an error at startup rather
//! than a rule that silently never matches.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// One rule file: rules plus the sample lines that prove them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    #[serde(default)]
    pub rule: Vec<Spanned<RuleDef>>,
    #[serde(default)]
    pub test: Vec<TestCase>,
}

/// A rule: which programs it applies to and the patterns tried in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub name: String,
    /// Program names, case-insensitive; an entry ending in `/` or `*` is a prefix
    /// (`postfix/` matches `postfix/smtpd`).
    pub apps: Vec<String>,
    /// Patterns in the rule language; the first that matches wins.
    pub patterns: Vec<Spanned<String>>,
    /// Constant fields added when the rule matches (tags such as `event = "auth_failure"`).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Severity the record gets when the rule matches (a name such as `warning` or 0-7).
    #[serde(default)]
    pub severity: Option<String>,
    /// A captured field whose value, when it names a severity (`error`, `warn`, `crit`...),
    /// becomes the record's severity: programs that write their own level (Apache, nginx,
    /// PHP-FPM) often log everything at one syslog priority.
    #[serde(default)]
    pub severity_from: Option<String>,
}

/// A sample line and what the rules must extract from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub app: String,
    pub message: String,
    /// Fields that must be extracted with exactly these values (others may be present too).
    #[serde(default)]
    pub expect: BTreeMap<String, String>,
    /// The rule that must match.
    #[serde(default)]
    pub expect_rule: Option<String>,
    /// The line must match no rule (a negative case).
    #[serde(default)]
    pub no_match: bool,
    /// The severity the record must get (name), when the rule overrides it.
    #[serde(default)]
    pub expect_severity: Option<String>,
}

/// The named-pattern library (`parsers/patterns.toml`): `NAME = "regex"` entries under
/// `[patterns]`. Values are regular expressions (they may use `%{...}` themselves).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternLibraryFile {
    #[serde(default)]
    pub patterns: BTreeMap<String, String>,
}

//! The matcher: rules compiled once at startup, indexed by app so a line from a program with no
//! rules costs one hash lookup, and prefiltered by a required literal so most non-matching
//! patterns never reach the regex engine.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use regex::bytes::{CaptureLocations, RegexSet, RegexSetBuilder};

use super::format::{PatternLibraryFile, RuleFile};
use super::pattern::{self, CompiledPattern};

/// A rule file or rule that could not be loaded; the rest still load.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{file}:{line}: {reason}")]
pub struct LoadError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    /// The file it came from, for stats and test reports.
    pub file: String,
    patterns: Vec<CompiledPattern>,
    constants: Vec<(String, String)>,
    severity: Option<u8>,
    severity_from: Option<String>,
    hits: AtomicU64,
}

/// The rules for one app key, with its miss counter.
#[derive(Debug, Default)]
struct AppRules {
    rules: Vec<usize>,
    misses: AtomicU64,
    /// Every pattern of `rules` in order, as one set: a single automaton pass says which
    /// patterns match, so only those run the (slower) capture engine.
    set: Option<RegexSet>,
    /// Set index → (rule, pattern within the rule).
    slots: Vec<(usize, usize)>,
}

/// What a successful match gives the caller besides the fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchInfo {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    pub severity: Option<u8>,
}

/// Every loaded rule, indexed for matching.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Lowercased exact app name → rules.
    exact: HashMap<String, AppRules>,
    /// Lowercased app prefixes (from `postfix/` or `php-fpm*`) → rules; scanned only after the
    /// exact lookup, and short.
    prefixes: Vec<(String, AppRules)>,
    /// Lines whose app has no rule at all.
    no_rules: AtomicU64,
}

/// Byte offset → 1-based line number.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses the named-pattern library; errors are reported like rule-file errors.
pub fn parse_library(file: &str, text: &str) -> Result<BTreeMap<String, String>, LoadError> {
    toml::from_str::<PatternLibraryFile>(text)
        .map(|l| l.patterns)
        .map_err(|e| LoadError {
            file: file.to_string(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            reason: e.message().to_string(),
        })
}

impl RuleSet {
    /// Compiles rule files `(file name, text)` against the library. A file that is not valid
    /// TOML is skipped whole; a rule whose pattern or severity is bad is skipped alone. Either
    /// way the error names file, line and reason and everything else loads.
    pub fn build(
        files: &[(String, String)],
        library: &BTreeMap<String, String>,
    ) -> (RuleSet, Vec<LoadError>) {
        let mut set = RuleSet::default();
        let mut errors = Vec::new();
        for (file, text) in files {
            let parsed: RuleFile = match toml::from_str(text) {
                Ok(p) => p,
                Err(e) => {
                    errors.push(LoadError {
                        file: file.clone(),
                        line: e.span().map_or(1, |s| line_of(text, s.start)),
                        reason: e.message().to_string(),
                    });
                    continue;
                }
            };
            for spanned in parsed.rule {
                let rule_line = line_of(text, spanned.span().start);
                let def = spanned.into_inner();
                let err = |line: usize, reason: String| LoadError {
                    file: file.clone(),
                    line,
                    reason: format!("rule {:?}: {reason}", def.name),
                };
                let severity = match &def.severity {
                    None => None,
                    Some(s) => match crate::model::severity_from_str(s) {
                        Some(n) => Some(n),
                        None => {
                            errors.push(err(rule_line, format!("unknown severity {s:?}")));
                            continue;
                        }
                    },
                };
                if set.rules.iter().any(|r| r.name == def.name) {
                    errors.push(err(rule_line, "duplicate rule name".into()));
                    continue;
                }
                if def.apps.is_empty() || def.patterns.is_empty() {
                    errors.push(err(
                        rule_line,
                        "needs at least one app and one pattern".into(),
                    ));
                    continue;
                }
                let mut patterns = Vec::with_capacity(def.patterns.len());
                let mut bad = false;
                for p in &def.patterns {
                    match pattern::compile(p.get_ref(), library) {
                        Ok(c) => patterns.push(c),
                        Err(e) => {
                            errors.push(err(line_of(text, p.span().start), e.to_string()));
                            bad = true;
                        }
                    }
                }
                if bad {
                    continue;
                }
                let idx = set.rules.len();
                for app in &def.apps {
                    let key = app.to_ascii_lowercase();
                    if let Some(prefix) = key.strip_suffix('*') {
                        set.prefix_entry(prefix).rules.push(idx);
                    } else if key.ends_with('/') {
                        set.prefix_entry(&key).rules.push(idx);
                    } else {
                        set.exact.entry(key).or_default().rules.push(idx);
                    }
                }
                set.rules.push(Rule {
                    name: def.name,
                    file: file.clone(),
                    patterns,
                    constants: def.fields.into_iter().collect(),
                    severity,
                    severity_from: def.severity_from,
                    hits: AtomicU64::new(0),
                });
            }
        }
        set.build_sets(&mut errors);
        (set, errors)
    }

    /// Builds each app's pattern set. A set too large to compile (it cannot happen with the
    /// shipped rules) leaves that app on the one-pattern-at-a-time path.
    fn build_sets(&mut self, errors: &mut Vec<LoadError>) {
        let rules = &self.rules;
        let entries = self
            .exact
            .iter_mut()
            .map(|(k, v)| (k.as_str(), v))
            .chain(self.prefixes.iter_mut().map(|(k, v)| (k.as_str(), v)));
        for (app, entry) in entries {
            let mut slots = Vec::new();
            let mut sources = Vec::new();
            for &ri in &entry.rules {
                for (pi, p) in rules[ri].patterns.iter().enumerate() {
                    slots.push((ri, pi));
                    sources.push(p.regex.as_str().to_string());
                }
            }
            match RegexSetBuilder::new(&sources).unicode(false).build() {
                Ok(set) => {
                    entry.set = Some(set);
                    entry.slots = slots;
                }
                Err(e) => errors.push(LoadError {
                    file: String::from("(rules for app)"),
                    line: 0,
                    reason: format!("pattern set for {app:?} does not compile: {e}"),
                }),
            }
        }
    }

    fn prefix_entry(&mut self, prefix: &str) -> &mut AppRules {
        let pos = match self.prefixes.iter().position(|(p, _)| p == prefix) {
            Some(pos) => pos,
            None => {
                self.prefixes
                    .push((prefix.to_string(), AppRules::default()));
                self.prefixes.len() - 1
            }
        };
        &mut self.prefixes[pos].1
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Tries the rules for `app` on `message`; on a match appends the extracted and constant
    /// fields to `out` and says which rule matched. Counts hits and misses.
    pub fn apply(
        &self,
        app: &str,
        message: &str,
        out: &mut Vec<(String, String)>,
    ) -> Option<MatchInfo> {
        let exact = if app.bytes().any(|b| b.is_ascii_uppercase()) {
            self.exact.get(&app.to_ascii_lowercase())
        } else {
            self.exact.get(app)
        };
        let mut counter = None;
        if let Some(entry) = exact {
            counter = Some(&entry.misses);
            if let Some(m) = self.try_app(entry, message, out) {
                return Some(m);
            }
        }
        for (prefix, entry) in &self.prefixes {
            let matches = app.len() >= prefix.len()
                && app.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes());
            if matches {
                counter.get_or_insert(&entry.misses);
                if let Some(m) = self.try_app(entry, message, out) {
                    return Some(m);
                }
            }
        }
        counter
            .unwrap_or(&self.no_rules)
            .fetch_add(1, Ordering::Relaxed);
        None
    }

    fn try_app(
        &self,
        entry: &AppRules,
        message: &str,
        out: &mut Vec<(String, String)>,
    ) -> Option<MatchInfo> {
        let Some(set) = &entry.set else {
            return self.try_rules(&entry.rules, message, out);
        };
        let mut locs: Option<CaptureLocations> = None;
        for slot in set.matches(message.as_bytes()).iter() {
            let (ri, pi) = entry.slots[slot];
            if let Some(m) = self.try_pattern(ri, pi, message, out, &mut locs) {
                return Some(m);
            }
        }
        None
    }

    fn try_rules(
        &self,
        rules: &[usize],
        message: &str,
        out: &mut Vec<(String, String)>,
    ) -> Option<MatchInfo> {
        let mut locs: Option<CaptureLocations> = None;
        for &idx in rules {
            for pi in 0..self.rules[idx].patterns.len() {
                if !self.rules[idx].patterns[pi].may_match(message) {
                    continue;
                }
                if let Some(m) = self.try_pattern(idx, pi, message, out, &mut locs) {
                    return Some(m);
                }
            }
        }
        None
    }

    /// Runs one pattern's captures; on success appends fields and counts the hit.
    fn try_pattern(
        &self,
        idx: usize,
        pi: usize,
        message: &str,
        out: &mut Vec<(String, String)>,
        locs: &mut Option<CaptureLocations>,
    ) -> Option<MatchInfo> {
        let rule = &self.rules[idx];
        let p = &rule.patterns[pi];
        // reuse the locations buffer when the previous pattern had the same shape
        let l = match locs {
            Some(l) if l.len() == p.regex.captures_len() => l,
            _ => locs.insert(p.regex.capture_locations()),
        };
        p.regex.captures_read(l, message.as_bytes())?;
        let start = out.len();
        for c in &p.captures {
            let Some((s, e)) = l.get(c.group) else {
                continue;
            };
            // blanks around a value are column padding, and an empty capture
            // (`logname=`) is no value rather than an empty one
            let Some(v) = message.get(s..e).map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            match pattern::convert(c.kind, v) {
                Some(v) => out.push((c.field.clone(), v)),
                None => {
                    out.truncate(start);
                    return None;
                }
            }
        }
        let captured = rule.severity_from.as_ref().and_then(|name| {
            out[start..]
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| crate::model::severity_from_str(v))
        });
        out.extend(rule.constants.iter().cloned());
        rule.hits.fetch_add(1, Ordering::Relaxed);
        Some(MatchInfo {
            rule: idx,
            severity: captured.or(rule.severity),
        })
    }

    /// Hit counts per rule and miss counts per app key, for `/api/parsers/stats`.
    pub fn stats(&self) -> serde_json::Value {
        let rules: Vec<serde_json::Value> = self
            .rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "file": r.file,
                    "rule": r.name,
                    "hits": r.hits.load(Ordering::Relaxed),
                })
            })
            .collect();
        let mut misses = serde_json::Map::new();
        for (app, e) in &self.exact {
            misses.insert(app.clone(), e.misses.load(Ordering::Relaxed).into());
        }
        for (p, e) in &self.prefixes {
            misses.insert(format!("{p}*"), e.misses.load(Ordering::Relaxed).into());
        }
        serde_json::json!({
            "rules": rules,
            "misses": misses,
            "no_rules": self.no_rules.load(Ordering::Relaxed),
        })
    }
}

/// Runs a rule file's `[[test]]` cases against `set` (normally every shipped rule, as a user
/// gets them); returns one line per failing case.
pub fn run_file_tests(file: &str, text: &str, set: &RuleSet) -> Vec<String> {
    let parsed: RuleFile = match toml::from_str(text) {
        Ok(p) => p,
        Err(e) => return vec![format!("{file}: {}", e.message())],
    };
    let mut failures = Vec::new();
    for (i, case) in parsed.test.iter().enumerate() {
        let mut fields = Vec::new();
        let m = set.apply(&case.app, &case.message, &mut fields);
        let label = format!("{file} test #{} ({:?})", i + 1, case.message);
        match m {
            None if case.no_match => {}
            Some(m) if case.no_match => failures.push(format!(
                "{label}: expected no match, rule {:?} matched",
                set.rules[m.rule].name
            )),
            None => failures.push(format!("{label}: no rule matched")),
            Some(m) => {
                let rule = &set.rules[m.rule].name;
                if let Some(want) = &case.expect_rule
                    && want != rule
                {
                    failures.push(format!("{label}: rule {rule:?} matched, want {want:?}"));
                }
                for (k, v) in &case.expect {
                    let got = fields.iter().find(|(fk, _)| fk == k).map(|(_, v)| v);
                    if got != Some(v) {
                        failures.push(format!(
                            "{label}: rule {rule:?}: field {k}: got {got:?}, want {v:?}"
                        ));
                    }
                }
                if let Some(want) = &case.expect_severity {
                    let want = crate::model::severity_from_str(want);
                    if want != m.severity {
                        failures.push(format!(
                            "{label}: rule {rule:?}: severity {:?}, want {want:?}",
                            m.severity
                        ));
                    }
                }
            }
        }
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> (RuleSet, Vec<LoadError>) {
        RuleSet::build(
            &[("t.toml".to_string(), text.to_string())],
            &BTreeMap::new(),
        )
    }

    const RULES: &str = r#"
[[rule]]
name = "failed"
apps = ["sshd"]
patterns = ["Failed password for %{notspace:user} from %{ip:client_ip} port %{int:client_port} ssh2"]
fields = { event = "auth_failure" }
severity = "warning"

[[rule]]
name = "pf"
apps = ["postfix/"]
patterns = ["connect from %{notspace:client}"]
"#;

    #[test]
    fn matches_and_counts() {
        let (s, errs) = set(RULES);
        assert!(errs.is_empty(), "{errs:?}");
        let mut f = Vec::new();
        let m = s
            .apply(
                "SSHD",
                "Failed password for root from 1.2.3.4 port 22 ssh2",
                &mut f,
            )
            .unwrap();
        assert_eq!(m.severity, Some(4));
        assert_eq!(f.len(), 4);
        assert_eq!(f[3], ("event".to_string(), "auth_failure".to_string()));
        assert!(s.apply("sshd", "something else", &mut f).is_none());
        assert!(s.apply("nginx", "x", &mut f).is_none());
        assert!(
            s.apply("postfix/smtpd", "connect from a.b[1.2.3.4]", &mut f)
                .is_some()
        );
        let st = s.stats();
        assert_eq!(st["no_rules"], 1);
        assert_eq!(st["misses"]["sshd"], 1);
        assert_eq!(st["rules"][0]["hits"], 1);
    }

    #[test]
    fn severity_from_a_capture_and_duplicate_names() {
        let (s, errs) = set(
            "[[rule]]\nname = \"lvl\"\napps = [\"x\"]\npatterns = [\"[%{word:level}] %{rest}\"]\n\
             severity_from = \"level\"\nseverity = \"info\"\n\
             [[rule]]\nname = \"lvl\"\napps = [\"y\"]\npatterns = [\"y\"]\n",
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(errs[0].reason.contains("duplicate"), "{errs:?}");
        let mut f = Vec::new();
        assert_eq!(
            s.apply("x", "[ERROR] boom", &mut f).unwrap().severity,
            Some(3)
        );
        // a level that names no severity falls back to the constant
        assert_eq!(s.apply("x", "[Note] hi", &mut f).unwrap().severity, Some(6));
    }

    #[test]
    fn bad_rules_report_line_and_others_load() {
        let text = format!(
            "{RULES}\n[[rule]]\nname = \"bad\"\napps = [\"x\"]\npatterns = [\"%{{nope:x}}\"]\n"
        );
        let (s, errs) = set(&text);
        assert_eq!(s.rules().len(), 2);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 17, "{errs:?}");
        assert!(errs[0].to_string().starts_with("t.toml:17: rule \"bad\""));
        let (s, errs) = set("[[rule]]\nname = \"x\"\napps = [\"a\"]\npatern = [\"y\"]\n");
        assert_eq!(s.rules().len(), 0);
        assert_eq!(errs[0].line, 4, "{errs:?}");
    }
}

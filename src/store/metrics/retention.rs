//! Rollup and retention rules in Graphite's own formats, so operators keep the
//! `storage-schemas.conf` and `storage-aggregation.conf` they already have.
//!
//! Semantics follow carbon and whisper: sections are tried in file order, the first whose
//! `pattern` regex *searches* (not anchors) the series name wins; a name matching nothing gets
//! carbon's defaults (one minute for seven days; `average` with xFilesFactor 0.5). Retentions
//! are `precision:points` where either side may carry a unit (`s`, `m`/`min`, `h`, `d`, `w`,
//! `y`: any prefix of seconds … years, as whisper's `getUnitString` accepts) and a unit on the
//! right means a duration, divided by the precision. Archive lists are checked as whisper's
//! `validateArchiveList` does, so a file whisper rejects is rejected here too.

use std::path::Path;

use regex::Regex;

/// Errors reading a rules file: always with file and line, so the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}: {reason}")]
    Syntax {
        file: String,
        line: usize,
        reason: String,
    },
}

/// One archive of a series: a point every `step` seconds, `points` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Archive {
    pub step: i64,
    pub points: i64,
}

impl Archive {
    /// How far back this archive reaches, in seconds.
    pub fn retention(&self) -> i64 {
        self.step * self.points
    }
}

/// How a coarser archive's slot is computed from the finer one's (whisper's `aggregate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    Average,
    Sum,
    Last,
    Max,
    Min,
    /// Sum of known values over all slots, unknown counted as zero.
    AvgZero,
    AbsMax,
    AbsMin,
}

impl Aggregation {
    pub fn parse(s: &str) -> Option<Aggregation> {
        Some(match s {
            "average" | "avg" => Aggregation::Average,
            "sum" => Aggregation::Sum,
            "last" => Aggregation::Last,
            "max" => Aggregation::Max,
            "min" => Aggregation::Min,
            "avg_zero" => Aggregation::AvgZero,
            "absmax" => Aggregation::AbsMax,
            "absmin" => Aggregation::AbsMin,
            _ => return None,
        })
    }

    /// Whisper's `__propagate`: `None` (nothing written to the coarser archive) when no finer
    /// slot is known or when fewer than `xff` of them are.
    pub fn rollup(self, slots: &[Option<f64>], xff: f64) -> Option<f64> {
        // no vector of the known values: a read of the head rolls up every touched slot
        let known = || slots.iter().flatten();
        let count = known().count();
        if count == 0 || slots.is_empty() {
            return None;
        }
        if (count as f64) / (slots.len() as f64) < xff {
            return None;
        }
        let sum = || known().sum::<f64>();
        let by_abs = |pick_max: bool| {
            let mut rest = known().copied();
            let mut best = rest.next().unwrap_or_default();
            for v in rest {
                // python's max/min keep the first of equals
                if (pick_max && v.abs() > best.abs()) || (!pick_max && v.abs() < best.abs()) {
                    best = v;
                }
            }
            best
        };
        Some(match self {
            Aggregation::Average => sum() / count as f64,
            Aggregation::Sum => sum(),
            Aggregation::Last => known().last().copied().unwrap_or_default(),
            Aggregation::Max => known().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregation::Min => known().copied().fold(f64::INFINITY, f64::min),
            Aggregation::AvgZero => sum() / slots.len() as f64,
            Aggregation::AbsMax => by_abs(true),
            Aggregation::AbsMin => by_abs(false),
        })
    }
}

/// A `[section]` of storage-schemas.conf.
#[derive(Debug, Clone)]
pub struct SchemaRule {
    pub name: String,
    pub pattern: Regex,
    /// Finest first, as whisper orders them.
    pub archives: Vec<Archive>,
}

/// A `[section]` of storage-aggregation.conf; unset keys fall through to the defaults.
#[derive(Debug, Clone)]
pub struct AggregationRule {
    pub name: String,
    pub pattern: Regex,
    pub x_files_factor: Option<f64>,
    pub method: Option<Aggregation>,
}

/// storage-schemas.conf, in file order.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    pub rules: Vec<SchemaRule>,
}

/// storage-aggregation.conf, in file order.
#[derive(Debug, Clone, Default)]
pub struct Aggregations {
    pub rules: Vec<AggregationRule>,
}

/// What a series name resolves to.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRules {
    pub archives: Vec<Archive>,
    pub aggregation: Aggregation,
    pub x_files_factor: f64,
}

/// carbon's `defaultArchive`: 7 days of minutely data.
pub const DEFAULT_ARCHIVE: Archive = Archive {
    step: 60,
    points: 60 * 24 * 7,
};
/// whisper's default xFilesFactor.
pub const DEFAULT_XFF: f64 = 0.5;

/// Resolves a name against both files, first match wins in each.
pub fn resolve(schemas: &Schemas, aggregations: &Aggregations, name: &str) -> SeriesRules {
    let archives = schemas
        .rules
        .iter()
        .find(|r| r.pattern.is_match(name))
        .map(|r| r.archives.clone())
        .unwrap_or_else(|| vec![DEFAULT_ARCHIVE]);
    let agg = aggregations.rules.iter().find(|r| r.pattern.is_match(name));
    SeriesRules {
        archives,
        aggregation: agg.and_then(|r| r.method).unwrap_or(Aggregation::Average),
        x_files_factor: agg.and_then(|r| r.x_files_factor).unwrap_or(DEFAULT_XFF),
    }
}

/// A section with its key/value lines, each with its line number.
struct Section {
    name: String,
    line: usize,
    keys: Vec<(String, String, usize)>,
}

/// The subset of python's ConfigParser carbon relies on: `[name]`, `key = value` or
/// `key: value`, `#`/`;` comment lines, blank lines.
fn sections(file: &str, text: &str) -> Result<Vec<Section>, RetentionError> {
    let mut out: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let err = |reason: String| RetentionError::Syntax {
            file: file.to_string(),
            line: line_no,
            reason,
        };
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| err("section header without closing ]".into()))?;
            out.push(Section {
                name: name.trim().to_string(),
                line: line_no,
                keys: Vec::new(),
            });
            continue;
        }
        let split = line
            .find(['=', ':'])
            .ok_or_else(|| err(format!("expected key = value, got {line:?}")))?;
        let (k, v) = (line[..split].trim(), line[split + 1..].trim());
        let section = out
            .last_mut()
            .ok_or_else(|| err("key outside of any [section]".into()))?;
        section
            .keys
            .push((k.to_ascii_lowercase(), v.to_string(), line_no));
    }
    Ok(out)
}

fn unit_seconds(unit: &str) -> Option<i64> {
    const UNITS: [(&str, i64); 6] = [
        ("seconds", 1),
        ("minutes", 60),
        ("hours", 3600),
        ("days", 86_400),
        ("weeks", 604_800),
        ("years", 31_536_000),
    ];
    UNITS
        .iter()
        .find(|(name, _)| name.starts_with(unit))
        .map(|&(_, s)| s)
}

/// `(\d+)([a-z]+)?` → (number, unit seconds if a unit was given).
fn number_with_unit(s: &str) -> Result<(i64, Option<i64>), String> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return Err(format!("invalid number {s:?}"));
    }
    let n: i64 = s[..digits]
        .parse()
        .map_err(|_| format!("number out of range {s:?}"))?;
    let unit = &s[digits..];
    if unit.is_empty() {
        return Ok((n, None));
    }
    if !unit.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(format!("invalid unit in {s:?}"));
    }
    let mult = unit_seconds(unit).ok_or_else(|| format!("invalid unit {unit:?}"))?;
    Ok((n, Some(mult)))
}

/// One `precision:points` definition, as whisper's `parseRetentionDef`.
pub fn parse_archive(def: &str) -> Result<Archive, String> {
    let (p, n) = def
        .trim()
        .split_once(':')
        .ok_or_else(|| format!("invalid retention definition {def:?}"))?;
    let (p, unit) = number_with_unit(p.trim())?;
    let step = p
        .checked_mul(unit.unwrap_or(1))
        .filter(|&s| s > 0)
        .ok_or_else(|| format!("invalid precision in {def:?}"))?;
    let (n, unit) = number_with_unit(n.trim())?;
    let points = match unit {
        None => n,
        Some(mult) => n.saturating_mul(mult) / step,
    };
    if points <= 0 {
        return Err(format!("retention {def:?} keeps no points"));
    }
    if step.checked_mul(points).is_none() {
        return Err(format!("retention {def:?} is too long"));
    }
    Ok(Archive { step, points })
}

/// whisper's `validateArchiveList`, after sorting by precision.
pub fn validate_archives(archives: &mut [Archive]) -> Result<(), String> {
    if archives.is_empty() {
        return Err("no archives".into());
    }
    archives.sort_by_key(|a| a.step);
    for w in archives.windows(2) {
        let (hi, lo) = (w[0], w[1]);
        if hi.step == lo.step {
            return Err(format!("two archives with the same precision {}s", hi.step));
        }
        if lo.step % hi.step != 0 {
            return Err(format!(
                "precision {}s is not a multiple of the finer {}s",
                lo.step, hi.step
            ));
        }
        if lo.retention() <= hi.retention() {
            return Err(format!(
                "archive of {}s must retain longer than the finer one of {}s",
                lo.step, hi.step
            ));
        }
        if hi.points < lo.step / hi.step {
            return Err(format!(
                "archive of {}s has too few points to consolidate one point of {}s",
                hi.step, lo.step
            ));
        }
    }
    Ok(())
}

fn compile(file: &str, line: usize, pattern: &str) -> Result<Regex, RetentionError> {
    Regex::new(pattern).map_err(|e| RetentionError::Syntax {
        file: file.to_string(),
        line,
        reason: format!("invalid pattern {pattern:?}: {e}"),
    })
}

/// A config file's name (for errors) and text.
fn read_conf(path: &Path) -> Result<(String, String), RetentionError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| RetentionError::Io {
        file: file.clone(),
        source,
    })?;
    Ok((file, text))
}

fn find_key<'a>(s: &'a Section, key: &str) -> Option<&'a (String, String, usize)> {
    s.keys.iter().rev().find(|(k, _, _)| k == key)
}

impl Schemas {
    pub fn load(path: &Path) -> Result<Schemas, RetentionError> {
        let (file, text) = read_conf(path)?;
        Schemas::parse(&file, &text)
    }

    /// `file` names the source in errors.
    pub fn parse(file: &str, text: &str) -> Result<Schemas, RetentionError> {
        let mut rules = Vec::new();
        for s in sections(file, text)? {
            let err = |line: usize, reason: String| RetentionError::Syntax {
                file: file.to_string(),
                line,
                reason,
            };
            let (_, pattern, pline) = find_key(&s, "pattern")
                .ok_or_else(|| err(s.line, format!("section [{}] has no pattern", s.name)))?;
            let (_, retentions, rline) = find_key(&s, "retentions")
                .ok_or_else(|| err(s.line, format!("section [{}] has no retentions", s.name)))?;
            let mut archives = retentions
                .split(',')
                .map(parse_archive)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|r| err(*rline, r))?;
            validate_archives(&mut archives).map_err(|r| err(*rline, r))?;
            rules.push(SchemaRule {
                name: s.name.clone(),
                pattern: compile(file, *pline, pattern)?,
                archives,
            });
        }
        Ok(Schemas { rules })
    }
}

impl Aggregations {
    pub fn load(path: &Path) -> Result<Aggregations, RetentionError> {
        let (file, text) = read_conf(path)?;
        Aggregations::parse(&file, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<Aggregations, RetentionError> {
        let mut rules = Vec::new();
        for s in sections(file, text)? {
            let err = |line: usize, reason: String| RetentionError::Syntax {
                file: file.to_string(),
                line,
                reason,
            };
            let (_, pattern, pline) = find_key(&s, "pattern")
                .ok_or_else(|| err(s.line, format!("section [{}] has no pattern", s.name)))?;
            let x_files_factor = match find_key(&s, "xfilesfactor") {
                None => None,
                Some((_, v, line)) => Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| (0.0..=1.0).contains(x))
                        .ok_or_else(|| {
                            err(
                                *line,
                                format!("xFilesFactor {v:?} is not a number in [0, 1]"),
                            )
                        })?,
                ),
            };
            let method = match find_key(&s, "aggregationmethod") {
                None => None,
                Some((_, v, line)) => Some(
                    Aggregation::parse(v)
                        .ok_or_else(|| err(*line, format!("unknown aggregationMethod {v:?}")))?,
                ),
            };
            rules.push(AggregationRule {
                name: s.name.clone(),
                pattern: compile(file, *pline, pattern)?,
                x_files_factor,
                method,
            });
        }
        Ok(Aggregations { rules })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> (Schemas, Aggregations) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("retention");
        (
            Schemas::load(&root.join("storage-schemas.conf")).unwrap(),
            Aggregations::load(&root.join("storage-aggregation.conf")).unwrap(),
        )
    }

    #[test]
    fn retention_definitions_parse_as_whisper_does() {
        assert_eq!(
            parse_archive("10s:6h").unwrap(),
            Archive {
                step: 10,
                points: 2160
            }
        );
        assert_eq!(
            parse_archive("60:1440").unwrap(),
            Archive {
                step: 60,
                points: 1440
            }
        );
        assert_eq!(
            parse_archive("1min:7d").unwrap(),
            Archive {
                step: 60,
                points: 10080
            }
        );
        assert_eq!(
            parse_archive("10m:5y").unwrap(),
            Archive {
                step: 600,
                points: 262_800
            }
        );
        assert_eq!(
            parse_archive("1h:1w").unwrap(),
            Archive {
                step: 3600,
                points: 168
            }
        );
        assert!(parse_archive("10x:6h").is_err());
        assert!(parse_archive("10s").is_err());
        assert!(parse_archive("0s:6h").is_err());
        assert!(parse_archive("10S:6h").is_err());
        assert!(parse_archive("1y:9223372036854775807").is_err());
    }

    #[test]
    fn invalid_archive_lists_are_rejected_with_file_and_line() {
        let text = "# c\n[a]\npattern = .*\nretentions = 10s:1h,15s:1d\n";
        let e = Schemas::parse("s.conf", text).unwrap_err().to_string();
        assert_eq!(
            e,
            "s.conf:4: precision 15s is not a multiple of the finer 10s"
        );
        let e = Schemas::parse("s.conf", "[a]\npattern = .*\nretentions = 10s:1d,1m:1h\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("s.conf:3: archive of 60s must retain longer"),
            "{e}"
        );
        let e = Schemas::parse("s.conf", "[a]\npattern = (\nretentions = 1m:1d\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.conf:2: invalid pattern"), "{e}");
        let e = Schemas::parse("s.conf", "pattern = x\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "s.conf:1: key outside of any [section]");
        let e = Aggregations::parse("a.conf", "[x]\npattern = x\naggregationMethod = median\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.conf:3: unknown aggregationMethod \"median\"");
        let e = Aggregations::parse("a.conf", "[x]\npattern = x\nxFilesFactor = 2\n")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "a.conf:3: xFilesFactor \"2\" is not a number in [0, 1]");
    }

    #[test]
    fn first_match_wins_with_regex_search_and_carbon_defaults() {
        let s = Schemas::parse(
            "s",
            "[carbon]\npattern = ^carbon\\.\nretentions = 60:90d\n[x]\npattern = load\nretentions = 1s:1m,1m:1h\n",
        )
        .unwrap();
        let a = Aggregations::parse("a", "[c]\npattern = \\.count$\naggregationMethod = sum\n")
            .unwrap();
        let r = resolve(&s, &a, "carbon.load.count");
        assert_eq!(
            r.archives,
            vec![Archive {
                step: 60,
                points: 129_600
            }]
        );
        assert_eq!(r.aggregation, Aggregation::Sum);
        assert_eq!(r.x_files_factor, DEFAULT_XFF);
        let r = resolve(&s, &a, "host.loadavg");
        assert_eq!(r.archives.len(), 2);
        assert_eq!(r.aggregation, Aggregation::Average);
        let r = resolve(&s, &a, "other");
        assert_eq!(r.archives, vec![DEFAULT_ARCHIVE]);
    }

    #[test]
    fn shipped_defaults_fit_statsd_output() {
        let (s, a) = shipped();
        let agg = |n: &str| resolve(&s, &a, n).aggregation;
        assert_eq!(agg("stats_counts.app.hits"), Aggregation::Sum);
        assert_eq!(agg("stats.timers.app.req.count"), Aggregation::Sum);
        assert_eq!(agg("stats.timers.app.req.sum"), Aggregation::Sum);
        assert_eq!(agg("stats.timers.app.req.sum_90"), Aggregation::Sum);
        assert_eq!(agg("stats.timers.app.req.upper"), Aggregation::Max);
        assert_eq!(agg("stats.timers.app.req.upper_90"), Aggregation::Max);
        assert_eq!(agg("stats.timers.app.req.lower"), Aggregation::Min);
        assert_eq!(agg("stats.timers.app.req.mean"), Aggregation::Average);
        assert_eq!(agg("stats.gauges.app.queue"), Aggregation::Last);
        assert_eq!(agg("stats.app.hits"), Aggregation::Average);
        assert_eq!(resolve(&s, &a, "stats_counts.x").x_files_factor, 0.0);
        let r = resolve(&s, &a, "stats.app.hits");
        assert_eq!(
            r.archives[0],
            Archive {
                step: 10,
                points: 2160
            }
        );
        assert_eq!(r.archives.len(), 3);
    }

    #[test]
    fn aggregation_methods_match_whisper() {
        let s = [Some(1.0), None, Some(-4.0), Some(3.0)];
        assert_eq!(Aggregation::Average.rollup(&s, 0.5), Some(0.0));
        assert_eq!(Aggregation::Sum.rollup(&s, 0.5), Some(0.0));
        assert_eq!(Aggregation::Last.rollup(&s, 0.5), Some(3.0));
        assert_eq!(Aggregation::Max.rollup(&s, 0.5), Some(3.0));
        assert_eq!(Aggregation::Min.rollup(&s, 0.5), Some(-4.0));
        assert_eq!(Aggregation::AvgZero.rollup(&s, 0.5), Some(0.0));
        assert_eq!(Aggregation::AbsMax.rollup(&s, 0.5), Some(-4.0));
        assert_eq!(Aggregation::AbsMin.rollup(&s, 0.5), Some(1.0));
        // 3 of 4 known: 0.75 passes 0.75, fails 0.8
        assert!(Aggregation::Sum.rollup(&s, 0.75).is_some());
        assert_eq!(Aggregation::Sum.rollup(&s, 0.8), None);
        // nothing known: nothing written, even with xff 0
        assert_eq!(Aggregation::Sum.rollup(&[None, None], 0.0), None);
    }
}

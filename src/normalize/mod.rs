//! The normalize stage: raw frames in, `LogRecord`s out. It splits the syslog header (the
//! `parse` step), then the [`rules`] from `parsers/` extract typed fields from the message. It
//! runs on its own thread because parsing is CPU work and must not stall the listeners'
//! executor.

pub mod rules;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use crate::ingest::syslog;
use crate::ingest::syslog::listener::RawBatch;
use crate::metrics::Counters;
use crate::model::LogRecord;
use crate::store::logs::writer::RecordBatch;

/// The rule engine as the pipeline uses it: built once at startup and shared (`Arc`) with
/// whoever reports its counters.
#[derive(Debug, Default)]
pub struct Normalizer {
    rules: rules::RuleSet,
    /// What `rules` was built from: the archive keeps a copy to re-derive fields on read.
    sources: rules::Sources,
    /// [`Normalizer::stamp`], computed on first use.
    stamp: std::sync::OnceLock<u64>,
}

/// Bumped whenever the rule engine's output for the same rule files changes (a capture type
/// normalizes differently, matching order changes): records stamped by an older engine are
/// then re-checked rather than trusted when sealed.
const ENGINE_REVISION: u32 = 1;

impl Normalizer {
    /// Loads the shipped rules overlaid by `dir`, or by `./parsers` when `dir` is `None` and it
    /// exists. Bad files or rules are logged with file, line and reason and skipped, so a typo
    /// in one rule file never keeps the server from starting.
    pub fn load(dir: Option<&Path>) -> Normalizer {
        let default = Path::new("parsers");
        let dir = dir.or_else(|| default.is_dir().then_some(default));
        let (normalizer, errors) = Normalizer::with_errors(dir);
        for e in &errors {
            tracing::error!("parsers: {e}");
        }
        tracing::info!(
            "normalizer: {} rules loaded{}",
            normalizer.rules.rules().len(),
            dir.map_or(String::new(), |d| format!(" (with {})", d.display()))
        );
        normalizer
    }

    /// Like [`Normalizer::load`] with exactly `dir` and no logging; returns the load errors.
    pub fn with_errors(dir: Option<&Path>) -> (Normalizer, Vec<rules::LoadError>) {
        let (sources, mut errors) = rules::load_sources(dir);
        let (n, mut errs) = Normalizer::build(sources);
        errors.append(&mut errs);
        (n, errors)
    }

    /// Compiles `sources`; returns the errors of the rules that did not compile.
    pub fn build(sources: rules::Sources) -> (Normalizer, Vec<rules::LoadError>) {
        let (rules, errors) = sources.build();
        (
            Normalizer {
                rules,
                sources,
                stamp: std::sync::OnceLock::new(),
            },
            errors,
        )
    }

    /// Names what this normalizer does: the XXH64 of this build's version, the engine revision
    /// and the rule sources. The hot store keeps it beside every record the normalize stage
    /// produced, so sealing can tell that re-applying the same rules to the same line gives
    /// the record's fields back without running them again (`docs/format/logs.md`).
    pub fn stamp(&self) -> u64 {
        *self.stamp.get_or_init(|| {
            // serializing strings into a Vec cannot fail
            Normalizer::stamp_of(&serde_json::to_vec(&self.sources).unwrap_or_default())
        })
    }

    /// The stamp of the normalizer built from `sources_json` (its [`rules::Sources`] as compact
    /// JSON, as a rule snapshot keeps them), without building it.
    pub fn stamp_of(sources_json: &[u8]) -> u64 {
        let mut bytes = format!(
            "telltale {} rules engine {ENGINE_REVISION}\n",
            env!("CARGO_PKG_VERSION")
        )
        .into_bytes();
        bytes.extend_from_slice(sources_json);
        crate::store::logs::archive::rules::xxh64(&bytes)
    }

    /// The texts the rules were built from.
    pub fn sources(&self) -> &rules::Sources {
        &self.sources
    }

    /// Extracts fields from the record's message by its app; appends them to `fields` and
    /// applies the matching rule's severity override. A line no rule matches is left as is.
    pub fn apply(&self, rec: &mut LogRecord) -> Option<rules::MatchInfo> {
        let m = self.rules.apply(&rec.app, &rec.message, &mut rec.fields)?;
        if let Some(sev) = m.severity {
            rec.severity = Some(sev);
        }
        Some(m)
    }

    /// The loaded rules (for reports and tests).
    pub fn rules(&self) -> &rules::RuleSet {
        &self.rules
    }

    /// Per-rule hits, per-app misses and lines whose app has no rule, as JSON.
    pub fn stats(&self) -> serde_json::Value {
        self.rules.stats()
    }
}

/// The normalizer in use, replaceable while the pipeline runs (SIGHUP reloads the rule
/// files): the normalize thread takes the current one per batch, so a reload never stalls it.
/// Hit and miss counters start again from zero with the new rules.
#[derive(Debug)]
pub struct SharedNormalizer {
    current: std::sync::RwLock<Arc<Normalizer>>,
    /// Where the rules were loaded from, for reloads.
    dir: Option<std::path::PathBuf>,
}

impl SharedNormalizer {
    /// Loads the rules (see [`Normalizer::load`]).
    pub fn load(dir: Option<&Path>) -> SharedNormalizer {
        SharedNormalizer {
            current: std::sync::RwLock::new(Arc::new(Normalizer::load(dir))),
            dir: dir.map(Path::to_path_buf),
        }
    }

    /// The rules in use now.
    pub fn get(&self) -> Arc<Normalizer> {
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Re-reads the rule files and swaps them in; returns the load errors (the rules that did
    /// load are used either way, as at start-up).
    pub fn reload(&self) -> Vec<rules::LoadError> {
        let default = Path::new("parsers");
        let dir = self
            .dir
            .as_deref()
            .or_else(|| default.is_dir().then_some(default));
        let (n, errors) = Normalizer::with_errors(dir);
        for e in &errors {
            tracing::error!("parsers: {e}");
        }
        tracing::info!("normalizer reloaded: {} rules", n.rules().rules().len());
        let n = Arc::new(n);
        match self.current.write() {
            Ok(mut g) => *g = n,
            Err(poisoned) => *poisoned.into_inner() = n,
        }
        errors
    }
}

/// Normalizes one raw message into a record: header parse, then the rules.
pub fn normalize(msg: &crate::model::RawMessage, normalizer: &Normalizer) -> LogRecord {
    let mut rec = syslog::parse(msg);
    normalizer.apply(&mut rec);
    rec
}

/// Runs until every listener has dropped its sender, then returns (dropping `out`, which
/// lets the writer finish).
pub fn run(
    mut rx: mpsc::Receiver<RawBatch>,
    out: std::sync::mpsc::SyncSender<RecordBatch>,
    counters: Arc<Counters>,
    normalizer: Arc<SharedNormalizer>,
) {
    while let Some(batch) = rx.blocking_recv() {
        let n = normalizer.get();
        let records: Vec<LogRecord> = batch.iter().map(|m| normalize(m, &n)).collect();
        counters
            .logs_normalized
            .fetch_add(records.len() as u64, Ordering::Relaxed);
        let batch = RecordBatch {
            records,
            rules: Some(n.stamp()),
        };
        if out.send(batch).is_err() {
            // the writer died; its error is reported by app::run
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RawMessage, Transport};

    fn raw(line: &str) -> RawMessage {
        RawMessage {
            received_ns: 0,
            peer: None,
            transport: Transport::Udp,
            bytes: line.as_bytes().to_vec(),
            truncated: false,
        }
    }

    #[test]
    fn normalize_appends_fields_and_overrides_severity() {
        let (n, errors) = Normalizer::with_errors(None);
        assert!(errors.is_empty(), "{errors:?}");
        let rec = normalize(
            &raw(
                "<38>Dec 10 06:55:46 host sshd[24200]: Failed password for root from 1.2.3.4 port 22 ssh2",
            ),
            &n,
        );
        assert_eq!(rec.severity, Some(4));
        assert!(
            rec.fields
                .contains(&("client_ip".to_string(), "1.2.3.4".to_string()))
        );
        let rec = normalize(&raw("<38>Dec 10 06:55:46 host sshd[1]: something new"), &n);
        assert!(rec.fields.is_empty());
        assert_eq!(rec.message, "something new");
        assert_eq!(rec.severity, Some(6));
        let stats = n.stats();
        assert_eq!(stats["misses"]["sshd"], 1);
    }

    #[test]
    fn a_bad_file_in_the_directory_is_reported_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("broken.toml"),
            "[[rule]]\nname = \"x\"\nbogus = 1\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("extra.toml"),
            "[[rule]]\nname = \"hello\"\napps = [\"myapp\"]\npatterns = [\"hello %{word:who}\"]\n",
        )
        .unwrap();
        let (n, errors) = Normalizer::with_errors(Some(dir.path()));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            (errors[0].file.as_str(), errors[0].line),
            ("broken.toml", 3)
        );
        let mut rec = LogRecord {
            app: "myapp".into(),
            message: "hello world".into(),
            ..LogRecord::default()
        };
        assert!(n.apply(&mut rec).is_some());
        assert_eq!(rec.fields, vec![("who".to_string(), "world".to_string())]);
        // shipped rules are still there
        assert!(n.rules().rules().len() > 10);
    }
}

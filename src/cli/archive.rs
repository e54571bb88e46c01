//! `telltale archive ...`: offline work on a data directory's log archive. Run it while the
//! server is stopped (or only `list`, `verify`, `search`, `export`, which never write): sealing
//! takes the day partitions away from under a running server's writer.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use super::progress::Reporter;
use crate::model::time::{format_day, now_ns, parse_day};
use crate::query::logs::Matcher;
use crate::query::time::parse_time;
use crate::store::logs::LogStore;
use crate::store::logs::archive::progress::Progress;
use crate::store::logs::archive::retention::LogRetention;
use crate::store::logs::archive::search::search_archive;
use crate::store::logs::archive::{YearArchive, seal, year_of_day, years};

/// `archive seal`: seals (or drops, per the policy) every day older than the hot window.
/// Progress (days done of the days due) on stderr unless `quiet`.
pub fn seal(
    data_dir: &Path,
    retention: &Path,
    parsers: Option<&Path>,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let policy = LogRetention::load(retention)?;
    let store = LogStore::open(data_dir)?;
    store.set_archive_rules(std::sync::Arc::new(
        crate::normalize::SharedNormalizer::load(parsers),
    ));
    let mut bar = Reporter::stderr("seal", "days", quiet);
    let reports = seal::apply_with(&store, now_ns(), &policy, &mut |p| bar.update(p))?;
    bar.finish();
    for r in &reports {
        let ratio = if r.compressed_bytes > 0 {
            r.raw_bytes as f64 / r.compressed_bytes as f64
        } else {
            0.0
        };
        writeln!(
            out,
            "{}: {} records, {} frames, {} -> {} bytes ({ratio:.1}x){}{}",
            r.day,
            r.records,
            r.frames,
            r.raw_bytes,
            r.compressed_bytes,
            if r.resumed { ", resumed" } else { "" },
            if r.kept_hot > 0 {
                format!(", {} kept hot by an override", r.kept_hot)
            } else {
                String::new()
            }
        )?;
    }
    writeln!(
        out,
        "{} days sealed (hot window {} days)",
        reports.len(),
        policy.hot_days
    )?;
    Ok(())
}

/// `archive list`: one line per archived day.
pub fn list(data_dir: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = data_dir.join("archive");
    for year in years(&dir)? {
        let a = YearArchive::open_read_only(&dir, year)?;
        let mut days: Vec<(String, u64, u64, u64, u64)> = Vec::new();
        for e in a.entries() {
            match days.last_mut() {
                Some(d) if d.0 == e.day => {
                    d.1 += 1;
                    d.2 += e.count;
                    d.3 += e.raw_len;
                    d.4 += e.len;
                }
                _ => days.push((e.day.clone(), 1, e.count, e.raw_len, e.len)),
            }
        }
        for (day, frames, count, raw, len) in days {
            writeln!(
                out,
                "{day}\t{count} records\t{frames} frames\t{raw} -> {len} bytes"
            )?;
        }
    }
    Ok(())
}

/// `archive verify [YEAR]`: reads back every frame (crc, decompression, counts).
pub fn verify(
    data_dir: &Path,
    year: Option<i64>,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let dir = data_dir.join("archive");
    let all = years(&dir)?;
    let selected: Vec<i64> = match year {
        Some(y) if !all.contains(&y) => bail!("no archive for year {y} in {}", dir.display()),
        Some(y) => vec![y],
        None => all,
    };
    for y in selected {
        let a = YearArchive::open_read_only(&dir, y)?;
        let mut bar = Reporter::stderr(format!("verify {y}"), "frames", quiet);
        let n = a.verify_with(&mut |p| bar.update(p))?;
        bar.finish();
        writeln!(out, "{y}: {} frames, {n} records ok", a.entries().len())?;
    }
    Ok(())
}

/// `archive search`: the query language over the archives, newest first; progress on stderr.
#[allow(clippy::too_many_arguments)]
pub fn search(
    data_dir: &Path,
    query: &str,
    from: &str,
    until: &str,
    limit: usize,
    json: bool,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let now = now_ns();
    let from = parse_time(from, now).context("--from")?;
    let until = parse_time(until, now).context("--until")?;
    let ast = crate::query::logs::parse(query)?;
    let mut m = Matcher::new(&ast)?;
    let mut bar = Reporter::stderr("search", "frames", quiet);
    let r = search_archive(
        &data_dir.join("archive"),
        &mut m,
        from,
        until,
        limit,
        &|_| false,
        &mut |p| bar.update(p),
    )?;
    bar.finish();
    for h in &r.hits {
        if json {
            let mut v = crate::http::logs::hit_json(h);
            v["archived"] = serde_json::Value::Bool(true);
            writeln!(out, "{v}")?;
        } else {
            let sev = h
                .severity
                .and_then(|s| crate::model::SEVERITY_NAMES.get(usize::from(s)))
                .unwrap_or(&"");
            writeln!(
                out,
                "{} {sev} {} {}: {}",
                crate::model::time::format_rfc3339(h.timestamp_ns),
                h.host,
                h.app,
                h.message
            )?;
        }
    }
    if !quiet {
        eprintln!(
            "{} of {} matches shown ({} frames read, {} skipped)",
            r.hits.len(),
            r.total,
            r.frames_read,
            r.frames_skipped
        );
    }
    Ok(r.total)
}

/// `archive export DAY`: the day's records as full JSON lines (every member, as format 1
/// stores them), in time order per group: a format-2 frame holds only the original line and
/// what re-parsing it cannot give, grouped by app, which is not what a `jq` pipeline wants.
pub fn export(data_dir: &Path, day: &str, quiet: bool, out: &mut dyn Write) -> anyhow::Result<u64> {
    let Some(d) = parse_day(day) else {
        bail!("'{day}' is not a day (write YYYY-MM-DD)");
    };
    let dir = data_dir.join("archive");
    if !years(&dir)?.contains(&year_of_day(d)) {
        bail!("{} is not archived", format_day(d));
    }
    let a = YearArchive::open_read_only(&dir, year_of_day(d))?;
    let frames: Vec<_> = a
        .entries()
        .iter()
        .filter(|e| e.day == format_day(d))
        .collect();
    let mut bar = Reporter::stderr(format!("export {}", format_day(d)), "frames", quiet);
    let mut p = day_progress(&frames);
    let mut n = 0;
    let mut buf = Vec::new();
    for e in frames {
        buf.clear();
        for r in a.read_frame(e)? {
            crate::store::logs::archive::record::encode(&r, &mut buf);
        }
        out.write_all(&buf)?;
        n += e.count;
        p.frames_done += 1;
        p.bytes_done += e.len;
        bar.update(p);
    }
    bar.finish();
    if n == 0 {
        bail!("{} is not archived", format_day(d));
    }
    Ok(n)
}

/// `archive restore DAY`: re-indexes an archived day into the hot store, so it is searched
/// (and kept) like a live day. The archive keeps its copy; a later seal of that day finds
/// both and keeps one, so nothing is duplicated. Run it while the server is stopped.
pub fn restore(
    data_dir: &Path,
    day: &str,
    quiet: bool,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let Some(d) = parse_day(day) else {
        bail!("'{day}' is not a day (write YYYY-MM-DD)");
    };
    let dir = data_dir.join("archive");
    if !years(&dir)?.contains(&year_of_day(d)) {
        bail!("{} is not archived", format_day(d));
    }
    let a = YearArchive::open_read_only(&dir, year_of_day(d))?;
    let store = std::sync::Arc::new(LogStore::open(data_dir)?);
    if store.has_day(d)? {
        bail!("{} is already in the hot store", format_day(d));
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            crate::store::logs::writer::run(
                store,
                rx,
                crate::store::logs::writer::WriterConfig::default(),
                std::sync::Arc::new(crate::metrics::Counters::default()),
            )
        })
    };
    let frames: Vec<_> = a
        .entries()
        .iter()
        .filter(|e| e.day == format_day(d))
        .collect();
    let mut bar = Reporter::stderr(format!("restore {}", format_day(d)), "frames", quiet);
    let mut p = day_progress(&frames);
    let mut n = 0u64;
    for e in frames {
        let records = a.read_frame(e)?;
        n += records.len() as u64;
        if tx.send(records.into()).is_err() {
            break;
        }
        p.frames_done += 1;
        p.bytes_done += e.len;
        bar.update(p);
    }
    bar.finish();
    drop(tx);
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("the index writer panicked"))??;
    if n == 0 {
        bail!("{} is not archived", format_day(d));
    }
    writeln!(out, "{}: {n} records restored", format_day(d))?;
    Ok(n)
}

/// Progress over one day's frames, none done yet.
fn day_progress(frames: &[&crate::store::logs::archive::FrameEntry]) -> Progress {
    Progress {
        frames_total: frames.len() as u64,
        bytes_total: frames.iter().map(|e| e.len).sum(),
        ..Progress::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::Arc;

    use super::*;
    use crate::metrics::Counters;
    use crate::model::LogRecord;
    use crate::model::time::{NS_PER_DAY, day_of_ns};
    use crate::store::logs::writer::{self, WriterConfig};

    #[test]
    fn seal_list_verify_search_export_on_a_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        // 60 days ago: past the default hot window of 30 days
        let day = day_of_ns(now_ns()) - 60;
        let t0 = day * NS_PER_DAY + 3_600 * 1_000_000_000;
        let records: Vec<LogRecord> = (0..5)
            .map(|i| LogRecord {
                timestamp_ns: t0 + i * 1_000_000_000,
                received_ns: t0,
                host: "web1".into(),
                app: "sshd".into(),
                severity: Some(6),
                message: format!("session {i} opened"),
                raw: format!("session {i} opened").into_bytes(),
                ..LogRecord::default()
            })
            .collect();
        {
            let store = Arc::new(LogStore::open(tmp.path()).unwrap());
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            tx.send(records.into()).unwrap();
            drop(tx);
            writer::run(
                store,
                rx,
                WriterConfig::default(),
                Arc::new(Counters::default()),
            )
            .unwrap();
        }
        let text = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            f(&mut out);
            String::from_utf8(out).unwrap()
        };
        let missing = tmp.path().join("no-such-retention.toml");
        let s = text(&|o| seal(tmp.path(), &missing, None, true, o).unwrap());
        assert!(
            s.contains(&format!("{}: 5 records, 1 frames", format_day(day))),
            "{s}"
        );
        let l = text(&|o| list(tmp.path(), o).unwrap());
        assert!(
            l.starts_with(&format!("{}\t5 records\t1 frames", format_day(day))),
            "{l}"
        );
        let v = text(&|o| verify(tmp.path(), None, true, o).unwrap());
        assert!(v.ends_with("1 frames, 5 records ok\n"), "{v}");
        assert!(verify(tmp.path(), Some(1999), true, &mut Vec::new()).is_err());
        let found = text(&|o| {
            let n = search(
                tmp.path(),
                "host:WEB1 session",
                "-90d",
                "now",
                2,
                true,
                true,
                o,
            )
            .unwrap();
            assert_eq!(n, 5);
        });
        let lines: Vec<&str> = found.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains(r#""archived":true"#), "{found}");
        assert!(lines[0].contains("session 4 opened"), "{found}");
        let e = text(&|o| {
            assert_eq!(export(tmp.path(), &format_day(day), true, o).unwrap(), 5);
        });
        assert_eq!(e.lines().count(), 5);
        assert!(e.lines().all(|l| l.starts_with(r#"{"timestamp":""#)), "{e}");
        assert!(export(tmp.path(), "1999-01-01", true, &mut Vec::new()).is_err());
        assert!(export(tmp.path(), "yesterday", true, &mut Vec::new()).is_err());

        // restore brings the day back into the hot store, searchable as before
        let r = text(&|o| {
            assert_eq!(restore(tmp.path(), &format_day(day), true, o).unwrap(), 5);
        });
        assert!(r.contains("5 records restored"), "{r}");
        let store = LogStore::open(tmp.path()).unwrap();
        let compile = |f: &crate::store::logs::schema::LogFields| {
            crate::query::logs::build_query("session", f, store.schema()).unwrap()
        };
        assert_eq!(
            store
                .search(&compile, i64::MIN, i64::MAX, 10)
                .unwrap()
                .total,
            5
        );
        assert!(restore(tmp.path(), &format_day(day), true, &mut Vec::new()).is_err());
    }
}

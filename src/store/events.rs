//! Graphite events (graphite-web's `events` app): annotations such as deploys, posted as JSON
//! to `POST /events/` and read back by `/events/get_data` and the `events()` function.
//!
//! Events are few (a deploy, a restart), so they are kept in memory in full and appended to
//! one file, `<data>/events/events.log`, fsynced per event; its layout is in
//! `docs/format/events.md`. A torn tail from a crash is cut off at open.
//!
//! Tags follow django-tagging, which graphite-web uses: an event keeps its `tags` text as
//! posted (a list is joined with spaces), `get_data` shows that text split on whitespace, and
//! matching uses django-tagging's parse of it (commas or spaces, double quotes group words).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use serde_json::{Map, Value};

/// Errors of the event store and of posted events.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The posted body is wrong; the message says what to fix.
    #[error("{0}")]
    BadEvent(String),
    #[error("the event store lock is poisoned")]
    Poisoned,
}

fn io(path: &Path, source: std::io::Error) -> EventError {
    EventError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Assigned in posting order from 1, as graphite-web's row id.
    pub id: u64,
    /// Epoch seconds.
    pub when: i64,
    pub what: String,
    pub data: String,
    /// The tags text as posted (list elements joined with single spaces).
    pub tags: String,
}

/// What a `POST /events/` body asks for, before it gets an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub when: i64,
    pub what: String,
    pub data: String,
    pub tags: String,
}

/// Largest posted body accepted, so one event cannot hold much memory.
pub const MAX_BODY: usize = 64 * 1024;

/// Parses a `POST /events/` body as graphite-web's `post_event` reads it: a JSON object with
/// `what` (required), `tags` (a list or a space-separated string), `data` and `when` (epoch
/// seconds, fractions dropped; now when absent). Where graphite-web answers 500 (a missing
/// `what`, a non-object body) this is a 400 with a message.
pub fn parse_post(body: &[u8], now: i64) -> Result<NewEvent, EventError> {
    let bad = |m: &str| EventError::BadEvent(m.to_string());
    if body.len() > MAX_BODY {
        return Err(bad("event body is larger than 64 KiB"));
    }
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| EventError::BadEvent(format!("event body is not valid JSON: {e}")))?;
    let Value::Object(o) = v else {
        return Err(bad("event body must be a JSON object"));
    };
    let what = match o.get("what") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => return Err(bad("\"what\" is required")),
        Some(_) => return Err(bad("\"what\" must be a string")),
    };
    let tags_err = || bad("\"tags\" must be an array or space-separated string");
    let tags = match o.get("tags") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|t| t.as_str().ok_or_else(tags_err))
            .collect::<Result<Vec<_>, _>>()?
            .join(" "),
        Some(_) => return Err(tags_err()),
    };
    let data = match o.get("data") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let when = match o.get("when") {
        None => now,
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i,
            (None, Some(f)) if f.is_finite() && f.abs() < 1e15 => f.floor() as i64,
            _ => return Err(bad("\"when\" is out of range")),
        },
        Some(_) => return Err(bad("\"when\" must be a number of seconds since the epoch")),
    };
    Ok(NewEvent {
        when,
        what,
        data,
        tags,
    })
}

/// django-tagging's `parse_tag_input`: the distinct tag names of a tags text, sorted. Without
/// commas or double quotes, words are split on spaces; otherwise quoted runs are single
/// tags and the rest splits on commas if there is a loose comma, else on spaces.
pub fn parse_tag_input(input: &str) -> Vec<String> {
    fn split_strip(s: &str, delim: char, out: &mut Vec<String>) {
        out.extend(
            s.split(delim)
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(String::from),
        );
    }
    let mut words = Vec::new();
    if !input.contains([',', '"']) {
        split_strip(input, ' ', &mut words);
    } else {
        let mut to_split = Vec::new();
        let mut buffer = String::new();
        let mut loose_comma = false;
        let mut open_quote = false;
        let mut chars = input.chars();
        while let Some(c) = chars.next() {
            if c != '"' {
                loose_comma |= c == ',';
                buffer.push(c);
                continue;
            }
            if !buffer.is_empty() {
                to_split.push(std::mem::take(&mut buffer));
            }
            open_quote = true;
            for q in chars.by_ref() {
                if q == '"' {
                    open_quote = false;
                    break;
                }
                buffer.push(q);
            }
            if open_quote {
                break;
            }
            let w = buffer.trim();
            if !w.is_empty() {
                words.push(w.to_string());
            }
            buffer.clear();
        }
        if !buffer.is_empty() {
            loose_comma |= open_quote && buffer.contains(',');
            to_split.push(buffer);
        }
        let delim = if loose_comma { ',' } else { ' ' };
        for chunk in &to_split {
            split_strip(chunk, delim, &mut words);
        }
    }
    let set: BTreeSet<String> = words.into_iter().collect();
    set.into_iter().collect()
}

/// How `/events/get_data` combines several tags (`set=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// The default (django-tagging's `with_all`).
    All,
    Union,
    Intersection,
}

impl SetOp {
    /// graphite-web treats any other `set` value as the default.
    pub fn parse(s: Option<&str>) -> SetOp {
        match s {
            Some("union") => SetOp::Union,
            Some("intersection") => SetOp::Intersection,
            _ => SetOp::All,
        }
    }
}

struct Inner {
    events: Vec<Event>,
    /// Every tag any event ever had: django-tagging drops query tags it does not know.
    known: BTreeSet<String>,
    /// Parsed tags per event, by position in `events`.
    parsed: Vec<Vec<String>>,
}

/// The event store; see the module documentation.
pub struct EventStore {
    path: PathBuf,
    file: Mutex<File>,
    inner: RwLock<Inner>,
}

/// `len u32 | crc32 u32 | body`, little-endian; `body` is the event as a JSON object.
pub fn encode(e: &Event, out: &mut Vec<u8>) {
    let q = |s: &str| Value::from(s).to_string();
    let body = format!(
        r#"{{"id":{},"when":{},"what":{},"data":{},"tags":{}}}"#,
        e.id,
        e.when,
        q(&e.what),
        q(&e.data),
        q(&e.tags)
    );
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body.as_bytes()).to_le_bytes());
    out.extend_from_slice(body.as_bytes());
}

fn decode(bytes: &[u8], pos: usize) -> Option<(Event, usize)> {
    let len = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(pos + 4..pos + 8)?.try_into().ok()?);
    let body = bytes.get(pos + 8..(pos + 8).checked_add(len)?)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let v: Value = serde_json::from_slice(body).ok()?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let e = Event {
        id: v.get("id")?.as_u64()?,
        when: v.get("when")?.as_i64()?,
        what: s("what")?,
        data: s("data").unwrap_or_default(),
        tags: s("tags").unwrap_or_default(),
    };
    Some((e, pos + 8 + len))
}

impl EventStore {
    /// Opens (creating) `<data_dir>/events/events.log` and loads every event.
    pub fn open(data_dir: &Path) -> Result<EventStore, EventError> {
        let dir = data_dir.join("events");
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let path = dir.join("events.log");
        let file = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        let mut inner = Inner {
            events: Vec::new(),
            known: BTreeSet::new(),
            parsed: Vec::new(),
        };
        let mut pos = 0;
        while let Some((e, next)) = decode(&bytes, pos) {
            inner.push(e);
            pos = next;
        }
        if pos < bytes.len() {
            tracing::warn!(path = %path.display(), at = pos, "events: cutting a torn tail");
            file.set_len(pos as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| io(&path, e))?;
        }
        Ok(EventStore {
            path,
            file: Mutex::new(file),
            inner: RwLock::new(inner),
        })
    }

    /// Stores an event durably (fsynced before it returns) and gives it the next id.
    pub fn post(&self, e: NewEvent) -> Result<Event, EventError> {
        let mut file = self.file.lock().map_err(|_| EventError::Poisoned)?;
        let mut inner = self.inner.write().map_err(|_| EventError::Poisoned)?;
        let event = Event {
            id: inner.events.last().map_or(1, |l| l.id + 1),
            when: e.when,
            what: e.what,
            data: e.data,
            tags: e.tags,
        };
        let mut buf = Vec::new();
        encode(&event, &mut buf);
        file.write_all(&buf)
            .and_then(|()| file.sync_data())
            .map_err(|e| io(&self.path, e))?;
        inner.push(event.clone());
        Ok(event)
    }

    /// graphite-web's `find_events`: events with `from <= when <= until` whose tags match
    /// (`None`: all), ordered by time.
    pub fn find(
        &self,
        from: i64,
        until: i64,
        tags: Option<&[String]>,
        op: SetOp,
    ) -> Result<Vec<Event>, EventError> {
        let inner = self.inner.read().map_err(|_| EventError::Poisoned)?;
        let known: Option<BTreeSet<&str>> = tags.map(|t| {
            t.iter()
                .map(String::as_str)
                .filter(|t| inner.known.contains(*t))
                .collect()
        });
        if known.as_ref().is_some_and(BTreeSet::is_empty) {
            return Ok(Vec::new());
        }
        let mut out: Vec<Event> = inner
            .events
            .iter()
            .zip(&inner.parsed)
            .filter(|(e, _)| e.when >= from && e.when <= until)
            .filter(|(e, parsed)| {
                let (Some(k), Some(asked)) = (&known, tags) else {
                    return true;
                };
                let has = |t: &&str| parsed.iter().any(|p| p == t);
                match op {
                    SetOp::Union => k.iter().any(has),
                    SetOp::All => k.iter().all(has),
                    // graphite-web then keeps only events whose shown tags hold every asked one
                    SetOp::Intersection => {
                        let shown: BTreeSet<&str> = e.tags.split_whitespace().collect();
                        let asked_set: BTreeSet<&str> = asked.iter().map(String::as_str).collect();
                        k.iter().all(has) && asked_set.intersection(&shown).count() == asked.len()
                    }
                }
            })
            .map(|(e, _)| e.clone())
            .collect();
        out.sort_by_key(|e| (e.when, e.id));
        Ok(out)
    }
}

impl Inner {
    fn push(&mut self, e: Event) {
        let parsed = parse_tag_input(&e.tags);
        self.known.extend(parsed.iter().cloned());
        self.parsed.push(parsed);
        self.events.push(e);
    }
}

/// An event as `/events/get_data` shows it (graphite-web's `as_dict`, keys in its order).
pub fn to_json(e: &Event) -> Value {
    let mut m = Map::new();
    m.insert("when".into(), Value::from(e.when));
    m.insert("what".into(), Value::from(e.what.as_str()));
    m.insert("data".into(), Value::from(e.data.as_str()));
    m.insert(
        "tags".into(),
        Value::Array(e.tags.split_whitespace().map(Value::from).collect()),
    );
    m.insert("id".into(), Value::from(e.id));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn ev(json: &str) -> NewEvent {
        parse_post(json.as_bytes(), 1_000).unwrap()
    }

    #[test]
    fn posted_bodies_parse_as_graphite_web_reads_them() {
        let e = ev(r#"{"what":"deploy","tags":["a","b"],"data":"v1","when":1790000200.7}"#);
        assert_eq!(
            e,
            NewEvent {
                when: 1_790_000_200,
                what: "deploy".into(),
                data: "v1".into(),
                tags: "a b".into()
            }
        );
        let e = ev(r#"{"what":"x","tags":"a b"}"#);
        assert_eq!(
            (e.when, e.tags.as_str(), e.data.as_str()),
            (1_000, "a b", "")
        );
        assert_eq!(ev(r#"{"what":"x","data":{"a":1}}"#).data, r#"{"a":1}"#);
        for (body, msg) in [
            (
                r#"{"what":"x","tags":5}"#,
                "\"tags\" must be an array or space-separated string",
            ),
            (
                r#"{"what":"x","tags":[1]}"#,
                "\"tags\" must be an array or space-separated string",
            ),
            (r#"{"tags":"a"}"#, "\"what\" is required"),
            (
                r#"{"what":"x","when":"1"}"#,
                "\"when\" must be a number of seconds since the epoch",
            ),
            ("[1]", "event body must be a JSON object"),
        ] {
            assert_eq!(parse_post(body.as_bytes(), 0).unwrap_err().to_string(), msg);
        }
        assert!(
            parse_post(b"nope", 0)
                .unwrap_err()
                .to_string()
                .starts_with("event body is not valid JSON")
        );
    }

    #[test]
    fn tag_input_parses_as_django_tagging() {
        assert_eq!(parse_tag_input("b a  b"), ["a", "b"]);
        assert_eq!(parse_tag_input("GTweb,gtfoo"), ["GTweb", "gtfoo"]);
        assert_eq!(parse_tag_input("a b, c"), ["a b", "c"]);
        assert_eq!(parse_tag_input(r#""x y" z w"#), ["w", "x y", "z"]);
        assert_eq!(parse_tag_input(r#"a "b"#), ["a", "b"]);
        assert_eq!(parse_tag_input(r#"a "b,c"#), ["a", "b", "c"]);
        assert!(parse_tag_input("").is_empty());
    }

    #[test]
    fn find_applies_time_range_and_set_operations_as_graphite_web() {
        let tmp = tempfile::tempdir().unwrap();
        let s = EventStore::open(tmp.path()).unwrap();
        for body in [
            r#"{"what":"deploy web","tags":["deploy","web"],"when":100}"#,
            r#"{"what":"deploy db","tags":"deploy db","when":200}"#,
            r#"{"what":"restart","tags":"Web,foo","when":300}"#,
            r#"{"what":"late","when":400}"#,
        ] {
            s.post(ev(body)).unwrap();
        }
        let ids = |tags: Option<&[&str]>, op| {
            let t: Option<Vec<String>> = tags.map(|t| t.iter().map(|s| s.to_string()).collect());
            s.find(0, 350, t.as_deref(), op)
                .unwrap()
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(None, SetOp::All), [1, 2, 3]);
        assert_eq!(ids(Some(&["deploy"]), SetOp::All), [1, 2]);
        assert_eq!(ids(Some(&["deploy", "web"]), SetOp::All), [1]);
        assert_eq!(ids(Some(&["deploy", "web"]), SetOp::Union), [1, 2]);
        // unknown tags are dropped, unless every tag is unknown
        assert_eq!(ids(Some(&["deploy", "nosuch"]), SetOp::All), [1, 2]);
        assert!(ids(Some(&["nosuch"]), SetOp::All).is_empty());
        assert!(ids(Some(&["deploy", "nosuch"]), SetOp::Intersection).is_empty());
        // matching uses the parsed tags, intersection the shown (whitespace-split) ones
        assert_eq!(ids(Some(&["foo"]), SetOp::All), [3]);
        assert!(ids(Some(&["foo"]), SetOp::Intersection).is_empty());
        assert_eq!(ids(Some(&["Web"]), SetOp::All), [3]);
        let shown = to_json(&s.find(300, 300, None, SetOp::All).unwrap()[0]);
        assert_eq!(
            shown,
            serde_json::json!({"when": 300, "what": "restart", "data": "", "tags": ["Web,foo"], "id": 3})
        );
        drop(s);
        // reopened with a torn tail: every complete event is there, posting goes on
        let path = tmp.path().join("events/events.log");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[9, 0, 0]);
        std::fs::write(&path, &bytes).unwrap();
        let s = EventStore::open(tmp.path()).unwrap();
        assert_eq!(s.find(0, 1000, None, SetOp::All).unwrap().len(), 4);
        assert_eq!(s.post(ev(r#"{"what":"n"}"#)).unwrap().id, 5);
    }

    /// The frozen v1 fixture of `docs/format/events.md`: later versions must keep reading it.
    #[test]
    fn frozen_events_fixture_reads() {
        let bytes = include_bytes!("../../ingest-tests/fixtures/events-v1/events/events.log");
        assert_eq!(
            &bytes[..8],
            &[0x50, 0x00, 0x00, 0x00, 0x64, 0x9a, 0x46, 0x64]
        );
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("events")).unwrap();
        std::fs::write(tmp.path().join("events/events.log"), bytes).unwrap();
        let s = EventStore::open(tmp.path()).unwrap();
        let all = s.find(0, i64::MAX, None, SetOp::All).unwrap();
        assert_eq!(
            all,
            [
                Event {
                    id: 1,
                    when: 1_790_000_000,
                    what: "deploy web".into(),
                    data: "v1.2".into(),
                    tags: "deploy web".into()
                },
                Event {
                    id: 2,
                    when: 1_790_000_100,
                    what: "restart".into(),
                    data: String::new(),
                    tags: "db,ams".into()
                }
            ]
        );
        let mut again = Vec::new();
        for e in &all {
            encode(e, &mut again);
        }
        assert_eq!(again.as_slice(), bytes.as_slice());
    }

    proptest! {
        /// A body built from any fields parses back to those fields, and the stored record of
        /// the event reads back unchanged.
        #[test]
        fn bodies_round_trip_through_parse_and_the_log(
            what in "\\PC{0,20}",
            tags in proptest::collection::vec("[a-z0-9,\" ]{1,6}", 0..4),
            data in "\\PC{0,20}",
            when in -1_000_000_000_000i64..1_000_000_000_000,
        ) {
            let body = serde_json::json!({"what": what, "tags": tags, "data": data, "when": when});
            let e = parse_post(body.to_string().as_bytes(), 0).unwrap();
            prop_assert_eq!(&e, &NewEvent { when, what: what.clone(), data: data.clone(), tags: tags.join(" ") });
            let stored = Event { id: 7, when: e.when, what: e.what, data: e.data, tags: e.tags };
            let mut buf = Vec::new();
            encode(&stored, &mut buf);
            let (back, end) = decode(&buf, 0).unwrap();
            prop_assert_eq!(end, buf.len());
            prop_assert_eq!(back, stored);
        }

        #[test]
        fn bodies_never_panic_and_parsed_tags_are_sorted_and_unique(
            body in "\\PC{0,60}",
            tags in "[a-c ,\"]{0,12}",
        ) {
            let _ = parse_post(body.as_bytes(), 0);
            let t = parse_tag_input(&tags);
            let mut sorted = t.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&t, &sorted);
            prop_assert!(t.iter().all(|w| !w.is_empty() && w.trim() == w));
        }
    }
}

//! The tag index: what graphite-web's tag database answers (tag → value → series, with the
//! metric name as the tag `name`), kept in memory beside the series index.
//!
//! Nothing here is persisted but deletions: the index is rebuilt from the series names at
//! start (a tagged series is stored under carbon's normalized path `name;k1=v1;k2=v2`, so the
//! name alone gives its tags), and every new series is added as it is created. Untagged
//! series are indexed too, with only `name`, because carbon tags every series it writes and
//! graphite-web's `seriesByTag('name=a.b.c')` finds them. `/tags/delSeries` removes a series
//! from the tag index only (as graphite-web, the data stays); that decision survives a
//! restart through the small deletion log described in `docs/format/tags.md`, and a later
//! write to the series brings it back, as carbon re-tags series it keeps writing.
//!
//! Ids: graphite-web's `/tags` answers carry database row ids. Tags and values get theirs here
//! in first-seen order over the series ids, so they are stable across restarts and, as in
//! graphite-web, a tag or value keeps its id after its last series is deleted.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::Regex;

use super::MetricsError;

/// Why a tag query was refused; the request's fault (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// graphite-web's message, word for word.
    #[error("Invalid tagspec {0}")]
    InvalidSpec(String),
    #[error("At least one tagspec must not match the empty string")]
    AllMatchEmpty,
    #[error("invalid regular expression {spec:?}: {reason}")]
    Regex { spec: String, reason: String },
    #[error("{0}")]
    InvalidPath(String),
}

/// The four operators of a tag expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    NotEq,
    Match,
    NotMatch,
}

/// One parsed `tag<op>spec` expression.
#[derive(Debug, Clone)]
pub struct TagExpr {
    pub tag: String,
    pub op: Op,
    pub spec: String,
    /// The spec compiled and anchored at the start (regex operators only).
    regex: Option<Regex>,
}

/// Largest compiled regex accepted from a request, so a hostile pattern stays cheap.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl TagExpr {
    /// graphite-web's `parse_tagspec`: `^([^;!=]+)(!?=~?)([^;]*)$`; a regex spec not starting
    /// with `^` is anchored as `^(spec)`.
    pub fn parse(expr: &str) -> Result<TagExpr, TagError> {
        let bad = || TagError::InvalidSpec(expr.to_string());
        let tag_end = expr.find([';', '!', '=']).unwrap_or(expr.len());
        if tag_end == 0 {
            return Err(bad());
        }
        let tag = &expr[..tag_end];
        let rest = &expr[tag_end..];
        let (op, spec) = if let Some(s) = rest.strip_prefix("!=~") {
            (Op::NotMatch, s)
        } else if let Some(s) = rest.strip_prefix("!=") {
            (Op::NotEq, s)
        } else if let Some(s) = rest.strip_prefix("=~") {
            (Op::Match, s)
        } else if let Some(s) = rest.strip_prefix('=') {
            (Op::Eq, s)
        } else {
            return Err(bad());
        };
        if spec.contains(';') {
            return Err(bad());
        }
        let regex = match op {
            Op::Match | Op::NotMatch => Some(anchored(spec)?),
            Op::Eq | Op::NotEq => None,
        };
        Ok(TagExpr {
            tag: tag.to_string(),
            op,
            spec: spec.to_string(),
            regex,
        })
    }

    /// Whether a value (`""` for a missing tag) satisfies the expression.
    pub fn matches(&self, value: &str) -> bool {
        match (self.op, &self.regex) {
            (Op::Eq, _) => value == self.spec,
            (Op::NotEq, _) => value != self.spec,
            (Op::Match, Some(r)) => r.is_match(value),
            (Op::NotMatch, Some(r)) => !r.is_match(value),
            (_, None) => false,
        }
    }

    /// graphite-web's `matches_empty`: such an expression also matches series without the
    /// tag, so it can only filter, never select.
    pub fn matches_empty(&self) -> bool {
        self.matches("")
    }
}

/// A regex anchored at the start as graphite-web anchors it (`^(spec)` unless it starts with
/// `^`); Python's `re.match` semantics for the rest.
pub fn anchored(spec: &str) -> Result<Regex, TagError> {
    let pattern = if spec.starts_with('^') {
        spec.to_string()
    } else {
        format!("^({spec})")
    };
    regex::RegexBuilder::new(&pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| TagError::Regex {
            spec: spec.to_string(),
            reason: e.to_string().lines().last().unwrap_or_default().to_string(),
        })
}

/// The literal text every match of the anchored regex `spec` starts with (possibly empty):
/// plain characters and escaped punctuation up to the first other metacharacter, stopping
/// before a character a `*`, `?` or `{` makes optional; nothing when the pattern has an
/// alternation or starts with flags. Lets a `=~` scan only the values after that prefix.
pub fn literal_prefix(spec: &str) -> String {
    let spec = spec.strip_prefix('^').unwrap_or(spec);
    if spec.contains('|') || spec.starts_with("(?") {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        let lit = match c {
            '\\' => match chars.peek() {
                Some(&n) if n.is_ascii_punctuation() => {
                    chars.next();
                    n
                }
                _ => break,
            },
            '.' | '[' | ']' | '(' | ')' | '*' | '+' | '?' | '{' | '}' | '^' | '$' => break,
            other => other,
        };
        if matches!(chars.peek(), Some('*' | '?' | '{')) {
            break;
        }
        out.push(lit);
    }
    out
}

/// The tags of a stored (normalized) series name: `name` first, then the others in the
/// name's order; `None` for a name carbon would not have tagged.
pub fn series_tags(name: &str) -> Option<Vec<(&str, &str)>> {
    let mut parts = name.split(';');
    let metric = parts.next().filter(|m| !m.is_empty())?;
    let mut out = vec![("name", metric.trim_start_matches('~'))];
    if out[0].1.is_empty() {
        return None;
    }
    for seg in parts {
        let (k, v) = seg.split_once('=')?;
        validate_tag_value(k, v).ok()?;
        if k != "name" {
            out.push((k, v));
        }
    }
    Some(out)
}

/// graphite-web's `TaggedSeries.validateTagAndValue`, with its messages.
pub fn validate_tag_value(tag: &str, value: &str) -> Result<(), TagError> {
    let bad = |m: String| Err(TagError::InvalidPath(m));
    if tag.is_empty() {
        return bad("Tag may not be empty".into());
    }
    if value.is_empty() {
        return bad(format!("Value for tag \"{tag}\" may not be empty"));
    }
    if let Some(c) = tag.chars().find(|c| ";!^=".contains(*c)) {
        return bad(format!("Character \"{c}\" is not allowed in tag \"{tag}\""));
    }
    if value.contains(';') {
        return bad(format!(
            "Character \";\" is not allowed in value \"{value}\" of tag {tag}"
        ));
    }
    if value.starts_with('~') {
        return bad(format!(
            "Tag values are not allowed to start with \"~\" in tag \"{tag}\""
        ));
    }
    Ok(())
}

/// carbon's `TaggedSeries.parse(path).path` for a path given to `/tags/tagSeries` or
/// `/tags/delSeries`, with graphite-web's messages for the ones it refuses.
pub fn normalize_path(path: &str) -> Result<String, TagError> {
    let mut segments = path.split(';');
    let metric = segments.next().unwrap_or_default();
    if metric.is_empty() {
        return Err(TagError::InvalidPath(format!(
            "Cannot parse path {path}, no metric found"
        )));
    }
    let mut tags: BTreeMap<&str, &str> = BTreeMap::new();
    for seg in segments {
        let Some((k, v)) = seg.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(TagError::InvalidPath(format!(
                "Cannot parse path {path}, invalid segment {seg}"
            )));
        };
        validate_tag_value(k, v)?;
        tags.insert(k, v);
    }
    let name = metric.trim_start_matches('~');
    if name.is_empty() {
        return Err(TagError::InvalidPath(format!(
            "Cannot use metric name {metric} as tag value, results in emptry string"
        )));
    }
    tags.remove("name");
    let mut parts: Vec<String> = tags.iter().map(|(k, v)| format!(";{k}={v}")).collect();
    parts.sort();
    Ok(format!("{name}{}", parts.concat()))
}

/// One tag: its id and, by value, the live series carrying it.
struct Tag {
    id: u32,
    /// Sorted series ids per value; a value whose series were all deleted stays (count 0).
    values: BTreeMap<Arc<str>, Vec<u32>>,
}

/// A value's row in `/tags/<tag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueInfo {
    pub id: u32,
    pub value: String,
    pub count: usize,
}

/// The in-memory tag index; see the module documentation.
#[derive(Default)]
pub struct TagIndex {
    tags: BTreeMap<Arc<str>, Tag>,
    /// Interned values and their ids (one id per distinct value text, as graphite-web's
    /// `tags_tagvalue` table).
    value_ids: HashMap<Arc<str>, u32>,
    /// Series removed by `/tags/delSeries`, by id.
    deleted: Vec<bool>,
    deleted_count: usize,
}

impl TagIndex {
    fn intern(&mut self, v: &str, whole: &Arc<str>) -> Arc<str> {
        if let Some((k, _)) = self.value_ids.get_key_value(v) {
            return k.clone();
        }
        // an untagged series' name value is its whole name: share that allocation
        let k: Arc<str> = if &**whole == v {
            whole.clone()
        } else {
            v.into()
        };
        let id = self.value_ids.len() as u32 + 1;
        self.value_ids.insert(k.clone(), id);
        k
    }

    /// Indexes series `sid` (ids arrive in increasing order; a re-added deleted series may
    /// come later, so inserts keep the lists sorted either way).
    pub fn add(&mut self, sid: u32, name: &Arc<str>) {
        let Some(tags) = series_tags(name) else {
            return;
        };
        for (k, v) in tags {
            let value = self.intern(v, name);
            let next_id = self.tags.len() as u32 + 1;
            let tag = self.tags.entry(k.into()).or_insert_with(|| Tag {
                id: next_id,
                values: BTreeMap::new(),
            });
            let list = tag.values.entry(value).or_default();
            match list.last() {
                Some(&last) if last < sid => list.push(sid),
                None => list.push(sid),
                _ => {
                    if let Err(at) = list.binary_search(&sid) {
                        list.insert(at, sid);
                    }
                }
            }
        }
    }

    /// Removes series `sid` from every value list; `false` if it was not indexed.
    pub fn remove(&mut self, sid: u32, name: &str) -> bool {
        if self.is_deleted(sid) {
            return false;
        }
        let Some(tags) = series_tags(name) else {
            return false;
        };
        for (k, v) in tags {
            if let Some(list) = self.tags.get_mut(k).and_then(|t| t.values.get_mut(v))
                && let Ok(at) = list.binary_search(&sid)
            {
                list.remove(at);
            }
        }
        let i = sid as usize;
        if self.deleted.len() <= i {
            self.deleted.resize(i + 1, false);
        }
        self.deleted[i] = true;
        self.deleted_count += 1;
        true
    }

    /// Puts a deleted series back; `false` if it was not deleted.
    pub fn restore(&mut self, sid: u32, name: &Arc<str>) -> bool {
        if !self.is_deleted(sid) {
            return false;
        }
        self.deleted[sid as usize] = false;
        self.deleted_count -= 1;
        self.add(sid, name);
        true
    }

    pub fn is_deleted_any(&self) -> bool {
        self.deleted_count > 0
    }

    pub fn is_deleted(&self, sid: u32) -> bool {
        self.deleted_count > 0 && self.deleted.get(sid as usize).copied().unwrap_or(false)
    }

    /// graphite-web's `find_series`: ids of the series matching every expression, unsorted.
    /// `name_of` gives a series' stored name, from which the filters read its tags.
    pub fn find_ids<'n>(
        &self,
        exprs: &[TagExpr],
        name_of: &dyn Fn(u32) -> Option<&'n str>,
    ) -> Result<Vec<u32>, TagError> {
        let mut selecting: Vec<Cow<'_, [u32]>> = Vec::new();
        let mut filters = Vec::new();
        for e in exprs {
            if e.matches_empty() {
                filters.push(e);
                continue;
            }
            // a selecting expression needs the tag: gather the series of matching values
            let Some(tag) = self.tags.get(e.tag.as_str()) else {
                selecting.push(Cow::Owned(Vec::new()));
                continue;
            };
            if e.op == Op::Eq {
                let l = tag
                    .values
                    .get(e.spec.as_str())
                    .map_or(&[][..], Vec::as_slice);
                selecting.push(Cow::Borrowed(l));
                continue;
            }
            // only the values after a `=~` regex's literal prefix can match it
            let prefix = if e.op == Op::Match {
                literal_prefix(&e.spec)
            } else {
                String::new()
            };
            let mut ids = Vec::new();
            for (v, l) in tag
                .values
                .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded))
                .take_while(|(v, _)| v.starts_with(prefix.as_str()))
            {
                if e.matches(v) {
                    ids.extend_from_slice(l);
                }
            }
            ids.sort_unstable();
            ids.dedup();
            selecting.push(Cow::Owned(ids));
        }
        if selecting.is_empty() {
            return Err(TagError::AllMatchEmpty);
        }
        selecting.sort_by_key(|s| s.len());
        let mut out = selecting.swap_remove(0).into_owned();
        for other in &selecting {
            out.retain(|id| other.binary_search(id).is_ok());
        }
        if !filters.is_empty() {
            out.retain(|&sid| {
                let Some(tags) = name_of(sid).and_then(series_tags) else {
                    return false;
                };
                filters.iter().all(|f| {
                    let v = tags
                        .iter()
                        .find(|(k, _)| *k == f.tag)
                        .map_or("", |(_, v)| *v);
                    f.matches(v)
                })
            });
        }
        Ok(out)
    }

    /// `/tags`: `(id, tag)` sorted by tag, filtered by an anchored regex, at most `limit`.
    pub fn list_tags(
        &self,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Vec<(u32, String)>, TagError> {
        let re = filter.filter(|f| !f.is_empty()).map(anchored).transpose()?;
        Ok(self
            .tags
            .iter()
            .filter(|(t, _)| re.as_ref().is_none_or(|r| r.is_match(t)))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(t, tag)| (tag.id, t.to_string()))
            .collect())
    }

    /// `/tags/<tag>`: the tag's id and its values with a live series, sorted; `None` for a
    /// tag never seen.
    pub fn get_tag(
        &self,
        tag: &str,
        filter: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Option<(u32, Vec<ValueInfo>)>, TagError> {
        let re = filter.filter(|f| !f.is_empty()).map(anchored).transpose()?;
        let Some(t) = self.tags.get(tag) else {
            return Ok(None);
        };
        let values = t
            .values
            .iter()
            .filter(|(v, l)| !l.is_empty() && re.as_ref().is_none_or(|r| r.is_match(v)))
            .take(limit.unwrap_or(usize::MAX))
            .map(|(v, l)| ValueInfo {
                id: self.value_ids.get(&**v).copied().unwrap_or(0),
                value: v.to_string(),
                count: l.len(),
            })
            .collect();
        Ok(Some((t.id, values)))
    }
}

impl TagIndex {
    /// graphite-web's `auto_complete_tags`: without expressions, the known tags starting
    /// with `prefix`; with them, the tags of the matching series (except the ones the
    /// expressions name) starting with `prefix`; sorted, at most `limit`.
    pub fn auto_complete_tags<'n>(
        &self,
        exprs: &[String],
        prefix: Option<&str>,
        limit: usize,
        name_of: &dyn Fn(u32) -> Option<&'n str>,
    ) -> Result<Vec<String>, TagError> {
        let prefix = prefix.unwrap_or("");
        if exprs.is_empty() {
            return Ok(self
                .tags
                .keys()
                .filter(|t| t.starts_with(prefix))
                .take(limit)
                .map(|t| t.to_string())
                .collect());
        }
        let parsed = exprs
            .iter()
            .map(|e| TagExpr::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        let searched: Vec<&str> = parsed.iter().map(|e| e.tag.as_str()).collect();
        let mut out = std::collections::BTreeSet::new();
        for sid in self.find_ids(&parsed, name_of)? {
            for (k, _) in name_of(sid).and_then(series_tags).unwrap_or_default() {
                if !searched.contains(&k) && k.starts_with(prefix) {
                    out.insert(k);
                }
            }
        }
        Ok(out.into_iter().take(limit).map(String::from).collect())
    }

    /// graphite-web's `auto_complete_values`: the values of `tag` starting with `prefix`,
    /// over every live series or over the series matching the expressions; sorted, at most
    /// `limit`.
    pub fn auto_complete_values<'n>(
        &self,
        exprs: &[String],
        tag: &str,
        prefix: Option<&str>,
        limit: usize,
        name_of: &dyn Fn(u32) -> Option<&'n str>,
    ) -> Result<Vec<String>, TagError> {
        let prefix = prefix.unwrap_or("");
        if exprs.is_empty() {
            let Some(t) = self.tags.get(tag) else {
                return Ok(Vec::new());
            };
            return Ok(t
                .values
                .iter()
                .filter(|(v, l)| !l.is_empty() && v.starts_with(prefix))
                .take(limit)
                .map(|(v, _)| v.to_string())
                .collect());
        }
        let mut parsed = exprs
            .iter()
            .map(|e| TagExpr::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        parsed.push(TagExpr::parse(&format!("{tag}!="))?);
        let mut out = std::collections::BTreeSet::new();
        for sid in self.find_ids(&parsed, name_of)? {
            let tags = name_of(sid).and_then(series_tags).unwrap_or_default();
            if let Some((_, v)) = tags.iter().find(|(k, _)| *k == tag)
                && v.starts_with(prefix)
            {
                out.insert(*v);
            }
        }
        Ok(out.into_iter().take(limit).map(String::from).collect())
    }
}

/// The deletion log beside the series index: 9-byte records `op u8 | sid u32 | crc32 u32`
/// (little-endian, the CRC over the first five bytes), op 1 deletes and 2 restores.
pub struct DeletionLog {
    path: PathBuf,
    file: File,
}

pub const OP_DELETE: u8 = 1;
pub const OP_RESTORE: u8 = 2;

impl DeletionLog {
    /// Opens or creates the log and returns its records in order; a torn or corrupt tail is
    /// cut off (a lost record only means a deletion is undone).
    pub fn open(path: &Path) -> Result<(DeletionLog, Vec<(u8, u32)>), MetricsError> {
        let file = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| MetricsError::io(path, e))?;
        let bytes = std::fs::read(path).map_err(|e| MetricsError::io(path, e))?;
        let mut records = Vec::new();
        let mut pos = 0;
        while let Some(rec) = bytes.get(pos..pos + 9) {
            let crc = u32::from_le_bytes([rec[5], rec[6], rec[7], rec[8]]);
            if crc32fast::hash(&rec[..5]) != crc || !matches!(rec[0], OP_DELETE | OP_RESTORE) {
                break;
            }
            records.push((rec[0], u32::from_le_bytes([rec[1], rec[2], rec[3], rec[4]])));
            pos += 9;
        }
        if pos < bytes.len() {
            tracing::warn!(path = %path.display(), at = pos, "tag deletion log: cutting a torn tail");
            file.set_len(pos as u64)
                .and_then(|()| file.sync_all())
                .map_err(|e| MetricsError::io(path, e))?;
        }
        Ok((
            DeletionLog {
                path: path.to_path_buf(),
                file,
            },
            records,
        ))
    }

    /// Appends records and fsyncs them (deletions are rare and must survive a crash).
    pub fn append(&mut self, records: &[(u8, u32)]) -> Result<(), MetricsError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(records.len() * 9);
        for &(op, sid) in records {
            encode_deletion(op, sid, &mut buf);
        }
        self.file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| MetricsError::io(&self.path, e))
    }
}

/// One deletion-log record.
pub fn encode_deletion(op: u8, sid: u32, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(op);
    out.extend_from_slice(&sid.to_le_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index(names: &[&str]) -> (TagIndex, Vec<Arc<str>>) {
        let mut ix = TagIndex::default();
        let names: Vec<Arc<str>> = names.iter().map(|n| Arc::from(*n)).collect();
        for (i, n) in names.iter().enumerate() {
            ix.add(i as u32, n);
        }
        (ix, names)
    }

    fn find(ix: &TagIndex, names: &[Arc<str>], exprs: &[&str]) -> Result<Vec<String>, TagError> {
        let exprs = exprs
            .iter()
            .map(|e| TagExpr::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<String> = ix
            .find_ids(&exprs, &|i| names.get(i as usize).map(|n| &**n))?
            .into_iter()
            .map(|i| names[i as usize].to_string())
            .collect();
        out.sort();
        Ok(out)
    }

    const NAMES: &[&str] = &[
        "cpu;dc=ams;host=web1",
        "cpu;dc=ams;host=web2",
        "cpu;dc=fra;host=db1",
        "mem;dc=ams;host=web1",
        "disk.used",
        "cpu;host=web3",
    ];

    #[test]
    fn expressions_select_and_filter_as_graphite_web() {
        let (ix, n) = index(NAMES);
        assert_eq!(
            find(&ix, &n, &["name=cpu", "dc=ams"]).unwrap(),
            ["cpu;dc=ams;host=web1", "cpu;dc=ams;host=web2"]
        );
        // != with a value matches series without the tag
        assert_eq!(
            find(&ix, &n, &["name=cpu", "dc!=ams"]).unwrap(),
            ["cpu;dc=fra;host=db1", "cpu;host=web3"]
        );
        // `dc=` means "has no dc"
        assert_eq!(
            find(&ix, &n, &["name=cpu", "dc="]).unwrap(),
            ["cpu;host=web3"]
        );
        // `dc!=` means "has a dc" and selects on its own
        assert_eq!(find(&ix, &n, &["dc!="]).unwrap().len(), 4);
        // regexes are anchored at the start only
        assert_eq!(
            find(&ix, &n, &["host=~web"]).unwrap(),
            [
                "cpu;dc=ams;host=web1",
                "cpu;dc=ams;host=web2",
                "cpu;host=web3",
                "mem;dc=ams;host=web1"
            ]
        );
        assert!(find(&ix, &n, &["host=~eb"]).unwrap().is_empty());
        assert_eq!(
            find(&ix, &n, &["name=~cpu", "host!=~web[12]"]).unwrap(),
            ["cpu;dc=fra;host=db1", "cpu;host=web3"]
        );
        // an untagged series is found by its name
        assert_eq!(find(&ix, &n, &["name=disk.used"]).unwrap(), ["disk.used"]);
        // a regex matching the empty string filters but cannot select
        assert_eq!(
            find(&ix, &n, &["dc=~.*"]).unwrap_err(),
            TagError::AllMatchEmpty
        );
        assert_eq!(
            find(&ix, &n, &["name=cpu", "dc=~(ams)?$"]).unwrap(),
            [
                "cpu;dc=ams;host=web1",
                "cpu;dc=ams;host=web2",
                "cpu;host=web3"
            ]
        );
        assert_eq!(
            find(&ix, &n, &["dc!=ams"]).unwrap_err().to_string(),
            "At least one tagspec must not match the empty string"
        );
        assert_eq!(
            find(&ix, &n, &["dc"]).unwrap_err().to_string(),
            "Invalid tagspec dc"
        );
        assert!(matches!(
            find(&ix, &n, &["dc=~("]).unwrap_err(),
            TagError::Regex { .. }
        ));
    }

    #[test]
    fn literal_prefixes_never_claim_too_much() {
        for (spec, want) in [
            ("web", "web"),
            ("^web1", "web1"),
            ("servers\\.host0001", "servers.host0001"),
            ("web.*", "web"),
            ("webx*", "web"),
            ("webx?", "web"),
            ("web{2}", "we"),
            ("web+", "web"),
            ("a|b", ""),
            ("(?i)web", ""),
            ("[ab]c", ""),
            ("ab\\d", "ab"),
        ] {
            assert_eq!(literal_prefix(spec), want, "{spec}");
            let re = anchored(spec).unwrap();
            let p = literal_prefix(spec);
            // anything the regex matches starts with the prefix
            for probe in [
                "web",
                "web1",
                "webxx",
                "we",
                "servers.host00012",
                "a",
                "b",
                "WEB",
                "abc",
                "ab1",
            ] {
                if re.is_match(probe) {
                    assert!(probe.starts_with(&p), "{spec} matched {probe} outside {p}");
                }
            }
        }
    }

    #[test]
    fn tagspecs_parse_as_graphite_web_regex() {
        let p = |s: &str| TagExpr::parse(s).map(|e| (e.tag, e.op, e.spec));
        assert_eq!(p("a=b").unwrap(), ("a".into(), Op::Eq, "b".into()));
        assert_eq!(p("a==b").unwrap(), ("a".into(), Op::Eq, "=b".into()));
        assert_eq!(p("a!=~b").unwrap(), ("a".into(), Op::NotMatch, "b".into()));
        assert_eq!(p("a=~").unwrap(), ("a".into(), Op::Match, "".into()));
        assert_eq!(p("a!=").unwrap(), ("a".into(), Op::NotEq, "".into()));
        for bad in ["", "=b", "a", "a!b", "a;b=c", "a=b;c", "a!"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_and_values_list_with_ids_counts_filters_and_limits() {
        let (mut ix, n) = index(NAMES);
        let tags = ix.list_tags(None, None).unwrap();
        assert_eq!(
            tags,
            [
                (2, "dc".to_string()),
                (3, "host".into()),
                (1, "name".into())
            ]
        );
        assert_eq!(
            ix.list_tags(Some("h|d"), Some(1)).unwrap(),
            [(2, "dc".into())]
        );
        assert!(ix.list_tags(Some("ost"), None).unwrap().is_empty());
        let (id, values) = ix.get_tag("dc", None, None).unwrap().unwrap();
        assert_eq!(id, 2);
        assert_eq!(
            values
                .iter()
                .map(|v| (v.value.as_str(), v.count))
                .collect::<Vec<_>>(),
            [("ams", 3), ("fra", 1)]
        );
        assert!(ix.get_tag("nope", None, None).unwrap().is_none());
        // delete: counts drop, the value with no series left disappears, the tag stays
        assert!(ix.remove(2, &n[2]));
        assert!(!ix.remove(2, &n[2]));
        let (_, values) = ix.get_tag("dc", None, None).unwrap().unwrap();
        assert_eq!(values.len(), 1);
        assert!(find(&ix, &n, &["host=db1"]).unwrap().is_empty());
        assert!(ix.restore(2, &n[2]));
        assert_eq!(
            find(&ix, &n, &["host=db1"]).unwrap(),
            ["cpu;dc=fra;host=db1"]
        );
        // ids do not move when a value comes back
        let (_, values) = ix.get_tag("dc", Some("fr"), None).unwrap().unwrap();
        assert_eq!(values[0].id, ix.value_ids["fra"]);
    }

    #[test]
    fn paths_normalize_as_carbon_with_graphite_web_messages() {
        assert_eq!(normalize_path("a.b;z=1;a=2").unwrap(), "a.b;a=2;z=1");
        assert_eq!(normalize_path("~a;name=x;k=v").unwrap(), "a;k=v");
        assert_eq!(
            normalize_path(";a=b").unwrap_err().to_string(),
            "Cannot parse path ;a=b, no metric found"
        );
        assert_eq!(
            normalize_path("a;b").unwrap_err().to_string(),
            "Cannot parse path a;b, invalid segment b"
        );
        assert_eq!(
            normalize_path("a;b=").unwrap_err().to_string(),
            "Value for tag \"b\" may not be empty"
        );
        assert_eq!(
            normalize_path("a;b!c=1").unwrap_err().to_string(),
            "Character \"!\" is not allowed in tag \"b!c\""
        );
        assert_eq!(
            normalize_path("a;b=~1").unwrap_err().to_string(),
            "Tag values are not allowed to start with \"~\" in tag \"b\""
        );
    }

    #[test]
    fn deletion_log_replays_and_cuts_a_torn_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("tags-deleted");
        let (mut log, recs) = DeletionLog::open(&path).unwrap();
        assert!(recs.is_empty());
        log.append(&[(OP_DELETE, 3), (OP_RESTORE, 3), (OP_DELETE, 70000)])
            .unwrap();
        drop(log);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs) = DeletionLog::open(&path).unwrap();
        assert_eq!(recs, [(OP_DELETE, 3), (OP_RESTORE, 3), (OP_DELETE, 70000)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 27);
    }

    /// The frozen v1 fixture of `docs/format/tags.md`: later versions must keep reading it.
    #[test]
    fn frozen_deletion_log_fixture_reads() {
        let bytes = include_bytes!("../../../ingest-tests/fixtures/tags-deleted.v1");
        let mut want = Vec::new();
        encode_deletion(OP_DELETE, 1, &mut want);
        encode_deletion(OP_DELETE, 258, &mut want);
        encode_deletion(OP_RESTORE, 1, &mut want);
        assert_eq!(bytes.as_slice(), want.as_slice());
        assert_eq!(
            &bytes[..9],
            &[0x01, 0x01, 0x00, 0x00, 0x00, 0xc8, 0xb9, 0xfe, 0x43][..]
        );
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("tags-deleted");
        std::fs::write(&path, bytes).unwrap();
        let (_, recs) = DeletionLog::open(&path).unwrap();
        assert_eq!(recs, [(OP_DELETE, 1), (OP_DELETE, 258), (OP_RESTORE, 1)]);
    }

    proptest! {
        /// The index answers as a scan of every name would (graphite-web's semantics applied
        /// to each series' parsed tags).
        #[test]
        fn index_agrees_with_a_scan(
            names in proptest::collection::btree_set("[ab](;x=[12])?(;y=[12])?", 1..20),
            exprs in proptest::collection::vec("(name|x|y)(=|!=|=~|!=~)[ab12.*]{0,2}", 1..3),
            deleted in proptest::collection::vec(0u32..20, 0..4),
        ) {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let (mut ix, n) = index(&names);
            for d in &deleted {
                if let Some(name) = n.get(*d as usize) {
                    ix.remove(*d, name);
                }
            }
            let exprs: Vec<&str> = exprs.iter().map(String::as_str).collect();
            let Ok(parsed) = exprs.iter().map(|e| TagExpr::parse(e)).collect::<Result<Vec<_>, _>>() else {
                return Ok(());
            };
            let got = find(&ix, &n, &exprs);
            if parsed.iter().all(TagExpr::matches_empty) {
                prop_assert_eq!(got.unwrap_err(), TagError::AllMatchEmpty);
                return Ok(());
            }
            let mut want: Vec<String> = n.iter().enumerate()
                .filter(|(i, _)| !ix.is_deleted(*i as u32))
                .filter(|(_, name)| {
                    let Some(tags) = series_tags(name) else { return false };
                    parsed.iter().all(|e| {
                        let v = tags.iter().find(|(k, _)| *k == e.tag).map_or("", |(_, v)| *v);
                        e.matches(v)
                    })
                })
                .map(|(_, name)| name.to_string())
                .collect();
            want.sort();
            prop_assert_eq!(got.unwrap(), want);
        }

        #[test]
        fn tagspec_parse_never_panics(s in "\\PC{0,40}") {
            let _ = TagExpr::parse(&s);
            let _ = normalize_path(&s);
        }
    }
}

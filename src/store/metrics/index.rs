//! The series index: series id ↔ name, persisted as an append-only file of checksummed
//! records, and held in memory as a tree of dotted name nodes that answers Graphite globs.
//!
//! Why an append-only log and not an `fst` snapshot: series are created one at a time on the
//! write path and must never be dropped or throttled, so the structure has to take single
//! inserts cheaply; an fst is immutable and would need a second mutable layer plus periodic
//! rebuilds to do the same. The log is replayed into the in-memory tree on open (a few
//! hundred bytes a series, so a million series load in about a second), a torn tail from a
//! crash is cut off, and the WAL's own series records restore whatever the cut removed. An
//! fst snapshot remains a good later step if startup time or memory for many millions of
//! series starts to matter; the file format would not need to change.
//!
//! Globs are matched node by node: a literal component is a map lookup, a component with a
//! literal prefix before its first wildcard is a range scan of the sorted children, and only
//! the remaining children are matched against the glob, so a query never scans every name.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::MetricsError;
use super::tags::{self, DeletionLog, TagError, TagExpr, TagIndex};

/// Limit on `{a,b}` expansions of one pattern, so a hostile query stays cheap.
const MAX_EXPANSIONS: usize = 4096;

#[derive(Default)]
struct Node {
    /// Sorted, so a literal prefix is a range scan and results come out in order.
    children: BTreeMap<Box<str>, Node>,
    /// The series whose full name ends at this node.
    leaf: Option<u32>,
}

pub struct SeriesIndex {
    path: PathBuf,
    file: File,
    /// Names by id: ids are dense, assigned in creation order.
    names: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, u32>,
    root: Node,
    /// graphite-web's tag database over the same names (see [`tags`]).
    tags: TagIndex,
    /// Where `/tags/delSeries` decisions persist.
    deletions: DeletionLog,
}

/// `len u32 | crc32 u32 | id u32 | name`, all little-endian; `len` counts id and name.
fn encode(id: u32, name: &str, out: &mut Vec<u8>) {
    let len = 4 + name.len() as u32;
    let mut h = crc32fast::Hasher::new();
    h.update(&id.to_le_bytes());
    h.update(name.as_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl SeriesIndex {
    /// Opens or creates the index file, replaying it; a torn or corrupt tail is truncated.
    pub fn open(path: &Path) -> Result<SeriesIndex, MetricsError> {
        let file = OpenOptions::new()
            .read(true)
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| MetricsError::io(path, e))?;
        let bytes = std::fs::read(path).map_err(|e| MetricsError::io(path, e))?;
        let (deletions, deleted) = DeletionLog::open(&path.with_file_name("tags-deleted"))?;
        let mut index = SeriesIndex {
            path: path.to_path_buf(),
            file,
            names: Vec::new(),
            ids: HashMap::new(),
            root: Node::default(),
            tags: TagIndex::default(),
            deletions,
        };
        let mut pos = 0;
        while let Some((id, name, next)) = Self::record(&bytes, pos) {
            if id as usize != index.names.len() || index.ids.contains_key(name) {
                break;
            }
            index.add(id, name);
            pos = next;
        }
        if pos < bytes.len() {
            tracing::warn!(path = %path.display(), at = pos, "series index: cutting a torn tail");
            index
                .file
                .set_len(pos as u64)
                .and_then(|()| index.file.sync_all())
                .map_err(|e| MetricsError::io(path, e))?;
        }
        // deletions only name series that were fsynced before the record was written
        for (op, sid) in deleted {
            let Some(name) = index.names.get(sid as usize).cloned() else {
                tracing::warn!(sid, "tag deletion log: unknown series skipped");
                continue;
            };
            if op == tags::OP_DELETE {
                index.tags.remove(sid, &name);
            } else {
                index.tags.restore(sid, &name);
            }
        }
        Ok(index)
    }

    fn record(b: &[u8], pos: usize) -> Option<(u32, &str, usize)> {
        let len = u32_at(b, pos)? as usize;
        let crc = u32_at(b, pos + 4)?;
        let body = b.get(pos + 8..(pos + 8).checked_add(len)?)?;
        if len < 4 || crc32fast::hash(body) != crc {
            return None;
        }
        let name = std::str::from_utf8(&body[4..]).ok()?;
        Some((u32_at(body, 0)?, name, pos + 8 + len))
    }

    fn add(&mut self, id: u32, name: &str) {
        let name: Arc<str> = name.into();
        self.names.push(name.clone());
        self.ids.insert(name.clone(), id);
        let mut node = &mut self.root;
        for part in name.split('.') {
            node = node.children.entry(part.into()).or_default();
        }
        node.leaf = Some(id);
        self.tags.add(id, &name);
    }

    /// graphite-web's `find_series`: names of the live series matching every tag
    /// expression, sorted.
    pub fn find_tagged(&self, exprs: &[String]) -> Result<Vec<String>, TagError> {
        let exprs = exprs
            .iter()
            .map(|e| TagExpr::parse(e))
            .collect::<Result<Vec<_>, _>>()?;
        let mut out: Vec<String> = self
            .tags
            .find_ids(&exprs, &|sid| self.name(sid))?
            .into_iter()
            .filter_map(|sid| self.name(sid).map(str::to_string))
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    pub fn tag_index(&self) -> &TagIndex {
        &self.tags
    }

    /// `/tags/autoComplete/tags` (see [`TagIndex::auto_complete_tags`]).
    pub fn auto_complete_tags(
        &self,
        exprs: &[String],
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, TagError> {
        self.tags
            .auto_complete_tags(exprs, prefix, limit, &|sid| self.name(sid))
    }

    /// `/tags/autoComplete/values` (see [`TagIndex::auto_complete_values`]).
    pub fn auto_complete_values(
        &self,
        exprs: &[String],
        tag: &str,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, TagError> {
        self.tags
            .auto_complete_values(exprs, tag, prefix, limit, &|sid| self.name(sid))
    }

    /// Removes series from the tag index (not their data), durably: the series records are
    /// fsynced first, so every id the deletion log names exists after a crash.
    pub fn delete_tagged(&mut self, names: &[String]) -> Result<(), MetricsError> {
        let mut recs = Vec::new();
        for n in names {
            if let Some(sid) = self.get(n)
                && let Some(name) = self.names.get(sid as usize).cloned()
                && self.tags.remove(sid, &name)
            {
                recs.push((tags::OP_DELETE, sid));
            }
        }
        if !recs.is_empty() {
            self.sync()?;
        }
        self.deletions.append(&recs)
    }

    /// Puts a deleted series back in the tag index (it was written to or tagged again).
    pub fn restore_tagged(&mut self, sid: u32) -> Result<(), MetricsError> {
        if !self.tags.is_deleted(sid) {
            return Ok(());
        }
        if let Some(name) = self.names.get(sid as usize).cloned() {
            self.tags.restore(sid, &name);
            self.deletions.append(&[(tags::OP_RESTORE, sid)])?;
        }
        Ok(())
    }

    /// Whether any series is deleted from the tag index (so writes need the check).
    pub fn has_tag_deletions(&self) -> bool {
        self.tags.is_deleted_any()
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every name, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.names.iter().map(|n| n.to_string()).collect();
        v.sort_unstable();
        v
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(|n| &**n)
    }

    /// The id of `name`, creating the series if new (`true`). The record is written but not
    /// fsynced: durability comes from the WAL's series record until the next head flush.
    pub fn get_or_insert(&mut self, name: &str) -> Result<(u32, bool), MetricsError> {
        if let Some(id) = self.get(name) {
            return Ok((id, false));
        }
        let id = u32::try_from(self.names.len())
            .map_err(|_| MetricsError::Full("more than 2^32 series".into()))?;
        self.insert_as(id, name)?;
        Ok((id, true))
    }

    /// Re-creates a series found in the WAL under the id it was given then.
    pub fn insert_as(&mut self, id: u32, name: &str) -> Result<(), MetricsError> {
        match self.get(name) {
            Some(have) if have == id => return Ok(()),
            Some(have) => {
                return Err(MetricsError::Corrupt {
                    path: self.path.clone(),
                    reason: format!("series {name:?} is {have} here but {id} in the wal"),
                });
            }
            None if id as usize != self.names.len() => {
                return Err(MetricsError::Corrupt {
                    path: self.path.clone(),
                    reason: format!("series id {id} does not follow {}", self.names.len()),
                });
            }
            None => {}
        }
        let mut rec = Vec::with_capacity(12 + name.len());
        encode(id, name, &mut rec);
        self.file
            .write_all(&rec)
            .map_err(|e| MetricsError::io(&self.path, e))?;
        self.add(id, name);
        Ok(())
    }

    pub fn sync(&self) -> Result<(), MetricsError> {
        self.file
            .sync_data()
            .map_err(|e| MetricsError::io(&self.path, e))
    }

    /// Graphite's metrics/find: every node at the pattern's depth matching it, as
    /// `(path, is_leaf)`, sorted; a name that is both a series and a prefix of others is
    /// listed twice, once as each.
    pub fn find(&self, pattern: &str) -> Vec<(String, bool)> {
        let mut out = BTreeMap::new();
        for p in expand_braces(pattern) {
            let parts: Vec<&str> = p.split('.').collect();
            self.walk(&self.root, &parts, String::new(), &mut |path, node| {
                if !node.children.is_empty() {
                    out.insert((path.to_string(), false), ());
                }
                if node.leaf.is_some() {
                    out.insert((path.to_string(), true), ());
                }
            });
        }
        out.into_keys().collect()
    }

    /// The series names matching the pattern, sorted.
    pub fn expand(&self, pattern: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .find(pattern)
            .into_iter()
            .filter(|(_, leaf)| *leaf)
            .map(|(p, _)| p)
            .collect();
        out.dedup();
        out
    }

    fn walk<'a>(
        &'a self,
        node: &'a Node,
        parts: &[&str],
        path: String,
        f: &mut dyn FnMut(&str, &'a Node),
    ) {
        let Some((part, rest)) = parts.split_first() else {
            f(&path, node);
            return;
        };
        let join = |name: &str| {
            if path.is_empty() {
                name.to_string()
            } else {
                format!("{path}.{name}")
            }
        };
        let wild = part.find(['*', '?', '[']);
        match wild {
            None => {
                if let Some(child) = node.children.get(*part) {
                    self.walk(child, rest, join(part), f);
                }
            }
            Some(at) => {
                let prefix = &part[..at];
                let glob: Vec<char> = part.chars().collect();
                for (name, child) in node
                    .children
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(|(n, _)| n.starts_with(prefix))
                {
                    if glob_match(&glob, name) {
                        self.walk(child, rest, join(name), f);
                    }
                }
            }
        }
    }
}

/// Graphite's brace expansion: `a.{b,c{d,e}}` → `a.b`, `a.cd`, `a.ce`; unbalanced braces are
/// literal.
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = Vec::new();
    expand_into(pattern.to_string(), &mut out);
    out
}

fn expand_into(p: String, out: &mut Vec<String>) {
    if out.len() >= MAX_EXPANSIONS {
        return;
    }
    let Some(open) = p.find('{') else {
        out.push(p);
        return;
    };
    let mut depth = 0;
    let mut commas = Vec::new();
    let mut close = None;
    for (i, c) in p[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(open + i);
                    break;
                }
            }
            ',' if depth == 1 => commas.push(open + i),
            _ => {}
        }
    }
    let Some(close) = close else {
        out.push(p);
        return;
    };
    let mut starts = vec![open + 1];
    starts.extend(commas.iter().map(|c| c + 1));
    let mut ends = commas.clone();
    ends.push(close);
    for (s, e) in starts.into_iter().zip(ends) {
        let next = format!("{}{}{}", &p[..open], &p[s..e], &p[close + 1..]);
        expand_into(next, out);
    }
}

/// fnmatch over one node name: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`/`[^x]`. A `[` with no
/// closing `]` is literal.
pub fn glob_match(glob: &[char], name: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let (mut g, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match glob.get(g) {
            Some('*') => {
                star = Some((g, n));
                g += 1;
                continue;
            }
            Some('?') => Some(g + 1),
            Some('[') => match class(glob, g, name[n]) {
                Some((true, end)) => Some(end),
                Some((false, _)) => None,
                None => (name[n] == '[').then_some(g + 1),
            },
            Some(&c) => (c == name[n]).then_some(g + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                g = next;
                n += 1;
            }
            (None, Some((sg, sn))) => {
                g = sg + 1;
                n = sn + 1;
                star = Some((sg, sn + 1));
            }
            (None, None) => return false,
        }
    }
    glob[g..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `glob[at] == '['`: `(matched, index after ])`,
/// or `None` when the class is not closed.
fn class(glob: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negate = matches!(glob.get(i), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let &lo = glob.get(i)?;
        if lo == ']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if glob.get(i + 1) == Some(&'-') && glob.get(i + 2).is_some_and(|&h| h != ']') {
            let hi = glob[i + 2];
            hit |= lo <= c && c <= hi;
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(g: &str, n: &str) -> bool {
        glob_match(&g.chars().collect::<Vec<_>>(), n)
    }

    #[test]
    fn globs_match_as_fnmatch_does() {
        assert!(m("*", "abc"));
        assert!(m("a*c", "abbbc"));
        assert!(!m("a*c", "abcd"));
        assert!(m("a?c", "abc"));
        assert!(m("cpu[0-9]", "cpu7"));
        assert!(!m("cpu[0-9]", "cpux"));
        assert!(m("cpu[!0-9]", "cpux"));
        assert!(m("cpu[^0-9]", "cpux"));
        assert!(m("[]x]", "]"));
        assert!(m("a[b", "a[b"));
        assert!(m("*-*", "a-b"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert_eq!(
            expand_braces("a.{b,c{d,e}}.f"),
            ["a.b.f", "a.cd.f", "a.ce.f"]
        );
        assert_eq!(expand_braces("a.{b,c"), ["a.{b,c"]);
    }

    fn index(dir: &Path, names: &[&str]) -> SeriesIndex {
        let mut ix = SeriesIndex::open(&dir.join("series")).unwrap();
        for n in names {
            ix.get_or_insert(n).unwrap();
        }
        ix
    }

    #[test]
    fn find_and_expand_answer_graphite_globs_without_crossing_dots() {
        let tmp = tempfile::tempdir().unwrap();
        let ix = index(
            tmp.path(),
            &[
                "a.x.b1", "a.x.b2", "a.y.c3", "a.y.d3", "a.z.b", "a.x", "ab.x.b1", "a.x.y.b1",
            ],
        );
        assert_eq!(ix.expand("a.*.{b,c}[0-9]"), ["a.x.b1", "a.x.b2", "a.y.c3"]);
        assert_eq!(
            ix.find("a.*"),
            vec![
                ("a.x".to_string(), false),
                ("a.x".to_string(), true),
                ("a.y".to_string(), false),
                ("a.z".to_string(), false),
            ]
        );
        assert_eq!(
            ix.find("*"),
            vec![("a".into(), false), ("ab".into(), false)]
        );
        assert_eq!(ix.expand("a.x.?1"), ["a.x.b1"]);
        assert_eq!(ix.expand("a.[!x].*3"), ["a.y.c3", "a.y.d3"]);
        assert_eq!(ix.expand("a*.x.b1"), ["a.x.b1", "ab.x.b1"]);
        assert!(ix.expand("a.x.b1.c").is_empty());
        assert!(ix.expand("a.x.b").is_empty());
    }

    #[test]
    fn index_survives_reopen_and_a_torn_tail() {
        let tmp = tempfile::tempdir().unwrap();
        let ix = index(tmp.path(), &["a.b", "c.d", "e.f"]);
        assert_eq!(ix.get("c.d"), Some(1));
        drop(ix);
        let path = tmp.path().join("series");
        let len = std::fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 2).unwrap();
        drop(f);
        let mut ix = SeriesIndex::open(&path).unwrap();
        assert_eq!(ix.len(), 2);
        assert_eq!(ix.name(1), Some("c.d"));
        // the wal restores what the cut removed, under the same id
        ix.insert_as(2, "e.f").unwrap();
        assert!(ix.insert_as(3, "a.b").is_err());
        assert!(ix.insert_as(5, "g").is_err());
        assert_eq!(ix.get_or_insert("g.h").unwrap(), (3, true));
        drop(ix);
        let ix = SeriesIndex::open(&path).unwrap();
        assert_eq!(ix.expand("*.*"), ["a.b", "c.d", "e.f", "g.h"]);
    }

    proptest! {
        #[test]
        fn node_walk_agrees_with_matching_every_name(
            names in proptest::collection::btree_set("[ab]{1,2}(\\.[abc]{1,2}){0,2}", 1..40),
            pattern in "[ab*?]{1,2}(\\.([abc*?]|\\[!?a-b\\]){1,2}){0,2}",
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            let ix = index(tmp.path(), &names);
            let parts: Vec<Vec<char>> = pattern.split('.').map(|p| p.chars().collect()).collect();
            let mut want: Vec<String> = names.iter().filter(|n| {
                let np: Vec<&str> = n.split('.').collect();
                np.len() == parts.len() && np.iter().zip(&parts).all(|(n, g)| glob_match(g, n))
            }).map(|n| n.to_string()).collect();
            want.sort();
            prop_assert_eq!(ix.expand(&pattern), want);
        }
    }
}

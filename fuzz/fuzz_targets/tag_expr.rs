//! Fuzzes graphite-web tag expressions (`seriesByTag`, `/tags/findSeries`, autocompletion) and
//! the paths `/tags/tagSeries` normalizes: any input gives an answer or an error, never a
//! panic; normalizing is idempotent, and every series the index selects over a few fixed
//! series satisfies every expression.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use telltale::store::metrics::tags::{TagExpr, TagIndex, normalize_path, series_tags};

const NAMES: &[&str] = &[
    "cpu;dc=ams;host=web1",
    "cpu;host=web2",
    "disk.used",
    "mem;dc=fra",
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = normalize_path(s) {
        // normalizing is idempotent
        assert_eq!(normalize_path(&p).ok().as_deref(), Some(p.as_str()));
    }
    let exprs: Vec<TagExpr> = s
        .split('\n')
        .filter_map(|e| TagExpr::parse(e).ok())
        .collect();
    let names: Vec<Arc<str>> = NAMES.iter().map(|n| Arc::from(*n)).collect();
    let mut ix = TagIndex::default();
    for (i, n) in names.iter().enumerate() {
        ix.add(i as u32, n);
    }
    if let Ok(ids) = ix.find_ids(&exprs, &|i| names.get(i as usize).map(|n| &**n)) {
        for id in ids {
            let tags = series_tags(&names[id as usize]).unwrap_or_default();
            for e in &exprs {
                let v = tags
                    .iter()
                    .find(|(k, _)| *k == e.tag)
                    .map_or("", |(_, v)| *v);
                assert!(e.matches(v), "{} selected {}", e.tag, names[id as usize]);
            }
        }
    }
});

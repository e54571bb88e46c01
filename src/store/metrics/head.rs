//! The head: points not yet in a block, per series and archive level, keyed by slot. Nearly
//! every point lands at level 0 (the finest step); as in whisper, a point older than the
//! finest archive's retention when written goes straight to the first archive that still
//! covers it. A map per (series, level) makes "the last write to a slot wins" a plain insert,
//! and lets late and out-of-order points land anywhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Rollups of the head's slots at one coarser level, by slot, ascending, for the slots in
/// `[lo, hi)`: `(lo, hi, rollups)`.
pub type Rollups = Arc<(i64, i64, Vec<(i64, f64)>)>;

/// Series whose head rollups are kept at most; past it the memo starts over (it is only a
/// cache: a read recomputes what is missing).
const MAX_MEMO_SERIES: usize = 100_000;

#[derive(Default)]
pub struct Head {
    pub series: HashMap<(u32, u8), BTreeMap<i64, f64>>,
    /// Distinct slots held, to bound memory whatever the time span.
    pub points: usize,
    /// Per series and coarser level, the rollups of every slot the head's finer levels touch.
    /// Deriving them walks the head and the blocks under it on every read, most of the cost
    /// of a dashboard read over a day; they only change when the series is written (or the
    /// blocks under them change), so reads memoise them and writes drop them.
    memo: Mutex<HashMap<u32, HashMap<u8, Rollups>>>,
}

impl Head {
    /// The memoised rollups of `sid` at `level` when they cover `[start, end)`, or else
    /// `make`'s (which returns its own covered range), remembered.
    pub fn rollups_or<E>(
        &self,
        sid: u32,
        level: u8,
        start: i64,
        end: i64,
        make: impl FnOnce() -> Result<(i64, i64, Vec<(i64, f64)>), E>,
    ) -> Result<Rollups, E> {
        if let Some(r) = self.memo().get(&sid).and_then(|l| l.get(&level))
            && r.0 <= start
            && end <= r.1
        {
            return Ok(r.clone());
        }
        let r: Rollups = Arc::new(make()?);
        let mut memo = self.memo();
        if memo.len() >= MAX_MEMO_SERIES {
            memo.clear();
        }
        memo.entry(sid).or_default().insert(level, r.clone());
        Ok(r)
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, HashMap<u32, HashMap<u8, Rollups>>> {
        self.memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Forgets every memoised rollup (the blocks under the head changed).
    pub fn forget_rollups(&mut self) {
        self.memo
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    pub fn insert(&mut self, sid: u32, level: u8, slot: i64, value: f64) {
        let memo = self
            .memo
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !memo.is_empty() {
            memo.remove(&sid);
        }
        let m = self.series.entry((sid, level)).or_default();
        if m.insert(slot, value).is_none() {
            self.points += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    pub fn get(&self, sid: u32, level: u8) -> Option<&BTreeMap<i64, f64>> {
        self.series.get(&(sid, level))
    }

    /// Slots of `sid` at `level` in `[start, end)`.
    pub fn range(
        &self,
        sid: u32,
        level: u8,
        start: i64,
        end: i64,
    ) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.get(sid, level)
            .into_iter()
            .flat_map(move |m| m.range(start..end.max(start)).map(|(&t, &v)| (t, v)))
    }

    pub fn clear(&mut self) {
        *self = Head::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_write_to_a_slot_wins() {
        let mut h = Head::default();
        h.insert(1, 0, 100, 1.0);
        h.insert(1, 0, 90, 2.0);
        h.insert(1, 0, 100, 3.0);
        h.insert(1, 1, 60, 4.0);
        assert_eq!(h.points, 3);
        let got: Vec<_> = h.range(1, 0, 0, 200).collect();
        assert_eq!(got, vec![(90, 2.0), (100, 3.0)]);
        assert_eq!(h.range(1, 0, 95, 100).count(), 0);
        assert_eq!(h.range(2, 0, 0, 200).count(), 0);
        assert_eq!(h.range(1, 1, 0, 200).count(), 1);
    }
}

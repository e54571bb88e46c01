//! The head: points not yet in a block, per series, keyed by slot at the series' finest step.
//! A map per series makes "the last write to a slot wins" a plain insert, and lets late and
//! out-of-order points land anywhere (whisper accepts any timestamp within retention).

use std::collections::{BTreeMap, HashMap};

#[derive(Default)]
pub struct Head {
    pub series: HashMap<u32, BTreeMap<i64, f64>>,
    /// Slot span of the head, to decide when a block is due.
    pub min_t: i64,
    pub max_t: i64,
    /// Distinct slots held, to bound memory whatever the time span.
    pub points: usize,
}

impl Head {
    pub fn insert(&mut self, sid: u32, slot: i64, value: f64) {
        if self.points == 0 {
            (self.min_t, self.max_t) = (slot, slot);
        } else {
            self.min_t = self.min_t.min(slot);
            self.max_t = self.max_t.max(slot);
        }
        if self
            .series
            .entry(sid)
            .or_default()
            .insert(slot, value)
            .is_none()
        {
            self.points += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points == 0
    }

    pub fn span(&self) -> i64 {
        self.max_t.saturating_sub(self.min_t)
    }

    /// Slots of `sid` in `[start, end)`.
    pub fn range(&self, sid: u32, start: i64, end: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.series
            .get(&sid)
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
        h.insert(1, 100, 1.0);
        h.insert(1, 90, 2.0);
        h.insert(1, 100, 3.0);
        assert_eq!(h.points, 2);
        assert_eq!(h.span(), 10);
        assert_eq!(
            h.range(1, 0, 200).collect::<Vec<_>>(),
            vec![(90, 2.0), (100, 3.0)]
        );
        assert_eq!(h.range(1, 95, 100).count(), 0);
        assert_eq!(h.range(2, 0, 200).count(), 0);
    }
}

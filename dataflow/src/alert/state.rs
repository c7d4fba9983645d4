//! Per-group alert state (`kapacitor-semantics.md` §4.2, §4.4, §4.5).

use super::Inhibitor;
use super::event::Level;
use std::sync::Arc;

const MAX_WEIGHT: f64 = 1.2;
const WEIGHT_DIFF: f64 = 1.5;

/// The state of one alert group.
#[derive(Debug)]
pub(crate) struct GroupState {
    /// The last levels, a ring; Kapacitor's default length (21) fits inline, so a new
    /// group allocates nothing for it.
    pub(crate) history: smallvec::SmallVec<[Level; 24]>,
    pub(crate) idx: usize,
    pub(crate) flapping: bool,
    pub(crate) changed: bool,
    pub(crate) expired: bool,
    pub(crate) first_triggered: i64,
    pub(crate) last_triggered: i64,
    pub(crate) inhibitors: Vec<Arc<Inhibitor>>,
}

/// The flapping thresholds and max interval the state updates with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StateConfig {
    pub(crate) flapping: Option<(f64, f64)>,
    pub(crate) max_interval: i64,
}

impl GroupState {
    pub(crate) fn new(history: usize) -> GroupState {
        GroupState {
            history: smallvec::smallvec![Level::Ok; history.max(2)],
            idx: 0,
            flapping: false,
            changed: false,
            expired: false,
            first_triggered: 0,
            last_triggered: 0,
            inhibitors: Vec::new(),
        }
    }

    pub(crate) fn current_level(&self) -> Level {
        self.history[self.idx]
    }

    fn previous_idx(&self) -> usize {
        (self.idx + self.history.len() - 1) % self.history.len()
    }

    /// `addEvent(t, level)`.
    pub(crate) fn add_event(&mut self, t: i64, level: Level, cfg: &StateConfig) {
        self.changed = self.history[self.idx] != level;
        self.idx = (self.idx + 1) % self.history.len();
        self.history[self.idx] = level;
        if let Some((low, high)) = cfg.flapping {
            self.update_flapping(low, high);
        }
        self.expired = !self.changed
            && cfg.max_interval != 0
            && t.saturating_sub(self.last_triggered) >= cfg.max_interval;
    }

    /// The weighted share of state changes over the history.
    pub(crate) fn flap_percentage(&self) -> f64 {
        let l = self.history.len();
        let mut changes = 0.0;
        let mut weight = MAX_WEIGHT / WEIGHT_DIFF;
        let step = (MAX_WEIGHT - weight) / (l - 1) as f64;
        for i in 0..l - 1 {
            let c = (i + self.idx) % l;
            let p = if c == 0 { l - 1 } else { c - 1 };
            if self.history[c] != self.history[p] {
                changes += weight;
            }
            weight += step;
        }
        changes / (l - 1) as f64
    }

    fn update_flapping(&mut self, low: f64, high: f64) {
        let p = self.flap_percentage();
        if self.flapping && p < low {
            self.flapping = false;
        } else if !self.flapping && p > high {
            self.flapping = true;
        }
    }

    /// `triggered(t)`.
    pub(crate) fn triggered(&mut self, t: i64) {
        self.last_triggered = t;
        if self.history[self.previous_idx()] == Level::Ok {
            self.first_triggered = t;
        }
        let active = self.current_level() != Level::Ok;
        for i in &self.inhibitors {
            i.set(active);
        }
    }

    pub(crate) fn duration(&self) -> i64 {
        self.last_triggered.saturating_sub(self.first_triggered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flapping_weights() {
        let cfg = StateConfig {
            flapping: Some((0.25, 0.5)),
            max_interval: 0,
        };
        let mut s = GroupState::new(3);
        // history [OK, OK, OK], idx 0. Add CRIT: [OK, CRIT, OK] idx 1.
        s.add_event(1, Level::Critical, &cfg);
        // comparisons: c=1 vs p=0 (changed, w=0.8), c=2 vs p=1 (changed, w=1.0)
        assert!((s.flap_percentage() - 0.9).abs() < 1e-12);
        assert!(s.flapping);
        s.add_event(2, Level::Critical, &cfg);
        // [OK, CRIT, CRIT] idx 2: c=2 vs 1 same (0.8); c=0 vs 2 changed (1.0) => 0.5
        assert!((s.flap_percentage() - 0.5).abs() < 1e-12);
        assert!(s.flapping);
        s.add_event(3, Level::Critical, &cfg);
        assert_eq!(s.flap_percentage(), 0.0);
        assert!(!s.flapping);
    }

    #[test]
    fn expiry_and_trigger_times() {
        let cfg = StateConfig {
            flapping: None,
            max_interval: 10,
        };
        let mut s = GroupState::new(1);
        assert_eq!(s.history.len(), 2);
        s.add_event(5, Level::Warning, &cfg);
        assert!(s.changed && !s.expired);
        s.triggered(5);
        s.add_event(12, Level::Warning, &cfg);
        assert!(!s.changed && !s.expired);
        s.add_event(15, Level::Warning, &cfg);
        assert!(s.expired);
        s.triggered(15);
        assert_eq!(s.duration(), 10);
    }
}

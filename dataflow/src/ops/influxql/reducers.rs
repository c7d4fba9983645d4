//! The InfluxDB 1.x reducers behind Kapacitor's InfluxQL nodes (semantics §3.5), over the
//! values of one batch or time bucket.

use super::{Cfg, Kind};
use crate::point::FieldValue;
use kap_dsl::plan::InfluxQLFunc;
use std::cmp::Ordering;

/// InfluxDB's `ZeroTime`: the reducer has no time of its own (the batch time is used).
pub(crate) const ZERO_TIME: i64 = i64::MIN;

/// One aggregated value: time, value and index of its point in the bucket.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub(crate) time: i64,
    pub(crate) v: FieldValue,
    pub(crate) idx: usize,
}

/// One reducer output.
#[derive(Debug, Clone)]
pub(crate) struct Out {
    /// Output time ([`ZERO_TIME`] for none).
    pub(crate) time: i64,
    pub(crate) v: FieldValue,
    /// The selected point (selectors).
    pub(crate) idx: Option<usize>,
}

/// A numeric value as a float (0 for others).
pub(crate) fn f(v: &FieldValue) -> f64 {
    match v {
        FieldValue::Float(x) => *x,
        FieldValue::Int(i) => *i as f64,
        _ => 0.0,
    }
}

/// Orders two values of the same kind (floats by `partial_cmp`, NaN equal).
pub(crate) fn cmp_values(a: &FieldValue, b: &FieldValue) -> Ordering {
    match (a, b) {
        (FieldValue::Float(x), FieldValue::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (FieldValue::Int(x), FieldValue::Int(y)) => x.cmp(y),
        (FieldValue::String(x), FieldValue::String(y)) => x.cmp(y),
        (FieldValue::Bool(x), FieldValue::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

fn out(time: i64, v: FieldValue) -> Vec<Out> {
    vec![Out { time, v, idx: None }]
}

fn sel(it: &Item) -> Vec<Out> {
    vec![Out {
        time: it.time,
        v: it.v.clone(),
        idx: Some(it.idx),
    }]
}

/// Reduces a non-empty bucket.
pub(crate) fn reduce(cfg: &Cfg, kind: Kind, items: &mut [Item]) -> Vec<Out> {
    use InfluxQLFunc::*;
    let n = items.len();
    match cfg.func {
        Count => out(ZERO_TIME, FieldValue::Int(n as i64)),
        Sum => match kind {
            Kind::Int => out(
                0,
                FieldValue::Int(items.iter().fold(0i64, |s, it| match it.v {
                    FieldValue::Int(i) => s.wrapping_add(i),
                    _ => s,
                })),
            ),
            _ => {
                let mut s = 0.0;
                for it in items.iter() {
                    s += f(&it.v);
                }
                out(0, FieldValue::Float(s))
            }
        },
        Mean => {
            // InfluxDB sums integers as int64 and floats as float64.
            let s = if kind == Kind::Int {
                items.iter().fold(0i64, |s, it| match it.v {
                    FieldValue::Int(i) => s.wrapping_add(i),
                    _ => s,
                }) as f64
            } else {
                let mut s = 0.0;
                for it in items.iter() {
                    s += f(&it.v);
                }
                s
            };
            out(ZERO_TIME, FieldValue::Float(s / n as f64))
        }
        Median => {
            sort_by_value(items);
            let v = if n == 1 {
                f(&items[0].v)
            } else if n.is_multiple_of(2) {
                let (lo, hi) = (&items[n / 2 - 1].v, &items[n / 2].v);
                match (lo, hi) {
                    (FieldValue::Int(l), FieldValue::Int(h)) => {
                        *l as f64 + h.wrapping_sub(*l) as f64 / 2.0
                    }
                    _ => f(lo) + (f(hi) - f(lo)) / 2.0,
                }
            } else {
                f(&items[n / 2].v)
            };
            out(ZERO_TIME, FieldValue::Float(v))
        }
        Mode => {
            if n == 1 {
                return out(ZERO_TIME, items[0].v.clone());
            }
            sort_by_value(items);
            let mut most_freq = 0usize;
            let mut curr_freq = 0usize;
            let mut curr_mode = &items[0].v;
            let mut most_mode = &items[0].v;
            let mut most_time = items[0].time;
            let mut curr_time = items[0].time;
            for it in items.iter() {
                if it.v != *curr_mode {
                    curr_freq = 1;
                    curr_mode = &it.v;
                    curr_time = it.time;
                    continue;
                }
                curr_freq += 1;
                if most_freq > curr_freq || (most_freq == curr_freq && curr_time > most_time) {
                    continue;
                }
                most_freq = curr_freq;
                most_mode = &it.v;
                most_time = it.time;
            }
            out(ZERO_TIME, most_mode.clone())
        }
        Spread => {
            let mut min = &items[0].v;
            let mut max = &items[0].v;
            for it in items.iter() {
                if cmp_values(&it.v, min) == Ordering::Less {
                    min = &it.v;
                }
                if cmp_values(&it.v, max) == Ordering::Greater {
                    max = &it.v;
                }
            }
            let v = match (max, min) {
                (FieldValue::Int(a), FieldValue::Int(b)) => FieldValue::Int(a.wrapping_sub(*b)),
                (a, b) => FieldValue::Float(f(a) - f(b)),
            };
            out(ZERO_TIME, v)
        }
        Stddev => {
            if n < 2 {
                return out(ZERO_TIME, FieldValue::Float(f64::NAN));
            }
            let mut mean = 0.0;
            let mut count = 0.0;
            for it in items.iter() {
                count += 1.0;
                mean += (f(&it.v) - mean) / count;
            }
            let mut variance = 0.0;
            for it in items.iter() {
                variance += (f(&it.v) - mean).powi(2);
            }
            out(
                ZERO_TIME,
                FieldValue::Float((variance / (count - 1.0)).sqrt()),
            )
        }
        First | Last | Min | Max => {
            let mut best = &items[0];
            for it in &items[1..] {
                let c = cmp_values(&it.v, &best.v);
                let better = match cfg.func {
                    First => {
                        it.time < best.time || (it.time == best.time && c == Ordering::Greater)
                    }
                    Last => it.time > best.time || (it.time == best.time && c == Ordering::Greater),
                    Min => c == Ordering::Less || (c == Ordering::Equal && it.time < best.time),
                    _ => c == Ordering::Greater || (c == Ordering::Equal && it.time < best.time),
                };
                if better {
                    best = it;
                }
            }
            sel(best)
        }
        Percentile => {
            let i = (n as f64 * cfg.p / 100.0 + 0.5).floor() as i64 - 1;
            if i < 0 || i >= n as i64 {
                return Vec::new();
            }
            sort_by_value(items);
            sel(&items[i as usize])
        }
        Distinct => {
            let mut seen: Vec<&Item> = Vec::new();
            for it in items.iter() {
                if !seen.iter().any(|s| s.v == it.v) {
                    seen.push(it);
                }
            }
            seen.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| cmp_values(&a.v, &b.v)));
            seen.into_iter()
                .map(|it| Out {
                    time: it.time,
                    v: it.v.clone(),
                    idx: None,
                })
                .collect()
        }
        Top | Bottom => Vec::new(), // handled by the node (needs the points' tags)
        HoltWinters | HoltWintersWithFit => super::holt_winters::forecast(cfg, items),
        Elapsed | Difference | MovingAverage | CumulativeSum => Vec::new(),
    }
}

/// Stable sort by value ascending.
pub(crate) fn sort_by_value(items: &mut [Item]) {
    items.sort_by(|a, b| cmp_values(&a.v, &b.v));
}

/// `top`/`bottom` order: by value (descending for top), equal values by time ascending.
pub(crate) fn top_order(items: &mut [Item], top: bool) {
    items.sort_by(|a, b| {
        let c = cmp_values(&a.v, &b.v);
        let c = if top { c.reverse() } else { c };
        c.then_with(|| a.time.cmp(&b.time))
    });
}

/// Per-group state of a stream transformation (InfluxDB's difference, elapsed,
/// cumulative_sum and moving_average reducers).
#[derive(Debug, Clone, Default)]
pub(crate) struct Transform {
    /// Reducer kind (from the first point).
    pub(crate) kind: Option<Kind>,
    prev: Option<(i64, FieldValue)>,
    curr: Option<(i64, FieldValue)>,
    buf: Vec<FieldValue>,
    pos: usize,
    sum_f: f64,
    sum_i: i64,
}

impl Transform {
    /// Aggregates one value and emits what the reducer emits (time, value).
    pub(crate) fn step(
        &mut self,
        cfg: &Cfg,
        time: i64,
        v: FieldValue,
    ) -> Option<(i64, FieldValue)> {
        match cfg.func {
            InfluxQLFunc::Difference => {
                if let Some((t, _)) = &self.curr
                    && *t == time
                {
                    // Keep only the first point of a time.
                } else {
                    self.prev = self.curr.take();
                    self.curr = Some((time, v));
                }
                let (_, pv) = self.prev.as_ref()?;
                let (ct, cv) = self.curr.as_ref()?;
                let d = match (cv, pv) {
                    (FieldValue::Int(a), FieldValue::Int(b)) => FieldValue::Int(a.wrapping_sub(*b)),
                    (a, b) => FieldValue::Float(f(a) - f(b)),
                };
                let ct = *ct;
                self.prev = None;
                Some((ct, d))
            }
            InfluxQLFunc::Elapsed => {
                self.prev = self.curr.take();
                self.curr = Some((time, FieldValue::Int(1)));
                let (pt, _) = self.prev.as_ref()?;
                let unit = if cfg.unit > 0 { cfg.unit } else { 1 };
                Some((time, FieldValue::Int((time - pt) / unit)))
            }
            InfluxQLFunc::CumulativeSum => {
                let sum = match (self.curr.take(), v) {
                    (None, v) => v,
                    (Some((_, FieldValue::Int(a))), FieldValue::Int(b)) => {
                        FieldValue::Int(a.wrapping_add(b))
                    }
                    (Some((_, a)), b) => FieldValue::Float(f(&a) + f(&b)),
                };
                self.curr = Some((time, sum.clone()));
                Some((time, sum))
            }
            InfluxQLFunc::MovingAverage => {
                let n = cfg.window.max(1) as usize;
                if self.buf.len() != n {
                    self.buf.push(v.clone());
                } else {
                    match &self.buf[self.pos] {
                        FieldValue::Int(i) => self.sum_i = self.sum_i.wrapping_sub(*i),
                        other => self.sum_f -= f(other),
                    }
                    self.buf[self.pos] = v.clone();
                }
                match &v {
                    FieldValue::Int(i) => self.sum_i = self.sum_i.wrapping_add(*i),
                    other => self.sum_f += f(other),
                }
                self.pos += 1;
                if self.pos >= n {
                    self.pos = 0;
                }
                if self.buf.len() != n {
                    return None;
                }
                let sum = if self.kind == Some(Kind::Int) {
                    self.sum_i as f64
                } else {
                    self.sum_f
                };
                Some((time, FieldValue::Float(sum / n as f64)))
            }
            _ => None,
        }
    }
}

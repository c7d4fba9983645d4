//! When batch queries run (semantics §1.2 "Scheduling"): `.every(d)` with or without
//! `.align()`, or `.cron('...')`, and the ranges a run or a backfill queries.
//!
//! Cron expressions follow Kapacitor's `gorhill/cronexpr`: 5 fields (`min hour dom mon dow`,
//! second 0, any year), 6 fields (the same plus a year) or 7 fields (`sec min hour dom mon dow
//! year`), and the nicknames `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`,
//! `@midnight`, `@hourly`. Each is normalized to 7 fields and evaluated by `croner` with
//! POSIX/Vixie semantics, as cronexpr does: 0 (or 7) is Sunday, names (`MON`, `JAN`) are
//! accepted, a restricted day of month and day of week match either one, and `L`, `W`, `#` and
//! `a/n` steps work. Times are evaluated in UTC.
//!
//! ```
//! use kap_dsl::plan::QuerySpec;
//! use kap_dsl::schedule::{Schedule, run_range};
//!
//! const S: i64 = 1_000_000_000;
//! let spec = QuerySpec { every: 60 * S, align: true, period: 300 * S, offset: 10 * S, ..QuerySpec::default() };
//! let schedule = Schedule::new(&spec).unwrap();
//! assert_eq!(schedule.next_after(125 * S), 180 * S);
//! assert_eq!(run_range(&spec, 180 * S), (-130 * S, 170 * S));
//!
//! let daily = QuerySpec { cron: "30 6 * * *".into(), ..QuerySpec::default() };
//! assert_eq!(Schedule::new(&daily).unwrap().next_after(0), (6 * 3600 + 30 * 60) * S);
//! ```

use crate::plan::QuerySpec;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Nanoseconds from Go's zero time (0001-01-01T00:00:00Z) to the Unix epoch: Go's
/// `Truncate`/`Round` are relative to it (semantics §0.7).
const GO_ZERO_TO_UNIX_NS: i128 = 62_135_596_800 * 1_000_000_000;

/// Go's `t.Truncate(d)` (relative to year 1); `d <= 0` leaves `t` unchanged.
pub fn go_truncate(t: i64, d: i64) -> i64 {
    if d <= 0 {
        return t;
    }
    let r = (t as i128 + GO_ZERO_TO_UNIX_NS).rem_euclid(d as i128);
    (t as i128 - r).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Go's `t.Round(d)` (relative to year 1, halfway rounds up); `d <= 0` leaves `t` unchanged.
pub fn go_round(t: i64, d: i64) -> i64 {
    if d <= 0 {
        return t;
    }
    let r = (t as i128 + GO_ZERO_TO_UNIX_NS).rem_euclid(d as i128);
    let rounded = if r + r < d as i128 {
        t as i128 - r
    } else {
        t as i128 + (d as i128 - r)
    };
    rounded.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    /// As written.
    expression: String,
    /// Normalized to 7 fields.
    normalized: String,
    cron: Cron,
}

impl CronSchedule {
    /// Parses a cronexpr expression (5, 6 or 7 fields, or a `@nickname`); errors name it.
    pub fn parse(expression: &str) -> Result<CronSchedule, String> {
        let bad = |why: &str| format!("invalid cron expression '{expression}': {why}");
        let text = expression.trim();
        let normalized = if text.starts_with('@') {
            match text.to_ascii_lowercase().as_str() {
                "@yearly" | "@annually" => "0 0 0 1 1 * *".to_string(),
                "@monthly" => "0 0 0 1 * * *".to_string(),
                "@weekly" => "0 0 0 * * 0 *".to_string(),
                "@daily" | "@midnight" => "0 0 0 * * * *".to_string(),
                "@hourly" => "0 0 * * * * *".to_string(),
                _ => {
                    return Err(bad(
                        "unknown nickname (use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
                    ));
                }
            }
        } else {
            let fields: Vec<&str> = text.split_whitespace().collect();
            match fields.len() {
                5 => format!("0 {} *", fields.join(" ")),
                6 => format!("0 {}", fields.join(" ")),
                7 => fields.join(" "),
                n => return Err(bad(&format!("expected 5, 6 or 7 fields, got {n}"))),
            }
        };
        // `+` is croner's own day-of-month AND day-of-week switch, not cronexpr syntax.
        if normalized.contains('+') {
            return Err(bad("unexpected `+`"));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Required)
            .year(Year::Required)
            .sloppy_ranges(true)
            .build();
        let cron = parser.parse(&normalized).map_err(|e| bad(&e.to_string()))?;
        Ok(CronSchedule {
            expression: expression.to_string(),
            normalized,
            cron,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The expression with 7 fields (`sec min hour dom mon dow year`).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The first cron time strictly after `t` (ns, UTC), at whole seconds; `None` when there
    /// is none (a pattern that never matches again, or past the year 2262).
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let secs = t.div_euclid(1_000_000_000);
        let from = chrono::DateTime::<chrono::Utc>::from_timestamp(secs, 0)?;
        let next = self.cron.find_next_occurrence(&from, false).ok()?;
        next.timestamp_nanos_opt()
    }
}

/// When a batch query runs.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// `.every(d)`, optionally `.align()`ed to multiples of `d`.
    Every {
        /// The interval, ns (> 0).
        every: i64,
        /// `.align()`.
        align: bool,
    },
    /// `.cron('...')` (boxed: a parsed pattern is large).
    Cron(Box<CronSchedule>),
}

impl Schedule {
    /// The schedule of a query node: exactly one of `.every()` and `.cron()` (the rule of
    /// [`crate::registry::query_schedule_error`]), and a valid cron expression.
    pub fn new(spec: &QuerySpec) -> Result<Schedule, String> {
        Schedule::from_parts(spec.every, spec.align, &spec.cron)
    }

    /// The same from the three properties (for `queryFlux` too).
    pub fn from_parts(every: i64, align: bool, cron: &str) -> Result<Schedule, String> {
        if let Some(e) = crate::registry::query_schedule_error(every, cron) {
            return Err(e);
        }
        if cron.is_empty() {
            Ok(Schedule::Every { every, align })
        } else {
            CronSchedule::parse(cron).map(|c| Schedule::Cron(Box::new(c)))
        }
    }

    /// The first tick strictly after `now` (ns, wall clock): `now + every` without align;
    /// `now` truncated to `every`, plus `every`, with align; the next cron time (UTC) for a
    /// cron. `i64::MAX` when there is none.
    pub fn next_after(&self, now: i64) -> i64 {
        match self {
            Schedule::Every {
                every,
                align: false,
            } => now.saturating_add(*every),
            Schedule::Every { every, align: true } => {
                go_truncate(now, *every).saturating_add(*every)
            }
            Schedule::Cron(c) => c.next_after(now).unwrap_or(i64::MAX),
        }
    }

    /// Kapacitor's ticker `Next(cur)` used for backfills: `cur + every` (rounded to `every`
    /// with align), or the next cron time. `None` when time does not move forward.
    fn step(&self, cur: i64) -> Option<i64> {
        let next = match self {
            Schedule::Every { every, align } => {
                let n = cur.checked_add(*every)?;
                if *align { go_round(n, *every) } else { n }
            }
            Schedule::Cron(c) => c.next_after(cur)?,
        };
        (next > cur).then_some(next)
    }

    /// Kapacitor's `Queries(start, stop)` for `record batch` / `replay-live batch`: starting
    /// at `cur = start`, repeatedly `cur = next(cur)`; stop when `cur > stop` or
    /// `cur - offset > now`; each tick queries `[cur - offset - period, cur - offset)`.
    /// Callers pass `now` as `stop` when none is given (as Kapacitor does). The list has
    /// about `(stop - start) / every` entries: callers bound the range.
    pub fn ranges(&self, spec: &QuerySpec, start: i64, stop: i64, now: i64) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut cur = start;
        while let Some(next) = self.step(cur) {
            cur = next;
            if cur > stop {
                break;
            }
            let (qstart, qstop) = run_range(spec, cur);
            if qstop > now {
                break;
            }
            out.push((qstart, qstop));
        }
        out
    }
}

/// The range a run at tick `tick` queries: `[tick - offset - period, tick - offset)`.
pub fn run_range(spec: &QuerySpec, tick: i64) -> (i64, i64) {
    let stop = tick.saturating_sub(spec.offset);
    (stop.saturating_sub(spec.period), stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    const MIN: i64 = 60 * S;
    const H: i64 = 60 * MIN;
    const DAY: i64 = 24 * H;
    /// 2024-01-01T00:00:00Z, a Monday.
    const Y2024: i64 = 1_704_067_200 * S;

    fn every(every: i64, align: bool) -> QuerySpec {
        QuerySpec {
            every,
            align,
            ..QuerySpec::default()
        }
    }

    fn cron(expr: &str) -> Schedule {
        match Schedule::new(&QuerySpec {
            cron: expr.into(),
            ..QuerySpec::default()
        }) {
            Ok(s) => s,
            Err(e) => panic!("{expr}: {e}"),
        }
    }

    fn rfc(ns: i64) -> String {
        crate::query::rfc3339_nano(ns)
    }

    #[test]
    fn every_without_and_with_align() {
        let s = Schedule::new(&every(10 * S, false)).unwrap();
        assert_eq!(s.next_after(123_456_789), 10 * S + 123_456_789);
        let s = Schedule::new(&every(10 * S, true)).unwrap();
        assert_eq!(s.next_after(123_456_789), 10 * S);
        assert_eq!(s.next_after(10 * S), 20 * S);
        assert_eq!(s.next_after(-1), 0);
    }

    #[test]
    fn go_time_alignment_is_relative_to_year_one() {
        // 7 days do not divide the time since year 1 evenly at the epoch: Go truncates to a
        // Monday, 1970-01-01 being a Thursday, 3 days after 1969-12-29.
        assert_eq!(go_truncate(0, 7 * DAY), -3 * DAY);
        assert_eq!(go_truncate(5 * MIN + 1, MIN), 5 * MIN);
        assert_eq!(go_round(90 * S, MIN), 2 * MIN);
        assert_eq!(go_round(89 * S, MIN), MIN);
        assert_eq!(go_round(30 * S, MIN), MIN, "halfway rounds up");
        assert_eq!(go_truncate(42, 0), 42);
        assert_eq!(go_round(42, -1), 42);
        let s = Schedule::new(&every(7 * DAY, true)).unwrap();
        assert_eq!(s.next_after(0), 4 * DAY);
    }

    #[test]
    fn schedule_errors() {
        assert_eq!(
            Schedule::new(&QuerySpec::default()).unwrap_err(),
            "must set one of 'every' or 'cron' properties"
        );
        let both = QuerySpec {
            every: S,
            cron: "* * * * *".into(),
            ..QuerySpec::default()
        };
        assert_eq!(
            Schedule::new(&both).unwrap_err(),
            "must not set both 'every' and 'cron' properties"
        );
        for bad in [
            "* * * *",
            "* * * * * * * *",
            "61 * * * *",
            "* 25 * * *",
            "* * 32 * *",
            "* * * 13 *",
            "* * * * 9",
            "* * * * +MON",
            "@often",
            "x * * * *",
            "*/0 * * * *",
        ] {
            let e = Schedule::new(&QuerySpec {
                cron: bad.into(),
                ..QuerySpec::default()
            })
            .unwrap_err();
            assert!(
                e.starts_with(&format!("invalid cron expression '{bad}': ")),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn cron_five_six_and_seven_fields() {
        // 5 fields: second 0.
        let c = cron("*/5 * * * *");
        assert_eq!(c.next_after(Y2024), Y2024 + 5 * MIN);
        assert_eq!(c.next_after(Y2024 + 1), Y2024 + 5 * MIN);
        assert_eq!(c.next_after(Y2024 - 1), Y2024);
        // 6 fields: a year is appended (cronexpr), not a second prepended.
        let c = cron("0 12 * * * 2025");
        assert_eq!(rfc(c.next_after(Y2024)), "2025-01-01T12:00:00Z");
        // 7 fields: seconds first.
        let c = cron("30 * * * * * *");
        assert_eq!(c.next_after(Y2024), Y2024 + 30 * S);
        assert_eq!(c.next_after(Y2024 + 30 * S), Y2024 + MIN + 30 * S);
        let Schedule::Cron(inner) = &c else {
            panic!("cron")
        };
        assert_eq!(inner.expression(), "30 * * * * * *");
        assert_eq!(cron("1 2 3 4 5").to_string_normalized(), "0 1 2 3 4 5 *");
    }

    impl Schedule {
        fn to_string_normalized(&self) -> String {
            match self {
                Schedule::Cron(c) => c.normalized().to_string(),
                Schedule::Every { .. } => String::new(),
            }
        }
    }

    #[test]
    fn cron_nicknames_and_names() {
        let at = |e: &str| rfc(cron(e).next_after(Y2024 + 90 * MIN));
        assert_eq!(at("@yearly"), "2025-01-01T00:00:00Z");
        assert_eq!(at("@annually"), "2025-01-01T00:00:00Z");
        assert_eq!(at("@monthly"), "2024-02-01T00:00:00Z");
        assert_eq!(at("@weekly"), "2024-01-07T00:00:00Z");
        assert_eq!(at("@daily"), "2024-01-02T00:00:00Z");
        assert_eq!(at("@midnight"), "2024-01-02T00:00:00Z");
        assert_eq!(at("@hourly"), "2024-01-01T02:00:00Z");
        assert_eq!(at("0 9 * * MON-FRI"), "2024-01-01T09:00:00Z");
        assert_eq!(at("0 9 * FEB SUN"), "2024-02-04T09:00:00Z");
        // 0 and 7 are Sunday.
        assert_eq!(at("0 0 * * 0"), "2024-01-07T00:00:00Z");
        assert_eq!(at("0 0 * * 7"), "2024-01-07T00:00:00Z");
        // Day of month OR day of week when both are restricted (Vixie, cronexpr).
        assert_eq!(at("0 0 15 * 3"), "2024-01-03T00:00:00Z");
        // Last day of month, nth weekday, steps from a value.
        assert_eq!(at("0 0 L * *"), "2024-01-31T00:00:00Z");
        assert_eq!(at("0 0 * * 5#2"), "2024-01-12T00:00:00Z");
        assert_eq!(at("0 0/20 * * * * *"), "2024-01-01T01:40:00Z");
    }

    #[test]
    fn cron_that_never_matches_again() {
        let c = cron("0 0 1 1 * 2020");
        assert_eq!(c.next_after(Y2024), i64::MAX);
        assert!(
            c.ranges(&QuerySpec::default(), Y2024, Y2024 + DAY, Y2024 + DAY)
                .is_empty()
        );
        // February 30th parses (as with cronexpr) but never comes.
        let c = cron("0 0 30 2 *");
        assert_eq!(c.next_after(Y2024), i64::MAX);
    }

    #[test]
    fn run_range_is_offset_and_period_before_the_tick() {
        let spec = QuerySpec {
            period: 5 * MIN,
            offset: MIN,
            ..QuerySpec::default()
        };
        assert_eq!(run_range(&spec, 10 * MIN), (4 * MIN, 9 * MIN));
        assert_eq!(run_range(&QuerySpec::default(), 7), (7, 7));
    }

    #[test]
    fn backfill_ranges_like_kapacitor_queries() {
        let spec = QuerySpec {
            every: 10 * S,
            period: 20 * S,
            offset: 5 * S,
            ..QuerySpec::default()
        };
        let s = Schedule::new(&spec).unwrap();
        // Ticks 13, 23, 33, 43 ≤ stop 45; each queries [t-25s, t-5s).
        assert_eq!(
            s.ranges(&spec, 3 * S, 45 * S, 100 * S),
            vec![
                (-12 * S, 8 * S),
                (-2 * S, 18 * S),
                (8 * S, 28 * S),
                (18 * S, 38 * S)
            ]
        );
        // `now` cuts ranges whose stop (tick - offset) is in the future.
        assert_eq!(s.ranges(&spec, 3 * S, 45 * S, 20 * S).len(), 2);
        // Aligned: cur + every rounded to every.
        let spec = QuerySpec {
            align: true,
            offset: 0,
            ..spec
        };
        let s = Schedule::new(&spec).unwrap();
        assert_eq!(
            s.ranges(&spec, 3 * S, 40 * S, 100 * S),
            vec![
                (-10 * S, 10 * S),
                (0, 20 * S),
                (10 * S, 30 * S),
                (20 * S, 40 * S)
            ]
        );
        // start == stop: nothing.
        assert!(s.ranges(&spec, 40 * S, 40 * S, 100 * S).is_empty());
        // Cron ticks.
        let spec = QuerySpec {
            cron: "0 * * * *".into(),
            period: H,
            ..QuerySpec::default()
        };
        let s = Schedule::new(&spec).unwrap();
        assert_eq!(
            s.ranges(&spec, Y2024 + 1, Y2024 + 3 * H, Y2024 + DAY),
            vec![
                (Y2024, Y2024 + H),
                (Y2024 + H, Y2024 + 2 * H),
                (Y2024 + 2 * H, Y2024 + 3 * H)
            ]
        );
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let s = Schedule::new(&every(i64::MAX, true)).unwrap();
        let _ = s.next_after(i64::MAX);
        let _ = s.next_after(i64::MIN);
        let _ = s.ranges(&QuerySpec::default(), i64::MAX - 1, i64::MAX, i64::MAX);
        let c = cron("* * * * *");
        assert_eq!(c.next_after(i64::MAX), i64::MAX);
        let _ = c.next_after(i64::MIN);
        assert_eq!(
            run_range(
                &QuerySpec {
                    period: i64::MAX,
                    offset: i64::MAX,
                    ..QuerySpec::default()
                },
                i64::MIN
            ),
            (i64::MIN, i64::MIN)
        );
    }

    proptest::proptest! {
        #[test]
        fn cron_never_panics(
            expr in "([0-9*/,#?LW@a-zA-Z+-]{1,4} ?){0,8}",
            now in proptest::num::i64::ANY,
        ) {
            if let Ok(c) = CronSchedule::parse(&expr) {
                let _ = c.next_after(now);
            }
        }
    }
}

//! The `aggregate` topic handler: the events it gets within each interval become one event,
//! published to another topic (Kapacitor's `aggregateHandler`).
//!
//! Options: `id` (the aggregate event's id), `interval` (a duration: nanoseconds or a
//! string such as `"1m"`), `topic` (where the aggregate event goes) and `message` (a Go
//! template over `.Count` and `.Interval`; default
//! `Received {{.Count}} events in the last {{.Interval}}.`).
//!
//! As with Kapacitor's ticker, intervals start when the handler is created; an interval
//! without events publishes nothing. The aggregate event has the highest level of the
//! events, the last one's time, their messages as its details (one per line) and all their
//! data series.

use kap_dataflow::alert::AlertEvent;
use kap_dataflow::template::{Data, Template};
use serde_json::{Map, Value};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Kapacitor's message when the handler has none.
const DEFAULT_MESSAGE: &str = "Received {{.Count}} events in the last {{.Interval}}.";

/// An `aggregate` handler: its settings and the events of the current interval.
#[derive(Debug)]
pub(super) struct Aggregate {
    id: String,
    /// The interval, in nanoseconds (as the template sees it) and as a duration.
    interval_ns: i64,
    interval: Duration,
    /// The topic the aggregate events go to.
    pub(super) topic: String,
    message: Template,
    state: Mutex<Gathered>,
}

/// The events of the current interval, and when it ends.
#[derive(Debug)]
struct Gathered {
    events: Vec<AlertEvent>,
    due: Instant,
}

impl Aggregate {
    /// An aggregate handler from its options; its first interval starts now.
    ///
    /// # Errors
    /// Which option is invalid, and why.
    pub(super) fn from_options(o: &Map<String, Value>) -> Result<Aggregate, String> {
        let id = super::opt_str(o, "id")?;
        let interval_ns = super::opt_duration(o, "interval")?;
        if interval_ns <= 0 {
            return Err(
                "aggregate handler: option \"interval\" must be a positive duration".into(),
            );
        }
        let topic = super::opt_str(o, "topic")?;
        if !super::valid_topic_id(&topic) {
            return Err(format!("aggregate handler: invalid topic {topic:?}"));
        }
        let text = super::opt_str(o, "message")?;
        let text = if text.is_empty() {
            DEFAULT_MESSAGE
        } else {
            &text
        };
        let message = Template::parse("message", text)
            .map_err(|e| format!("aggregate handler: option \"message\": {e}"))?;
        let interval = Duration::from_nanos(interval_ns.unsigned_abs());
        Ok(Aggregate {
            id,
            interval_ns,
            interval,
            topic,
            message,
            state: Mutex::new(Gathered {
                events: Vec::new(),
                due: Instant::now() + interval,
            }),
        })
    }

    fn gathered(&self) -> std::sync::MutexGuard<'_, Gathered> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps an event for the current interval.
    pub(super) fn add(&self, event: AlertEvent) {
        self.gathered().events.push(event);
    }

    /// When the current interval ends.
    pub(super) fn due(&self) -> Instant {
        self.gathered().due
    }

    /// At `now`: once the current interval has ended, starts the next one and returns the
    /// aggregate of the events it gathered (`None` before the end, or when it gathered
    /// none). Intervals missed entirely are skipped, as a Go ticker drops ticks.
    ///
    /// # Errors
    /// The message template failed (the interval's events are dropped).
    pub(super) fn tick(&self, now: Instant) -> Option<Result<AlertEvent, String>> {
        let events = {
            let mut g = self.gathered();
            if now < g.due {
                return None;
            }
            g.due += self.interval;
            if g.due <= now {
                g.due = now + self.interval;
            }
            std::mem::take(&mut g.events)
        };
        if events.is_empty() {
            return None;
        }
        Some(self.combine(events))
    }

    /// The one event standing for `events` (not empty).
    fn combine(&self, events: Vec<AlertEvent>) -> Result<AlertEvent, String> {
        let data = Data::Struct(vec![
            ("Interval".into(), Data::Duration(self.interval_ns)),
            ("Count".into(), Data::Int(events.len() as i64)),
        ]);
        let message = self
            .message
            .execute(&data)
            .map_err(|e| format!("rendering the aggregate message: {e}"))?;
        let mut level = kap_dataflow::alert::Level::Ok;
        let mut time = 0;
        let mut details = Vec::with_capacity(events.len());
        let mut series = Vec::new();
        for e in events {
            level = level.max(e.level);
            time = e.time;
            details.push(e.message);
            series.extend(e.data.series.into_iter().flatten());
        }
        Ok(AlertEvent {
            topic: self.topic.clone(),
            id: self.id.clone(),
            message,
            details: details.join("\n"),
            time,
            duration: 0,
            level,
            previous_level: kap_dataflow::alert::Level::Ok,
            // Go's zero value: the aggregate event says nothing of recoveries.
            recoverable: false,
            data: kap_dataflow::result::ResultSet {
                series: (!series.is_empty()).then_some(series),
            },
            name: String::new(),
            task: String::new(),
            node: String::new(),
            category: String::new(),
            group_id: String::new(),
            tags: Default::default(),
            fields: Default::default(),
            handlers: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kap_dataflow::alert::Level;
    use kap_dataflow::point::FieldValue;
    use kap_dataflow::result::{Cell, Row};

    fn options(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn event(level: Level, message: &str, time: i64, value: f64) -> AlertEvent {
        AlertEvent {
            topic: "in".into(),
            id: "cpu:nil".into(),
            message: message.into(),
            details: String::new(),
            time,
            duration: 7,
            level,
            previous_level: Level::Ok,
            recoverable: true,
            data: kap_dataflow::result::ResultSet {
                series: Some(vec![Some(Row {
                    name: "cpu".into(),
                    columns: vec!["time".into(), "value".into()],
                    values: vec![vec![
                        Cell::Time(time),
                        Cell::Field(FieldValue::Float(value)),
                    ]],
                    ..Row::default()
                })]),
            },
            name: "cpu".into(),
            task: "t".into(),
            node: "alert2".into(),
            category: String::new(),
            group_id: String::new(),
            tags: Default::default(),
            fields: Default::default(),
            handlers: Vec::new(),
        }
    }

    #[test]
    fn an_interval_s_events_become_one() {
        let a = Aggregate::from_options(&options(serde_json::json!({
            "id": "id-agg", "interval": 100_000_000, "topic": "out"
        })))
        .unwrap();
        let start = a.due() - Duration::from_millis(100);
        a.add(event(Level::Warning, "first", 10, 1.0));
        a.add(event(Level::Critical, "second", 20, 2.0));
        a.add(event(Level::Info, "third", 30, 3.0));
        assert!(a.tick(start + Duration::from_millis(99)).is_none());
        let agg = a.tick(start + Duration::from_millis(100)).unwrap().unwrap();
        assert_eq!(agg.topic, "out");
        assert_eq!(agg.id, "id-agg");
        assert_eq!(agg.message, "Received 3 events in the last 100ms.");
        assert_eq!(agg.details, "first\nsecond\nthird");
        assert_eq!(agg.level, Level::Critical);
        assert_eq!(agg.time, 30);
        assert_eq!(agg.duration, 0);
        let series = agg.data.series.unwrap();
        assert_eq!(series.len(), 3);
        // The next interval starts empty and publishes nothing.
        assert!(a.tick(start + Duration::from_millis(200)).is_none());
    }

    #[test]
    fn the_message_template_sees_count_and_interval() {
        let a = Aggregate::from_options(&options(serde_json::json!({
            "id": "x", "interval": "1m30s", "topic": "out",
            "message": "{{.Count}} in {{.Interval}}"
        })))
        .unwrap();
        a.add(event(Level::Ok, "m", 1, 0.0));
        let agg = a
            .tick(a.due())
            .expect("the interval has ended")
            .expect("the template renders");
        assert_eq!(agg.message, "1 in 1m30s");
        assert_eq!(agg.level, Level::Ok);
    }

    #[test]
    fn a_missed_interval_is_skipped() {
        let a = Aggregate::from_options(&options(serde_json::json!({
            "id": "x", "interval": "10ms", "topic": "out"
        })))
        .unwrap();
        let late = a.due() + Duration::from_millis(55);
        assert!(a.tick(late).is_none());
        assert_eq!(a.due(), late + Duration::from_millis(10));
    }

    #[test]
    fn bad_options_say_which() {
        for (opts, want) in [
            (serde_json::json!({"topic": "out"}), "interval"),
            (
                serde_json::json!({"interval": "-1s", "topic": "out"}),
                "interval",
            ),
            (serde_json::json!({"interval": "1s"}), "invalid topic"),
            (
                serde_json::json!({"interval": "1s", "topic": "a b"}),
                "invalid topic",
            ),
            (
                serde_json::json!({"interval": "1s", "topic": "out", "message": "{{.Count"}),
                "message",
            ),
            (
                serde_json::json!({"interval": true, "topic": "out"}),
                "interval",
            ),
        ] {
            let err = Aggregate::from_options(&options(opts.clone())).unwrap_err();
            assert!(err.contains(want), "{opts}: {err}");
        }
    }
}

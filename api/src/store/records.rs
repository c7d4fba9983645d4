//! The on-disk record types.
//!
//! These are the persisted shapes only: the daemon converts them to and from its runtime types
//! (tasks, templates, alert topics) at the edge, so a change to a runtime type never changes
//! what is on disk by accident. A change to one of these structs bumps its
//! [`Record::VERSION`] and, where old data must stay readable, adds a [`Record::migrate`] step.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use redb::TableDefinition;
use serde::{Deserialize, Serialize};

use super::Record;

/// A database and retention policy pair a task reads from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbRpRecord {
    /// The database name.
    pub db: String,
    /// The retention policy name.
    pub rp: String,
}

/// A task as defined through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task id (its name).
    pub id: String,
    /// The template the task was created from, if any.
    pub template_id: Option<String>,
    /// `"stream"` or `"batch"`.
    pub task_type: String,
    /// The database and retention policy pairs the task reads from.
    pub dbrps: Vec<DbRpRecord>,
    /// The TICKscript as the user wrote it.
    pub script: String,
    /// The API's `vars` object, as given.
    pub vars: serde_json::Value,
    /// `"enabled"` or `"disabled"`.
    pub status: String,
    /// When the task was created.
    #[serde(with = "timestamp")]
    pub created: DateTime<Utc>,
    /// When the task was last modified.
    #[serde(with = "timestamp")]
    pub modified: DateTime<Utc>,
    /// When the task was last enabled, if ever.
    #[serde(with = "timestamp_opt")]
    pub last_enabled: Option<DateTime<Utc>>,
}

impl TaskRecord {
    /// Whether the task is enabled, so that a restart must bring it back running.
    pub fn is_enabled(&self) -> bool {
        self.status == "enabled"
    }
}

impl Record for TaskRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("tasks");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        self.id.clone()
    }
}

/// A task template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateRecord {
    /// The template id.
    pub id: String,
    /// `"stream"` or `"batch"`.
    pub task_type: String,
    /// The TICKscript as the user wrote it.
    pub script: String,
    /// When the template was created.
    #[serde(with = "timestamp")]
    pub created: DateTime<Utc>,
    /// When the template was last modified.
    #[serde(with = "timestamp")]
    pub modified: DateTime<Utc>,
}

impl Record for TemplateRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("templates");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        self.id.clone()
    }
}

/// The metadata of a recording; the recorded data itself lives in the `[replay] dir`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingRecord {
    /// The recording id.
    pub id: String,
    /// `"stream"`, `"batch"` or `"query"`.
    pub kind: String,
    /// The size of the recording file in bytes.
    pub size: u64,
    /// When the recording was started.
    #[serde(with = "timestamp")]
    pub date: DateTime<Utc>,
    /// The error that ended the recording, empty if none.
    pub error: String,
    /// `"running"`, `"finished"` or `"failed"`.
    pub status: String,
    /// Progress between 0 and 1.
    pub progress: f64,
}

impl Record for RecordingRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("recordings");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        self.id.clone()
    }
}

/// The metadata of a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayRecord {
    /// The replay id.
    pub id: String,
    /// The id of the task replayed into.
    pub task: String,
    /// The id of the recording replayed.
    pub recording: String,
    /// Whether points keep their recorded times instead of being shifted to now.
    pub recording_time: bool,
    /// `"fast"` or `"real"`.
    pub clock: String,
    /// When the replay was started.
    #[serde(with = "timestamp")]
    pub date: DateTime<Utc>,
    /// The error that ended the replay, empty if none.
    pub error: String,
    /// `"running"`, `"finished"` or `"failed"`.
    pub status: String,
    /// Progress between 0 and 1.
    pub progress: f64,
    /// The replayed task's statistics when it ended (`{"task-stats", "node-stats"}`).
    #[serde(default)]
    pub stats: serde_json::Value,
    /// The replayed task's DOT with those statistics, as attributes and as labels.
    #[serde(default)]
    pub dot: [String; 2],
}

impl Record for ReplayRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("replays");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        self.id.clone()
    }
}

/// The state of one alert (one event) of a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventStateRecord {
    /// The rendered alert message.
    pub message: String,
    /// The rendered alert details.
    pub details: String,
    /// The time of the event.
    #[serde(with = "timestamp")]
    pub time: DateTime<Utc>,
    /// How long the alert has been in a non-OK level, in nanoseconds.
    pub duration_ns: i64,
    /// `"OK"`, `"INFO"`, `"WARNING"` or `"CRITICAL"`.
    pub level: String,
}

/// The persisted state of an alert topic, so a restart keeps alert levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicStateRecord {
    /// The topic id.
    pub topic: String,
    /// The state of each alert of the topic, by alert id.
    pub events: BTreeMap<String, EventStateRecord>,
}

impl Record for TopicStateRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("topic_states");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        self.topic.clone()
    }
}

/// A handler subscribed to an alert topic through the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandlerRecord {
    /// The topic the handler is subscribed to.
    pub topic: String,
    /// The handler id, unique within its topic.
    pub id: String,
    /// The handler kind (`"log"`, `"post"`, `"tcp"`, …).
    pub kind: String,
    /// The handler's options, as given.
    pub options: serde_json::Value,
    /// The handler's match expression, empty for none.
    pub match_expr: String,
}

impl HandlerRecord {
    /// The store key of the handler `id` of `topic`: `topic`, a NUL byte, then `id`.
    pub fn key_for(topic: &str, id: &str) -> String {
        format!("{topic}\0{id}")
    }

    /// The key prefix shared by every handler of `topic`, for [`Store::list_prefix`].
    ///
    /// [`Store::list_prefix`]: super::Store::list_prefix
    pub fn topic_prefix(topic: &str) -> String {
        format!("{topic}\0")
    }
}

impl Record for HandlerRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("topic_handlers");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        Self::key_for(&self.topic, &self.id)
    }
}

/// Timestamps as RFC 3339 strings in UTC with as many fractional digits as needed.
mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    pub(super) fn parse<E: serde::de::Error>(s: &str) -> Result<DateTime<Utc>, E> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| E::custom(format!("invalid timestamp {s:?}: {e}")))
    }

    pub(super) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

/// Optional timestamps: RFC 3339 strings, or `null`.
mod timestamp_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&super::timestamp::format(t)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| super::timestamp::parse::<D::Error>(&s))
            .transpose()
    }
}

/// An override of one element of a configuration section, made through `/config`: the
/// options set over the configuration file's values, or an element added or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigOverrideRecord {
    /// The section (`slack`, `smtp`…).
    pub section: String,
    /// The element's name in a list section (its `workspace`, `name` or `id`), empty in a
    /// section of one element.
    pub element: String,
    /// The options set, by their configuration names.
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Whether the element was added through the API (not in the file).
    pub create: bool,
    /// Whether the element was removed through the API.
    pub delete: bool,
}

impl Record for ConfigOverrideRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("config_overrides");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        format!("{}\0{}", self.section, self.element)
    }
}

/// The last snapshot of a UDF node's agent (`[task] snapshot-interval`), restored into the
/// agent started for that node after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSnapshotRecord {
    /// The task.
    pub task: String,
    /// The node (`movingAvg2`).
    pub node: String,
    /// The agent's snapshot, base64.
    pub data: String,
}

impl TaskSnapshotRecord {
    /// The key prefix of a task's snapshots.
    pub fn prefix(task: &str) -> String {
        format!("{task}\0")
    }
}

impl Record for TaskSnapshotRecord {
    const TABLE: TableDefinition<'static, &'static str, &'static [u8]> =
        TableDefinition::new("task_snapshots");
    const VERSION: u32 = 1;

    fn key(&self) -> String {
        format!("{}{}", Self::prefix(&self.task), self.node)
    }
}

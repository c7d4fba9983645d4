//! `kap-api-types`: the JSON wire types of the `/kapacitor/v1` API, shared by the daemon
//! (`kapacitord`) and the CLI (`kapacitor`). Plain serde data: no HTTP, no runtime.

// A library reports through `tracing` or its services: a print here is a leftover.
#![warn(clippy::print_stdout, clippy::print_stderr)]

use serde::{Deserialize, Serialize};

/// A diagnostic as carried in API error bodies next to Kapacitor's `error` text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosticDto {
    /// Stable code, e.g. `E0203`.
    pub code: String,
    /// Message.
    pub message: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// Kapacitor's error body: `{"error": "...", "message": "..."}`, plus our diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Error text (Kapacitor's wording).
    pub error: String,
    /// Same text (Kapacitor sends both keys).
    pub message: String,
    /// Script diagnostics with line and column, when a script was rejected.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<DiagnosticDto>,
}

/// A link object: `{"rel": "self", "href": "/kapacitor/v1/..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Link {
    /// Relation (`self`, `events`, `handlers`, `next`…).
    pub rel: String,
    /// Absolute path of the resource.
    pub href: String,
}

impl Link {
    /// A `self` link.
    pub fn self_(href: impl Into<String>) -> Link {
        Link {
            rel: "self".into(),
            href: href.into(),
        }
    }
}

/// A database and retention policy pair.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DbRp {
    /// Database.
    pub db: String,
    /// Retention policy.
    pub rp: String,
}

/// A task or template variable: `{"type", "value", "description"}`.
///
/// `value` is kept as JSON: a bool, number, string, duration (integer nanoseconds or a
/// duration string), or, for `list`, an array of `Var`s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Var {
    /// `bool|int|float|string|regex|duration|lambda|list|star`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value.
    #[serde(default)]
    pub value: serde_json::Value,
    /// Description (from the `//` comment above the var in a template).
    #[serde(default)]
    pub description: String,
}

/// Vars by name.
pub type Vars = std::collections::BTreeMap<String, Var>;

/// `POST /kapacitor/v1/tasks` body (`CreateTaskOptions`; every key optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CreateTask {
    /// Task id (generated when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Template to instantiate.
    #[serde(
        default,
        rename = "template-id",
        skip_serializing_if = "String::is_empty"
    )]
    pub template_id: String,
    /// `stream` or `batch` (inferred from the script when empty).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Databases and retention policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dbrps: Vec<DbRp>,
    /// TICKscript.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub script: String,
    /// `enabled` or `disabled` (default).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Vars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vars: Option<Vars>,
}

/// `PATCH /kapacitor/v1/tasks/<id>` body (`UpdateTaskOptions`): the same keys, all optional.
pub type UpdateTask = CreateTask;

/// Node and task statistics of a running task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskStats {
    /// Task-level counters.
    #[serde(
        default,
        rename = "task-stats",
        skip_serializing_if = "serde_json::Map::is_empty"
    )]
    pub task_stats: serde_json::Map<String, serde_json::Value>,
    /// Per-node counters, by node name (`window2`).
    #[serde(
        default,
        rename = "node-stats",
        skip_serializing_if = "serde_json::Map::is_empty"
    )]
    pub node_stats: serde_json::Map<String, serde_json::Value>,
}

/// A task as `GET /kapacitor/v1/tasks/<id>` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Task {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Template id (empty when none).
    #[serde(default, rename = "template-id")]
    pub template_id: String,
    /// `stream` or `batch`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Databases and retention policies.
    #[serde(default)]
    pub dbrps: Vec<DbRp>,
    /// TICKscript (formatted unless `script-format=raw`).
    #[serde(default)]
    pub script: String,
    /// Vars.
    #[serde(default)]
    pub vars: Vars,
    /// DOT graph (with stats attributes when executing).
    #[serde(default)]
    pub dot: String,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub status: String,
    /// Whether the task runs.
    #[serde(default)]
    pub executing: bool,
    /// Last error (empty when none).
    #[serde(default)]
    pub error: String,
    /// Statistics.
    #[serde(default)]
    pub stats: TaskStats,
    /// Creation time (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// Last modification time (RFC 3339).
    #[serde(default)]
    pub modified: String,
    /// Last time the task was enabled (RFC 3339; Go's zero time when never).
    #[serde(default, rename = "last-enabled")]
    pub last_enabled: String,
}

/// `GET /kapacitor/v1/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TaskList {
    /// The tasks (only the requested fields when `fields=` is given).
    pub tasks: Vec<serde_json::Value>,
}

/// `POST /kapacitor/v1/templates` / `PATCH /templates/<id>` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CreateTemplate {
    /// Template id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// `stream` or `batch` (inferred when empty).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// TICKscript with `var` declarations.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub script: String,
}

/// A template as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Template {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Id.
    #[serde(default)]
    pub id: String,
    /// `stream` or `batch`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// TICKscript.
    #[serde(default)]
    pub script: String,
    /// Declared vars (with defaults and descriptions).
    #[serde(default)]
    pub vars: Vars,
    /// DOT graph.
    #[serde(default)]
    pub dot: String,
    /// Error (empty when none).
    #[serde(default)]
    pub error: String,
    /// Creation time.
    #[serde(default)]
    pub created: String,
    /// Modification time.
    #[serde(default)]
    pub modified: String,
}

/// A recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Recording {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Id.
    #[serde(default)]
    pub id: String,
    /// `stream` or `batch`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Size in bytes of the recording file.
    #[serde(default)]
    pub size: i64,
    /// Start date (RFC 3339).
    #[serde(default)]
    pub date: String,
    /// Error (empty when none).
    #[serde(default)]
    pub error: String,
    /// `running`, `finished` or `failed`.
    #[serde(default)]
    pub status: String,
    /// 0.0 to 1.0.
    #[serde(default)]
    pub progress: f64,
}

/// `POST /kapacitor/v1/recordings/stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RecordStream {
    /// Recording id (generated when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The task whose dbrps and measurements are recorded.
    #[serde(default)]
    pub task: String,
    /// When to stop (RFC 3339). Ours: empty means "until stopped" (`PATCH {"status":"stopped"}`
    /// or `POST /recordings/<id>/stop`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop: String,
}

/// `POST /kapacitor/v1/recordings/batch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RecordBatch {
    /// Recording id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The batch task whose queries are recorded.
    #[serde(default)]
    pub task: String,
    /// Start (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// Stop (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop: String,
    /// InfluxDB cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
}

/// `POST /kapacitor/v1/recordings/query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RecordQuery {
    /// Recording id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// InfluxQL query.
    #[serde(default)]
    pub query: String,
    /// `stream` or `batch`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// InfluxDB cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Ours: the InfluxDB URL to query (`http://influxdb:8086`) instead of a configured
    /// cluster (`kapacitor record stream --host URL --query Q`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

/// `GET /kapacitor/v1/recordings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RecordingList {
    /// The recordings.
    pub recordings: Vec<Recording>,
}

/// `POST /kapacitor/v1/replays`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CreateReplay {
    /// Replay id (generated when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Recording to replay.
    #[serde(default)]
    pub recording: String,
    /// Task to replay into.
    #[serde(default)]
    pub task: String,
    /// Keep the recording's timestamps instead of shifting them to now.
    #[serde(default, rename = "recording-time")]
    pub recording_time: bool,
    /// `fast` (default) or `real`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clock: String,
}

/// `POST /kapacitor/v1/replays/batch` (replay-live batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplayBatch {
    /// Replay id (generated when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The batch task whose queries run.
    #[serde(default)]
    pub task: String,
    /// Start (RFC 3339).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub start: String,
    /// Stop (RFC 3339; empty: now).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stop: String,
    /// Keep the queried timestamps instead of shifting them to now.
    #[serde(default, rename = "recording-time")]
    pub recording_time: bool,
    /// `fast` (default) or `real`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clock: String,
    /// InfluxDB cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
}

/// `POST /kapacitor/v1/replays/query` (replay-live query).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplayQuery {
    /// Replay id (generated when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The task replayed into.
    #[serde(default)]
    pub task: String,
    /// InfluxQL query.
    #[serde(default)]
    pub query: String,
    /// InfluxDB cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// Keep the queried timestamps instead of shifting them to now.
    #[serde(default, rename = "recording-time")]
    pub recording_time: bool,
    /// `fast` (default) or `real`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clock: String,
}

/// A replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Replay {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Task.
    #[serde(default)]
    pub task: String,
    /// Recording.
    #[serde(default)]
    pub recording: String,
    /// Whether recording times are kept.
    #[serde(default, rename = "recording-time")]
    pub recording_time: bool,
    /// `fast` or `real`.
    #[serde(default)]
    pub clock: String,
    /// Start date (RFC 3339).
    #[serde(default)]
    pub date: String,
    /// Error (empty when none).
    #[serde(default)]
    pub error: String,
    /// `running`, `finished` or `failed`.
    #[serde(default)]
    pub status: String,
    /// 0.0 to 1.0.
    #[serde(default)]
    pub progress: f64,
    /// Task statistics of the replay run.
    #[serde(default)]
    pub stats: serde_json::Value,
}

/// `GET /kapacitor/v1/replays`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ReplayList {
    /// The replays.
    pub replays: Vec<Replay>,
}

/// An alert topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Topic {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Topic id.
    #[serde(default)]
    pub id: String,
    /// Highest level among its events (`OK`, `INFO`, `WARNING`, `CRITICAL`).
    #[serde(default)]
    pub level: String,
    /// Number of events collected since start.
    #[serde(default)]
    pub collected: i64,
    /// Link to the events.
    #[serde(default, rename = "events-link")]
    pub events_link: Link,
    /// Link to the handlers.
    #[serde(default, rename = "handlers-link")]
    pub handlers_link: Link,
}

/// `GET /kapacitor/v1/alerts/topics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TopicList {
    /// Self link (echoes the query).
    #[serde(default)]
    pub link: Link,
    /// The topics.
    pub topics: Vec<Topic>,
}

/// The state of one alert event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EventState {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Details.
    #[serde(default)]
    pub details: String,
    /// Time (RFC 3339).
    #[serde(default)]
    pub time: String,
    /// Duration as a Go duration string (`1s`).
    #[serde(default)]
    pub duration: String,
    /// Level.
    #[serde(default)]
    pub level: String,
}

/// An alert event of a topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Event {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Alert id.
    #[serde(default)]
    pub id: String,
    /// State.
    #[serde(default)]
    pub state: EventState,
}

/// `GET /kapacitor/v1/alerts/topics/<t>/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct EventList {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Topic id.
    #[serde(default)]
    pub topic: String,
    /// Events.
    pub events: Vec<Event>,
}

/// A topic handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Handler {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Handler id.
    #[serde(default)]
    pub id: String,
    /// Kind (`log`, `post`, `tcp`, `exec`, `slack`…).
    #[serde(default)]
    pub kind: String,
    /// Kind-specific options.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Match lambda (empty: every event).
    #[serde(default, rename = "match")]
    pub match_expr: String,
}

/// `POST`/`PUT` body of a topic handler.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HandlerSpec {
    /// Topic (filled from the path when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// Handler id.
    #[serde(default)]
    pub id: String,
    /// Kind.
    #[serde(default)]
    pub kind: String,
    /// Options.
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// Match lambda.
    #[serde(default, rename = "match", skip_serializing_if = "String::is_empty")]
    pub match_expr: String,
}

/// `GET /kapacitor/v1/alerts/topics/<t>/handlers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct HandlerList {
    /// Self link.
    #[serde(default)]
    pub link: Link,
    /// Topic id.
    #[serde(default)]
    pub topic: String,
    /// Handlers.
    pub handlers: Vec<Handler>,
}

/// Per-series result rows of an httpOut endpoint: `{"series": [...]}` (`null` before data).
pub type HttpOutResult = serde_json::Value;

/// The base path of the API.
pub const BASE: &str = "/kapacitor/v1";

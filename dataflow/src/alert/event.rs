//! Alert levels and events.

use crate::gofmt;
use crate::point::{Fields, Tags};
use crate::result::ResultSet;
use kap_dsl::plan::HandlerSpec;
use std::fmt;

/// Kapacitor's alert levels, ordered.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Level {
    /// `OK` (0).
    #[default]
    Ok,
    /// `INFO` (1).
    Info,
    /// `WARNING` (2).
    Warning,
    /// `CRITICAL` (3).
    Critical,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 4] = [Level::Ok, Level::Info, Level::Warning, Level::Critical];

    /// `OK`, `INFO`, `WARNING`, `CRITICAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
        }
    }

    /// Parses `OK`, `INFO`, `WARNING`, `CRITICAL`.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The level's number (OK = 0 … CRITICAL = 3).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One alert event, as the node publishes it (serializable: in a cluster, an event moves
/// to the process that installed its task).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertEvent {
    /// Topic: `.topic()` or the anonymous `main:<task>:<node>`.
    pub topic: String,
    /// Event (alert) id.
    pub id: String,
    /// Rendered message.
    pub message: String,
    /// Rendered details.
    pub details: String,
    /// Event time, ns.
    pub time: i64,
    /// Time since the alert left OK, ns.
    pub duration: i64,
    /// Level.
    pub level: Level,
    /// Level the topic last held for this id (OK when first seen).
    pub previous_level: Level,
    /// `!noRecoveries`.
    pub recoverable: bool,
    /// The data that triggered the event (one row).
    pub data: ResultSet,
    /// Measurement name.
    pub name: String,
    /// Task id.
    pub task: String,
    /// Node name.
    pub node: String,
    /// `.category()`.
    pub category: String,
    /// Group id string (`""` for the nil group).
    pub group_id: String,
    /// Tags (point tags, or the batch's group tags).
    pub tags: Tags,
    /// Fields (of the point, or of the batch's highest point).
    pub fields: Fields,
    /// The alert's inline handlers.
    pub handlers: Vec<HandlerSpec>,
}

impl AlertEvent {
    /// The state a topic keeps of this event.
    pub fn state(&self) -> super::EventState {
        super::EventState {
            level: self.level,
            message: self.message.clone(),
            details: self.details.clone(),
            time: self.time,
            duration: self.duration,
        }
    }

    /// Kapacitor's `AlertData` JSON (`json.Marshal`, no trailing newline):
    /// `{"id","message","details","time","duration","level","data","previousLevel","recoverable"}`.
    pub fn to_json(&self) -> Result<String, String> {
        let mut out = String::new();
        out.push_str("{\"id\":");
        gofmt::write_json_string(&mut out, &self.id);
        out.push_str(",\"message\":");
        gofmt::write_json_string(&mut out, &self.message);
        out.push_str(",\"details\":");
        gofmt::write_json_string(&mut out, &self.details);
        out.push_str(",\"time\":");
        gofmt::write_json_string(&mut out, &gofmt::format_time_rfc3339nano(self.time));
        out.push_str(",\"duration\":");
        out.push_str(&self.duration.to_string());
        out.push_str(",\"level\":\"");
        out.push_str(self.level.as_str());
        out.push_str("\",\"data\":");
        self.data.write_json(&mut out)?;
        out.push_str(",\"previousLevel\":\"");
        out.push_str(self.previous_level.as_str());
        out.push_str("\",\"recoverable\":");
        out.push_str(if self.recoverable { "true" } else { "false" });
        out.push('}');
        Ok(out)
    }

    /// [`AlertEvent::to_json`] with the trailing newline `json.Encoder` writes (what the
    /// log, tcp, exec and post handlers send).
    pub fn to_json_line(&self) -> Result<String, String> {
        self.to_json().map(|s| s + "\n")
    }

    /// Whether the level differs from the previous one.
    pub fn changed(&self) -> bool {
        self.level != self.previous_level
    }
}

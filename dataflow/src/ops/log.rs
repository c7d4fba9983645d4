//! `|log()`: logs every point or batch through [`crate::node::LogSink`] in logfmt and
//! forwards it unchanged (`kapacitor-semantics.md` §8).
//!
//! Line shapes (the sink adds timestamp and level):
//! * point: `msg=point task=… node=… prefix=… name=… db=… rp=… group=… dimension=a,b
//!   tag_k=v… field_k=v… time=<RFC3339Nano>`;
//! * batch: `msg="begin batch" … tag_k=v… time=<tmax>`, one `msg="batch point"` line per
//!   point (its tags and fields), then `msg="end batch"`.

use crate::gofmt::{format_float_g, format_time_rfc3339nano, quote_go};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{FieldValue, Fields, Msg, Tags};
use kap_dsl::plan::LogSpec;
use std::fmt::Write;

/// The `log` processor.
#[derive(Debug)]
pub(crate) struct Log {
    level: String,
    prefix: String,
}

/// Builds a `log` node.
pub(crate) fn build(spec: &LogSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    let level = spec.level.to_ascii_uppercase();
    let level = match level.as_str() {
        "DEBUG" | "INFO" | "ERROR" => level,
        "WARN" | "WARNING" => "WARN".to_string(),
        _ => {
            return Err(BuildError::invalid(
                info,
                format!("invalid log level {:?}", spec.level),
            ));
        }
    };
    Ok(Box::new(Log {
        level,
        prefix: spec.prefix.clone(),
    }))
}

/// A logfmt value: bare when safe, Go-quoted otherwise.
pub(crate) fn logfmt_value(s: &str) -> String {
    if s.is_empty()
        || s.chars()
            .any(|c| c == ' ' || c == '=' || c == '"' || c.is_control() || !c.is_ascii())
    {
        quote_go(s)
    } else {
        s.to_string()
    }
}

fn field_text(v: &FieldValue) -> String {
    match v {
        FieldValue::Float(f) => format_float_g(*f),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::Bool(b) => b.to_string(),
        FieldValue::String(s) => logfmt_value(s),
        FieldValue::Null => "null".to_string(),
    }
}

fn push_kv(line: &mut String, k: &str, v: &str) {
    let _ = write!(line, " {k}={}", logfmt_value(v));
}

fn push_tags_fields(line: &mut String, tags: &Tags, fields: Option<&Fields>) {
    for (k, v) in tags {
        push_kv(line, &format!("tag_{k}"), v.as_str());
    }
    if let Some(fields) = fields {
        for (k, v) in fields {
            let _ = write!(line, " field_{k}={}", field_text(v));
        }
    }
}

impl Log {
    fn head(&self, msg: &str, ctx: &Ctx<'_>) -> String {
        let mut line = format!("msg={}", logfmt_value(msg));
        push_kv(&mut line, "task", ctx.task);
        push_kv(&mut line, "node", ctx.node);
        push_kv(&mut line, "prefix", &self.prefix);
        line
    }
}

impl Processor for Log {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match &msg {
            Msg::Point(p) => {
                let mut line = self.head("point", ctx);
                push_kv(&mut line, "name", p.name.as_str());
                push_kv(&mut line, "db", p.db.as_str());
                push_kv(&mut line, "rp", p.rp.as_str());
                push_kv(&mut line, "group", &p.group_string());
                let dims: Vec<&str> = p.dims.tag_names.iter().map(|s| s.as_str()).collect();
                push_kv(&mut line, "dimension", &dims.join(","));
                push_tags_fields(&mut line, &p.tags, Some(&p.fields));
                push_kv(&mut line, "time", &format_time_rfc3339nano(p.time));
                ctx.services.log.log(&self.level, &line);
            }
            Msg::Batch(b) => {
                let group = b.group_string();
                let mut line = self.head("begin batch", ctx);
                push_kv(&mut line, "name", b.name.as_str());
                push_kv(&mut line, "group", &group);
                push_tags_fields(&mut line, &b.tags, None);
                push_kv(&mut line, "time", &format_time_rfc3339nano(b.tmax));
                ctx.services.log.log(&self.level, &line);
                for bp in &b.points {
                    let mut line = self.head("batch point", ctx);
                    push_kv(&mut line, "name", b.name.as_str());
                    push_kv(&mut line, "group", &group);
                    push_tags_fields(&mut line, &bp.tags, Some(&bp.fields));
                    push_kv(&mut line, "time", &format_time_rfc3339nano(bp.time));
                    ctx.services.log.log(&self.level, &line);
                }
                let mut line = self.head("end batch", ctx);
                push_kv(&mut line, "name", b.name.as_str());
                push_kv(&mut line, "group", &group);
                push_tags_fields(&mut line, &b.tags, None);
                push_kv(&mut line, "time", &format_time_rfc3339nano(b.tmax));
                ctx.services.log.log(&self.level, &line);
            }
            _ => {}
        }
        out.push(msg);
    }
}

//! `enable`, `disable`, `reload`, `delete`, `list`, `show*` and `push`.

use super::{dbrps_text, is_pattern, rfc822};
use crate::client::{Client, Context, Failure, path_escape, query_escape};
use kap_api_types::{
    CreateTask, EventList, Handler, HandlerList, Recording, RecordingList, Replay, ReplayList,
    Task, Template, Topic, TopicList, Vars,
};

/// Task ids or glob patterns.
#[derive(Debug, clap::Args)]
pub struct IdsArgs {
    /// Task ids or glob patterns (`cpu*`).
    #[arg(required = true)]
    pub ids: Vec<String>,
}

/// `KIND [ids or patterns...]` for `list` and `delete`.
#[derive(Debug, clap::Args)]
pub struct KindArgs {
    /// `tasks`, `templates`, `recordings`, `replays`, `topics`, `handlers`
    /// (`topic-handlers`), or (for `list`) `service-tests`.
    #[arg(value_parser = [
        "tasks", "templates", "recordings", "replays", "topics", "handlers", "topic-handlers",
        "service-tests",
    ])]
    pub kind: String,
    /// Ids or glob patterns (for handlers: the topic first).
    pub ids: Vec<String>,
}

/// `show [-replay ID] TASK`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Show the task's stats as of this replay.
    #[arg(long)]
    pub replay: Option<String>,
    /// The task id.
    pub task: String,
}

/// One id.
#[derive(Debug, clap::Args)]
pub struct OneArgs {
    /// The id.
    pub id: String,
}

/// `TOPIC HANDLER`.
#[derive(Debug, clap::Args)]
pub struct HandlerArgs {
    /// The topic.
    pub topic: String,
    /// The handler id.
    pub handler: String,
}

/// `push --remote URL TASK`.
#[derive(Debug, clap::Args)]
pub struct PushArgs {
    /// The daemon to copy the task to (`http://host:9092`).
    #[arg(long, required = true)]
    pub remote: String,
    /// The task id.
    pub task: String,
}

/// What `enable`, `disable` and `reload` do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    Enable,
    Disable,
    Reload,
}

/// Lists every task id matching `pattern` (pages of 100).
fn task_ids(c: &Client, pattern: &str) -> Result<Vec<String>, Failure> {
    Ok(list_tasks(c, pattern, &["id"])?
        .into_iter()
        .map(|t| t.id)
        .collect())
}

fn list_tasks(c: &Client, pattern: &str, fields: &[&str]) -> Result<Vec<Task>, Failure> {
    let mut out = Vec::new();
    let limit = 100;
    let mut offset = 0;
    loop {
        let mut q = String::new();
        for f in fields {
            q.push_str(&format!("fields={f}&"));
        }
        q.push_str(&format!(
            "limit={limit}&offset={offset}&pattern={}",
            query_escape(pattern)
        ));
        let list: kap_api_types::TaskList = c.get(&format!("/tasks?{q}"))?;
        let n = list.tasks.len();
        for t in list.tasks {
            out.push(
                serde_json::from_value::<Task>(t)
                    .map_err(|e| Failure::command(format!("unexpected task in list: {e}")))?,
            );
        }
        if n < limit {
            return Ok(out);
        }
        offset += limit;
    }
}

/// `enable|disable|reload ID...`: PATCH `{"status": ...}` on each task (patterns are listed
/// first).
pub(crate) fn set_status(c: &Client, ids: &[String], change: Change) -> Result<(), Failure> {
    let verb = match change {
        Change::Enable => "enable",
        Change::Disable => "disable",
        Change::Reload => "reload",
    };
    for arg in ids {
        let targets = if is_pattern(arg) {
            task_ids(c, arg).context(format!("{verb} {arg:?}"))?
        } else {
            vec![arg.clone()]
        };
        for id in targets {
            let path = format!("/tasks/{}", path_escape(&id));
            let res = match change {
                Change::Reload => super::define::reload(c, &path),
                _ => {
                    let status = if change == Change::Enable {
                        "enabled"
                    } else {
                        "disabled"
                    };
                    let body = CreateTask {
                        status: status.into(),
                        ..CreateTask::default()
                    };
                    c.send::<Task>("PATCH", &path, &body).map(|_| ())
                }
            };
            res.context(format!("{verb} task {id:?}"))?;
        }
    }
    Ok(())
}

fn singular(kind: &str) -> &str {
    match kind {
        "tasks" => "task",
        "templates" => "template",
        "recordings" => "recording",
        "replays" => "replay",
        "topics" => "topic",
        _ => "handler",
    }
}

/// `delete KIND ID...`: DELETE each (patterns of tasks and templates are listed first).
pub(crate) fn delete(c: &Client, a: &KindArgs) -> Result<(), Failure> {
    if a.ids.is_empty() {
        return Err(Failure::usage(format!(
            "delete {}: give at least one id",
            a.kind
        )));
    }
    let kind = a.kind.as_str();
    if kind == "service-tests" {
        return Err(Failure::usage(
            "delete service-tests: service tests cannot be deleted",
        ));
    }
    if kind == "handlers" || kind == "topic-handlers" {
        let [topic, handlers @ ..] = a.ids.as_slice() else {
            unreachable!("checked non-empty")
        };
        if handlers.is_empty() {
            return Err(Failure::usage(format!(
                "delete {kind} TOPIC HANDLER...: give the topic, then handler ids"
            )));
        }
        for h in handlers {
            let path = format!(
                "/alerts/topics/{}/handlers/{}",
                path_escape(topic),
                path_escape(h)
            );
            c.send_empty("DELETE", &path, None::<&()>)
                .context(format!("delete handler {h:?} of topic {topic:?}"))?;
        }
        return Ok(());
    }
    let base = match kind {
        "topics" => "/alerts/topics",
        other => match other {
            "tasks" => "/tasks",
            "templates" => "/templates",
            "recordings" => "/recordings",
            _ => "/replays",
        },
    };
    for arg in &a.ids {
        let ids = if is_pattern(arg) {
            list_ids(c, kind, arg).context(format!("delete {kind} {arg:?}"))?
        } else {
            vec![arg.clone()]
        };
        for id in ids {
            let path = format!("{base}/{}", path_escape(&id));
            c.send_empty("DELETE", &path, None::<&()>)
                .context(format!("delete {} {id:?}", singular(kind)))?;
        }
    }
    Ok(())
}

/// Ids of one kind matching a pattern.
fn list_ids(c: &Client, kind: &str, pattern: &str) -> Result<Vec<String>, Failure> {
    let p = query_escape(pattern);
    Ok(match kind {
        "tasks" => task_ids(c, pattern)?,
        "templates" => {
            let l: serde_json::Value = c.get(&format!("/templates?fields=id&pattern={p}"))?;
            ids_of(&l["templates"])
        }
        "recordings" => {
            let l: RecordingList = c.get(&format!("/recordings?pattern={p}"))?;
            l.recordings.into_iter().map(|r| r.id).collect()
        }
        "replays" => {
            let l: ReplayList = c.get(&format!("/replays?pattern={p}"))?;
            l.replays.into_iter().map(|r| r.id).collect()
        }
        _ => {
            let l: TopicList = c.get(&format!("/alerts/topics?pattern={p}"))?;
            l.topics.into_iter().map(|t| t.id).collect()
        }
    })
}

fn ids_of(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `humanize.Bytes`: SI units, one decimal below 10.
pub(crate) fn human_bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    if n < 10.0 {
        return format!("{n} B");
    }
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = (n.ln() / 1000f64.ln()).floor().min(6.0);
    let val = (n / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    let unit = units[e as usize];
    if val < 10.0 {
        format!("{val:.1} {unit}")
    } else {
        format!("{val:.0} {unit}")
    }
}

/// Left-pads `s` to `w` columns (Go's `%-Ns`).
fn pad(s: &str, w: usize) -> String {
    format!("{s:<w$}")
}

/// `list KIND [PATTERN...]`, in Kapacitor's table layouts.
pub(crate) fn list(c: &Client, a: &KindArgs) -> Result<(), Failure> {
    let patterns: Vec<String> = if a.ids.is_empty() {
        vec![String::new()]
    } else {
        a.ids.clone()
    };
    let what = format!("list {}", a.kind);
    match a.kind.as_str() {
        "tasks" => {
            let mut tasks = Vec::new();
            for p in &patterns {
                tasks.extend(
                    list_tasks(c, p, &["type", "status", "executing", "dbrps"]).context(&what)?,
                );
            }
            let w = tasks.iter().map(|t| t.id.len()).max().unwrap_or(0).max(2) + 1;
            println!(
                "{}{:<10}{:<10}{:<10}Databases and Retention Policies",
                pad("ID", w),
                "Type",
                "Status",
                "Executing"
            );
            for t in tasks {
                println!(
                    "{}{:<10}{:<10}{:<10}{}",
                    pad(&t.id, w),
                    t.kind,
                    t.status,
                    t.executing,
                    dbrps_text(&t.dbrps)
                );
            }
        }
        "templates" => {
            let mut templates = Vec::new();
            for p in &patterns {
                let l: serde_json::Value = c
                    .get(&format!(
                        "/templates?fields=type&fields=vars&pattern={}",
                        query_escape(p)
                    ))
                    .context(&what)?;
                for t in l["templates"].as_array().cloned().unwrap_or_default() {
                    templates.push(
                        serde_json::from_value::<Template>(t)
                            .map_err(|e| Failure::command(format!("{what}: {e}")))?,
                    );
                }
            }
            let w = templates
                .iter()
                .map(|t| t.id.len())
                .max()
                .unwrap_or(0)
                .max(2)
                + 1;
            println!("{}{:<10}{:<40}", pad("ID", w), "Type", "Vars");
            for t in templates {
                let vars: Vec<&str> = t.vars.keys().map(String::as_str).collect();
                println!("{}{:<10}{:<40}", pad(&t.id, w), t.kind, vars.join(","));
            }
        }
        "recordings" => {
            let mut recs: Vec<Recording> = Vec::new();
            for p in &patterns {
                let l: RecordingList = c
                    .get(&format!("/recordings?pattern={}", query_escape(p)))
                    .context(&what)?;
                recs.extend(l.recordings);
            }
            let w = recs.iter().map(|r| r.id.len()).max().unwrap_or(0).max(2) + 1;
            println!(
                "{}{:<8}{:<10}{:<10}{:<23}",
                pad("ID", w),
                "Type",
                "Status",
                "Size",
                "Date"
            );
            for r in recs {
                println!(
                    "{}{:<8}{:<10}{:<10}{:<23}",
                    pad(&r.id, w),
                    r.kind,
                    r.status,
                    human_bytes(r.size),
                    rfc822(&r.date)
                );
            }
        }
        "replays" => {
            let mut reps: Vec<Replay> = Vec::new();
            for p in &patterns {
                let l: ReplayList = c
                    .get(&format!("/replays?pattern={}", query_escape(p)))
                    .context(&what)?;
                reps.extend(l.replays);
            }
            let wi = reps.iter().map(|r| r.id.len()).max().unwrap_or(0).max(2) + 1;
            let wt = reps.iter().map(|r| r.task.len()).max().unwrap_or(0).max(4) + 1;
            let wr = reps
                .iter()
                .map(|r| r.recording.len())
                .max()
                .unwrap_or(0)
                .max(9)
                + 1;
            println!(
                "{}{}{}{:<9}{:<8}{:<23}",
                pad("ID", wi),
                pad("Task", wt),
                pad("Recording", wr),
                "Status",
                "Clock",
                "Date"
            );
            for r in reps {
                println!(
                    "{}{}{}{:<9}{:<8}{:<23}",
                    pad(&r.id, wi),
                    pad(&r.task, wt),
                    pad(&r.recording, wr),
                    r.status,
                    r.clock,
                    rfc822(&r.date)
                );
            }
        }
        "service-tests" => {
            println!("Service Name");
            for name in super::misc::service_test_names(c, &a.ids).context(&what)? {
                println!("{name}");
            }
        }
        "topics" => {
            let mut topics: Vec<Topic> = Vec::new();
            for p in &patterns {
                let l: TopicList = c
                    .get(&format!("/alerts/topics?pattern={}", query_escape(p)))
                    .context(&what)?;
                topics.extend(l.topics);
            }
            let w = topics.iter().map(|t| t.id.len()).max().unwrap_or(0).max(2) + 1;
            println!("{}{:<9}{:<10}", pad("ID", w), "Level", "Collected");
            for t in topics {
                println!("{}{:<9}{:<10}", pad(&t.id, w), t.level, t.collected);
            }
        }
        _ => {
            // `list handlers [TOPIC [PATTERN]]`: every topic's handlers when no topic is given.
            let topics: Vec<String> = match a.ids.first() {
                Some(t) => vec![t.clone()],
                None => {
                    let l: TopicList = c.get("/alerts/topics").context(&what)?;
                    l.topics.into_iter().map(|t| t.id).collect()
                }
            };
            let pattern = a.ids.get(1).cloned().unwrap_or_default();
            let mut rows: Vec<(String, Handler)> = Vec::new();
            for t in topics {
                let l: HandlerList = c
                    .get(&format!(
                        "/alerts/topics/{}/handlers?pattern={}",
                        path_escape(&t),
                        query_escape(&pattern)
                    ))
                    .context(&what)?;
                rows.extend(l.handlers.into_iter().map(|h| (t.clone(), h)));
            }
            let wt = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(5) + 1;
            let wi = rows.iter().map(|r| r.1.id.len()).max().unwrap_or(0).max(2) + 1;
            println!("{}{}{:<10}", pad("Topic", wt), pad("ID", wi), "Kind");
            for (t, h) in rows {
                println!("{}{}{:<10}", pad(&t, wt), pad(&h.id, wi), h.kind);
            }
        }
    }
    Ok(())
}

fn var_value(v: &kap_api_types::Var) -> String {
    match &v.value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) if v.kind == "duration" => n
            .as_i64()
            .map(format_duration_ns)
            .unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

/// Nanoseconds as an InfluxQL duration literal (`influxql.FormatDuration`): the largest unit
/// that divides it exactly.
pub(crate) fn format_duration_ns(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    for (unit, size) in [
        ("w", 604_800_000_000_000i64),
        ("d", 86_400_000_000_000),
        ("h", 3_600_000_000_000),
        ("m", 60_000_000_000),
        ("s", 1_000_000_000),
        ("ms", 1_000_000),
        ("u", 1_000),
    ] {
        if ns % size == 0 {
            return format!("{}{unit}", ns / size);
        }
    }
    format!("{ns}ns")
}

fn print_vars(vars: &Vars, with_description: bool) {
    let w = vars.keys().map(String::len).max().unwrap_or(0).max(4) + 1;
    if with_description {
        println!(
            "{}{:<8}{:<20}Description",
            pad("Name", w),
            "Type",
            "Default Value"
        );
        for (name, v) in vars {
            println!(
                "{}{:<8}{:<20}{}",
                pad(name, w),
                v.kind,
                var_value(v),
                v.description
            );
        }
    } else {
        println!("{}{:<8}Value", pad("Name", w), "Type");
        for (name, v) in vars {
            println!("{}{:<8}{}", pad(name, w), v.kind, var_value(v));
        }
    }
}

/// `show [-replay ID] TASK`.
pub(crate) fn show(c: &Client, a: &ShowArgs) -> Result<(), Failure> {
    let mut path = format!(
        "/tasks/{}?dot-view=attributes&script-format=formatted",
        path_escape(&a.task)
    );
    if let Some(r) = &a.replay {
        path.push_str(&format!("&replay-id={}", query_escape(r)));
    }
    let t: Task = c.get(&path).context(format!("show task {:?}", a.task))?;
    println!("ID: {}", t.id);
    println!("Error: {}", t.error);
    println!("Template: {}", t.template_id);
    println!("Type: {}", t.kind);
    println!("Status: {}", t.status);
    println!("Executing: {}", t.executing);
    println!("Created: {}", rfc822(&t.created));
    println!("Modified: {}", rfc822(&t.modified));
    println!("LastEnabled: {}", rfc822(&t.last_enabled));
    println!("Databases Retention Policies: {}", dbrps_text(&t.dbrps));
    println!("TICKscript:");
    println!("{}", t.script);
    if !t.vars.is_empty() {
        println!("Vars:");
        print_vars(&t.vars, false);
    }
    println!("DOT:");
    println!("{}", t.dot);
    Ok(())
}

/// `show-template ID`.
pub(crate) fn show_template(c: &Client, id: &str) -> Result<(), Failure> {
    let t: Template = c
        .get(&format!(
            "/templates/{}?script-format=formatted",
            path_escape(id)
        ))
        .context(format!("show template {id:?}"))?;
    println!("ID: {}", t.id);
    println!("Error: {}", t.error);
    println!("Type: {}", t.kind);
    println!("Created: {}", rfc822(&t.created));
    println!("Modified: {}", rfc822(&t.modified));
    println!("TICKscript:");
    println!("{}", t.script);
    println!("Vars:");
    print_vars(&t.vars, true);
    println!("DOT:");
    println!("{}", t.dot);
    Ok(())
}

/// `show-topic TOPIC`: state, handlers and events.
pub(crate) fn show_topic(c: &Client, id: &str) -> Result<(), Failure> {
    let what = format!("show topic {id:?}");
    let base = format!("/alerts/topics/{}", path_escape(id));
    let t: Topic = c.get(&base).context(&what)?;
    let h: HandlerList = c.get(&format!("{base}/handlers")).context(&what)?;
    let ev: EventList = c.get(&format!("{base}/events")).context(&what)?;
    println!("ID: {}", t.id);
    println!("Level: {}", t.level);
    println!("Collected: {}", t.collected);
    let hs: Vec<&str> = h.handlers.iter().map(|h| h.id.as_str()).collect();
    println!("Handlers: [{}]", hs.join(", "));
    println!("Events:");
    let we = ev
        .events
        .iter()
        .map(|e| e.id.len())
        .max()
        .unwrap_or(0)
        .max(5)
        + 1;
    let wm = ev
        .events
        .iter()
        .map(|e| e.state.message.len())
        .max()
        .unwrap_or(0)
        .max(7)
        + 1;
    println!(
        "{}{:<9}{}{:<23}",
        pad("Event", we),
        "Level",
        pad("Message", wm),
        "Date"
    );
    for e in &ev.events {
        println!(
            "{}{:<9}{}{:<23}",
            pad(&e.id, we),
            e.state.level,
            pad(&e.state.message, wm),
            rfc822(&e.state.time)
        );
    }
    Ok(())
}

/// `show-handler TOPIC HANDLER`.
pub(crate) fn show_handler(c: &Client, a: &HandlerArgs) -> Result<(), Failure> {
    let h: Handler = c
        .get(&format!(
            "/alerts/topics/{}/handlers/{}",
            path_escape(&a.topic),
            path_escape(&a.handler)
        ))
        .context(format!(
            "show handler {:?} of topic {:?}",
            a.handler, a.topic
        ))?;
    println!("ID: {}", h.id);
    println!("Topic: {}", a.topic);
    println!("Kind: {}", h.kind);
    println!("Match: {}", h.match_expr);
    println!(
        "Options: {}",
        serde_json::to_string_pretty(&h.options).unwrap_or_default()
    );
    Ok(())
}

/// `push --remote URL TASK`: GET the task (raw script) here, then create it enabled on the
/// remote, or update and reload it there when it exists.
pub(crate) fn push(c: &Client, a: &PushArgs) -> Result<(), Failure> {
    let id = &a.task;
    let path = format!("/tasks/{}", path_escape(id));
    let t: Task = c
        .get(&format!("{path}?script-format=raw"))
        .context(format!("push task {id:?}: read it from {}", c.url()))?;
    let remote = Client::new(&a.remote, "check --remote", c.skip_verify())?;
    let what = format!("push task {id:?} to {}", remote.url());
    let body = CreateTask {
        id: id.clone(),
        template_id: String::new(),
        kind: t.kind.clone(),
        dbrps: t.dbrps.clone(),
        script: t.script.clone(),
        status: "enabled".into(),
        vars: (!t.vars.is_empty()).then(|| t.vars.clone()),
    };
    let existing: Option<Task> = remote.get_opt(&path).context(&what)?;
    match existing {
        None => {
            let _: Task = remote.send("POST", "/tasks", &body).context(&what)?;
        }
        Some(_) => {
            let update = CreateTask {
                id: String::new(),
                status: "disabled".into(),
                ..body
            };
            let _: Task = remote.send("PATCH", &path, &update).context(&what)?;
            let enable = CreateTask {
                status: "enabled".into(),
                ..CreateTask::default()
            };
            let _: Task = remote.send("PATCH", &path, &enable).context(&what)?;
        }
    }
    println!("pushed task {id:?} to {}", remote.url());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanized_sizes() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(9), "9 B");
        assert_eq!(human_bytes(83), "83 B");
        assert_eq!(human_bytes(1234), "1.2 kB");
        assert_eq!(human_bytes(82_854_982), "83 MB");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration_ns(10_000_000_000), "10s");
        assert_eq!(format_duration_ns(3_600_000_000_000), "1h");
        assert_eq!(format_duration_ns(1_500_000_000), "1500ms");
    }
}

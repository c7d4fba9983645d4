//! `define`, `define-template`, `define-topic-handler`, and the workflow forms
//! `define streamer --name N ...` / `define batcher --name N ...`.

use crate::client::{Client, Context, Failure, path_escape};
use kap_api_types::{CreateTask, CreateTemplate, DbRp, HandlerSpec, Task, Template, Vars};
use kap_dsl::workflow::{self, BatcherSpec, StreamerSpec};
use std::path::{Path, PathBuf};

/// Arguments of `define`.
#[derive(Debug, clap::Args)]
pub struct DefineArgs {
    /// The task id; `streamer` or `batcher` with `--name` generates the task's script.
    pub id: String,
    /// TICKscript file.
    #[arg(long)]
    pub tick: Option<PathBuf>,
    /// Task type (inferred from the script when not given).
    #[arg(long = "type", value_parser = ["stream", "batch"])]
    pub task_type: Option<String>,
    /// A database and retention policy, `db.rp` (repeatable).
    #[arg(long)]
    pub dbrp: Vec<String>,
    /// Template id to create the task from.
    #[arg(long)]
    pub template: Option<String>,
    /// Vars file, JSON or YAML (`{"name": {"type": "int", "value": 10}}`).
    #[arg(long)]
    pub vars: Option<PathBuf>,
    /// Task file, JSON or YAML by extension (`template-id`, `dbrps`, `vars`, `script`,
    /// `type`); flags override it.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Do not reload an enabled task after updating it.
    #[arg(long = "no-reload")]
    pub no_reload: bool,
    /// Workflow: the name of the task `define streamer|batcher` creates.
    #[arg(long)]
    pub name: Option<String>,
    /// Workflow (streamer): the measurement to match.
    #[arg(long)]
    pub from: Option<String>,
    /// Workflow (streamer): an InfluxQL condition (`cpu = 'cpu-total'`) or a lambda.
    #[arg(long = "where")]
    pub condition: Option<String>,
    /// Workflow: seed form, `|` chain fragment, or whole TICKscript file.
    #[arg(long)]
    pub script: Option<PathBuf>,
    /// Workflow (batcher): the InfluxQL query.
    #[arg(long)]
    pub query: Option<String>,
    /// Workflow (batcher): how often the query runs (`15m`).
    #[arg(long)]
    pub period: Option<String>,
    /// Workflow (batcher): the time range of each run and its `GROUP BY time()` (`1h`).
    #[arg(long = "group-by")]
    pub group_by: Option<String>,
}

/// Arguments of `define-template`.
#[derive(Debug, clap::Args)]
pub struct DefineTemplateArgs {
    /// The template id.
    pub id: String,
    /// TICKscript file (required to create).
    #[arg(long)]
    pub tick: Option<PathBuf>,
    /// Template type (inferred from the script when not given).
    #[arg(long = "type", value_parser = ["stream", "batch"])]
    pub task_type: Option<String>,
}

/// Arguments of `define-topic-handler`.
#[derive(Debug, clap::Args)]
pub struct DefineHandlerArgs {
    /// Handler file, JSON or YAML by extension: `topic`, `id`, `kind`, `options`, `match`.
    pub file: PathBuf,
}

/// Parses `db.rp`.
pub(crate) fn parse_dbrp(s: &str) -> Result<DbRp, Failure> {
    match s.split_once('.') {
        Some((db, rp)) if !db.is_empty() && !rp.is_empty() => Ok(DbRp {
            db: db.trim_matches('"').to_string(),
            rp: rp.trim_matches('"').to_string(),
        }),
        _ => Err(Failure::usage(format!(
            "invalid -dbrp {s:?}: must be specified as 'db.rp'"
        ))),
    }
}

/// Reads a task, vars or handler file: YAML when its extension is `.yaml` or `.yml`
/// (as Kapacitor decides), JSON otherwise.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, Failure> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let text = super::read_file(path)?;
    let invalid = |e: &dyn std::fmt::Display| {
        Failure::command(format!("invalid {what} {}: {e}", path.display()))
    };
    if ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml") {
        serde_yaml_ng::from_str(&text).map_err(|e| invalid(&e))
    } else {
        serde_json::from_str(&text).map_err(|e| invalid(&e))
    }
}

/// `define`: dispatches to the workflow forms or Kapacitor's define.
pub(crate) fn define(c: &Client, a: &DefineArgs) -> Result<(), Failure> {
    let workflow_flags = a.name.is_some()
        || a.from.is_some()
        || a.condition.is_some()
        || a.script.is_some()
        || a.query.is_some()
        || a.period.is_some()
        || a.group_by.is_some();
    let workflow = matches!(a.id.as_str(), "streamer" | "batcher") && workflow_flags;
    if !workflow {
        if workflow_flags {
            return Err(Failure::usage(
                "--name, --from, --where, --script, --query, --period and --group-by belong to `define streamer` and `define batcher`",
            ));
        }
        return define_task(c, a);
    }
    let Some(name) = a.name.clone() else {
        return Err(Failure::usage(format!(
            "define {}: --name is required",
            a.id
        )));
    };
    if a.tick.is_some() || a.template.is_some() || a.vars.is_some() || a.file.is_some() {
        return Err(Failure::usage(format!(
            "define {}: use --script, not -tick, -template, -vars or -file",
            a.id
        )));
    }
    let Some(script_path) = &a.script else {
        return Err(Failure::usage(format!(
            "define {}: --script FILE is required",
            a.id
        )));
    };
    let text = super::read_file(script_path)?;
    let (script, kind) = if a.id == "streamer" {
        if a.query.is_some() || a.period.is_some() || a.group_by.is_some() {
            return Err(Failure::usage(
                "define streamer: --query, --period and --group-by belong to `define batcher`",
            ));
        }
        let spec = StreamerSpec {
            measurement: a.from.clone(),
            condition: a.condition.clone(),
            script: text,
        };
        let s = workflow::streamer_script(&spec)
            .map_err(|e| Failure::usage(format!("define streamer {name:?}: {e}")))?;
        let whole = workflow::classify_script(&spec.script) == workflow::ScriptKind::Whole;
        (
            s,
            if whole {
                String::new()
            } else {
                "stream".into()
            },
        )
    } else {
        if a.from.is_some() || a.condition.is_some() {
            return Err(Failure::usage(
                "define batcher: --from and --where belong to `define streamer`; put the condition in --query",
            ));
        }
        let (Some(query), Some(period), Some(group_by)) = (&a.query, &a.period, &a.group_by) else {
            return Err(Failure::usage(
                "define batcher: --query, --period and --group-by are required",
            ));
        };
        let spec = BatcherSpec {
            query: query.clone(),
            every: period.clone(),
            group_by: group_by.clone(),
            script: text,
        };
        let s = workflow::batcher_script(&spec)
            .map_err(|e| Failure::usage(format!("define batcher {name:?}: {e}")))?;
        (s, "batch".to_string())
    };
    let dbrps = a
        .dbrp
        .iter()
        .map(|d| parse_dbrp(d))
        .collect::<Result<Vec<_>, _>>()?;
    let def = CreateTask {
        id: name.clone(),
        kind: a.task_type.clone().unwrap_or(kind),
        dbrps,
        script,
        ..CreateTask::default()
    };
    create_or_update(c, &name, def, a.no_reload).context(format!("define task {name:?}"))
}

/// Kapacitor's `define <id>`.
fn define_task(c: &Client, a: &DefineArgs) -> Result<(), Failure> {
    let id = a.id.clone();
    let mut def: CreateTask = match &a.file {
        Some(f) => read_json(f, "task file")?,
        None => CreateTask::default(),
    };
    def.id = id.clone();
    if let Some(t) = &a.tick {
        def.script = super::read_file(t)?;
    }
    if let Some(t) = &a.task_type {
        def.kind = t.clone();
    }
    if let Some(t) = &a.template {
        def.template_id = t.clone();
    }
    if let Some(v) = &a.vars {
        def.vars = Some(read_json::<Vars>(v, "vars file")?);
    }
    if !a.dbrp.is_empty() {
        def.dbrps = a
            .dbrp
            .iter()
            .map(|d| parse_dbrp(d))
            .collect::<Result<Vec<_>, _>>()?;
    }
    create_or_update(c, &id, def, a.no_reload).context(format!("define task {id:?}"))
}

/// GET the task; POST it when missing (disabled), else PATCH it and, when it is enabled and
/// `no_reload` is false, disable and enable it so the change takes effect.
pub(crate) fn create_or_update(
    c: &Client,
    id: &str,
    mut def: CreateTask,
    no_reload: bool,
) -> Result<(), Failure> {
    let path = format!("/tasks/{}", path_escape(id));
    let existing: Option<Task> = c.get_opt(&path)?;
    match existing {
        None => {
            if def.script.is_empty() && def.template_id.is_empty() {
                return Err(Failure::usage(
                    "must specify either a TICKscript (-tick) or a template (-template)",
                ));
            }
            def.id = id.to_string();
            def.status = "disabled".into();
            let _: Task = c.send("POST", "/tasks", &def)?;
        }
        Some(task) => {
            def.id = String::new();
            def.status = String::new();
            let _: Task = c.send("PATCH", &path, &def)?;
            if !no_reload && task.status == "enabled" {
                reload(c, &path)?;
            }
        }
    }
    Ok(())
}

/// Disables then enables the task at `path`.
pub(crate) fn reload(c: &Client, path: &str) -> Result<(), Failure> {
    for status in ["disabled", "enabled"] {
        let body = CreateTask {
            status: status.into(),
            ..CreateTask::default()
        };
        let _: Task = c.send("PATCH", path, &body)?;
    }
    Ok(())
}

/// `define-template <id> -tick FILE [-type T]`.
pub(crate) fn define_template(c: &Client, a: &DefineTemplateArgs) -> Result<(), Failure> {
    let id = &a.id;
    let mut def = CreateTemplate {
        kind: a.task_type.clone().unwrap_or_default(),
        ..CreateTemplate::default()
    };
    if let Some(t) = &a.tick {
        def.script = super::read_file(t)?;
    }
    let path = format!("/templates/{}", path_escape(id));
    let run = || -> Result<(), Failure> {
        let existing: Option<Template> = c.get_opt(&path)?;
        if existing.is_none() {
            if def.script.is_empty() {
                return Err(Failure::usage("must specify a TICKscript (-tick)"));
            }
            let body = CreateTemplate {
                id: id.clone(),
                ..def.clone()
            };
            let _: Template = c.send("POST", "/templates", &body)?;
        } else {
            let _: Template = c.send("PATCH", &path, &def)?;
        }
        Ok(())
    };
    run().context(format!("define template {id:?}"))
}

/// `define-topic-handler FILE`: POST when new, PUT when it exists.
pub(crate) fn define_handler(c: &Client, a: &DefineHandlerArgs) -> Result<(), Failure> {
    let mut spec: HandlerSpec = read_json(&a.file, "handler file")?;
    if spec.topic.is_empty() || spec.id.is_empty() || spec.kind.is_empty() {
        return Err(Failure::usage(format!(
            "handler file {}: topic, id and kind are required",
            a.file.display()
        )));
    }
    let topic = std::mem::take(&mut spec.topic);
    let list = format!("/alerts/topics/{}/handlers", path_escape(&topic));
    let path = format!("{list}/{}", path_escape(&spec.id));
    let what = format!("define handler {:?} of topic {topic:?}", spec.id);
    let existing: Option<serde_json::Value> = c.get_opt(&path).context(&what)?;
    let resp: Result<serde_json::Value, Failure> = if existing.is_some() {
        c.send("PUT", &path, &spec)
    } else {
        c.send("POST", &list, &spec)
    };
    resp.map(|_| ()).context(what)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbrp_parsing() {
        assert_eq!(
            parse_dbrp("telegraf.autogen").unwrap(),
            DbRp {
                db: "telegraf".into(),
                rp: "autogen".into()
            }
        );
        assert!(parse_dbrp("telegraf").is_err());
        assert!(parse_dbrp(".x").is_err());
    }
}

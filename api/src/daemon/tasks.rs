//! Tasks and templates: definition, validation, persistence and their lifecycle in the
//! engine (Kapacitor's `task_store` service).
//!
//! Every change is checked completely before anything is stored or started, so a rejected
//! script never replaces a working task; a template update that breaks one of its tasks
//! changes nothing at all.

use super::ApiError;
use super::runtime::Runtime;
use super::vars;
use crate::store::{
    DbRpRecord, Record as _, Store, TaskRecord, TaskSnapshotRecord, TemplateRecord,
};
use chrono::{DateTime, Utc};
use kap_api_types::{CreateTask, CreateTemplate, DbRp, Link, Task, TaskStats, Template, Vars};
use kap_dataflow::runtime::Feed;
use kap_dsl::plan::{NodeSpec, Pipeline, TaskType};
use kap_dsl::{CompileOptions, Compiled};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What `GET` shows of a task's script and DOT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ViewOptions {
    /// `script-format=raw`: the script as written (default: formatted).
    pub raw_script: bool,
    /// `dot-view=labels`.
    pub dot_labels: bool,
}

struct TaskEntry {
    rec: TaskRecord,
    /// The compiled plan (`None` when the script no longer compiles, e.g. after a restart
    /// with a changed language rule; `error` says why).
    plan: Option<Pipeline>,
    /// The plan the executing task runs, when a `PATCH` changed the script since it started
    /// (as in Kapacitor, the change takes effect at the next reload).
    running: Option<Pipeline>,
    error: String,
    executing: bool,
}

struct Inner {
    tasks: BTreeMap<String, TaskEntry>,
    templates: BTreeMap<String, TemplateRecord>,
}

/// Tasks and templates of the daemon.
pub struct TaskManager {
    inner: Mutex<Inner>,
    store: Store,
    runtime: Arc<Runtime>,
    /// Closes, restores and deletes the tasks' anonymous alert topics.
    alerts: Arc<super::alerts::AlertCenter>,
    /// What scripts compile with: `[deadman]` and the UDFs.
    base: CompileBase,
}

/// What every script of the daemon compiles with.
#[derive(Debug, Clone, Default)]
pub struct CompileBase {
    /// `[deadman]`: the texts of deadman alerts, and the global deadman.
    pub deadman: kap_dsl::DeadmanOptions,
    /// The UDFs of `[udf.functions]`, as their agents describe them.
    pub udfs: BTreeMap<String, kap_dsl::UdfInfo>,
}

impl std::fmt::Debug for TaskManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskManager").finish_non_exhaustive()
    }
}

/// Kapacitor's ID rule: letters, digits, `-`, `.` and `_`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.' || c == '_')
}

/// Go's `%q` of a string.
pub use kap_dataflow::gofmt::quote_go as go_quote;

/// The error for an invalid id of `what` (`task`, `template`, `recording`, `replay`).
pub fn invalid_id(what: &str, id: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{what} ID must contain only letters, numbers, '-', '.' and '_'. {}",
        go_quote(id)
    ))
}

/// A fresh random id (Kapacitor uses UUIDs).
pub fn new_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut parts = [0u64; 2];
    for p in parts.iter_mut() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        *p = h.finish();
    }
    let hex = format!("{:016x}{:016x}", parts[0], parts[1]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn type_name(t: TaskType) -> &'static str {
    match t {
        TaskType::Stream => "stream",
        TaskType::Batch => "batch",
    }
}

fn parse_type(s: &str) -> Result<Option<TaskType>, ApiError> {
    match s {
        "" => Ok(None),
        "stream" => Ok(Some(TaskType::Stream)),
        "batch" => Ok(Some(TaskType::Batch)),
        other => Err(ApiError::bad_request(format!(
            "unknown task type {other:?}: want \"stream\" or \"batch\""
        ))),
    }
}

fn diagnostics_error(prefix: &str, diags: Vec<kap_dsl::diagnostic::Diagnostic>) -> ApiError {
    let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
    let text = errors
        .first()
        .map(|d| {
            if d.code == kap_dsl::diagnostic::codes::MISSING_VAR {
                d.message.clone()
            } else {
                format!(
                    "line {}, column {}: {}",
                    d.span.start.line, d.span.start.column, d.message
                )
            }
        })
        .unwrap_or_else(|| "unknown error".into());
    let mut e = ApiError::bad_request(format!("{prefix}{text}"));
    e.diagnostics = errors
        .iter()
        .map(|d| kap_api_types::DiagnosticDto {
            code: d.code.to_string(),
            message: d.message.clone(),
            line: d.span.start.line,
            column: d.span.start.column,
        })
        .collect();
    e
}

/// Compiles a task's script with its vars; a task whose alerts use a handler kind the
/// daemon disabled (`kapacitord -disable-handlers`) is refused with a 400 naming the node
/// and the kind.
fn compile_task(
    (alerts, base): (&super::alerts::AlertCenter, &CompileBase),
    script: &str,
    kind: Option<TaskType>,
    vars: &Vars,
) -> Result<Compiled, ApiError> {
    let values = vars::to_values(vars).map_err(ApiError::bad_request)?;
    let opts = CompileOptions {
        task_type: kind,
        vars: values,
        deadman: base.deadman.clone(),
        udfs: base.udfs.clone(),
        ..CompileOptions::default()
    };
    let mut c = kap_dsl::compile_source(script, &opts)
        .map_err(|d| diagnostics_error("invalid TICKscript: ", d))?;
    alerts
        .prepare_inline(&mut c.pipeline)
        .map_err(|e| ApiError::bad_request(format!("invalid TICKscript: {e}")))?;
    Ok(c)
}

fn dbrps_of(rec: &TaskRecord) -> Vec<DbRp> {
    rec.dbrps
        .iter()
        .map(|d| DbRp {
            db: d.db.clone(),
            rp: d.rp.clone(),
        })
        .collect()
}

fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn vars_of(rec: &TaskRecord) -> Vars {
    serde_json::from_value(rec.vars.clone()).unwrap_or_default()
}

/// The measurements a plan's `from()` nodes read (`None`: any).
pub fn measurements(plan: &Pipeline) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for n in &plan.nodes {
        if let NodeSpec::From(f) = &n.spec {
            if f.measurement.is_empty() {
                return None;
            }
            out.push(f.measurement.clone());
        }
    }
    Some(out)
}

impl TaskManager {
    /// Loads tasks and templates from the store and starts the enabled tasks.
    pub fn load(
        store: Store,
        runtime: Arc<Runtime>,
        alerts: Arc<super::alerts::AlertCenter>,
        base: CompileBase,
    ) -> Result<TaskManager, ApiError> {
        let templates = store
            .list::<TemplateRecord>()
            .map_err(ApiError::internal)?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let mut tasks = BTreeMap::new();
        let mut to_start = Vec::new();
        for rec in store.list::<TaskRecord>().map_err(ApiError::internal)? {
            let (plan, error) = match compile_task(
                (&alerts, &base),
                &rec.script,
                parse_type(&rec.task_type).ok().flatten(),
                &vars_of(&rec),
            ) {
                Ok(c) => (Some(c.pipeline), String::new()),
                Err(e) => (None, e.message),
            };
            if rec.is_enabled() && plan.is_some() {
                to_start.push(rec.id.clone());
            }
            tasks.insert(
                rec.id.clone(),
                TaskEntry {
                    rec,
                    plan,
                    running: None,
                    error,
                    executing: false,
                },
            );
        }
        let mgr = TaskManager {
            inner: Mutex::new(Inner { tasks, templates }),
            store,
            runtime,
            alerts,
            base,
        };
        {
            let mut inner = mgr.lock();
            for id in to_start {
                if let Some(entry) = inner.tasks.get_mut(&id) {
                    mgr.start(entry);
                }
            }
        }
        Ok(mgr)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an entry's dataflow; failures land in its `error`.
    fn start(&self, entry: &mut TaskEntry) {
        let Some(plan) = &entry.plan else {
            return;
        };
        self.alerts.restore_task_topics(&entry.rec.id);
        let feed = Feed::Live {
            dbrps: plan_dbrps(&entry.rec),
            measurements: measurements(plan),
        };
        match self.runtime.start_task(&entry.rec.id, plan, feed) {
            Ok(()) => {
                entry.running = None;
                entry.executing = true;
                entry.error.clear();
            }
            Err(e) => {
                entry.executing = false;
                entry.error = e;
            }
        }
    }

    fn stop(&self, entry: &mut TaskEntry) {
        if entry.executing {
            self.runtime.stop_task(&entry.rec.id);
            self.alerts.close_task_topics(&entry.rec.id);
            entry.executing = false;
            entry.running = None;
        }
    }

    /// The tasks executing now, with their type (`stream` or `batch`).
    pub fn executing(&self) -> Vec<(String, String)> {
        let inner = self.lock();
        inner
            .tasks
            .values()
            .filter(|t| t.executing)
            .map(|t| (t.rec.id.clone(), t.rec.task_type.clone()))
            .collect()
    }

    /// Number of tasks and of enabled tasks.
    pub fn counts(&self) -> (usize, usize) {
        let inner = self.lock();
        let enabled = inner.tasks.values().filter(|t| t.rec.is_enabled()).count();
        (inner.tasks.len(), enabled)
    }

    /// `POST /tasks`.
    pub fn create(&self, opts: CreateTask) -> Result<Task, ApiError> {
        let id = if opts.id.is_empty() {
            new_id()
        } else {
            opts.id.clone()
        };
        if !valid_id(&id) {
            return Err(invalid_id("task", &id));
        }
        let mut inner = self.lock();
        if inner.tasks.contains_key(&id) {
            return Err(ApiError::bad_request(format!("task {id} already exists")));
        }
        let (script, kind, template_id) = if opts.template_id.is_empty() {
            if opts.script.is_empty() {
                return Err(ApiError::bad_request("must provide TICKscript".into()));
            }
            (opts.script.clone(), parse_type(&opts.kind)?, None)
        } else {
            let t = inner.templates.get(&opts.template_id).ok_or_else(|| {
                ApiError::not_found(format!(
                    "unknown template-id {:?}: no template exists with that ID",
                    opts.template_id
                ))
            })?;
            (
                t.script.clone(),
                parse_type(&t.task_type)?,
                Some(opts.template_id.clone()),
            )
        };
        let vars = opts.vars.clone().unwrap_or_default();
        let compiled = compile_task((&self.alerts, &self.base), &script, kind, &vars)?;
        let dbrps = resolve_dbrps(&opts.dbrps, &compiled.pipeline)?;
        let status = match opts.status.as_str() {
            "" | "disabled" => "disabled",
            "enabled" => "enabled",
            other => {
                return Err(ApiError::bad_request(format!(
                    "invalid status {other:?}: want \"enabled\" or \"disabled\""
                )));
            }
        };
        let now = Utc::now();
        let rec = TaskRecord {
            id: id.clone(),
            template_id,
            task_type: type_name(compiled.pipeline.task_type).to_string(),
            dbrps,
            script,
            vars: serde_json::to_value(&vars).unwrap_or_default(),
            status: status.to_string(),
            created: now,
            modified: now,
            last_enabled: (status == "enabled").then_some(now),
        };
        self.store.put(&rec).map_err(ApiError::internal)?;
        let mut entry = TaskEntry {
            rec,
            plan: Some(compiled.pipeline),
            running: None,
            error: String::new(),
            executing: false,
        };
        if status == "enabled" {
            self.start(&mut entry);
        }
        let answer = self.saved_answer(&entry);
        inner.tasks.insert(id, entry);
        answer
    }

    /// The answer to a create or update that saved `entry`: its view, or, when it was
    /// enabled and then failed to start, Kapacitor's error with the start's error text. The
    /// task is kept as saved either way (enabled, not executing, the error in its `error`),
    /// so a GET shows why and a fix can follow.
    fn saved_answer(&self, entry: &TaskEntry) -> Result<Task, ApiError> {
        if entry.rec.is_enabled() && !entry.executing && !entry.error.is_empty() {
            return Err(ApiError::internal_msg(entry.error.clone()));
        }
        Ok(self.view(entry, ViewOptions::default()))
    }

    /// `PATCH /tasks/<id>`.
    pub fn update(&self, id: &str, opts: CreateTask) -> Result<Task, ApiError> {
        let mut inner = self.lock();
        let Some(entry) = inner.tasks.get(id) else {
            return Err(no_task(id));
        };
        let mut rec = entry.rec.clone();
        let was_enabled = rec.is_enabled();
        let new_id = if opts.id.is_empty() || opts.id == id {
            id.to_string()
        } else {
            if !valid_id(&opts.id) {
                return Err(invalid_id("task", &opts.id));
            }
            if inner.tasks.contains_key(&opts.id) {
                return Err(ApiError::internal_msg(format!(
                    "failed to create new task during ID change: task {} already exists",
                    opts.id
                )));
            }
            opts.id.clone()
        };
        if !opts.template_id.is_empty() {
            let t = inner.templates.get(&opts.template_id).ok_or_else(|| {
                ApiError::not_found(format!("unknown template-id {:?}", opts.template_id))
            })?;
            rec.template_id = Some(opts.template_id.clone());
            rec.script = t.script.clone();
            rec.task_type = t.task_type.clone();
        } else if !opts.script.is_empty() {
            if rec.template_id.is_some() {
                return Err(ApiError::bad_request(
                    "cannot update the script of a task created from a template".into(),
                ));
            }
            rec.script = opts.script.clone();
        }
        if let Some(v) = &opts.vars {
            rec.vars = serde_json::to_value(v).unwrap_or_default();
        }
        let kind = if opts.kind.is_empty() {
            if opts.script.is_empty() {
                parse_type(&rec.task_type)?
            } else {
                None
            }
        } else {
            parse_type(&opts.kind)?
        };
        let compiled = compile_task(
            (&self.alerts, &self.base),
            &rec.script,
            kind,
            &vars_of(&rec),
        )?;
        rec.task_type = type_name(compiled.pipeline.task_type).to_string();
        // New explicit dbrps or `dbrp` statements in the script replace the task's; else
        // it keeps its own.
        if !opts.dbrps.is_empty() || !compiled.pipeline.dbrps.is_empty() {
            rec.dbrps = resolve_dbrps(&opts.dbrps, &compiled.pipeline)?;
        }
        match opts.status.as_str() {
            "" => {}
            "enabled" | "disabled" => rec.status = opts.status.clone(),
            other => {
                return Err(ApiError::bad_request(format!(
                    "invalid status {other:?}: want \"enabled\" or \"disabled\""
                )));
            }
        }
        let now = Utc::now();
        rec.modified = now;
        if rec.is_enabled() && !was_enabled {
            rec.last_enabled = Some(now);
        }
        rec.id = new_id.clone();
        // Persist first (rename = delete + put in one transaction), then swap the runtime.
        self.store
            .transaction(|tx| -> Result<(), crate::store::StoreError> {
                if new_id != id {
                    tx.delete::<TaskRecord>(id)?;
                }
                tx.put(&rec)
            })
            .map_err(ApiError::internal)?;
        let mut old = inner.tasks.remove(id).ok_or_else(|| no_task(id))?;
        // A running task whose script or vars change keeps running what it ran until it is
        // reloaded (Kapacitor's PATCH; `kapacitor define` reloads unless `-no-reload`). A
        // rename, a status change or new dbrps restart it.
        if old.executing && rec.is_enabled() && new_id == id && rec.dbrps == old.rec.dbrps {
            let running = old.running.take().or_else(|| old.plan.take());
            let entry = TaskEntry {
                rec,
                plan: Some(compiled.pipeline),
                running,
                error: String::new(),
                executing: true,
            };
            let task = self.view(&entry, ViewOptions::default());
            inner.tasks.insert(new_id, entry);
            return Ok(task);
        }
        self.stop(&mut old);
        let mut entry = TaskEntry {
            rec,
            plan: Some(compiled.pipeline),
            running: None,
            error: String::new(),
            executing: false,
        };
        if entry.rec.is_enabled() {
            self.start(&mut entry);
        }
        let answer = self.saved_answer(&entry);
        inner.tasks.insert(new_id, entry);
        answer
    }

    /// `DELETE /tasks/<id>` (deleting a missing task succeeds, as in Kapacitor).
    pub fn delete(&self, id: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        if let Some(mut entry) = inner.tasks.remove(id) {
            self.stop(&mut entry);
        }
        self.alerts.delete_task_topics(id);
        let snapshots = self
            .store
            .list_prefix::<TaskSnapshotRecord>(&TaskSnapshotRecord::prefix(id))
            .map_err(ApiError::internal)?;
        self.store
            .transaction(|tx| {
                tx.delete::<TaskRecord>(id)?;
                for s in &snapshots {
                    tx.delete::<TaskSnapshotRecord>(&s.key())?;
                }
                Ok::<_, crate::store::StoreError>(())
            })
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// `GET /tasks/<id>`.
    pub fn get(&self, id: &str, view: ViewOptions) -> Result<Task, ApiError> {
        let inner = self.lock();
        let entry = inner.tasks.get(id).ok_or_else(|| no_task(id))?;
        Ok(self.view(entry, view))
    }

    /// Every task, sorted by id, whose id matches `pattern` (a glob; empty = all).
    pub fn list(&self, pattern: &str, view: ViewOptions) -> Vec<Task> {
        let inner = self.lock();
        let pat = glob::Pattern::new(pattern).ok();
        inner
            .tasks
            .values()
            .filter(|e| pattern.is_empty() || pat.as_ref().is_some_and(|p| p.matches(&e.rec.id)))
            .map(|e| self.view(e, view))
            .collect()
    }

    /// The compiled plan of a task (for replays and recordings).
    pub fn plan(&self, id: &str) -> Result<(Pipeline, Vec<DbRp>), ApiError> {
        let inner = self.lock();
        let entry = inner.tasks.get(id).ok_or_else(|| no_task(id))?;
        let plan = entry.plan.clone().ok_or_else(|| {
            ApiError::bad_request(format!("task {id} does not compile: {}", entry.error))
        })?;
        Ok((plan, dbrps_of(&entry.rec)))
    }

    fn view(&self, e: &TaskEntry, view: ViewOptions) -> Task {
        let rec = &e.rec;
        let script = if view.raw_script {
            rec.script.clone()
        } else {
            kap_dsl::format_source(&rec.script).unwrap_or_else(|_| rec.script.clone())
        };
        let dot = match e.running.as_ref().or(e.plan.as_ref()) {
            Some(plan) if e.executing => {
                let stats = self.runtime.dot_stats(&rec.id);
                kap_dsl::dot::render_with_stats(
                    plan,
                    &rec.id,
                    &stats,
                    if view.dot_labels {
                        kap_dsl::dot::DotView::Labels
                    } else {
                        kap_dsl::dot::DotView::Attributes
                    },
                )
            }
            Some(plan) => kap_dsl::dot::render(plan, &rec.id),
            None => String::new(),
        };
        let stats = if e.executing {
            self.runtime.task_stats(&rec.id)
        } else {
            TaskStats::default()
        };
        Task {
            link: Link::self_(format!("{}/tasks/{}", kap_api_types::BASE, rec.id)),
            id: rec.id.clone(),
            template_id: rec.template_id.clone().unwrap_or_default(),
            kind: rec.task_type.clone(),
            dbrps: dbrps_of(rec),
            script,
            vars: vars_of(rec),
            dot,
            status: rec.status.clone(),
            executing: e.executing,
            error: e.error.clone(),
            stats,
            created: rfc3339(&rec.created),
            modified: rfc3339(&rec.modified),
            last_enabled: rec
                .last_enabled
                .as_ref()
                .map(rfc3339)
                .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        }
    }

    // ---- templates ----

    /// `POST /templates`.
    pub fn create_template(&self, opts: CreateTemplate) -> Result<Template, ApiError> {
        let id = if opts.id.is_empty() {
            new_id()
        } else {
            opts.id.clone()
        };
        if !valid_id(&id) {
            return Err(invalid_id("template", &id));
        }
        let mut inner = self.lock();
        if inner.templates.contains_key(&id) {
            return Err(ApiError::bad_request(format!(
                "template {id} already exists"
            )));
        }
        if opts.script.is_empty() {
            return Err(ApiError::bad_request("must provide TICKscript".into()));
        }
        let compiled = compile_template(&self.base, &opts.script, parse_type(&opts.kind)?)?;
        let now = Utc::now();
        let rec = TemplateRecord {
            id: id.clone(),
            task_type: type_name(compiled.pipeline.task_type).to_string(),
            script: opts.script,
            created: now,
            modified: now,
        };
        self.store.put(&rec).map_err(ApiError::internal)?;
        let t = template_view(&rec, &compiled, ViewOptions::default());
        inner.templates.insert(id, rec);
        Ok(t)
    }

    /// `PATCH /templates/<id>`: updates the template and reloads every task made from it;
    /// when one task fails, nothing changes.
    pub fn update_template(&self, id: &str, opts: CreateTemplate) -> Result<Template, ApiError> {
        let mut inner = self.lock();
        let mut rec = inner
            .templates
            .get(id)
            .cloned()
            .ok_or_else(|| no_template(id))?;
        let new_id = if opts.id.is_empty() || opts.id == id {
            id.to_string()
        } else {
            if !valid_id(&opts.id) {
                return Err(invalid_id("template", &opts.id));
            }
            if inner.templates.contains_key(&opts.id) {
                return Err(ApiError::internal_msg(format!(
                    "failed to create new template during ID change: template {} already exists",
                    opts.id
                )));
            }
            opts.id.clone()
        };
        if !opts.script.is_empty() {
            rec.script = opts.script.clone();
        }
        let kind = if opts.kind.is_empty() {
            parse_type(&rec.task_type)?
        } else {
            parse_type(&opts.kind)?
        };
        let compiled = compile_template(&self.base, &rec.script, kind)?;
        rec.task_type = type_name(compiled.pipeline.task_type).to_string();
        rec.modified = Utc::now();
        rec.id = new_id.clone();
        // Recompile every associated task first: all or none.
        let mut updated: Vec<(TaskRecord, Pipeline)> = Vec::new();
        for e in inner.tasks.values() {
            if e.rec.template_id.as_deref() != Some(id) {
                continue;
            }
            let mut t = e.rec.clone();
            t.script = rec.script.clone();
            t.task_type = rec.task_type.clone();
            t.template_id = Some(new_id.clone());
            let c = compile_task(
                (&self.alerts, &self.base),
                &t.script,
                parse_type(&t.task_type)?,
                &vars_of(&t),
            )
            .map_err(|err| {
                let msg = err
                    .message
                    .strip_prefix("invalid TICKscript: ")
                    .unwrap_or(&err.message)
                    .to_string();
                ApiError::internal_msg(format!("error reloading associated task {}: {msg}", t.id))
            })?;
            updated.push((t, c.pipeline));
        }
        self.store
            .transaction(|tx| -> Result<(), crate::store::StoreError> {
                if new_id != id {
                    tx.delete::<TemplateRecord>(id)?;
                }
                tx.put(&rec)?;
                for (t, _) in &updated {
                    tx.put(t)?;
                }
                Ok(())
            })
            .map_err(ApiError::internal)?;
        inner.templates.remove(id);
        inner.templates.insert(new_id, rec.clone());
        for (t, plan) in updated {
            let tid = t.id.clone();
            if let Some(entry) = inner.tasks.get_mut(&tid) {
                self.stop(entry);
                entry.rec = t;
                entry.plan = Some(plan);
                entry.error.clear();
                if entry.rec.is_enabled() {
                    self.start(entry);
                }
            }
        }
        Ok(template_view(&rec, &compiled, ViewOptions::default()))
    }

    /// `DELETE /templates/<id>`.
    pub fn delete_template(&self, id: &str) -> Result<(), ApiError> {
        let mut inner = self.lock();
        inner.templates.remove(id);
        self.store
            .delete::<TemplateRecord>(id)
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// `GET /templates/<id>`.
    pub fn get_template(&self, id: &str, view: ViewOptions) -> Result<Template, ApiError> {
        let inner = self.lock();
        let rec = inner.templates.get(id).ok_or_else(|| no_template(id))?;
        Ok(template_view_of(&self.base, rec, view))
    }

    /// `GET /templates`.
    pub fn list_templates(&self, pattern: &str, view: ViewOptions) -> Vec<Template> {
        let inner = self.lock();
        let pat = glob::Pattern::new(pattern).ok();
        inner
            .templates
            .values()
            .filter(|t| pattern.is_empty() || pat.as_ref().is_some_and(|p| p.matches(&t.id)))
            .map(|t| template_view_of(&self.base, t, view))
            .collect()
    }
}

fn compile_template(
    base: &CompileBase,
    script: &str,
    kind: Option<TaskType>,
) -> Result<Compiled, ApiError> {
    let opts = CompileOptions {
        task_type: kind,
        template: true,
        udfs: base.udfs.clone(),
        ..CompileOptions::default()
    };
    kap_dsl::compile_source(script, &opts).map_err(|d| diagnostics_error("invalid TICKscript: ", d))
}

fn template_view_of(base: &CompileBase, rec: &TemplateRecord, view: ViewOptions) -> Template {
    match compile_template(base, &rec.script, parse_type(&rec.task_type).ok().flatten()) {
        Ok(c) => template_view(rec, &c, view),
        Err(e) => Template {
            link: Link::self_(format!("{}/templates/{}", kap_api_types::BASE, rec.id)),
            id: rec.id.clone(),
            kind: rec.task_type.clone(),
            script: rec.script.clone(),
            error: e.message,
            created: rfc3339(&rec.created),
            modified: rfc3339(&rec.modified),
            ..Template::default()
        },
    }
}

fn template_view(rec: &TemplateRecord, c: &Compiled, view: ViewOptions) -> Template {
    let script = if view.raw_script {
        rec.script.clone()
    } else {
        kap_dsl::format_source(&rec.script).unwrap_or_else(|_| rec.script.clone())
    };
    Template {
        link: Link::self_(format!("{}/templates/{}", kap_api_types::BASE, rec.id)),
        id: rec.id.clone(),
        kind: rec.task_type.clone(),
        script,
        vars: vars::declared(&c.vars),
        dot: kap_dsl::dot::render(&c.pipeline, &rec.id),
        error: String::new(),
        created: rfc3339(&rec.created),
        modified: rfc3339(&rec.modified),
    }
}

/// Explicit dbrps or the script's `dbrp` statements (both is an error; neither means
/// every database, as the seed's streamer needs).
fn resolve_dbrps(explicit: &[DbRp], plan: &Pipeline) -> Result<Vec<DbRpRecord>, ApiError> {
    if !explicit.is_empty() && !plan.dbrps.is_empty() {
        return Err(ApiError::bad_request(
            "cannot specify dbrp in both implicitly and explicitly".into(),
        ));
    }
    let chosen: Vec<(&str, &str)> = if explicit.is_empty() {
        plan.dbrps.iter().map(|d| (&*d.db, &*d.rp)).collect()
    } else {
        explicit.iter().map(|d| (&*d.db, &*d.rp)).collect()
    };
    Ok(chosen
        .into_iter()
        .map(|(db, rp)| DbRpRecord {
            db: db.to_string(),
            rp: rp.to_string(),
        })
        .collect())
}

fn plan_dbrps(rec: &TaskRecord) -> Vec<kap_dsl::plan::DbRp> {
    rec.dbrps
        .iter()
        .map(|d| kap_dsl::plan::DbRp {
            db: d.db.clone(),
            rp: d.rp.clone(),
        })
        .collect()
}

fn no_task(id: &str) -> ApiError {
    ApiError::not_found(format!("no task exists with ID {}", go_quote(id)))
}

fn no_template(id: &str) -> ApiError {
    ApiError::not_found(format!("no template exists with ID {}", go_quote(id)))
}

//! The alert processor (`kapacitor-semantics.md` §4.3, §4.6–§4.9).

use super::event::{AlertEvent, Level};
use super::state::{GroupState, StateConfig};
use super::{
    ALERTS_SERVICE, AlertService, AlertServiceInfo, INHIBITORS_SERVICE, Inhibitor,
    InhibitorRegistry, SERVER_INFO_SERVICE, TOPICS_SERVICE, TopicStore,
};
use crate::lambda::{CompiledLambda, LambdaState};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{
    Batch, FieldValue, Fields, GroupId, GroupMap, Msg, Point, Str, Sym, Tags, get, set,
};
use crate::result::{ResultSet, batch_row, point_row};
use crate::scope::PointScope;
use crate::template::{Data, Template};
use kap_dsl::expr::Expr;
use kap_dsl::plan::{AlertSpec, HandlerSpec};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A lambda with the node-wide state of its stateful functions.
#[derive(Debug)]
struct Lam {
    lambda: CompiledLambda,
    state: LambdaState,
}

impl Lam {
    fn compile(
        expr: &Option<Expr>,
        info: &BuildInfo,
        what: &str,
    ) -> Result<Option<Lam>, BuildError> {
        let Some(e) = expr else { return Ok(None) };
        let lambda = CompiledLambda::compile(e).map_err(|err| {
            BuildError::invalid(info, format!("invalid {what} expression: {err}"))
        })?;
        let state = lambda.new_state();
        Ok(Some(Lam { lambda, state }))
    }

    fn eval(&mut self, scope: &PointScope<'_>) -> Result<bool, String> {
        self.lambda
            .eval_bool(&mut self.state, scope)
            .map_err(|e| e.to_string())
    }
}

/// Level and reset lambdas, indexed by [`Level::index`] (index 0 unused). Shared by all
/// groups, as in Kapacitor.
#[derive(Debug, Default)]
struct Levels {
    levels: [Option<Lam>; 4],
    resets: [Option<Lam>; 4],
}

impl Levels {
    /// First level in `(stop, start]`, from `start` downwards, whose lambda is true.
    fn first_match(
        &mut self,
        start: usize,
        stop: usize,
        scope: &PointScope<'_>,
        errors: &mut Vec<String>,
    ) -> Option<Level> {
        let mut l = start;
        while l > stop {
            if let Some(lam) = &mut self.levels[l] {
                match lam.eval(scope) {
                    Ok(true) => return Some(Level::ALL[l]),
                    Ok(false) => {}
                    Err(e) => errors.push(format!(
                        "error evaluating expression for level {}: {e}",
                        Level::ALL[l]
                    )),
                }
            }
            l -= 1;
        }
        None
    }

    /// `determineLevel(p, current)`.
    fn determine(
        &mut self,
        scope: &PointScope<'_>,
        current: Level,
        errors: &mut Vec<String>,
    ) -> Level {
        let cur = current.index();
        if let Some(l) = self.first_match(Level::Critical.index(), cur, scope, errors) {
            return l;
        }
        if let Some(reset) = &mut self.resets[cur] {
            match reset.eval(scope) {
                Ok(false) => return current,
                Ok(true) => {}
                Err(e) => errors.push(format!(
                    "error evaluating reset expression for current level: {e}"
                )),
            }
        }
        self.first_match(cur, 0, scope, errors).unwrap_or(Level::Ok)
    }
}

/// Names of the fields and tags the node adds to forwarded data.
#[derive(Debug, Default)]
struct Augment {
    level_tag: Option<Sym>,
    id_tag: Option<Sym>,
    level_field: Option<Sym>,
    message_field: Option<Sym>,
    id_field: Option<Sym>,
    duration_field: Option<Sym>,
}

fn opt_sym(s: &str) -> Option<Sym> {
    (!s.is_empty()).then(|| Sym::new(s))
}

impl Augment {
    fn any(&self) -> bool {
        self.level_tag.is_some()
            || self.id_tag.is_some()
            || self.level_field.is_some()
            || self.message_field.is_some()
            || self.id_field.is_some()
            || self.duration_field.is_some()
    }

    /// Adds the level/id tags; whether anything changed.
    fn tags(&self, tags: &mut Tags, ev: &AlertEvent) -> bool {
        if let Some(k) = self.level_tag {
            set(tags, k, Sym::new(ev.level.as_str()));
        }
        if let Some(k) = self.id_tag {
            set(tags, k, Sym::new(&ev.id));
        }
        self.level_tag.is_some() || self.id_tag.is_some()
    }

    fn fields(&self, fields: &mut Fields, ev: &AlertEvent) {
        if let Some(k) = self.level_field {
            set(fields, k, FieldValue::String(Str::from(ev.level.as_str())));
        }
        if let Some(k) = self.message_field {
            set(
                fields,
                k,
                FieldValue::String(Str::from(ev.message.as_str())),
            );
        }
        if let Some(k) = self.id_field {
            set(fields, k, FieldValue::String(Str::from(ev.id.as_str())));
        }
        if let Some(k) = self.duration_field {
            set(fields, k, FieldValue::Int(ev.duration));
        }
    }
}

/// The alert processor.
#[derive(Debug)]
pub(crate) struct AlertNode {
    task: String,
    node: String,
    id_tmpl: Template,
    /// The id template is Kapacitor's default (rendered without the template engine).
    default_id: bool,
    message_tmpl: Template,
    details_tmpl: Template,
    /// The details template is Kapacitor's default, `{{ json . }}` (rendered without the
    /// template engine).
    default_details: bool,
    levels: Levels,
    cfg: StateConfig,
    history: usize,
    state_changes_only: bool,
    no_recoveries: bool,
    all: bool,
    quiet: bool,
    augment: Augment,
    category: String,
    inhibit: Vec<(String, Vec<String>)>,
    /// `.topic()`, if set.
    topic: Option<String>,
    /// `main:<task>:<node>`, if the alert has inline handlers.
    anon_topic: Option<String>,
    handlers: Vec<HandlerSpec>,
    topics: Arc<TopicStore>,
    sink: Option<Arc<AlertService>>,
    inhibitors: Arc<InhibitorRegistry>,
    server_info: AlertServiceInfo,
    /// The groups: alert state and id cache together, one table (one lookup a message).
    /// Boxed: the table's entries stay small, so growing it moves and allocates little.
    groups: GroupMap<Box<Group>>,
}

/// One alert group.
#[derive(Debug)]
struct Group {
    st: GroupState,
    /// The group id string and rendered alert id of the last message, reused while the
    /// name and tags stay the same (the id template sees nothing else that changes). None
    /// for a group a barrier created, until its first point or batch.
    ids: Option<IdCache>,
}

/// A group's id string and alert id, for one name and tag set.
#[derive(Debug)]
struct IdCache {
    name: Sym,
    tags: Tags,
    group: String,
    id: Result<String, String>,
}

/// Builds an alert node: templates and lambdas are compiled once here.
pub(crate) fn build(spec: &AlertSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(AlertNode::new(spec, info)?))
}

fn tmpl_err(info: &BuildInfo, e: crate::template::TemplateError) -> BuildError {
    BuildError::invalid(info, e.to_string())
}

impl AlertNode {
    pub(crate) fn new(spec: &AlertSpec, info: &BuildInfo) -> Result<AlertNode, BuildError> {
        let id_tmpl = Template::parse("id", spec.id_template()).map_err(|e| tmpl_err(info, e))?;
        let message_tmpl =
            Template::parse("message", spec.message_template()).map_err(|e| tmpl_err(info, e))?;
        let details_tmpl = Template::parse_html("details", spec.details_template())
            .map_err(|e| tmpl_err(info, e))?;
        let levels = Levels {
            levels: [
                None,
                Lam::compile(&spec.info, info, "info")?,
                Lam::compile(&spec.warn, info, "warn")?,
                Lam::compile(&spec.crit, info, "crit")?,
            ],
            resets: [
                None,
                Lam::compile(&spec.info_reset, info, "infoReset")?,
                Lam::compile(&spec.warn_reset, info, "warnReset")?,
                Lam::compile(&spec.crit_reset, info, "critReset")?,
            ],
        };
        if let Some(f) = &spec.flapping
            && (f.low > 1.0 || f.high > 1.0)
        {
            return Err(BuildError::invalid(
                info,
                "alert flapping thresholds must be between 0 and 1",
            ));
        }
        let services = &info.services;
        Ok(AlertNode {
            task: info.task.clone(),
            node: info.node.clone(),
            id_tmpl,
            default_id: spec.id_template() == AlertSpec::DEFAULT_ID,
            message_tmpl,
            details_tmpl,
            default_details: spec.details_template() == AlertSpec::DEFAULT_DETAILS,
            levels,
            cfg: StateConfig {
                flapping: spec.flapping.as_ref().map(|f| (f.low, f.high)),
                max_interval: if spec.state_changes_only {
                    spec.state_changes_only_max_interval
                } else {
                    0
                },
            },
            history: usize::try_from(spec.history).unwrap_or(0).max(2),
            state_changes_only: spec.state_changes_only,
            no_recoveries: spec.no_recoveries,
            all: spec.all,
            quiet: spec.quiet,
            augment: Augment {
                level_tag: opt_sym(&spec.level_tag),
                id_tag: opt_sym(&spec.id_tag),
                level_field: opt_sym(&spec.level_field),
                message_field: opt_sym(&spec.message_field),
                id_field: opt_sym(&spec.id_field),
                duration_field: opt_sym(&spec.duration_field),
            },
            category: spec.category.clone(),
            inhibit: spec
                .inhibitors
                .iter()
                .map(|i| (i.category.clone(), i.equal_tags.clone()))
                .collect(),
            topic: (!spec.topic.is_empty()).then(|| spec.topic.clone()),
            anon_topic: (!spec.handlers.is_empty())
                .then(|| format!("main:{}:{}", info.task, info.node)),
            handlers: spec.handlers.clone(),
            topics: services
                .get::<TopicStore>(TOPICS_SERVICE)
                .unwrap_or_default(),
            sink: services.get::<AlertService>(ALERTS_SERVICE),
            inhibitors: services
                .get::<InhibitorRegistry>(INHIBITORS_SERVICE)
                .unwrap_or_default(),
            server_info: services
                .get::<AlertServiceInfo>(SERVER_INFO_SERVICE)
                .map(|s| (*s).clone())
                .unwrap_or_default(),
            groups: GroupMap::default(),
        })
    }

    fn log_error(&self, ctx: &Ctx<'_>, msg: &str) {
        if !self.quiet {
            ctx.services.log.log(
                "ERROR",
                &format!("task={} node={} err={msg:?}", ctx.task, ctx.node),
            );
        }
    }

    /// The fields of the id template's data (`idInfo`).
    fn id_data(&self, name: &str, group: &str, tags: &Tags) -> Vec<(Cow<'static, str>, Data)> {
        let group = if group.is_empty() { "nil" } else { group };
        vec![
            ("Name".into(), Data::str(name)),
            ("TaskName".into(), Data::str(&self.task)),
            ("Group".into(), Data::str(group)),
            (
                "Tags".into(),
                Data::StringMap(
                    tags.iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string()))
                        .collect(),
                ),
            ),
            (
                "ServerInfo".into(),
                Data::structure([
                    ("Hostname", Data::str(&self.server_info.hostname)),
                    ("ClusterID", Data::str(&self.server_info.cluster_id)),
                    ("ServerID", Data::str(&self.server_info.server_id)),
                ]),
            ),
        ]
    }

    fn render_id(&self, name: &str, group: &str, tags: &Tags) -> Result<String, String> {
        if self.default_id {
            // `{{ .Name }}:{{ .Group }}`, without building the template data.
            let group = if group.is_empty() { "nil" } else { group };
            // Pushed, not formatted: `format!` costs ten times as much, once per group.
            let mut id = String::with_capacity(name.len() + 1 + group.len());
            id.push_str(name);
            id.push(':');
            id.push_str(group);
            return Ok(id);
        }
        self.id_tmpl
            .execute(&Data::Struct(self.id_data(name, group, tags)))
            .map_err(|e| e.to_string())
    }

    /// Renders message and details.
    #[allow(clippy::too_many_arguments)]
    fn render_message(
        &self,
        id: &str,
        name: &str,
        group: &str,
        tags: &Tags,
        fields: &Fields,
        level: Level,
        time: i64,
        duration: i64,
    ) -> Result<(String, String), String> {
        let mut data = self.id_data(name, group, tags);
        data.push(("ID".into(), Data::str(id)));
        data.push((
            "Fields".into(),
            Data::Map(
                fields
                    .iter()
                    .map(|(k, v)| (k.as_str().to_string(), Data::from(v)))
                    .collect::<BTreeMap<_, _>>(),
            ),
        ));
        data.push(("Level".into(), Data::str(level.as_str())));
        data.push(("Time".into(), Data::Time(time)));
        data.push(("Duration".into(), Data::Duration(duration)));
        let mut data = Data::Struct(data);
        let message = self
            .message_tmpl
            .execute(&data)
            .map_err(|e| e.to_string())?;
        if let Data::Struct(f) = &mut data {
            f.push(("Message".into(), Data::str(&message)));
        }
        let details = if self.default_details {
            default_details(&data)
        } else {
            self.details_tmpl
                .execute(&data)
                .map_err(|e| e.to_string())?
        };
        Ok((message, details))
    }

    /// A group's state on its first message (restoring a stored non-OK level).
    /// `rendered` is the group's alert id when the caller has rendered it already.
    fn new_state(
        &self,
        (name, group, tags): (&str, &str, &Tags),
        rendered: Option<&Result<String, String>>,
        time: i64,
    ) -> GroupState {
        let mut st = GroupState::new(self.history);
        for (category, equal) in &self.inhibit {
            let vals = equal
                .iter()
                .map(|t| {
                    let v = get(tags, Sym::new(t)).map_or("", |v| v.as_str());
                    (t.clone(), v.to_string())
                })
                .collect();
            let inh = Arc::new(Inhibitor::new(&self.task, category, vals));
            self.inhibitors.add(Arc::clone(&inh));
            st.inhibitors.push(inh);
        }
        let fresh;
        let id = match rendered {
            Some(id) => id,
            None => {
                fresh = self.render_id(name, group, tags);
                &fresh
            }
        };
        if let Ok(id) = id {
            let (level, t) = self.restore_event_state(id);
            if level != Level::Ok {
                st.add_event(time, level, &self.cfg);
                st.triggered(t);
            }
        }
        st
    }

    /// Kapacitor's `restoreEventState`: the anonymous topic takes precedence.
    fn restore_event_state(&self, id: &str) -> (Level, i64) {
        let anon = self
            .anon_topic
            .as_ref()
            .and_then(|t| self.topics.event_state(t, id));
        let named = self
            .topic
            .as_ref()
            .and_then(|t| self.topics.event_state(t, id));
        let anon_level = anon.as_ref().map_or(Level::Ok, |s| s.level);
        let named_level = named.as_ref().map_or(Level::Ok, |s| s.level);
        if anon_level != named_level {
            match (&anon, &named) {
                (Some(a), Some(_)) => {
                    if let Some(t) = &self.topic {
                        self.topics.restore(t, id, a.clone());
                    }
                }
                (None, Some(n)) => {
                    if let Some(t) = &self.anon_topic {
                        self.topics.restore(t, id, n.clone());
                    }
                }
                _ => {}
            }
        }
        match (anon, named) {
            (Some(a), _) => (a.level, a.time),
            (None, Some(n)) => (n.level, n.time),
            (None, None) => (Level::Ok, 0),
        }
    }

    /// Makes sure group `gid` exists and caches the group id string and rendered alert id
    /// for this name and tag set (`group` builds the group id string when needed).
    ///
    /// The default id reads only the name and the group string, which the group id and
    /// the name determine: its cache neither keeps nor compares the tags.
    fn ensure_group(
        &mut self,
        gid: GroupId,
        name: Sym,
        tags: &Tags,
        group: impl FnOnce() -> String,
        time: i64,
    ) {
        let fresh = self
            .groups
            .get(&gid)
            .and_then(|g| g.ids.as_ref())
            .is_some_and(|c| c.name == name && (self.default_id || c.tags == *tags));
        if fresh {
            return;
        }
        let group = group();
        let id = self.render_id(name.as_str(), &group, tags);
        let cache = IdCache {
            name,
            tags: if self.default_id {
                Tags::new()
            } else {
                tags.clone()
            },
            group,
            id,
        };
        if let Some(g) = self.groups.get_mut(&gid) {
            g.ids = Some(cache);
            return;
        }
        let what = (name.as_str(), cache.group.as_str(), tags);
        let st = self.new_state(what, Some(&cache.id), time);
        self.groups.insert(
            gid,
            Box::new(Group {
                st,
                ids: Some(cache),
            }),
        );
    }

    fn remove_group(&mut self, gid: GroupId) {
        if let Some(g) = self.groups.swap_remove(&gid) {
            for i in &g.st.inhibitors {
                self.inhibitors.remove(i);
            }
        }
    }

    /// Counts, records and publishes an event (unless inhibited): to the anonymous topic of
    /// the inline handlers (with them), and to `.topic()` (without them). The event is
    /// cloned only when it goes to both.
    fn handle_event(&self, mut event: AlertEvent, ctx: &mut Ctx<'_>) {
        if self.inhibitors.is_inhibited(&self.category, &event.tags) {
            ctx.stats.add("alerts_inhibited", 1);
            return;
        }
        ctx.stats.add("alerts_triggered", 1);
        ctx.stats.add(
            match event.level {
                Level::Ok => "oks_triggered",
                Level::Info => "infos_triggered",
                Level::Warning => "warns_triggered",
                Level::Critical => "crits_triggered",
            },
            1,
        );
        let state = event.state();
        match (&self.anon_topic, &self.topic) {
            (Some(anon), Some(topic)) => {
                let handlers = std::mem::take(&mut event.handlers);
                let named = event.clone();
                event.handlers = handlers;
                self.publish(anon, event, state.clone());
                self.publish(topic, named, state);
            }
            (Some(anon), None) => self.publish(anon, event, state),
            (None, Some(topic)) => {
                event.handlers = Vec::new();
                self.publish(topic, event, state);
            }
            (None, None) => {}
        }
    }

    /// Records `event` in `topic` with `state`, then hands it to the sink.
    fn publish(&self, topic: &str, mut event: AlertEvent, state: super::EventState) {
        topic.clone_into(&mut event.topic);
        self.topics.record(topic, &mut event, state);
        if let Some(sink) = &self.sink {
            sink.0.publish(event);
        }
    }

    /// Builds the event (rendering message and details).
    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        id: String,
        name: &str,
        group: String,
        tags: &Tags,
        fields: &Fields,
        level: Level,
        time: i64,
        duration: i64,
        data: ResultSet,
    ) -> Result<AlertEvent, String> {
        let (message, details) =
            self.render_message(&id, name, &group, tags, fields, level, time, duration)?;
        Ok(AlertEvent {
            topic: self
                .anon_topic
                .clone()
                .or_else(|| self.topic.clone())
                .unwrap_or_else(|| format!("main:{}:{}", self.task, self.node)),
            id,
            message,
            details,
            time,
            duration,
            level,
            previous_level: Level::Ok,
            recoverable: !self.no_recoveries,
            data,
            name: name.to_string(),
            task: self.task.clone(),
            node: self.node.clone(),
            category: self.category.clone(),
            group_id: group,
            tags: tags.clone(),
            fields: fields.clone(),
            handlers: self.handlers.clone(),
        })
    }

    fn point(&mut self, mut p: Point, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        self.ensure_group(p.group, p.name, &p.tags, || p.group_string(), p.time);
        let Some(Group {
            st,
            ids: Some(cache),
        }) = self.groups.get_mut(&p.group).map(|g| &mut **g)
        else {
            return;
        };
        let id = match &cache.id {
            Ok(id) => id,
            Err(e) => return ctx.error(self.quiet, e),
        };
        let mut errors = Vec::new();
        let scope = PointScope::new(&p.fields, &p.tags, p.time);
        let level = self
            .levels
            .determine(&scope, st.current_level(), &mut errors);
        st.add_event(p.time, level, &self.cfg);
        let suppressed = (self.cfg.flapping.is_some() && st.flapping)
            || (self.state_changes_only && !st.changed && !st.expired);
        let fire = !suppressed && (level != Level::Ok || st.changed);
        if fire {
            st.triggered(p.time);
        }
        let duration = st.duration();
        let fired = (fire && !(self.no_recoveries && level == Level::Ok))
            .then(|| (cache.group.clone(), id.clone()));
        for e in &errors {
            self.log_error(ctx, e);
        }
        let Some((group, id)) = fired else {
            return;
        };
        let event = match self.event(
            id,
            p.name.as_str(),
            group,
            &p.tags,
            &p.fields,
            level,
            p.time,
            duration,
            ResultSet::single(point_row(&p)),
        ) {
            Ok(ev) => ev,
            Err(e) => return ctx.error(self.quiet, &e),
        };
        if self.augment.tags(&mut p.tags, &event) {
            p.regroup();
        }
        self.augment.fields(&mut p.fields, &event);
        self.handle_event(event, ctx);
        out.push(Msg::Point(p));
    }

    fn batch(&mut self, mut b: Batch, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        self.ensure_group(b.group, b.name, &b.tags, || b.group_string(), b.tmax);
        let Some(Group {
            st,
            ids: Some(cache),
        }) = self.groups.get_mut(&b.group).map(|g| &mut **g)
        else {
            return;
        };
        let id = match &cache.id {
            Ok(id) => id,
            Err(e) => return ctx.error(self.quiet, e),
        };
        if b.points.is_empty() {
            return;
        }
        let current = st.current_level();
        let mut errors = Vec::new();
        let mut lowest = Level::Critical;
        let mut highest = Level::Ok;
        let mut highest_idx: Option<usize> = None;
        for (i, bp) in b.points.iter().enumerate() {
            let merged;
            let tags = if b.tags.iter().all(|(k, _)| get(&bp.tags, *k).is_some()) {
                &bp.tags
            } else {
                let mut t = bp.tags.clone();
                for (k, v) in &b.tags {
                    if get(&t, *k).is_none() {
                        set(&mut t, *k, *v);
                    }
                }
                merged = t;
                &merged
            };
            let scope = PointScope::new(&bp.fields, tags, bp.time);
            let l = self.levels.determine(&scope, current, &mut errors);
            if l < lowest {
                lowest = l;
            }
            if l > highest || highest_idx.is_none() {
                highest = l;
                highest_idx = Some(i);
            }
        }
        let hi = highest_idx.unwrap_or(0);
        let level = if self.all { lowest } else { highest };
        let t = if self.all || level == Level::Ok {
            b.tmax
        } else {
            b.points[hi].time
        };
        st.add_event(t, level, &self.cfg);
        let fire = (st.changed && level == Level::Ok)
            || (level != Level::Ok
                && !((self.cfg.flapping.is_some() && st.flapping)
                    || (self.state_changes_only && !st.changed && !st.expired)));
        if fire {
            st.triggered(t);
        }
        let duration = st.duration();
        let fired = (fire && !(self.no_recoveries && level == Level::Ok))
            .then(|| (cache.group.clone(), id.clone()));
        for e in &errors {
            self.log_error(ctx, e);
        }
        let Some((group, id)) = fired else {
            return;
        };
        let fields = b.points[hi].fields.clone();
        let event = match self.event(
            id,
            b.name.as_str(),
            group,
            &b.tags,
            &fields,
            level,
            t,
            duration,
            ResultSet::single(batch_row(&b)),
        ) {
            Ok(ev) => ev,
            Err(e) => return ctx.error(self.quiet, &e),
        };
        if self.augment.any() {
            for bp in &mut b.points {
                self.augment.tags(&mut bp.tags, &event);
                self.augment.fields(&mut bp.fields, &event);
            }
            let mut tags = b.tags.clone();
            if self.augment.tags(&mut tags, &event) {
                b.set_tags(tags);
            }
        }
        self.handle_event(event, ctx);
        out.push(Msg::Batch(b));
    }
}

impl Processor for AlertNode {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => self.point(p, ctx, out),
            Msg::Batch(b) => self.batch(b, ctx, out),
            Msg::Barrier(b) => {
                if !self.groups.contains_key(&b.group.id) {
                    let g = &b.group;
                    let group = g.id_string();
                    let st = self.new_state(("barrier", &group, &g.tags), None, b.time);
                    self.groups.insert(g.id, Box::new(Group { st, ids: None }));
                }
                out.push(Msg::Barrier(b));
            }
            Msg::DeleteGroup(g) => {
                self.remove_group(g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn warm(&self, msgs: &[Msg]) {
        crate::point::warm_groups(&self.groups, msgs, std::mem::size_of::<Group>(), |g| {
            g.st.idx as u64
        });
    }

    fn cardinality(&self) -> usize {
        self.groups.len()
    }
}

impl Drop for AlertNode {
    fn drop(&mut self) {
        for g in self.groups.values() {
            for i in &g.st.inhibitors {
                self.inhibitors.remove(i);
            }
        }
    }
}

/// What Kapacitor's default details template, `{{ json . }}` in an HTML template, renders
/// of `data`: the `json` function's output (the JSON and a newline; nothing when the data
/// cannot be encoded, such as a NaN field), HTML-escaped as the template prints a string.
fn default_details(data: &Data) -> String {
    // Encoded and escaped in one pass, into a buffer about the size of a usual event's.
    let mut out = String::with_capacity(512);
    if data.write_json_html(&mut out).is_err() {
        return String::new();
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_details_fast_path_renders_as_the_template_does() {
        let tmpl = Template::parse_html("details", AlertSpec::DEFAULT_DETAILS).unwrap();
        let fields =
            |v: Data| Data::map([("value", v), ("note", Data::str("a+b <c> & 'd' \"e\""))]);
        for value in [
            Data::Float(1.5),
            Data::Float(1e21),
            Data::Float(-2.5e-7),
            Data::Float(f64::NAN),
            Data::Int(-3),
            Data::Bool(true),
            Data::str("x\u{2028}y\n"),
        ] {
            let data = Data::structure([
                ("Name", Data::str("cpu")),
                ("TaskName", Data::str("t+1")),
                ("Group", Data::str("host=<a>&b")),
                (
                    "Tags",
                    Data::StringMap([("host".to_string(), "<a>&b".to_string())].into()),
                ),
                ("ID", Data::str("cpu:host=<a>&b")),
                ("Fields", fields(value)),
                ("Level", Data::str("CRITICAL")),
                ("Time", Data::Time(1_700_000_000_123_456_789)),
                ("Duration", Data::Duration(5_000_000_000)),
                ("Message", Data::str("it's \"bad\"")),
            ]);
            assert_eq!(default_details(&data), tmpl.execute(&data).unwrap());
        }
    }

    #[test]
    fn the_default_id_fast_path_renders_as_the_template_does() {
        let tmpl = Template::parse("id", AlertSpec::DEFAULT_ID).unwrap();
        for (name, group) in [("cpu", "host=a,dc=b"), ("m", ""), ("x y", "m\nk=<v>&")] {
            let shown = if group.is_empty() { "nil" } else { group };
            let data = Data::structure([("Name", Data::str(name)), ("Group", Data::str(shown))]);
            assert_eq!(tmpl.execute(&data).unwrap(), format!("{name}:{shown}"));
        }
    }
}

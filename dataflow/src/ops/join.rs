//! `|join(nodes...)`: joins the messages of several parents on (tolerance-rounded) time
//! and group (`kapacitor-semantics.md` §5). Input 0 is the node `join` was chained from,
//! then the `.join(...)` arguments in order. Remaining sets are flushed by `done`.

use super::from::{Ordered, go_round};
use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{
    Batch, BatchPoint, Dimensions, FieldValue, Fields, GroupId, GroupMap, Msg, Point, Sym, Tags,
    group_on, normalize,
};
use kap_dsl::plan::{Fill, JoinSpec};
use std::collections::{BTreeMap, HashMap};

/// How missing inputs are filled.
#[derive(Debug, Clone, PartialEq)]
enum FillKind {
    /// Inner join: a set with a missing input is dropped.
    None,
    /// Missing fields are null.
    Null,
    /// Missing fields get this value.
    Value(FieldValue),
}

/// At most one message per input at one time.
#[derive(Debug)]
struct JoinSet {
    time: i64,
    values: Vec<Option<Msg>>,
    size: usize,
    first: usize,
}

impl JoinSet {
    fn new(time: i64, n: usize) -> JoinSet {
        JoinSet {
            time,
            values: vec![None; n],
            size: 0,
            first: n,
        }
    }

    fn ready(&self) -> bool {
        self.size == self.values.len()
    }
}

/// The sets of one join group.
#[derive(Debug)]
struct JoinGroup {
    sets: BTreeMap<i64, Vec<JoinSet>>,
    head: Vec<Option<i64>>,
}

/// The `join` processor.
#[derive(Debug)]
pub(crate) struct Join {
    inputs: usize,
    names: Vec<String>,
    on: Vec<Sym>,
    delimiter: String,
    tolerance: i64,
    fill: FillKind,
    stream_name: Option<Sym>,
    delete_all: bool,
    quiet: bool,
    groups: Ordered<GroupId, JoinGroup>,
    low_marks: HashMap<(usize, GroupId), i64>,
    match_buf: GroupMap<Vec<(usize, Msg)>>,
    specific_buf: GroupMap<Vec<(usize, Msg)>>,
    reported: Vec<bool>,
    all_reported: bool,
    /// Interned `<as><delimiter><field>` keys.
    prefixed: HashMap<(usize, Sym), Sym>,
}

/// Builds a `join` node.
pub(crate) fn build(spec: &JoinSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    let inputs = info.inputs.max(spec.inputs).max(1);
    if spec.as_.len() != inputs {
        return Err(BuildError::invalid(
            info,
            format!(
                "number of prefixes specified by 'as' must match the number of joined streams: got {} for {inputs}",
                spec.as_.len()
            ),
        ));
    }
    let fill = match &spec.fill {
        Fill::Null => FillKind::Null,
        Fill::Int(i) => FillKind::Value(FieldValue::Int(*i)),
        Fill::Float(f) => FillKind::Value(FieldValue::Float(*f)),
        Fill::None => FillKind::None,
        other => {
            return Err(BuildError::invalid(
                info,
                format!("unexpected fill option {other:?}"),
            ));
        }
    };
    Ok(Box::new(Join {
        inputs,
        names: spec.as_.clone(),
        on: spec.on.iter().map(|s| Sym::new(s)).collect(),
        delimiter: spec.delimiter.clone(),
        tolerance: spec.tolerance,
        fill,
        stream_name: (!spec.stream_name.is_empty()).then(|| Sym::new(&spec.stream_name)),
        delete_all: spec.delete_all,
        quiet: spec.quiet,
        groups: Ordered::default(),
        low_marks: HashMap::new(),
        match_buf: GroupMap::default(),
        specific_buf: GroupMap::default(),
        reported: vec![false; inputs],
        all_reported: false,
        prefixed: HashMap::new(),
    }))
}

fn msg_time(m: &Msg) -> i64 {
    match m {
        Msg::Point(p) => p.time,
        Msg::Batch(b) => b.tmax,
        Msg::Barrier(b) => b.time,
        Msg::DeleteGroup(_) => 0,
    }
}

/// `t.Before(mark)` where an unset mark is Go's zero time (nothing is before it).
fn before(t: i64, mark: Option<i64>) -> bool {
    mark.is_some_and(|m| t < m)
}

impl Join {
    fn rounded(&self, m: &Msg) -> i64 {
        go_round(msg_time(m), self.tolerance)
    }

    /// Name, group tags and dimensions of a data message.
    fn meta(m: &Msg) -> (Sym, Tags, Dimensions) {
        match m {
            Msg::Point(p) => (p.name, p.group_tags(), p.dims),
            Msg::Batch(b) => (b.name, b.tags.clone(), b.dims),
            Msg::Barrier(b) => (b.group.name, b.group.tags.clone(), b.group.dims),
            Msg::DeleteGroup(g) => (g.name, g.tags.clone(), g.dims),
        }
    }

    /// Adds a message to its join group and emits what is ready.
    fn collect(
        &mut self,
        group: GroupId,
        src: usize,
        m: Msg,
        ctx: &mut Ctx<'_>,
        out: &mut Vec<Msg>,
    ) {
        let t = self.rounded(&m);
        let n = self.inputs;
        let g = self.groups.entry(group, || JoinGroup {
            sets: BTreeMap::new(),
            head: vec![None; n],
        });
        let sets = g.sets.entry(t).or_default();
        let set = match sets.iter().position(|s| s.values[src].is_none()) {
            Some(i) => &mut sets[i],
            None => {
                sets.push(JoinSet::new(t, n));
                let last = sets.len() - 1;
                &mut sets[last]
            }
        };
        set.first = set.first.min(src);
        set.values[src] = Some(m);
        set.size += 1;
        g.head[src] = Some(t);
        self.emit(group, ctx, out);
    }

    /// Emits sets of `group` per the head rules.
    fn emit(&mut self, group: GroupId, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let mut ready_sets: Vec<JoinSet> = Vec::new();
        if let Some(g) = self.groups.get_mut(&group) {
            while let Some((&oldest, _)) = g.sets.iter().next() {
                let only_ready = g.head.iter().any(|h| h.is_none_or(|h| h <= oldest));
                let sets = g.sets.remove(&oldest).unwrap_or_default();
                let mut rest = Vec::new();
                let mut stopped = false;
                for s in sets {
                    if !stopped && (s.ready() || !only_ready) {
                        ready_sets.push(s);
                    } else {
                        stopped = true;
                        rest.push(s);
                    }
                }
                if !rest.is_empty() {
                    g.sets.insert(oldest, rest);
                }
                if only_ready {
                    break;
                }
            }
        }
        for s in ready_sets {
            self.emit_set(s, ctx, out);
        }
    }

    fn emit_all(&mut self, g: &mut JoinGroup, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let sets = std::mem::take(&mut g.sets);
        for (_, sets) in sets {
            for s in sets {
                self.emit_set(s, ctx, out);
            }
        }
    }

    fn prefixed(&mut self, i: usize, k: Sym) -> Sym {
        let (names, delimiter) = (&self.names, &self.delimiter);
        *self
            .prefixed
            .entry((i, k))
            .or_insert_with(|| Sym::new(&format!("{}{delimiter}{k}", names[i])))
    }

    fn emit_set(&mut self, set: JoinSet, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let Some(Some(first)) = set.values.get(set.first) else {
            return;
        };
        let name = self.stream_name.unwrap_or_else(|| Self::meta(first).0);
        match first {
            Msg::Point(fp) => {
                let mut fields: Fields = Fields::new();
                for (i, v) in set.values.iter().enumerate() {
                    match v {
                        Some(Msg::Point(p)) => {
                            for (k, v) in &p.fields {
                                fields.push((self.prefixed(i, *k), v.clone()));
                            }
                        }
                        Some(_) => {
                            ctx.error(self.quiet, "invalid join data: mixed points and batches");
                            return;
                        }
                        None => match self.fill.clone() {
                            FillKind::None => return,
                            FillKind::Null => {
                                for (k, _) in &fp.fields {
                                    fields.push((self.prefixed(i, *k), FieldValue::Null));
                                }
                            }
                            FillKind::Value(x) => {
                                for (k, _) in &fp.fields {
                                    fields.push((self.prefixed(i, *k), x.clone()));
                                }
                            }
                        },
                    }
                }
                normalize(&mut fields);
                let mut p = Point {
                    name,
                    db: Sym::empty(),
                    rp: Sym::empty(),
                    tags: fp.group_tags(),
                    fields,
                    time: set.time,
                    dims: fp.dims,
                    group: GroupId::default(),
                };
                p.regroup();
                out.push(Msg::Point(p));
            }
            Msg::Batch(fb) => {
                if let Some(b) = self.join_batches(&set, fb, name, ctx) {
                    out.push(Msg::Batch(b));
                }
            }
            _ => {}
        }
    }

    fn join_batches(
        &mut self,
        set: &JoinSet,
        fb: &Batch,
        name: Sym,
        ctx: &mut Ctx<'_>,
    ) -> Option<Batch> {
        let n = set.values.len();
        let mut batches: Vec<Option<&Batch>> = Vec::with_capacity(n);
        for v in &set.values {
            match v {
                Some(Msg::Batch(b)) => batches.push(Some(b)),
                None => batches.push(None),
                Some(_) => {
                    ctx.error(self.quiet, "invalid join data: mixed points and batches");
                    return None;
                }
            }
        }
        let mut out = Batch {
            name,
            tmax: set.time,
            tags: fb.tags.clone(),
            dims: Dimensions::new(fb.dims.by_name, fb.tags.iter().map(|(k, _)| *k).collect()),
            group: GroupId::default(),
            points: Vec::new(),
        };
        out.regroup();
        let mut empty = vec![false; n];
        let mut empty_count = 0;
        let mut idx = vec![0usize; n];
        let mut field_names: Option<Vec<Sym>> = None;
        'sets: while empty_count < n {
            let mut cur: Vec<Option<&BatchPoint>> = vec![None; n];
            let mut set_time: Option<i64> = None;
            let mut count = 0;
            for i in 0..n {
                if empty[i] {
                    continue;
                }
                let Some(b) = batches[i] else {
                    empty_count += 1;
                    empty[i] = true;
                    continue;
                };
                if idx[i] == b.points.len() {
                    empty_count += 1;
                    empty[i] = true;
                    continue;
                }
                let bp = &b.points[idx[i]];
                let t = go_round(bp.time, self.tolerance);
                let st = *set_time.get_or_insert(t);
                if t < st {
                    set_time = Some(t);
                    for j in 0..n {
                        if cur[j].is_some() {
                            idx[j] -= 1;
                        }
                        cur[j] = None;
                    }
                    cur[i] = Some(bp);
                    idx[i] += 1;
                    count = 1;
                } else if t == st {
                    if field_names.is_none() {
                        field_names = Some(bp.fields.iter().map(|(k, _)| *k).collect());
                    }
                    cur[i] = Some(bp);
                    idx[i] += 1;
                    count += 1;
                }
            }
            if count == 0 {
                continue;
            }
            let mut fields: Fields = Fields::new();
            let names = field_names.as_deref().unwrap_or(&[]);
            for (i, bp) in cur.iter().enumerate() {
                match bp {
                    Some(bp) => {
                        for (k, v) in &bp.fields {
                            fields.push((self.prefixed(i, *k), v.clone()));
                        }
                    }
                    None => match self.fill.clone() {
                        FillKind::None => continue 'sets,
                        FillKind::Null => {
                            for k in names {
                                fields.push((self.prefixed(i, *k), FieldValue::Null));
                            }
                        }
                        FillKind::Value(x) => {
                            for k in names {
                                fields.push((self.prefixed(i, *k), x.clone()));
                            }
                        }
                    },
                }
            }
            normalize(&mut fields);
            out.points.push(BatchPoint {
                time: set_time.unwrap_or(set.time),
                fields,
                tags: out.tags.clone(),
            });
        }
        Some(out)
    }

    /// Sends a specific message with its match (a copy taking the specific's group).
    fn send_match(
        &mut self,
        specific: (usize, Msg),
        matching: &(usize, Msg),
        ctx: &mut Ctx<'_>,
        out: &mut Vec<Msg>,
    ) {
        let (_, stags, sdims) = Self::meta(&specific.1);
        let group = specific.1.group();
        let new_match = match &matching.1 {
            Msg::Point(p) => {
                let mut p = p.clone();
                if let Msg::Point(sp) = &specific.1 {
                    p.tags = sp.tags.clone();
                } else {
                    p.tags = stags;
                }
                p.dims = sdims;
                p.regroup();
                Msg::Point(p)
            }
            Msg::Batch(b) => {
                let mut b = b.clone();
                b.tags = stags;
                b.dims = sdims;
                b.regroup();
                Msg::Batch(b)
            }
            other => other.clone(),
        };
        self.collect(group, specific.0, specific.1, ctx, out);
        self.collect(group, matching.0, new_match, ctx, out);
    }

    fn send_specific(&mut self, specific: (usize, Msg), ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let group = specific.1.group();
        self.collect(group, specific.0, specific.1, ctx, out);
    }

    /// `.on(...)`: pairs specific messages with less specific matches.
    fn match_points(&mut self, src: usize, m: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        if !self.all_reported {
            self.reported[src] = true;
            self.all_reported = self.reported.iter().all(|r| *r);
        }
        let t = self.rounded(&m);
        let (name, gtags, dims) = Self::meta(&m);
        let key = group_on(name, &gtags, dims.by_name, &self.on);
        self.low_marks.insert((src, key), t);
        let mut low: Option<i64> = None;
        if self.all_reported {
            for s in 0..self.inputs {
                let lm = self.low_marks.get(&(s, key)).copied();
                let earlier = match (lm, low) {
                    (_, None) => true,
                    (None, Some(_)) => true,
                    (Some(a), Some(b)) => a < b,
                };
                if earlier {
                    low = lm;
                }
            }
            // Specific messages that can no longer be matched go alone.
            let buf = self.specific_buf.swap_remove(&key).unwrap_or_default();
            let mut rest = Vec::new();
            let mut sending = true;
            for sp in buf {
                if sending && before(self.rounded(&sp.1), low) {
                    self.send_specific(sp, ctx, out);
                } else {
                    sending = false;
                    rest.push(sp);
                }
            }
            self.specific_buf.insert(key, rest);
        }
        if dims.tag_names.len() > self.on.len() {
            let matches = self.match_buf.swap_remove(&key).unwrap_or_default();
            let mut matched = false;
            let mut i = 0;
            while i < matches.len() {
                let pt = self.rounded(&matches[i].1);
                if pt == t {
                    self.send_match((src, m.clone()), &matches[i], ctx, out);
                    matched = true;
                }
                if !before(pt, low) {
                    break;
                }
                i += 1;
            }
            let kept = if self.all_reported {
                matches[i.min(matches.len())..].to_vec()
            } else {
                matches
            };
            self.match_buf.insert(key, kept);
            if !matched {
                if self.all_reported && before(t, low) {
                    self.send_specific((src, m), ctx, out);
                } else {
                    self.specific_buf.entry(key).or_default().push((src, m));
                }
            }
        } else {
            self.match_buf
                .entry(key)
                .or_default()
                .push((src, m.clone()));
            let matching = (src, m);
            let buf = self.specific_buf.swap_remove(&key).unwrap_or_default();
            let mut rest = Vec::new();
            let mut sending = true;
            for sp in buf {
                if sending && self.rounded(&sp.1) == t {
                    self.send_match(sp, &matching, ctx, out);
                } else {
                    sending = false;
                    rest.push(sp);
                }
            }
            self.specific_buf.insert(key, rest);
        }
    }
}

impl Processor for Join {
    fn process(&mut self, input: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let src = input.min(self.inputs - 1);
        match msg {
            Msg::Point(_) | Msg::Batch(_) => {
                if self.on.is_empty() {
                    let g = msg.group();
                    self.collect(g, src, msg, ctx, out);
                } else {
                    self.match_points(src, msg, ctx, out);
                }
            }
            Msg::Barrier(b) => {
                let t = go_round(b.time, self.tolerance);
                if let Some(g) = self.groups.get_mut(&b.group.id) {
                    g.head[src] = Some(t);
                    self.emit(b.group.id, ctx, out);
                }
                out.push(Msg::Barrier(b));
            }
            Msg::DeleteGroup(g) => {
                self.groups.remove(&g.id);
                self.match_buf.swap_remove(&g.id);
                self.specific_buf.swap_remove(&g.id);
                if self.delete_all {
                    self.low_marks.retain(|(_, k), _| *k != g.id);
                }
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn done(&mut self, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let mut groups = std::mem::take(&mut self.groups);
        for (_, g) in groups.iter_mut() {
            self.emit_all(g, ctx, out);
        }
    }

    fn cardinality(&self) -> usize {
        self.groups.len()
    }
}

//! `|changeDetect(fields...)`: emits a point only when one of the listed fields differs
//! (type and value) from the last emitted point of its group (§8).

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Fields, GroupMap, Msg, Sym, get};
use kap_dsl::plan::ChangeDetectSpec;

/// Builds a changeDetect processor.
pub(crate) fn build(
    spec: &ChangeDetectSpec,
    _info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(ChangeDetect {
        fields: spec.fields.iter().map(|f| Sym::new(f)).collect(),
        last: GroupMap::default(),
    }))
}

#[derive(Debug)]
struct ChangeDetect {
    fields: Vec<Sym>,
    /// Per group: the watched fields of the last emitted point.
    last: GroupMap<Fields>,
}

/// Whether `cur` must be emitted after `prev` (a missing field is not compared).
fn changed(fields: &[Sym], prev: &Fields, cur: &Fields) -> bool {
    fields.iter().any(|k| match (get(prev, *k), get(cur, *k)) {
        (Some(a), Some(b)) => a != b || a.type_name() != b.type_name(),
        _ => false,
    })
}

/// Remembers the watched fields of an emitted point.
fn remember(fields: &[Sym], slot: &mut Fields, cur: &Fields) {
    slot.clear();
    for k in fields {
        if let Some(v) = get(cur, *k) {
            crate::point::set(slot, *k, v.clone());
        }
    }
}

impl Processor for ChangeDetect {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        match msg {
            Msg::Point(p) => match self.last.get_mut(&p.group) {
                Some(prev) => {
                    if changed(&self.fields, prev, &p.fields) {
                        remember(&self.fields, prev, &p.fields);
                        out.push(Msg::Point(p));
                    }
                }
                None => {
                    let mut slot = Fields::new();
                    remember(&self.fields, &mut slot, &p.fields);
                    self.last.insert(p.group, slot);
                    out.push(Msg::Point(p));
                }
            },
            Msg::Batch(mut b) => {
                // The group counts in the working cardinality, as in Kapacitor.
                self.last.entry(b.group).or_default();
                let mut prev: Option<Fields> = None;
                b.points.retain(|bp| {
                    let keep = match &prev {
                        None => true,
                        Some(f) => changed(&self.fields, f, &bp.fields),
                    };
                    if keep {
                        let mut slot = prev.take().unwrap_or_default();
                        remember(&self.fields, &mut slot, &bp.fields);
                        prev = Some(slot);
                    }
                    keep
                });
                out.push(Msg::Batch(b));
            }
            Msg::Barrier(b) => out.push(Msg::Barrier(b)),
            Msg::DeleteGroup(g) => {
                self.last.swap_remove(&g.id);
                out.push(Msg::DeleteGroup(g));
            }
        }
    }

    fn cardinality(&self) -> usize {
        self.last.len()
    }
}

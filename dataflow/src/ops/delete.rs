//! `|delete()`: removes fields and tags; deleted tags leave the dimensions too
//! (`kapacitor-semantics.md` §8). Stats `fields_deleted`, `tags_deleted`.

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Fields, Msg, Sym, Tags, remove};
use kap_dsl::plan::DeleteSpec;

/// The `delete` processor.
#[derive(Debug)]
pub(crate) struct Delete {
    fields: Vec<Sym>,
    tags: Vec<Sym>,
}

/// Builds a `delete` node.
pub(crate) fn build(spec: &DeleteSpec, _: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    Ok(Box::new(Delete {
        fields: spec.fields.iter().map(|s| Sym::new(s)).collect(),
        tags: spec.tags.iter().map(|s| Sym::new(s)).collect(),
    }))
}

impl Delete {
    fn fields(&self, f: &mut Fields, ctx: &mut Ctx<'_>) {
        for k in &self.fields {
            if remove(f, *k).is_some() {
                ctx.stats.add("fields_deleted", 1);
            }
        }
    }

    fn tags(&self, t: &mut Tags, ctx: &mut Ctx<'_>) -> bool {
        let mut changed = false;
        for k in &self.tags {
            if remove(t, *k).is_some() {
                ctx.stats.add("tags_deleted", 1);
                changed = true;
            }
        }
        changed
    }
}

impl Processor for Delete {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        super::from::seed_stats(ctx, &["fields_deleted", "tags_deleted"]);
        match msg {
            Msg::Point(mut p) => {
                self.fields(&mut p.fields, ctx);
                let tags_changed = self.tags(&mut p.tags, ctx);
                let dims_changed = p.dims.tag_names.iter().any(|k| self.tags.contains(k));
                if dims_changed {
                    let kept = p.dims.tag_names.iter().copied();
                    p.dims = p
                        .dims
                        .with_tag_names(kept.filter(|k| !self.tags.contains(k)).collect());
                }
                if tags_changed || dims_changed {
                    p.regroup();
                }
                out.push(Msg::Point(p));
            }
            Msg::Batch(mut b) => {
                super::edit_batch(
                    &mut b,
                    ctx,
                    |f, c| self.fields(f, c),
                    |t, c| self.tags(t, c),
                );
                out.push(Msg::Batch(b));
            }
            other => out.push(other),
        }
    }
}

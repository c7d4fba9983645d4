//! `|default()`: sets missing (or null) fields and missing (or empty) tags
//! (`kapacitor-semantics.md` §8). Stats `fields_defaulted`, `tags_defaulted`.

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{FieldValue, Fields, Msg, Sym, Tags, get, set};
use kap_dsl::plan::DefaultSpec;
use kap_dsl::value::Value;

/// The `default` processor.
#[derive(Debug)]
pub(crate) struct Default {
    fields: Vec<(Sym, FieldValue)>,
    tags: Vec<(Sym, Sym)>,
}

/// A script value as a field value (ints, floats, bools, strings; durations as ns).
pub(crate) fn script_value_to_field(v: &Value) -> Option<FieldValue> {
    Some(match v {
        Value::Int(i) => FieldValue::Int(*i),
        Value::Float(f) => FieldValue::Float(*f),
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::String(s) => FieldValue::String(crate::point::Str::from(s.as_str())),
        Value::Duration(d) => FieldValue::Int(*d),
        _ => return None,
    })
}

/// Builds a `default` node.
pub(crate) fn build(
    spec: &DefaultSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    let mut fields = Vec::new();
    for (k, v) in &spec.fields {
        let f = script_value_to_field(v).ok_or_else(|| {
            BuildError::invalid(
                info,
                format!("unsupported default value for field {k:?}: {v}"),
            )
        })?;
        fields.push((Sym::new(k), f));
    }
    Ok(Box::new(Default {
        fields,
        tags: spec
            .tags
            .iter()
            .map(|(k, v)| (Sym::new(k), Sym::new(v)))
            .collect(),
    }))
}

impl Default {
    fn fields(&self, f: &mut Fields, ctx: &mut Ctx<'_>) {
        for (k, v) in &self.fields {
            if matches!(get(f, *k), None | Some(FieldValue::Null)) {
                set(f, *k, v.clone());
                ctx.stats.add("fields_defaulted", 1);
            }
        }
    }

    /// Defaults tags; whether anything changed.
    fn tags(&self, t: &mut Tags, ctx: &mut Ctx<'_>) -> bool {
        let mut changed = false;
        for (k, v) in &self.tags {
            if get(t, *k).is_none_or(|x| x.as_str().is_empty()) {
                set(t, *k, *v);
                ctx.stats.add("tags_defaulted", 1);
                changed = true;
            }
        }
        changed
    }
}

impl Processor for Default {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        super::from::seed_stats(ctx, &["fields_defaulted", "tags_defaulted"]);
        match msg {
            Msg::Point(mut p) => {
                self.fields(&mut p.fields, ctx);
                if self.tags(&mut p.tags, ctx) {
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

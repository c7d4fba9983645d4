//! Lambda scopes over the engine's points: how a `"reference"` reads a point's fields and
//! tags, and how lambda results become field values.

use crate::lambda::{Lookup, Scope, Value};
use crate::point::{FieldValue, Fields, Str, Sym, Tags, get, get_str};

/// The fields, tags and time a lambda is evaluated against (a point, or a batch point
/// whose tags include the batch's).
#[derive(Debug, Clone, Copy)]
pub struct PointScope<'a> {
    /// Fields.
    pub fields: &'a Fields,
    /// Tags.
    pub tags: &'a Tags,
    /// Time, ns.
    pub time: i64,
}

impl<'a> PointScope<'a> {
    /// A scope over these fields and tags.
    pub fn new(fields: &'a Fields, tags: &'a Tags, time: i64) -> PointScope<'a> {
        PointScope { fields, tags, time }
    }
}

impl PointScope<'_> {
    fn resolve(field: Option<&FieldValue>, tag: Option<&Sym>) -> Lookup {
        match (field, tag) {
            (Some(_), Some(_)) => Lookup::Conflict,
            (Some(f), None) => match field_to_value(f) {
                Value::Missing => Lookup::Absent,
                v => Lookup::Field(v),
            },
            (None, Some(t)) => Lookup::TagSym(*t),
            (None, None) => Lookup::Absent,
        }
    }
}

impl Scope for PointScope<'_> {
    fn lookup(&self, name: &str) -> Lookup {
        PointScope::resolve(get_str(self.fields, name), get_str(self.tags, name))
    }

    fn lookup_sym(&self, _: &str, sym: Sym) -> Lookup {
        PointScope::resolve(get(self.fields, sym), get(self.tags, sym))
    }

    fn time(&self) -> i64 {
        self.time
    }
}

/// A field value as a lambda value (`Null` reads as missing).
pub fn field_to_value(f: &FieldValue) -> Value {
    match f {
        FieldValue::Float(x) => Value::Float(*x),
        FieldValue::Int(i) => Value::Int(*i),
        FieldValue::String(s) => Value::String(Str::clone(s)),
        FieldValue::Bool(b) => Value::Bool(*b),
        FieldValue::Null => Value::Missing,
    }
}

/// A lambda result as a field value; durations become integer nanoseconds. Regexes,
/// times and missing values cannot be stored in a field.
pub fn value_to_field(v: &Value) -> Result<FieldValue, String> {
    Ok(match v {
        Value::Float(x) => FieldValue::Float(*x),
        Value::Int(i) => FieldValue::Int(*i),
        Value::String(s) => FieldValue::String(Str::clone(s)),
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Duration(d) => FieldValue::Int(*d),
        Value::Time(_) | Value::Regex(_) | Value::Missing => {
            return Err(format!("cannot store a {} as a field value", v.type_name()));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::point::Sym;

    #[test]
    fn fields_then_tags_and_conflicts() {
        let fields: Fields = crate::point::list![
            (Sym::new("value"), FieldValue::Float(1.5)),
            (Sym::new("x"), FieldValue::Int(1)),
        ];
        let tags: Tags = crate::point::list![
            (Sym::new("host"), Sym::new("a")),
            (Sym::new("x"), Sym::new("t")),
        ];
        let s = PointScope::new(&fields, &tags, 7);
        assert_eq!(s.lookup("value"), Lookup::Field(Value::Float(1.5)));
        assert_eq!(s.lookup("host"), Lookup::TagSym(Sym::new("a")));
        assert_eq!(s.lookup("x"), Lookup::Conflict);
        assert_eq!(s.lookup("nope"), Lookup::Absent);
        assert_eq!(s.time(), 7);
    }

    /// A tag compared with a constant without making its string gives what comparing the
    /// string gives (a scope whose tags are strings).
    #[test]
    fn a_tag_compares_alike_interned_or_as_a_string() {
        use crate::lambda::{CompiledLambda, MapScope};
        use kap_dsl::expr::{BinaryOp as B, Expr};
        let fields: Fields = crate::point::list![(Sym::new("v"), FieldValue::Int(1))];
        for host in ["a", "b", "c", ""] {
            let tags: Tags = crate::point::list![(Sym::new("host"), Sym::new(host))];
            let point = PointScope::new(&fields, &tags, 0);
            let map = MapScope::new(0)
                .with_field("v", 1i64)
                .with_tag("host", host);
            let consts = [
                Expr::Str("b".into()),
                Expr::Regex("^[ab]$".into()),
                Expr::Int(1),
            ];
            for c in &consts {
                for op in [
                    B::Eq,
                    B::NotEq,
                    B::Less,
                    B::GreaterEq,
                    B::RegexMatch,
                    B::RegexNotMatch,
                    B::Add,
                ] {
                    let e =
                        Expr::Binary(op, Box::new(Expr::Ref("host".into())), Box::new(c.clone()));
                    let Ok(l) = CompiledLambda::compile(&e) else {
                        continue;
                    };
                    let got = l.eval(&mut l.new_state(), &point);
                    let want = l.eval(&mut l.new_state(), &map);
                    assert_eq!(
                        got.map_err(|e| e.to_string()),
                        want.map_err(|e| e.to_string()),
                        "{host:?} {op:?} {c:?}"
                    );
                }
            }
        }
    }

    /// A compiled lambda's interned lookup resolves as the string lookup does, in lists
    /// short enough to scan and long enough to search.
    #[test]
    fn interned_lookup_resolves_as_by_name() {
        for n in [0usize, 1, 3, 8, 9, 20] {
            let mut fields = Fields::new();
            let mut tags = Tags::new();
            for i in 0..n {
                crate::point::set(
                    &mut fields,
                    Sym::new(&format!("f{i:02}")),
                    FieldValue::Int(i as i64),
                );
                crate::point::set(&mut tags, Sym::new(&format!("t{i:02}")), Sym::new("v"));
            }
            crate::point::set(&mut fields, Sym::new("both"), FieldValue::Bool(true));
            crate::point::set(&mut tags, Sym::new("both"), Sym::new("b"));
            let s = PointScope::new(&fields, &tags, 0);
            let names = (0..n + 1)
                .flat_map(|i| [format!("f{i:02}"), format!("t{i:02}")])
                .chain(["both".to_string(), "nope".to_string()]);
            for name in names {
                assert_eq!(
                    s.lookup_sym(&name, Sym::new(&name)),
                    s.lookup(&name),
                    "{n}: {name}"
                );
            }
        }
    }
}

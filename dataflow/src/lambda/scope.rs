//! What a lambda reads from the point it is evaluated for.

use super::value::Value;
use crate::point::{Str, Sym};
use std::collections::HashMap;

/// The result of looking up a `"reference"` in a [`Scope`].
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    /// A field of the point (float, int, string or bool).
    Field(Value),
    /// A tag of the point.
    Tag(Str),
    /// A tag of the point, as its interned value: no string is made unless the lambda
    /// needs one (comparing it with a constant does not).
    TagSym(Sym),
    /// Neither a field nor a tag: the reference evaluates to [`Value::Missing`].
    Absent,
    /// Both a field and a tag have this name, which Kapacitor rejects
    /// (`cannot have field and tags with same name "x"`).
    Conflict,
}

/// The alert being handled, for the handler-only functions of alert-handler `match`
/// expressions (`changed()`, `level()`, `name()`, `taskName()`, `alertDuration()`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertContext {
    /// Whether the alert level changed with this event.
    pub changed: bool,
    /// The level as Kapacitor numbers it: OK = 0, INFO = 1, WARNING = 2, CRITICAL = 3
    /// (see [`levels`](super::levels)).
    pub level: i64,
    /// The measurement name of the event.
    pub name: String,
    /// The name of the task that sent the event.
    pub task_name: String,
    /// How long the alert has been in a non-OK state, in nanoseconds.
    pub duration: i64,
}

/// The point (or alert event) a lambda is evaluated against.
///
/// `"time"` never reaches [`Scope::lookup`]: it always evaluates to the point time, as in
/// Kapacitor (even when the point has a field or tag named `time`).
pub trait Scope {
    /// Resolves a reference: field first, then tag; both is [`Lookup::Conflict`].
    fn lookup(&self, name: &str) -> Lookup;

    /// [`Scope::lookup`] of a reference whose name is also given interned (`sym`, as a
    /// compiled lambda keeps it): a scope over interned keys finds it without comparing
    /// strings. Must resolve as `lookup(name)` does.
    fn lookup_sym(&self, name: &str, sym: Sym) -> Lookup {
        let _ = sym;
        self.lookup(name)
    }

    /// The point time, in nanoseconds since the Unix epoch.
    fn time(&self) -> i64;

    /// The alert being handled, when evaluating an alert-handler `match` expression.
    fn alert_context(&self) -> Option<&AlertContext> {
        None
    }
}

/// A [`Scope`] backed by hash maps: for tests, and for the engine until it has its own
/// point model.
///
/// ```
/// use kap_dataflow::lambda::{CompiledLambda, MapScope};
/// use kap_dsl::expr::{BinaryOp, Expr};
///
/// let e = Expr::Binary(
///     BinaryOp::Greater,
///     Box::new(Expr::Ref("value".into())),
///     Box::new(Expr::Float(10.0)),
/// );
/// let lambda = CompiledLambda::compile(&e).unwrap();
/// let scope = MapScope::new(0).with_field("value", 12.5).with_tag("host", "a");
/// assert!(lambda.eval_bool(&mut lambda.new_state(), &scope).unwrap());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapScope {
    /// Field values by name.
    pub fields: HashMap<String, Value>,
    /// Tag values by name.
    pub tags: HashMap<String, Str>,
    /// Point time in nanoseconds since the Unix epoch.
    pub time: i64,
    /// The alert context, for handler `match` expressions.
    pub alert: Option<AlertContext>,
}

impl MapScope {
    /// An empty scope at `time` (ns since the epoch).
    pub fn new(time: i64) -> MapScope {
        MapScope {
            time,
            ..MapScope::default()
        }
    }

    /// Adds (or replaces) a field.
    pub fn with_field(mut self, name: &str, value: impl Into<Value>) -> MapScope {
        self.fields.insert(name.to_string(), value.into());
        self
    }

    /// Adds (or replaces) a tag.
    pub fn with_tag(mut self, name: &str, value: &str) -> MapScope {
        self.tags.insert(name.to_string(), Str::from(value));
        self
    }

    /// Sets the alert context.
    pub fn with_alert(mut self, alert: AlertContext) -> MapScope {
        self.alert = Some(alert);
        self
    }
}

impl Scope for MapScope {
    fn lookup(&self, name: &str) -> Lookup {
        match (self.fields.get(name), self.tags.get(name)) {
            (Some(_), Some(_)) => Lookup::Conflict,
            (Some(v), None) => Lookup::Field(v.clone()),
            (None, Some(t)) => Lookup::Tag(Str::clone(t)),
            (None, None) => Lookup::Absent,
        }
    }

    fn time(&self) -> i64 {
        self.time
    }

    fn alert_context(&self) -> Option<&AlertContext> {
        self.alert.as_ref()
    }
}

/// A scope with no fields or tags, at time 0 (used to fold constants).
#[derive(Debug)]
pub(crate) struct EmptyScope;

impl Scope for EmptyScope {
    fn lookup(&self, _name: &str) -> Lookup {
        Lookup::Absent
    }

    fn time(&self) -> i64 {
        0
    }
}

//! The node registry: the single source of truth for every TICKscript node, its chaining
//! arguments, its property methods with argument types, its edge types and its docs.
//!
//! The checker uses it to validate calls and suggest names, the evaluator uses its
//! `build`/`apply` functions to fill the typed [`NodeSpec`]s of the plan, and
//! `kapacitor help` / the docs print it.

use crate::plan::NodeSpec;
use crate::value::{Value, ValueType};

mod docs;
pub mod functions;
mod nodes;

pub use docs::render_markdown;
pub use functions::{FuncDef, function, function_names};
pub use nodes::{NODES, apply_udf_option, can_chain, query_schedule_error};

/// The kind of data on an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EdgeType {
    /// Points, one at a time.
    Stream,
    /// Batches of points.
    Batch,
    /// Nothing (the node has no output).
    None,
}

impl EdgeType {
    /// `stream`, `batch` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeType::Stream => "stream",
            EdgeType::Batch => "batch",
            EdgeType::None => "no",
        }
    }
}

/// What a node accepts from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wants {
    /// A root (`stream`, `batch`): no parent.
    Root,
    /// Only stream edges.
    Stream,
    /// Only batch edges.
    Batch,
    /// Either.
    Any,
}

/// What a node sends to its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provides {
    /// Always a stream.
    Stream,
    /// Always batches.
    Batch,
    /// The same type as its input.
    Same,
    /// Nothing: the node cannot have children.
    None,
}

/// The type a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// Integer.
    Int,
    /// Float (an int is accepted and converted, as Kapacitor does).
    Float,
    /// Bool.
    Bool,
    /// String.
    String,
    /// Duration.
    Duration,
    /// Regex.
    Regex,
    /// Lambda expression.
    Lambda,
    /// A string or `*` (e.g. `groupBy`).
    StringOrStar,
    /// A string, `*` or `time(d)` (only `query().groupBy`).
    Dimension,
    /// Int or duration (`sample(n or d)`).
    IntOrDuration,
    /// Int, float or string (e.g. `default().field(name, value)`).
    Scalar,
    /// Another node (`join`, `union`).
    Node,
}

impl ArgKind {
    /// Whether a value of type `t` is accepted.
    pub fn accepts(self, t: ValueType) -> bool {
        use ValueType as T;
        match self {
            ArgKind::Int => t == T::Int,
            ArgKind::Float => matches!(t, T::Float | T::Int),
            ArgKind::Bool => t == T::Bool,
            ArgKind::String => t == T::String,
            ArgKind::Duration => t == T::Duration,
            ArgKind::Regex => t == T::Regex,
            ArgKind::Lambda => t == T::Lambda,
            ArgKind::StringOrStar => matches!(t, T::String | T::Star),
            ArgKind::Dimension => matches!(t, T::String | T::Star | T::TimeDimension),
            ArgKind::IntOrDuration => matches!(t, T::Int | T::Duration),
            ArgKind::Scalar => matches!(t, T::Int | T::Float | T::String | T::Bool),
            ArgKind::Node => t == T::Node,
        }
    }

    /// Name used in messages: `int`, `float`, `string or *`...
    pub fn name(self) -> &'static str {
        match self {
            ArgKind::Int => "int",
            ArgKind::Float => "float",
            ArgKind::Bool => "bool",
            ArgKind::String => "string",
            ArgKind::Duration => "duration",
            ArgKind::Regex => "regex",
            ArgKind::Lambda => "lambda",
            ArgKind::StringOrStar => "string or *",
            ArgKind::Dimension => "string, * or time()",
            ArgKind::IntOrDuration => "int or duration",
            ArgKind::Scalar => "int, float, string or bool",
            ArgKind::Node => "node",
        }
    }
}

/// One named parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name shown in docs and messages.
    pub name: &'static str,
    /// Accepted type.
    pub kind: ArgKind,
}

/// A parameter list: `required` parameters first, then `optional` ones, then any number
/// of `variadic` ones (if set).
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Required, in order.
    pub required: &'static [Param],
    /// Optional, in order, after the required ones.
    pub optional: &'static [Param],
    /// Repeated parameter accepted after the others, if any.
    pub variadic: Option<Param>,
}

impl Params {
    /// No parameters.
    pub const NONE: Params = Params {
        required: &[],
        optional: &[],
        variadic: None,
    };

    /// The parameter at position `i`, if any.
    pub fn at(&self, i: usize) -> Option<Param> {
        if i < self.required.len() {
            Some(self.required[i])
        } else if i < self.required.len() + self.optional.len() {
            Some(self.optional[i - self.required.len()])
        } else {
            self.variadic
        }
    }

    /// Minimum argument count.
    pub fn min(&self) -> usize {
        self.required.len()
    }

    /// Maximum argument count (`None` = unbounded).
    pub fn max(&self) -> Option<usize> {
        if self.variadic.is_some() {
            None
        } else {
            Some(self.required.len() + self.optional.len())
        }
    }

    /// Signature text for docs and messages, e.g. `(field string, n int, tags string...)`.
    pub fn signature(&self) -> String {
        let mut parts: Vec<String> = self
            .required
            .iter()
            .map(|p| format!("{} {}", p.name, p.kind.name()))
            .collect();
        parts.extend(
            self.optional
                .iter()
                .map(|p| format!("[{} {}]", p.name, p.kind.name())),
        );
        if let Some(p) = self.variadic {
            parts.push(format!("{} {}...", p.name, p.kind.name()));
        }
        format!("({})", parts.join(", "))
    }
}

/// Builds a node's initial spec from its (already type-checked) chaining arguments.
pub type BuildFn = fn(&[Value]) -> Result<NodeSpec, String>;
/// Applies a property call to a spec (arguments already type-checked).
pub type ApplyFn = fn(&mut NodeSpec, &[Value]) -> Result<(), String>;
/// Validates a finished spec (Kapacitor's `validate()`), returning a message on error.
pub type ValidateFn = fn(&NodeSpec) -> Result<(), String>;

/// A property method (`.name(args)`).
#[derive(Debug, Clone, Copy)]
pub struct PropDef {
    /// Method name as written in TICKscript.
    pub name: &'static str,
    /// One-line description.
    pub doc: &'static str,
    /// Parameters.
    pub params: Params,
    /// Writes the property into the spec.
    pub apply: ApplyFn,
    /// For alert handler methods (`.post()`, `.slack()`...): the handler's own
    /// properties. Property calls after this one are looked up here first, then on the
    /// node (Kapacitor embeds the alert node in each handler).
    pub opens: Option<&'static [PropDef]>,
}

/// How a chaining method is special for the evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// An ordinary node.
    None,
    /// `join(nodes...)` / `union(nodes...)`: node arguments become extra parents.
    MultiParent,
    /// `stats(interval)`: a new source fed by the node's statistics.
    Stats,
    /// `deadman(threshold, interval, lambdas...)`: sugar for stats|derivative|alert.
    Deadman,
}

/// A node kind.
#[derive(Debug, Clone, Copy)]
pub struct NodeDef {
    /// Chaining method name (`window`, `mean`, `httpOut`); `stream` / `batch` for roots.
    pub name: &'static str,
    /// Kapacitor's node description, used for node names in DOT and stats
    /// (`window` → `window2`, `httpOut` → `http_out5`).
    pub desc: &'static str,
    /// One-line description.
    pub doc: &'static str,
    /// Accepted input edge.
    pub wants: Wants,
    /// Output edge.
    pub provides: Provides,
    /// Chaining method parameters.
    pub params: Params,
    /// Property methods.
    pub props: &'static [PropDef],
    /// Builds the spec from the chaining arguments.
    pub build: BuildFn,
    /// Validates the finished spec.
    pub validate: ValidateFn,
    /// Evaluator special handling.
    pub special: Special,
}

impl NodeDef {
    /// Looks up a property by exact name.
    pub fn prop(&self, name: &str) -> Option<&'static PropDef> {
        self.props.iter().find(|p| p.name == name)
    }

    /// The output edge type given the input edge type.
    pub fn output(&self, input: EdgeType) -> EdgeType {
        match self.provides {
            Provides::Stream => EdgeType::Stream,
            Provides::Batch => EdgeType::Batch,
            Provides::Same => input,
            Provides::None => EdgeType::None,
        }
    }

    /// Whether the node accepts the given input edge.
    pub fn accepts(&self, input: EdgeType) -> bool {
        match self.wants {
            Wants::Root => false,
            Wants::Stream => input == EdgeType::Stream,
            Wants::Batch => input == EdgeType::Batch,
            Wants::Any => input != EdgeType::None,
        }
    }
}

/// Looks up a node kind by its chaining method name (or `stream`/`batch`).
pub fn node(name: &str) -> Option<&'static NodeDef> {
    NODES.iter().find(|n| n.name == name)
}

/// Every chaining method name, for suggestions.
pub fn node_names() -> impl Iterator<Item = &'static str> {
    NODES
        .iter()
        .filter(|n| n.wants != Wants::Root)
        .map(|n| n.name)
}

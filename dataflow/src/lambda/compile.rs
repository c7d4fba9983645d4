//! Compiling an [`Expr`] into an evaluation tree, and evaluating that tree.

use super::error::{CompileError, EvalError, Side};
use super::functions::{self, Env, PureFn};
use super::scope::{EmptyScope, Lookup, Scope};
use super::state::{LambdaState, Slot, StatefulFn, fresh_seed};
use super::value::Value;
use super::{Clock, CompileOptions, FixedClock, levels, ops};
use crate::point::Sym;
use kap_dsl::expr::{BinaryOp, Expr, UnaryOp};
use kap_dsl::registry::functions as registry;
use regex::Regex;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A handler-only builtin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HandlerFn {
    Changed,
    Level,
    Name,
    TaskName,
    AlertDuration,
}

impl HandlerFn {
    fn from_name(name: &str) -> Option<HandlerFn> {
        Some(match name {
            "changed" => HandlerFn::Changed,
            "level" => HandlerFn::Level,
            "name" => HandlerFn::Name,
            "taskName" => HandlerFn::TaskName,
            "alertDuration" => HandlerFn::AlertDuration,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            HandlerFn::Changed => "changed",
            HandlerFn::Level => "level",
            HandlerFn::Name => "name",
            HandlerFn::TaskName => "taskName",
            HandlerFn::AlertDuration => "alertDuration",
        }
    }
}

/// One node of the evaluation tree.
#[derive(Debug, Clone)]
enum Node {
    /// A literal or a folded constant sub-expression (never `Missing`).
    Const(Value),
    /// A field or tag reference (never `"time"`), and its name interned.
    Ref(Arc<str>, Sym),
    /// `"time"`: the point time.
    Time,
    /// `now()`.
    Now,
    Unary(UnaryOp, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// Every other binary operator.
    Binary(BinaryOp, Box<Node>, Box<Node>),
    /// A stateless builtin.
    Call {
        name: &'static str,
        f: PureFn,
        args: Box<[Node]>,
    },
    /// `isPresent(x)`.
    IsPresent(Box<Node>),
    /// A stateful builtin using state slot `slot`.
    Stateful {
        f: StatefulFn,
        slot: usize,
        args: Box<[Node]>,
    },
    /// A handler-only builtin.
    Handler(HandlerFn),
}

/// The evaluation context of one call of [`CompiledLambda::eval`].
struct Ctx<'a> {
    env: &'a Env,
    clock: &'a dyn Clock,
    scope: &'a dyn Scope,
    slots: &'a mut [Slot],
}

impl Node {
    fn is_const(&self) -> bool {
        matches!(self, Node::Const(_))
    }

    /// The reference this node reads, for "missing value" errors (only reference nodes
    /// evaluate to `Missing`).
    fn ref_name(&self) -> Arc<str> {
        match self {
            Node::Ref(name, _) => Arc::clone(name),
            _ => Arc::from("?"),
        }
    }

    /// Evaluates an operand of a binary operator, rejecting a missing value.
    fn operand(&self, side: Side, cx: &mut Ctx<'_>) -> Result<Value, EvalError> {
        let v = self.eval(cx)?;
        if v.is_missing() {
            return Err(EvalError::MissingOperand {
                side,
                name: self.ref_name(),
            });
        }
        Ok(v)
    }

    /// [`Node::operand`], borrowing a constant instead of cloning it (most comparisons
    /// have one: `"usage" > 90`).
    fn operand_ref(&self, side: Side, cx: &mut Ctx<'_>) -> Result<Cow<'_, Value>, EvalError> {
        match self {
            // Never missing.
            Node::Const(v) => Ok(Cow::Borrowed(v)),
            _ => self.operand(side, cx).map(Cow::Owned),
        }
    }

    /// Evaluates argument `i` of `func`, rejecting a missing value.
    fn arg(&self, func: &'static str, i: usize, cx: &mut Ctx<'_>) -> Result<Value, EvalError> {
        let v = self.eval(cx)?;
        if v.is_missing() {
            return Err(EvalError::MissingArgument {
                func,
                index: i + 1,
                name: self.ref_name(),
            });
        }
        Ok(v)
    }

    fn eval(&self, cx: &mut Ctx<'_>) -> Result<Value, EvalError> {
        match self {
            Node::Const(v) => Ok(v.clone()),
            Node::Ref(name, sym) => match cx.scope.lookup_sym(name, *sym) {
                Lookup::Field(v) => Ok(v),
                Lookup::Tag(t) => Ok(Value::String(t)),
                Lookup::TagSym(t) => Ok(Value::string(t.as_str())),
                Lookup::Absent => Ok(Value::Missing),
                Lookup::Conflict => Err(EvalError::FieldTagConflict {
                    name: Arc::clone(name),
                }),
            },
            Node::Time => Ok(Value::Time(cx.scope.time())),
            Node::Now => Ok(Value::Time(cx.clock.now_ns())),
            Node::Unary(op, x) => {
                let v = x.eval(cx)?;
                if v.is_missing() {
                    return Err(EvalError::MissingValue { name: x.ref_name() });
                }
                ops::unary(*op, v)
            }
            Node::And(l, r) => logical(BinaryOp::And, l, r, cx),
            Node::Or(l, r) => logical(BinaryOp::Or, l, r, cx),
            Node::Binary(op, l, r) => {
                if let (Node::Ref(name, sym), Node::Const(c)) = (&**l, &**r) {
                    return ref_op_const(*op, (name, *sym), c, cx);
                }
                let lv = l.operand_ref(Side::Left, cx)?;
                let rv = r.operand_ref(Side::Right, cx)?;
                ops::binary(*op, &lv, &rv)
            }
            Node::Call { name, f, args } => {
                with_args(name, args, cx, |values, cx| f(values, cx.env))
            }
            Node::IsPresent(x) => match &**x {
                Node::Ref(name, sym) => match cx.scope.lookup_sym(name, *sym) {
                    Lookup::Absent => Ok(Value::Bool(false)),
                    Lookup::Conflict => Err(EvalError::FieldTagConflict {
                        name: Arc::clone(name),
                    }),
                    Lookup::Field(_) | Lookup::Tag(_) | Lookup::TagSym(_) => Ok(Value::Bool(true)),
                },
                other => Ok(Value::Bool(!other.eval(cx)?.is_missing())),
            },
            Node::Stateful { f, slot, args } => {
                with_args(f.name(), args, cx, |values, cx| {
                    match cx.slots.get_mut(*slot) {
                        Some(s) => s.call(*f, values),
                        None => Err(EvalError::func(f.name(), "state not initialised")),
                    }
                })
            }
            Node::Handler(h) => {
                let ctx = cx
                    .scope
                    .alert_context()
                    .ok_or(EvalError::NoAlertContext { func: h.name() })?;
                Ok(match h {
                    HandlerFn::Changed => Value::Bool(ctx.changed),
                    HandlerFn::Level => Value::Int(ctx.level),
                    HandlerFn::Name => Value::string(&ctx.name),
                    HandlerFn::TaskName => Value::string(&ctx.task_name),
                    HandlerFn::AlertDuration => Value::Duration(ctx.duration),
                })
            }
        }
    }
}

/// `AND` / `OR` with short-circuit: the right side is evaluated only when it decides.
/// The commonest comparison, `"field" > 90`: the reference looked up and the constant
/// borrowed right here, giving what [`Node::operand`] of each would give.
fn ref_op_const(
    op: BinaryOp,
    (name, sym): (&Arc<str>, Sym),
    c: &Value,
    cx: &mut Ctx<'_>,
) -> Result<Value, EvalError> {
    let lv = match cx.scope.lookup_sym(name, sym) {
        Lookup::Field(v) => v,
        Lookup::Tag(t) => Value::String(t),
        Lookup::TagSym(t) => match ops::str_binary(op, t.as_str(), c) {
            Some(b) => return Ok(Value::Bool(b)),
            None => Value::string(t.as_str()),
        },
        Lookup::Absent => Value::Missing,
        Lookup::Conflict => {
            return Err(EvalError::FieldTagConflict {
                name: Arc::clone(name),
            });
        }
    };
    if lv.is_missing() {
        return Err(EvalError::MissingOperand {
            side: Side::Left,
            name: Arc::clone(name),
        });
    }
    ops::binary(op, &lv, c)
}

fn logical(op: BinaryOp, l: &Node, r: &Node, cx: &mut Ctx<'_>) -> Result<Value, EvalError> {
    let short = op == BinaryOp::Or;
    match l.operand(Side::Left, cx)? {
        Value::Bool(b) if b == short => Ok(Value::Bool(short)),
        Value::Bool(_) => match r.operand(Side::Right, cx)? {
            Value::Bool(b) => Ok(Value::Bool(b)),
            other => Err(EvalError::MismatchedTypes {
                left: "boolean",
                op: op.as_str(),
                right: other.type_name(),
            }),
        },
        other => Err(EvalError::InvalidOperator {
            op: op.as_str(),
            ty: other.type_name(),
        }),
    }
}

/// Evaluates `args` (rejecting missing values) into a stack array and calls `k` with
/// them: no allocation for up to four arguments.
fn with_args(
    func: &'static str,
    args: &[Node],
    cx: &mut Ctx<'_>,
    k: impl FnOnce(&[Value], &mut Ctx<'_>) -> Result<Value, EvalError>,
) -> Result<Value, EvalError> {
    match args {
        [] => k(&[], cx),
        [a] => {
            let v = [a.arg(func, 0, cx)?];
            k(&v, cx)
        }
        [a, b] => {
            let v = [a.arg(func, 0, cx)?, b.arg(func, 1, cx)?];
            k(&v, cx)
        }
        [a, b, c] => {
            let v = [
                a.arg(func, 0, cx)?,
                b.arg(func, 1, cx)?,
                c.arg(func, 2, cx)?,
            ];
            k(&v, cx)
        }
        [a, b, c, d] => {
            let v = [
                a.arg(func, 0, cx)?,
                b.arg(func, 1, cx)?,
                c.arg(func, 2, cx)?,
                d.arg(func, 3, cx)?,
            ];
            k(&v, cx)
        }
        _ => {
            let mut v = Vec::with_capacity(args.len());
            for (i, a) in args.iter().enumerate() {
                v.push(a.arg(func, i, cx)?);
            }
            k(&v, cx)
        }
    }
}

/// A lambda compiled once per task and evaluated per point.
///
/// Compilation resolves every builtin to a function pointer, compiles regex literals,
/// resolves the alert-level identifiers (`CRITICAL`...) and folds constant
/// sub-expressions (those without references, `now()`, stateful or handler-only
/// functions; a constant that fails to evaluate, e.g. `1 / 0`, is left to fail per point
/// as in Kapacitor). A `CompiledLambda` is immutable, `Send + Sync`, and can be shared by
/// all groups; the mutable part is the [`LambdaState`].
///
/// Kapacitor behaviours kept on purpose:
///
/// * **Stateful functions share state per name within one expression**: Kapacitor keeps
///   one `sigma`/`count`/`spread`/`rand` instance per expression and function name, so
///   `count() + count()` is `1 + 2` on the first point.
/// * **`if(cond, a, b)` evaluates all three arguments** (it is an ordinary function in
///   Kapacitor): stateful functions in both branches run, and a missing reference in the
///   branch not taken is still an error. `a` and `b` must have the same type.
/// * **Missing values**: a missing reference used by an operator or a function is an
///   error naming it; `isPresent("x")` is the only way to test for one. A lambda that is
///   just a missing reference fails with `reference value "x" is missing value`, so
///   [`eval`](Self::eval) never returns [`Value::Missing`].
/// * **Field/tag conflicts** are reported when the reference is evaluated (Kapacitor
///   checks every reference of the expression before evaluating; the difference is only
///   visible for references skipped by `AND`/`OR` short-circuit).
#[derive(Debug, Clone)]
pub struct CompiledLambda {
    root: Node,
    references: Vec<Arc<str>>,
    slots: Vec<StatefulFn>,
    env: Env,
    clock: Arc<dyn Clock>,
    rand_seed: Option<u64>,
    source: Expr,
}

struct Compiler {
    references: Vec<Arc<str>>,
    slots: Vec<StatefulFn>,
    env: Env,
}

impl Compiler {
    fn build(&mut self, e: &Expr) -> Result<Node, CompileError> {
        let node = match e {
            Expr::Int(i) => Node::Const(Value::Int(*i)),
            Expr::Float(f) => Node::Const(Value::Float(*f)),
            Expr::Bool(b) => Node::Const(Value::Bool(*b)),
            Expr::Str(s) => Node::Const(Value::string(s)),
            Expr::Duration(d) => Node::Const(Value::Duration(*d)),
            Expr::Regex(src) => match Regex::new(src) {
                Ok(re) => Node::Const(Value::Regex(Arc::new(re))),
                Err(err) => {
                    return Err(CompileError::InvalidRegex {
                        pattern: src.clone(),
                        message: err.to_string(),
                    });
                }
            },
            Expr::Ref(name) if name == "time" => Node::Time,
            Expr::Ref(name) => Node::Ref(self.reference(name), Sym::new(name)),
            Expr::Ident(name) => match levels::from_ident(name) {
                Some(level) => Node::Const(Value::Int(level)),
                None => return Err(CompileError::UnknownIdentifier(name.clone())),
            },
            Expr::Star => return Err(CompileError::Star),
            Expr::Unary(op, x) => Node::Unary(*op, Box::new(self.build(x)?)),
            Expr::Binary(op, l, r) => {
                let l = Box::new(self.build(l)?);
                let r = Box::new(self.build(r)?);
                match op {
                    BinaryOp::And => Node::And(l, r),
                    BinaryOp::Or => Node::Or(l, r),
                    op => Node::Binary(*op, l, r),
                }
            }
            Expr::Call(name, args) => self.call(name, args)?,
        };
        Ok(self.fold(node))
    }

    fn reference(&mut self, name: &str) -> Arc<str> {
        if let Some(r) = self.references.iter().find(|r| &***r == name) {
            return Arc::clone(r);
        }
        let r: Arc<str> = Arc::from(name);
        self.references.push(Arc::clone(&r));
        r
    }

    fn call(&mut self, name: &str, args: &[Expr]) -> Result<Node, CompileError> {
        let def = registry::function(name)
            .ok_or_else(|| CompileError::UnknownFunction(name.to_string()))?;
        if let Err(registry::CallCheckError::ArgCount(m)) = def.check(&vec![None; args.len()]) {
            return Err(CompileError::ArgCount(m));
        }
        let mut nodes = Vec::with_capacity(args.len());
        for a in args {
            nodes.push(self.build(a)?);
        }
        if name == "isPresent"
            && let Some(x) = nodes.pop()
        {
            return Ok(Node::IsPresent(Box::new(x)));
        }
        if name == "now" {
            return Ok(Node::Now);
        }
        if let Some(h) = HandlerFn::from_name(name) {
            return Ok(Node::Handler(h));
        }
        if let Some(f) = StatefulFn::from_name(name) {
            let slot = match self.slots.iter().position(|s| *s == f) {
                Some(i) => i,
                None => {
                    self.slots.push(f);
                    self.slots.len() - 1
                }
            };
            return Ok(Node::Stateful {
                f,
                slot,
                args: nodes.into_boxed_slice(),
            });
        }
        let (name, f) =
            functions::pure(name).ok_or_else(|| CompileError::UnknownFunction(name.to_string()))?;
        Ok(Node::Call {
            name,
            f,
            args: nodes.into_boxed_slice(),
        })
    }

    /// Replaces a pure node whose operands are all constants by its value.
    fn fold(&self, node: Node) -> Node {
        let foldable = match &node {
            Node::Unary(_, x) | Node::IsPresent(x) => x.is_const(),
            Node::And(l, r) | Node::Or(l, r) | Node::Binary(_, l, r) => {
                l.is_const() && r.is_const()
            }
            Node::Call { args, .. } => args.iter().all(Node::is_const),
            _ => false,
        };
        if !foldable {
            return node;
        }
        let mut cx = Ctx {
            env: &self.env,
            clock: &FixedClock(0),
            scope: &EmptyScope,
            slots: &mut [],
        };
        match node.eval(&mut cx) {
            Ok(v) if !v.is_missing() => Node::Const(v),
            _ => node,
        }
    }
}

impl CompiledLambda {
    /// Compiles with the default [`CompileOptions`] (local time zone, system clock).
    pub fn compile(expr: &Expr) -> Result<CompiledLambda, CompileError> {
        CompiledLambda::compile_with(expr, &CompileOptions::default())
    }

    /// Compiles with explicit options.
    pub fn compile_with(
        expr: &Expr,
        opts: &CompileOptions,
    ) -> Result<CompiledLambda, CompileError> {
        let mut c = Compiler {
            references: Vec::new(),
            slots: Vec::new(),
            env: Env { tz: opts.time_zone },
        };
        let root = c.build(expr)?;
        Ok(CompiledLambda {
            root,
            references: c.references,
            slots: c.slots,
            env: c.env,
            clock: Arc::clone(&opts.clock),
            rand_seed: opts.rand_seed,
            source: expr.clone(),
        })
    }

    /// A fresh state for one instance of this lambda (one per group where Kapacitor keeps
    /// one expression per group).
    pub fn new_state(&self) -> LambdaState {
        if self.slots.is_empty() {
            return LambdaState::default();
        }
        let seed = self
            .rand_seed
            .unwrap_or_else(|| fresh_seed(self.clock.now_ns()));
        LambdaState::new(&self.slots, seed)
    }

    /// Evaluates the lambda for one point. Never returns [`Value::Missing`].
    ///
    /// `state` must come from [`new_state`](Self::new_state) of this lambda; a state of
    /// another shape is replaced by a fresh one.
    pub fn eval(&self, state: &mut LambdaState, scope: &dyn Scope) -> Result<Value, EvalError> {
        if state.slots.len() != self.slots.len() {
            *state = self.new_state();
        }
        let mut cx = Ctx {
            env: &self.env,
            clock: &*self.clock,
            scope,
            slots: &mut state.slots,
        };
        let v = self.root.eval(&mut cx)?;
        if v.is_missing() {
            return Err(EvalError::MissingValue {
                name: self.root.ref_name(),
            });
        }
        Ok(v)
    }

    /// Evaluates a predicate (where, alert levels, handler `match`): a non-boolean result
    /// is an error.
    pub fn eval_bool(&self, state: &mut LambdaState, scope: &dyn Scope) -> Result<bool, EvalError> {
        // The most common predicate, a numeric field compared with a number (`"usage" >
        // 90`), is answered here without building the evaluation context; anything else
        // (a tag, a missing field, another type) takes the general path, which gives the
        // same answer or error.
        if let Node::Binary(op, l, r) = &self.root
            && let (Node::Ref(name, sym), Node::Const(c @ (Value::Float(_) | Value::Int(_)))) =
                (&**l, &**r)
            && matches!(
                op,
                BinaryOp::Eq
                    | BinaryOp::NotEq
                    | BinaryOp::Less
                    | BinaryOp::LessEq
                    | BinaryOp::Greater
                    | BinaryOp::GreaterEq
            )
            && let Lookup::Field(v @ (Value::Float(_) | Value::Int(_))) =
                scope.lookup_sym(name, *sym)
        {
            return Ok(ops::compare_numbers(*op, &v, c));
        }
        match self.eval(state, scope)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::NotBool {
                ty: other.type_name(),
            }),
        }
    }

    /// The field/tag references the lambda reads, in order of first appearance, each once
    /// (`"time"` excluded: it is always the point time).
    pub fn references(&self) -> &[Arc<str>] {
        &self.references
    }

    /// Whether the lambda uses a stateful function (its [`LambdaState`] is not empty).
    pub fn is_stateful(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Whether the whole lambda folded to a constant (e.g. `lambda: TRUE`), which the
    /// engine may evaluate once.
    pub fn constant(&self) -> Option<&Value> {
        match &self.root {
            Node::Const(v) => Some(v),
            _ => None,
        }
    }

    /// The expression this was compiled from.
    pub fn expr(&self) -> &Expr {
        &self.source
    }
}

/// The lambda's TICKscript text (without `lambda: `).
impl fmt::Display for CompiledLambda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.source.fmt(f)
    }
}

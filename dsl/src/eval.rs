//! The evaluator and checker: walks a parsed [`Program`], evaluates vars and non-lambda
//! expressions, builds nodes through the [`registry`](crate::registry::NODES), checks chaining
//! operators, argument counts and types, edge types and lambdas, and produces the
//! [`Pipeline`] plan. Every problem found becomes a [`Diagnostic`]; evaluation carries on
//! after an error (the faulty value is poisoned so it causes no follow-on errors).

use crate::ast::{Call, ChainOp, Comment, Expr as AstExpr, ExprKind, Ident, Program, Stmt};
use crate::diagnostic::{Diagnostic, codes, suggest};
use crate::expr::{BinaryOp, Expr, UnaryOp, format_duration};
use crate::lambda::{self, StaticType};
use crate::plan::{DbRp, Edge, NodeSpec, Pipeline, PlanNode, TaskType};
use crate::registry::{self, EdgeType, NodeDef, Params, PropDef, Special};
use crate::span::Span;
use crate::value::{Value, ValueType};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Options for [`compile`].
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// The task type; `None` infers it from the script (`stream` or `batch` used).
    pub task_type: Option<TaskType>,
    /// Values for the script's vars (template vars, or overrides of `var x = default`).
    pub vars: BTreeMap<String, Value>,
    /// Template mode: `var x type` declarations without a value are allowed (the
    /// affected properties are type-checked but not applied, and node validation is
    /// skipped for nodes that received such a placeholder).
    pub template: bool,
    /// The UDFs that `@name()` may call, as their agents describe them.
    pub udfs: BTreeMap<String, UdfInfo>,
    /// The daemon's `[deadman]` settings.
    pub deadman: DeadmanOptions,
}

/// A UDF the daemon offers, as its agent answered Kapacitor's info request: what it reads,
/// what it sends, and its options with the types of their values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdfInfo {
    /// What it reads (`Stream` or `Batch`).
    pub wants: EdgeType,
    /// What it sends (`Stream` or `Batch`).
    pub provides: EdgeType,
    /// Its options (`.name(values…)`), with the type of each value in order (`Int`,
    /// `Float`, `Bool`, `String` or `Duration`).
    pub options: BTreeMap<String, Vec<ValueType>>,
}

/// Kapacitor's `[deadman]` settings: the id and message of `.deadman()`'s alert, and a
/// deadman on every task's source node with `global`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeadmanOptions {
    /// Alert id template, `NODE_NAME` replaced by the watched node; empty: Kapacitor's.
    pub id: String,
    /// Alert message template, `INTERVAL` replaced by the interval; empty: Kapacitor's.
    pub message: String,
    /// `Some((threshold, interval in ns))`: every task gets a deadman on its source
    /// (`[deadman] global`), as if its script said `stream|deadman(threshold, interval)`.
    pub global: Option<(f64, i64)>,
}

/// A var declared by the script, as reported for templates and tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VarInfo {
    /// Name.
    pub name: String,
    /// Declared or inferred type.
    pub ty: ValueType,
    /// Value used (the default, or the value given in [`CompileOptions::vars`]); `None`
    /// for a template var without a value.
    pub value: Option<Value>,
    /// The `//` comment just above the declaration.
    pub description: String,
}

/// A successfully compiled script.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The plan.
    pub pipeline: Pipeline,
    /// Every var the script declares, in order.
    pub vars: Vec<VarInfo>,
    /// Warnings (the script was accepted anyway).
    pub warnings: Vec<Diagnostic>,
}

/// Parses and compiles a script.
pub fn compile(src: &str, opts: &CompileOptions) -> Result<Compiled, Vec<Diagnostic>> {
    let (program, mut diags) = crate::parse(src);
    if diags.iter().any(Diagnostic::is_error) {
        // Still evaluate what parsed, so the user sees every problem at once; but whole-
        // pipeline checks (empty task, node validation) would only echo the syntax error.
        if let Err(more) = compile_program(&program, opts) {
            for d in more {
                let follow_on = d.code == codes::EMPTY_PIPELINE || d.code == codes::INVALID_NODE;
                if !follow_on && !diags.iter().any(|x| x.span == d.span) {
                    diags.push(d);
                }
            }
        }
        diags.sort_by_key(|d| d.span.start.offset);
        return Err(diags);
    }
    match compile_program(&program, opts) {
        Ok(mut c) => {
            diags.append(&mut c.warnings);
            c.warnings = diags;
            Ok(c)
        }
        Err(mut more) => {
            diags.append(&mut more);
            diags.sort_by_key(|d| d.span.start.offset);
            Err(diags)
        }
    }
}

/// Infers the task type from the first use of `stream` or `batch` as an identifier.
pub fn infer_task_type(program: &Program) -> Option<TaskType> {
    fn find(e: &AstExpr) -> Option<TaskType> {
        match &e.kind {
            ExprKind::Ident(n) if n == "stream" => Some(TaskType::Stream),
            ExprKind::Ident(n) if n == "batch" => Some(TaskType::Batch),
            ExprKind::Chain { left, call, .. } => {
                find(left).or_else(|| call.args.iter().find_map(find))
            }
            ExprKind::Call(c) => c.args.iter().find_map(find),
            ExprKind::Binary { left, right, .. } => find(left).or_else(|| find(right)),
            ExprKind::Unary { expr, .. } => find(expr),
            ExprKind::List(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    program.stmts.iter().find_map(|s| match s {
        Stmt::Decl { value, .. } => find(value),
        Stmt::Expr { expr, .. } => find(expr),
        _ => None,
    })
}

/// Compiles an already parsed program.
pub fn compile_program(
    program: &Program,
    opts: &CompileOptions,
) -> Result<Compiled, Vec<Diagnostic>> {
    let task_type = opts
        .task_type
        .or_else(|| infer_task_type(program))
        .unwrap_or(TaskType::Stream);
    let mut ev = Eval::new(opts, task_type);
    for stmt in &program.stmts {
        ev.statement(stmt);
    }
    ev.finish(program)
}

/// A value during evaluation.
#[derive(Debug, Clone)]
enum Val {
    /// An ordinary value.
    V(Value),
    /// A node with an alert handler open: property calls go to the handler first.
    Handler {
        node: usize,
        props: &'static [PropDef],
    },
    /// A template var without a value (template mode only).
    Placeholder(ValueType),
    /// The result of an erroneous expression (already reported).
    Poison,
}

impl Val {
    fn ty(&self) -> Option<ValueType> {
        match self {
            Val::V(v) => Some(v.value_type()),
            Val::Handler { .. } => Some(ValueType::Node),
            Val::Placeholder(t) => Some(*t),
            Val::Poison => None,
        }
    }
}

#[derive(Debug)]
struct Binding {
    val: Val,
    span: Span,
}

#[derive(Debug)]
struct BuildNode {
    def: &'static NodeDef,
    spec: NodeSpec,
    children: Vec<usize>,
    parents: Vec<usize>,
    output: EdgeType,
    /// Received a template placeholder: skip validation.
    placeholder: bool,
    span: Span,
}

struct Eval<'o> {
    opts: &'o CompileOptions,
    task_type: TaskType,
    diags: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    scope: HashMap<String, Binding>,
    nodes: Vec<BuildNode>,
    /// Pipeline sources in creation order (the root, then stats nodes).
    sources: Vec<usize>,
    /// `(stats node, the node whose statistics it reports)`.
    stats: Vec<(usize, usize)>,
    dbrps: Vec<DbRp>,
    vars: Vec<VarInfo>,
}

const DEADMAN_ID: &str = "node 'NODE_NAME' in task '{{ .TaskName }}'";
const DEADMAN_MESSAGE: &str = "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: {{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/INTERVAL.";

impl<'o> Eval<'o> {
    fn new(opts: &'o CompileOptions, task_type: TaskType) -> Eval<'o> {
        let mut ev = Eval {
            opts,
            task_type,
            diags: Vec::new(),
            warnings: Vec::new(),
            scope: HashMap::new(),
            nodes: Vec::new(),
            sources: Vec::new(),
            stats: Vec::new(),
            dbrps: Vec::new(),
            vars: Vec::new(),
        };
        let root_name = task_type.name();
        let def = registry::node(root_name).expect("registry has stream and batch");
        let spec = (def.build)(&[]).expect("roots build without arguments");
        let output = def.output(EdgeType::None);
        ev.nodes.push(BuildNode {
            def,
            spec,
            children: Vec::new(),
            parents: Vec::new(),
            output: if task_type == TaskType::Batch {
                EdgeType::Batch
            } else {
                output
            },
            placeholder: false,
            span: Span::default(),
        });
        ev.sources.push(0);
        ev.scope.insert(
            root_name.to_string(),
            Binding {
                val: Val::V(Value::Node(0)),
                span: Span::default(),
            },
        );
        ev
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn statement(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Dbrp { db, rp, span, .. } => {
                let d = DbRp {
                    db: db.clone(),
                    rp: rp.clone(),
                };
                if self.dbrps.contains(&d) {
                    self.err(Diagnostic::error(
                        codes::BAD_DBRP,
                        format!("duplicate dbrp \"{db}\".\"{rp}\""),
                        *span,
                    ));
                } else {
                    self.dbrps.push(d);
                }
            }
            Stmt::TypeDecl {
                comment, name, ty, ..
            } => self.type_decl(comment, name, ty),
            Stmt::Decl {
                comment,
                name,
                value,
                ..
            } => self.decl(comment, name, value),
            Stmt::Expr { expr, .. } => {
                self.expr(expr);
            }
        }
    }

    fn check_redefined(&mut self, name: &Ident) -> bool {
        if let Some(prev) = self.scope.get(&name.name) {
            let note = if prev.span == Span::default() {
                format!(
                    "`{}` is predefined in a {} task",
                    name.name,
                    self.task_type.name()
                )
            } else {
                format!("first defined on line {}", prev.span.start.line)
            };
            self.err(
                Diagnostic::error(
                    codes::REDEFINED_VAR,
                    format!("var `{}` is already defined", name.name),
                    name.span,
                )
                .with_label("vars cannot be redefined")
                .with_note(note),
            );
            return true;
        }
        false
    }

    fn type_decl(&mut self, comment: &Option<Comment>, name: &Ident, ty: &Ident) {
        if self.check_redefined(name) {
            return;
        }
        let Some(t) = ValueType::from_decl(&ty.name) else {
            let names = [
                "int", "float", "bool", "string", "duration", "regex", "lambda", "list", "star",
            ];
            let mut d = Diagnostic::error(
                codes::BAD_VAR_TYPE,
                format!("unknown var type `{}`", ty.name),
                ty.span,
            )
            .with_note(
                "types are int, float, bool, string, duration, regex, lambda, list and star",
            );
            if let Some(s) = suggest(&ty.name, names) {
                d = d.with_help(format!("did you mean `{s}`?"));
            }
            self.err(d);
            self.scope.insert(
                name.name.clone(),
                Binding {
                    val: Val::Poison,
                    span: name.span,
                },
            );
            return;
        };
        let description = comment_text(comment);
        let val = match self.opts.vars.get(&name.name) {
            Some(v) => {
                if !var_type_matches(t, v) {
                    self.err(Diagnostic::error(
                        codes::VAR_TYPE_MISMATCH,
                        format!(
                            "invalid type supplied for var `{}`: got {}, expected {}",
                            name.name,
                            v.value_type(),
                            t
                        ),
                        name.span,
                    ));
                    Val::Poison
                } else {
                    Val::V(coerce_var(t, v.clone()))
                }
            }
            None if self.opts.template => Val::Placeholder(t),
            None => {
                self.err(
                    Diagnostic::error(
                        codes::MISSING_VAR,
                        format!("missing value for var \"{}\".", name.name),
                        name.span,
                    )
                    .with_label("declared without a value")
                    .with_help("give the var a value when the task is defined from this template"),
                );
                Val::Poison
            }
        };
        let value = match &val {
            Val::V(v) => Some(v.clone()),
            _ => None,
        };
        self.vars.push(VarInfo {
            name: name.name.clone(),
            ty: t,
            value,
            description,
        });
        self.scope.insert(
            name.name.clone(),
            Binding {
                val,
                span: name.span,
            },
        );
    }

    fn decl(&mut self, comment: &Option<Comment>, name: &Ident, value: &AstExpr) {
        let redefined = self.check_redefined(name);
        let mut val = self.expr(value);
        if redefined {
            return;
        }
        if let Some(given) = self.opts.vars.get(&name.name) {
            match &val {
                Val::V(v) if !matches!(v, Value::Node(_)) => {
                    let t = v.value_type();
                    if var_type_matches(t, given) {
                        val = Val::V(coerce_var(t, given.clone()));
                    } else {
                        self.err(Diagnostic::error(
                            codes::VAR_TYPE_MISMATCH,
                            format!(
                                "invalid type supplied for var `{}`: got {}, expected {}",
                                name.name,
                                given.value_type(),
                                t
                            ),
                            name.span,
                        ));
                    }
                }
                _ => {}
            }
        }
        if let Val::V(v) = &val
            && !matches!(v, Value::Node(_))
        {
            self.vars.push(VarInfo {
                name: name.name.clone(),
                ty: v.value_type(),
                value: Some(v.clone()),
                description: comment_text(comment),
            });
        }
        self.scope.insert(
            name.name.clone(),
            Binding {
                val,
                span: name.span,
            },
        );
    }

    /// Evaluates a non-lambda expression.
    fn expr(&mut self, e: &AstExpr) -> Val {
        match &e.kind {
            ExprKind::Int { value, .. } => Val::V(Value::Int(*value)),
            ExprKind::Float { value, .. } => Val::V(Value::Float(*value)),
            ExprKind::Duration { ns, .. } => Val::V(Value::Duration(*ns)),
            ExprKind::Str { value, .. } => Val::V(Value::String(value.clone())),
            ExprKind::Regex(r) => Val::V(Value::Regex(r.clone())),
            ExprKind::Bool(b) => Val::V(Value::Bool(*b)),
            ExprKind::Star => Val::V(Value::Star),
            ExprKind::Ref(r) => {
                self.err(
                    Diagnostic::error(
                        codes::ARG_TYPE,
                        format!("unexpected reference \"{r}\" outside of a lambda"),
                        e.span,
                    )
                    .with_label("double quotes make a field or tag reference")
                    .with_help(format!(
                        "did you use double quotes instead of single quotes? write '{r}' for a string"
                    )),
                );
                Val::Poison
            }
            ExprKind::Ident(name) => self.lookup(name, e.span),
            ExprKind::List(items) => {
                let mut out = Vec::new();
                let mut poisoned = false;
                for item in items {
                    match self.expr(item) {
                        Val::V(v @ (Value::String(_) | Value::Star)) => out.push(v),
                        Val::V(v) => {
                            self.err(Diagnostic::error(
                                codes::ARG_TYPE,
                                format!(
                                    "lists may only hold strings and `*`, got {}",
                                    v.value_type()
                                ),
                                item.span,
                            ));
                            poisoned = true;
                        }
                        Val::Placeholder(_) => poisoned = true,
                        _ => poisoned = true,
                    }
                }
                if poisoned {
                    Val::Poison
                } else {
                    Val::V(Value::List(out))
                }
            }
            ExprKind::Lambda(inner) => match self.lambda(inner) {
                Some(x) => Val::V(Value::Lambda(x)),
                None => Val::Poison,
            },
            ExprKind::Unary { op, expr } => {
                let v = self.expr(expr);
                match v {
                    Val::V(v) => match const_unary(*op, &v) {
                        Ok(v) => Val::V(v),
                        Err(m) => {
                            self.err(Diagnostic::error(codes::EVAL, m, e.span));
                            Val::Poison
                        }
                    },
                    Val::Placeholder(t) => Val::Placeholder(t),
                    _ => Val::Poison,
                }
            }
            ExprKind::Binary {
                op,
                op_span,
                left,
                right,
                ..
            } => {
                let l = self.expr(left);
                let r = self.expr(right);
                match (l, r) {
                    (Val::V(l), Val::V(r)) => match const_binary(*op, &l, &r) {
                        Ok(v) => Val::V(v),
                        Err(m) => {
                            self.err(
                                Diagnostic::error(codes::EVAL, m, *op_span)
                                    .with_note("outside a lambda, operators are evaluated when the script is defined"),
                            );
                            Val::Poison
                        }
                    },
                    (Val::Placeholder(t), _) | (_, Val::Placeholder(t)) => Val::Placeholder(t),
                    _ => Val::Poison,
                }
            }
            ExprKind::Call(call) => self.global_call(call),
            ExprKind::Chain {
                left,
                op,
                op_span,
                call,
            } => self.chain(left, *op, *op_span, call),
        }
    }

    fn lookup(&mut self, name: &str, span: Span) -> Val {
        if let Some(b) = self.scope.get(name) {
            return b.val.clone();
        }
        let other = match (name, self.task_type) {
            ("batch", TaskType::Stream) => Some("batch"),
            ("stream", TaskType::Batch) => Some("stream"),
            _ => None,
        };
        if let Some(o) = other {
            let t = self.task_type.name();
            self.err(
                Diagnostic::error(
                    codes::MIXED_SOURCES,
                    format!("`{o}` is not available in a {t} task"),
                    span,
                )
                .with_label(format!("this is a {t} task"))
                .with_help(format!(
                    "a task reads either `stream` or `batch`; start this chain with `{t}`"
                )),
            );
            return Val::Poison;
        }
        let candidates: Vec<&str> = self.scope.keys().map(String::as_str).collect();
        let mut d = Diagnostic::error(
            codes::UNDEFINED_VAR,
            format!("undefined var `{name}`"),
            span,
        )
        .with_label("not defined before this use");
        if let Some(s) = suggest(name, candidates) {
            d = d.with_help(format!("did you mean `{s}`?"));
        } else if registry::node(name).is_some() {
            d = d.with_help(format!("`{name}` is a node: chain it with `|{name}()`"));
        }
        self.err(d);
        Val::Poison
    }

    fn global_call(&mut self, call: &Call) -> Val {
        let name = call.name.name.as_str();
        if name == "time" {
            let mut durs = Vec::new();
            for a in &call.args {
                match self.expr(a) {
                    Val::V(Value::Duration(d)) => durs.push(d),
                    Val::V(v) => {
                        self.err(Diagnostic::error(
                            codes::ARG_TYPE,
                            format!("`time()` expects a duration, got {}", v.value_type()),
                            a.span,
                        ));
                        return Val::Poison;
                    }
                    _ => return Val::Poison,
                }
            }
            return match durs.as_slice() {
                [every] => Val::V(Value::TimeDimension {
                    every: *every,
                    offset: 0,
                }),
                [every, offset] => Val::V(Value::TimeDimension {
                    every: *every,
                    offset: *offset,
                }),
                _ => {
                    self.err(Diagnostic::error(
                        codes::ARG_COUNT,
                        format!("`time()` takes 1 or 2 durations, got {}", durs.len()),
                        call.span,
                    ));
                    Val::Poison
                }
            };
        }
        let mut d = Diagnostic::error(
            codes::UNKNOWN_FUNCTION,
            format!("unknown function `{name}()`"),
            call.name.span,
        );
        if registry::node(name).is_some() {
            d = d
                .with_label("nodes are created by chaining")
                .with_help(format!("chain it from a node: `|{name}()`"));
        } else if let Some(s) = suggest(name, ["time"]) {
            d = d.with_help(format!("did you mean `{s}()`?"));
        } else if crate::registry::function(name).is_some() {
            d = d.with_help(format!(
                "`{name}()` is a lambda function: use it inside `lambda: ...`"
            ));
        }
        self.err(d);
        Val::Poison
    }

    /// Evaluates call arguments, spreading a single list argument into varargs.
    fn args(&mut self, call: &Call, params: &Params) -> Option<(Vec<Value>, Vec<Span>, bool)> {
        let mut vals = Vec::new();
        let mut spans = Vec::new();
        let mut placeholder = false;
        let mut ok = true;
        for a in &call.args {
            match self.expr(a) {
                Val::V(v) => {
                    vals.push(v);
                    spans.push(a.span);
                }
                Val::Handler { node, .. } => {
                    vals.push(Value::Node(node));
                    spans.push(a.span);
                }
                Val::Placeholder(t) => {
                    placeholder = true;
                    vals.push(placeholder_value(t));
                    spans.push(a.span);
                }
                Val::Poison => ok = false,
            }
        }
        if !ok {
            return None;
        }
        // A single list argument is spread as varargs (Kapacitor: `groupBy(groups)`).
        if vals.len() == 1
            && params.variadic.is_some()
            && let Value::List(items) = &vals[0]
            && !params
                .at(0)
                .is_some_and(|p| p.kind.accepts(ValueType::List))
        {
            let s = spans[0];
            vals = items.clone();
            spans = vec![s; vals.len()];
        }
        Some((vals, spans, placeholder))
    }

    /// Checks argument count and types against `params`. `what` is e.g. "`|window()`".
    fn check_args(
        &mut self,
        what: &str,
        call: &Call,
        params: &Params,
        vals: &[Value],
        spans: &[Span],
    ) -> bool {
        let n = vals.len();
        let max = params.max();
        if n < params.min() || max.is_some_and(|m| n > m) {
            let expected = match max {
                Some(0) => "no arguments".to_string(),
                Some(m) if m == params.min() => plural(m, "argument"),
                Some(m) => format!("{} to {} arguments", params.min(), m),
                None => format!("at least {}", plural(params.min(), "argument")),
            };
            let span = if n > 0 && max.is_some_and(|m| n > m) {
                spans[max.unwrap_or(0).min(n - 1)].to(spans[n - 1])
            } else {
                call.span
            };
            self.err(
                Diagnostic::error(
                    codes::ARG_COUNT,
                    format!("{what} takes {expected}, got {n}"),
                    span,
                )
                .with_note(format!(
                    "signature: {}{}",
                    call.name.name,
                    params.signature()
                )),
            );
            return false;
        }
        let mut ok = true;
        for (i, v) in vals.iter().enumerate() {
            let Some(p) = params.at(i) else { continue };
            let t = v.value_type();
            if !p.kind.accepts(t) {
                let mut d = Diagnostic::error(
                    codes::ARG_TYPE,
                    format!(
                        "argument {} (`{}`) of {what} must be {}, got {}",
                        i + 1,
                        p.name,
                        article(p.kind.name()),
                        article(t.name())
                    ),
                    spans[i],
                )
                .with_note(format!(
                    "signature: {}{}",
                    call.name.name,
                    params.signature()
                ));
                if let (Value::String(s), registry::ArgKind::Duration) = (v, p.kind) {
                    d = d.with_help(format!("durations are written without quotes: `{s}`"));
                } else if let (Value::String(_), registry::ArgKind::Lambda) = (v, p.kind) {
                    d = d.with_help("write an expression as `lambda: \"field\" > 10`");
                } else if let (Value::Lambda(_), registry::ArgKind::String) = (v, p.kind) {
                    d = d.with_help(
                        "this argument is a name, not an expression: write it as a 'string'",
                    );
                }
                self.err(d);
                ok = false;
            }
        }
        ok
    }

    fn chain(&mut self, left: &AstExpr, op: ChainOp, op_span: Span, call: &Call) -> Val {
        let recv = self.expr(left);
        let (node, handler_props) = match recv {
            Val::V(Value::Node(id)) => (id, None),
            Val::Handler { node, props } => (node, Some(props)),
            Val::Poison => {
                // Still evaluate arguments to report problems inside them.
                for a in &call.args {
                    self.expr(a);
                }
                return Val::Poison;
            }
            other => {
                let t = other.ty().map(|t| t.name()).unwrap_or("value");
                self.err(
                    Diagnostic::error(
                        codes::NOT_A_NODE,
                        format!(
                            "cannot use `{}{}` on {}",
                            op.as_str(),
                            call.name.name,
                            article(t)
                        ),
                        op_span.to(call.name.span),
                    )
                    .with_label("only nodes have chaining methods and properties"),
                );
                return Val::Poison;
            }
        };
        if !call.has_parens {
            self.err(
                Diagnostic::error(
                    codes::UNEXPECTED_TOKEN,
                    format!("`{}{}` must be called", op.as_str(), call.name.name),
                    call.name.span,
                )
                .with_help(format!("write `{}{}()`", op.as_str(), call.name.name)),
            );
            return Val::Poison;
        }
        match op {
            ChainOp::Pipe => self.pipe(node, handler_props, op_span, call),
            ChainOp::Dot => self.property(node, handler_props, op_span, call),
            ChainOp::At => self.udf(node, op_span, call),
        }
    }

    fn pipe(
        &mut self,
        parent: usize,
        handler_props: Option<&'static [PropDef]>,
        op_span: Span,
        call: &Call,
    ) -> Val {
        let name = call.name.name.as_str();
        let pdef = self.nodes[parent].def;
        let def = match registry::node(name).filter(|d| d.wants != registry::Wants::Root) {
            Some(d) => d,
            None => {
                let is_prop = pdef.prop(name).is_some()
                    || handler_props.is_some_and(|hp| hp.iter().any(|p| p.name == name));
                let d = if is_prop {
                    Diagnostic::error(
                        codes::PIPE_FOR_PROPERTY,
                        format!(
                            "`{name}` is a property of `{}`, not a chaining method",
                            pdef.name
                        ),
                        op_span.to(call.name.span),
                    )
                    .with_label("`|` creates a new node")
                    .with_help(format!("use `.{name}()` to set the property"))
                } else {
                    let mut d = Diagnostic::error(
                        codes::UNKNOWN_NODE,
                        format!("unknown node `{name}`"),
                        call.name.span,
                    )
                    .with_label(format!("no chaining method `{name}` on `{}`", pdef.name));
                    if let Some(s) = suggest(name, registry::node_names()) {
                        d = d.with_help(format!("did you mean `{s}`?"));
                    }
                    d
                };
                self.err(d);
                for a in &call.args {
                    self.expr(a);
                }
                return Val::Poison;
            }
        };
        let Some((vals, spans, placeholder)) = self.args(call, &def.params) else {
            return Val::Poison;
        };
        if !self.check_args(&format!("`|{name}()`"), call, &def.params, &vals, &spans) {
            return Val::Poison;
        }
        let input = self.nodes[parent].output;
        // `stats` and `deadman` report on any node, even one without output.
        let reports = matches!(def.special, Special::Stats | Special::Deadman);
        if !reports && !self.edge_ok(parent, def, call.name.span) {
            return Val::Poison;
        }
        if !registry::can_chain(pdef, def) {
            let msg = match pdef.name {
                "stream" => "`stream` can only be followed by `|from()`".to_string(),
                "batch" => {
                    "`batch` can only be followed by `|query()` or `|queryFlux()`".to_string()
                }
                _ if def.name == "from" => {
                    format!("`from` can only follow `stream`, not `{}`", pdef.name)
                }
                _ => format!(
                    "`{}` can only follow `batch`, not `{}`",
                    def.name, pdef.name
                ),
            };
            self.err(
                Diagnostic::error(codes::EDGE_TYPE, msg, call.name.span)
                    .with_label(format!("`{name}` cannot be chained here")),
            );
            return Val::Poison;
        }
        match def.special {
            Special::Stats => return self.stats_node(parent, def, &vals, placeholder, call.span),
            Special::Deadman => return self.deadman(parent, &vals, call.span),
            _ => {}
        }
        let mut extra_parents = Vec::new();
        if def.special == Special::MultiParent {
            for (v, s) in vals.iter().zip(&spans) {
                if let Value::Node(id) = v {
                    if !self.edge_ok(*id, def, *s) {
                        return Val::Poison;
                    }
                    extra_parents.push(*id);
                }
            }
        }
        let spec = if placeholder {
            (def.build)(&vals).ok()
        } else {
            match (def.build)(&vals) {
                Ok(s) => Some(s),
                Err(m) => {
                    self.err(Diagnostic::error(
                        codes::INVALID_NODE,
                        format!("invalid `{name}()`: {m}"),
                        call.span,
                    ));
                    return Val::Poison;
                }
            }
        };
        let Some(spec) = spec else { return Val::Poison };
        let id = self.add_node(def, spec, def.output(input), placeholder, call.span);
        self.link(parent, id);
        for p in extra_parents {
            self.link(p, id);
        }
        Val::V(Value::Node(id))
    }

    fn edge_ok(&mut self, parent: usize, def: &'static NodeDef, span: Span) -> bool {
        let input = self.nodes[parent].output;
        if def.accepts(input) {
            return true;
        }
        let pname = self.nodes[parent].def.name;
        let want = match def.wants {
            registry::Wants::Stream => "a stream",
            registry::Wants::Batch => "batches",
            _ => "an input",
        };
        let got = match input {
            EdgeType::Stream => "a stream",
            EdgeType::Batch => "batches",
            EdgeType::None => "no output",
        };
        let mut d = Diagnostic::error(
            codes::EDGE_TYPE,
            format!(
                "`{}` cannot follow `{pname}`: it needs {want}, but `{pname}` provides {got}",
                def.name
            ),
            span,
        );
        d = match (def.name, input) {
            (_, EdgeType::None) => d.with_help(format!("`{pname}` is an output node; chain from the node before it")),
            ("from", EdgeType::Batch) | (_, EdgeType::Batch) if self.task_type == TaskType::Batch && def.name == "from" => {
                d.with_help("batch tasks read data with `batch|query('SELECT ...')`")
            }
            ("query", _) | ("queryFlux", _) => d.with_help("queries are only chained from `batch`"),
            (_, EdgeType::Batch) if def.name == "window" => {
                d.with_help("the data is already in batches here; add a `|trickle()` first to turn them into points")
            }
            (_, EdgeType::Batch) => d.with_help("convert batches back into points with `|trickle()` first"),
            (_, EdgeType::Stream) if def.wants == registry::Wants::Batch => {
                d.with_help("group points into batches with `|window()` first")
            }
            _ => d,
        };
        self.err(d);
        false
    }

    fn add_node(
        &mut self,
        def: &'static NodeDef,
        spec: NodeSpec,
        output: EdgeType,
        placeholder: bool,
        span: Span,
    ) -> usize {
        let id = self.nodes.len();
        self.nodes.push(BuildNode {
            def,
            spec,
            children: Vec::new(),
            parents: Vec::new(),
            output,
            placeholder,
            span,
        });
        id
    }

    fn link(&mut self, parent: usize, child: usize) {
        self.nodes[parent].children.push(child);
        self.nodes[child].parents.push(parent);
    }

    fn stats_node(
        &mut self,
        source: usize,
        def: &'static NodeDef,
        vals: &[Value],
        placeholder: bool,
        span: Span,
    ) -> Val {
        let spec = match (def.build)(vals) {
            Ok(s) => s,
            Err(m) => {
                self.err(Diagnostic::error(
                    codes::INVALID_NODE,
                    format!("invalid `stats()`: {m}"),
                    span,
                ));
                return Val::Poison;
            }
        };
        let id = self.add_node(def, spec, def.output(EdgeType::Stream), placeholder, span);
        set_stats_source(&mut self.nodes[id].spec, source);
        self.sources.push(id);
        self.stats.push((id, source));
        Val::V(Value::Node(id))
    }

    /// `|deadman(threshold, interval, lambdas...)` =
    /// `|stats(interval)|derivative('emitted').unit(interval).nonNegative()|alert()
    ///  .crit(lambda: "emitted" <= threshold [AND lambda...])` with the deadman id and
    /// message (Kapacitor's `[deadman]` defaults).
    fn deadman(&mut self, source: usize, vals: &[Value], span: Span) -> Val {
        let threshold = vals.first().and_then(Value::as_float).unwrap_or(0.0);
        let interval = vals.get(1).and_then(Value::as_duration).unwrap_or(0);
        let stats_def = registry::node("stats").expect("registry has stats");
        let Val::V(Value::Node(stats)) =
            self.stats_node(source, stats_def, &[Value::Duration(interval)], false, span)
        else {
            return Val::Poison;
        };
        let deriv_def = registry::node("derivative").expect("registry has derivative");
        let Ok(mut deriv) = (deriv_def.build)(&[Value::String("emitted".into())]) else {
            return Val::Poison;
        };
        apply_props(
            deriv_def,
            &mut deriv,
            [
                ("unit", vec![Value::Duration(interval)]),
                ("nonNegative", vec![]),
            ],
        );
        let d = self.add_node(
            deriv_def,
            deriv,
            deriv_def.output(EdgeType::Stream),
            false,
            span,
        );
        self.link(stats, d);
        let alert_def = registry::node("alert").expect("registry has alert");
        let Ok(mut alert) = (alert_def.build)(&[]) else {
            return Val::Poison;
        };
        let mut crit = Expr::Binary(
            BinaryOp::LessEq,
            Box::new(Expr::Ref("emitted".into())),
            Box::new(Expr::Float(threshold)),
        );
        for v in &vals[2..] {
            if let Value::Lambda(e) = v {
                crit = Expr::Binary(BinaryOp::And, Box::new(crit), Box::new(e.clone()));
            }
        }
        let node_name = format!("{}{}", self.nodes[source].def.desc, source);
        let opts: &CompileOptions = self.opts;
        let dm = &opts.deadman;
        let (id, message) = (
            if dm.id.is_empty() { DEADMAN_ID } else { &dm.id },
            if dm.message.is_empty() {
                DEADMAN_MESSAGE
            } else {
                &dm.message
            },
        );
        let id = id.replacen("NODE_NAME", &node_name, 1);
        let message = message.replacen("INTERVAL", &go_duration(interval), 1);
        apply_props(
            alert_def,
            &mut alert,
            [
                ("crit", vec![Value::Lambda(crit)]),
                ("id", vec![Value::String(id)]),
                ("message", vec![Value::String(message)]),
            ],
        );
        let a = self.add_node(
            alert_def,
            alert,
            alert_def.output(EdgeType::Stream),
            false,
            span,
        );
        self.link(d, a);
        Val::V(Value::Node(a))
    }

    fn property(
        &mut self,
        node: usize,
        handler_props: Option<&'static [PropDef]>,
        op_span: Span,
        call: &Call,
    ) -> Val {
        let name = call.name.name.as_str();
        let def = self.nodes[node].def;
        // After a bad property the chain goes on from the same node, so that later links
        // are still checked (and their problems reported too).
        let keep = match handler_props {
            Some(props) => Val::Handler { node, props },
            None => Val::V(Value::Node(node)),
        };
        let lookup = |props: &'static [PropDef]| -> Option<&'static PropDef> {
            props.iter().find(|p| p.name == name).or_else(|| {
                // Kapacitor resolves properties with the first letter case-insensitive.
                props
                    .iter()
                    .find(|p| first_upper(p.name) == first_upper(name))
            })
        };
        let (prop, from_handler) = match handler_props.and_then(lookup) {
            Some(p) => (p, true),
            None => match lookup(def.props) {
                Some(p) => (p, false),
                // Any other property of a UDF node is one of the UDF's own options.
                None if def.name == "@udf" => {
                    let mut vals = Vec::new();
                    let mut types = Vec::new();
                    for a in &call.args {
                        match self.expr(a) {
                            Val::V(v) => {
                                types.push(v.value_type());
                                vals.push(v);
                            }
                            Val::Placeholder(t) => {
                                self.nodes[node].placeholder = true;
                                types.push(t);
                                vals.push(placeholder_value(t));
                            }
                            _ => return keep,
                        }
                    }
                    if let Some(d) = self.udf_option_error(node, name, &types, op_span, call) {
                        self.err(d);
                        return keep;
                    }
                    if let Err(m) =
                        registry::apply_udf_option(&mut self.nodes[node].spec, name, &vals)
                    {
                        self.err(Diagnostic::error(codes::INVALID_NODE, m, call.span));
                        return keep;
                    }
                    return Val::V(Value::Node(node));
                }
                None => {
                    let d =
                        if registry::node(name).is_some_and(|d| d.wants != registry::Wants::Root) {
                            Diagnostic::error(
                                codes::DOT_FOR_CHAIN,
                                format!(
                                    "`{name}` is a chaining method, not a property of `{}`",
                                    def.name
                                ),
                                op_span.to(call.name.span),
                            )
                            .with_label("`.` sets a property")
                            .with_help(format!("use `|{name}()` to create a new node"))
                        } else {
                            let mut names: Vec<&str> = def.props.iter().map(|p| p.name).collect();
                            if let Some(hp) = handler_props {
                                names.extend(hp.iter().map(|p| p.name));
                            }
                            let mut d = Diagnostic::error(
                                codes::UNKNOWN_PROPERTY,
                                format!("unknown property `.{name}` on `{}`", def.name),
                                call.name.span,
                            )
                            .with_label(format!("not a property of `{}`", def.name));
                            if let Some(s) = suggest(name, names) {
                                d = d.with_help(format!("did you mean `{s}`?"));
                            }
                            d
                        };
                    self.err(d);
                    for a in &call.args {
                        self.expr(a);
                    }
                    return keep;
                }
            },
        };
        let Some((vals, spans, placeholder)) = self.args(call, &prop.params) else {
            return keep;
        };
        if !self.check_args(
            &format!("`.{}()`", prop.name),
            call,
            &prop.params,
            &vals,
            &spans,
        ) {
            return keep;
        }
        if placeholder {
            self.nodes[node].placeholder = true;
        } else if let Err(m) = (prop.apply)(&mut self.nodes[node].spec, &vals) {
            self.err(Diagnostic::error(
                codes::INVALID_NODE,
                format!("invalid `.{}()` on `{}`: {m}", prop.name, def.name),
                call.span,
            ));
            return keep;
        }
        match prop.opens {
            Some(props) => Val::Handler { node, props },
            None if from_handler => Val::Handler {
                node,
                props: handler_props.unwrap_or(&[]),
            },
            None => Val::V(Value::Node(node)),
        }
    }

    /// Why option `name` with values of `types` does not fit the UDF of node `node` (its
    /// agent's info), as Kapacitor checks UDF options.
    fn udf_option_error(
        &self,
        node: usize,
        name: &str,
        types: &[ValueType],
        op_span: Span,
        call: &Call,
    ) -> Option<Diagnostic> {
        let NodeSpec::Udf(u) = &self.nodes[node].spec else {
            return None;
        };
        let info = self.opts.udfs.get(&u.name)?;
        let span = op_span.to(call.name.span);
        let Some(want) = info.options.get(name) else {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_PROPERTY,
                format!("UDF `@{}()` has no option `{name}`", u.name),
                span,
            );
            if let Some(s) = suggest(name, info.options.keys().map(String::as_str)) {
                d = d.with_help(format!("did you mean `.{s}()`?"));
            } else if !info.options.is_empty() {
                let all: Vec<String> = info.options.keys().map(|k| format!("`.{k}()`")).collect();
                d = d.with_note(format!("its options: {}", all.join(", ")));
            }
            return Some(d);
        };
        if types.len() != want.len() {
            return Some(Diagnostic::error(
                codes::ARG_COUNT,
                format!(
                    "option `.{name}()` of UDF `@{}()` takes {} value(s), got {}",
                    u.name,
                    want.len(),
                    types.len()
                ),
                call.span,
            ));
        }
        let (i, (got, exp)) = types
            .iter()
            .zip(want)
            .enumerate()
            .find(|(_, (got, exp))| got != exp)?;
        let span = call.args.get(i).map_or(call.span, |a| a.span);
        Some(Diagnostic::error(
            codes::ARG_TYPE,
            format!(
                "option `.{name}()` of UDF `@{}()`: value {} must be {}, got {}",
                u.name,
                i + 1,
                exp.name(),
                got.name()
            ),
            span,
        ))
    }

    fn udf(&mut self, node: usize, op_span: Span, call: &Call) -> Val {
        let name = &call.name.name;
        let Some(info) = self.opts.udfs.get(name).cloned() else {
            let mut d = Diagnostic::error(
                codes::UNKNOWN_UDF,
                format!("unknown UDF `@{name}()`"),
                op_span.to(call.name.span),
            )
            .with_label("no UDF with this name is configured")
            .with_note(
                "UDFs are declared in the `[udf.functions]` section of the daemon's configuration",
            );
            if let Some(s) = suggest(name, self.opts.udfs.keys().map(String::as_str)) {
                d = d.with_help(format!("did you mean `@{s}()`?"));
            }
            self.err(d);
            return Val::Poison;
        };
        let input = self.nodes[node].output;
        if input != info.wants {
            let pname = self.nodes[node].def.name;
            let kind = |e: EdgeType| match e {
                EdgeType::Stream => "a stream",
                EdgeType::Batch => "batches",
                EdgeType::None => "no output",
            };
            self.err(
                Diagnostic::error(
                    codes::EDGE_TYPE,
                    format!(
                        "`@{name}()` cannot follow `{pname}`: the UDF wants {}, but `{pname}` provides {}",
                        kind(info.wants),
                        kind(input)
                    ),
                    op_span.to(call.name.span),
                )
                .with_label(format!("`@{name}()` cannot be chained here")),
            );
            return Val::Poison;
        }
        let Some(def) = registry::node("@udf") else {
            return Val::Poison;
        };
        let Some((mut vals, spans, placeholder)) = self.args(call, &Params::NONE) else {
            return Val::Poison;
        };
        if !self.check_args(&format!("`@{name}()`"), call, &Params::NONE, &vals, &spans) {
            return Val::Poison;
        }
        vals.insert(0, Value::String(name.clone()));
        let Ok(mut spec) = (def.build)(&vals) else {
            return Val::Poison;
        };
        if let NodeSpec::Udf(u) = &mut spec {
            u.provides = Some(info.provides);
        }
        let id = self.add_node(def, spec, info.provides, placeholder, call.span);
        self.link(node, id);
        Val::V(Value::Node(id))
    }

    /// Converts a lambda body to a plan expression, substituting vars, and checks it.
    fn lambda(&mut self, e: &AstExpr) -> Option<Expr> {
        let (x, _) = self.lambda_expr(e)?;
        Some(x)
    }

    fn lambda_expr(&mut self, e: &AstExpr) -> Option<(Expr, StaticType)> {
        use StaticType as S;
        Some(match &e.kind {
            ExprKind::Int { value, .. } => (Expr::Int(*value), S::Int),
            ExprKind::Float { value, .. } => (Expr::Float(*value), S::Float),
            ExprKind::Duration { ns, .. } => (Expr::Duration(*ns), S::Duration),
            ExprKind::Str { value, .. } => (Expr::Str(value.clone()), S::String),
            ExprKind::Regex(r) => (Expr::Regex(r.clone()), S::Regex),
            ExprKind::Bool(b) => (Expr::Bool(*b), S::Bool),
            ExprKind::Star => (Expr::Star, S::Unknown),
            ExprKind::Ref(r) => (
                Expr::Ref(r.clone()),
                if r == "time" { S::Time } else { S::Unknown },
            ),
            ExprKind::Ident(name) => match self.scope.get(name).map(|b| b.val.clone()) {
                Some(Val::V(v)) => match v {
                    Value::Int(i) => (Expr::Int(i), S::Int),
                    Value::Float(f) => (Expr::Float(f), S::Float),
                    Value::Bool(b) => (Expr::Bool(b), S::Bool),
                    Value::String(s) => (Expr::Str(s), S::String),
                    Value::Duration(d) => (Expr::Duration(d), S::Duration),
                    Value::Regex(r) => (Expr::Regex(r), S::Regex),
                    Value::Lambda(x) => {
                        let t = lambda::static_type(&x);
                        (x, t)
                    }
                    other => {
                        self.err(Diagnostic::error(
                            codes::LAMBDA_TYPE,
                            format!(
                                "var `{name}` holds {} and cannot be used in a lambda",
                                article(other.value_type().name())
                            ),
                            e.span,
                        ));
                        return None;
                    }
                },
                Some(Val::Placeholder(t)) => (Expr::Ident(name.clone()), S::from_value_type(t)),
                Some(_) => return None,
                None => {
                    self.lookup(name, e.span);
                    return None;
                }
            },
            ExprKind::List(_) | ExprKind::Chain { .. } | ExprKind::Lambda(_) => {
                self.err(Diagnostic::error(
                    codes::LAMBDA_TYPE,
                    "this expression is not allowed inside a lambda",
                    e.span,
                ));
                return None;
            }
            ExprKind::Unary { op, expr } => {
                let (x, t) = self.lambda_expr(expr)?;
                let rt = match lambda::unary_type(*op, t) {
                    Ok(rt) => rt,
                    Err(m) => {
                        self.err(Diagnostic::error(codes::LAMBDA_TYPE, m, e.span));
                        return None;
                    }
                };
                (Expr::Unary(*op, Box::new(x)), rt)
            }
            ExprKind::Binary {
                op,
                op_span,
                left,
                right,
                ..
            } => {
                let l = self.lambda_expr(left);
                let r = self.lambda_expr(right);
                let ((lx, lt), (rx, rt)) = (l?, r?);
                let t = match lambda::binary_type(*op, lt, rt) {
                    Ok(t) => t,
                    Err(lambda::TypeError { message, help }) => {
                        let mut d = Diagnostic::error(codes::LAMBDA_TYPE, message, *op_span);
                        if lt != StaticType::Unknown && rt != StaticType::Unknown {
                            d = d.with_label(format!(
                                "{} {} {}",
                                lt.name(),
                                op.as_str(),
                                rt.name()
                            ));
                        }
                        if let Some(h) = help {
                            d = d.with_help(h);
                        }
                        self.err(d);
                        return None;
                    }
                };
                (Expr::Binary(*op, Box::new(lx), Box::new(rx)), t)
            }
            ExprKind::Call(call) => {
                let mut args = Vec::new();
                let mut types = Vec::new();
                let mut ok = true;
                for a in &call.args {
                    match self.lambda_expr(a) {
                        Some((x, t)) => {
                            args.push(x);
                            types.push(t);
                        }
                        None => ok = false,
                    }
                }
                let name = &call.name.name;
                let t = match lambda::call_type(name, &types) {
                    Ok(t) => t,
                    Err(lambda::CallError::Unknown) => {
                        let mut d = Diagnostic::error(
                            codes::UNKNOWN_LAMBDA_FUNCTION,
                            format!("unknown lambda function `{name}()`"),
                            call.name.span,
                        );
                        if let Some(s) = suggest(name, registry::function_names()) {
                            d = d.with_help(format!("did you mean `{s}()`?"));
                        }
                        self.err(d);
                        return None;
                    }
                    Err(lambda::CallError::ArgCount(m)) => {
                        self.err(Diagnostic::error(codes::LAMBDA_ARG_COUNT, m, call.span));
                        return None;
                    }
                    Err(lambda::CallError::ArgType(i, m)) => {
                        let span = call.args.get(i).map(|a| a.span).unwrap_or(call.span);
                        self.err(Diagnostic::error(codes::LAMBDA_TYPE, m, span));
                        return None;
                    }
                };
                if !ok {
                    return None;
                }
                (Expr::Call(name.clone(), args), t)
            }
        })
    }

    fn finish(mut self, program: &Program) -> Result<Compiled, Vec<Diagnostic>> {
        // `[deadman] global`: a deadman on the source, after the script's own nodes (which
        // keep their names).
        if let Some((threshold, interval)) = self.opts.deadman.global
            && self.diags.is_empty()
            && !self.nodes[0].children.is_empty()
        {
            let span = program.stmts.first().map(Stmt::span).unwrap_or_default();
            let vals = [Value::Float(threshold), Value::Duration(interval)];
            self.deadman(0, &vals, span);
        }
        // Kapacitor: the source must have at least one child.
        if self.diags.is_empty() && self.nodes[0].children.is_empty() {
            let span = program.stmts.first().map(Stmt::span).unwrap_or_default();
            let root = self.task_type.name();
            self.err(
                Diagnostic::error(codes::EMPTY_PIPELINE, "task does nothing", span)
                    .with_label(format!("nothing is chained from `{root}`"))
                    .with_help(if self.task_type == TaskType::Stream {
                        "start the pipeline with `stream|from()...`"
                    } else {
                        "start the pipeline with `batch|query('SELECT ...')...`"
                    }),
            );
        }
        // A `batch` root must only have query nodes; a `batch` without queries does nothing
        // (covered above). Validate nodes.
        if self.diags.is_empty() {
            for i in 0..self.nodes.len() {
                let n = &self.nodes[i];
                if n.placeholder {
                    continue;
                }
                if let Err(m) = (n.def.validate)(&n.spec) {
                    let span = n.span;
                    let name = format!("{}{}", n.def.desc, i);
                    self.err(Diagnostic::error(
                        codes::INVALID_NODE,
                        format!("invalid `{}` node `{name}`: {m}", n.def.name),
                        span,
                    ));
                }
            }
        }
        // Kapacitor appends a noop child to a stats source that has no children, so that
        // the source's emitted count is accurate.
        for (_, src) in self.stats.clone() {
            if self.nodes[src].children.is_empty()
                && self.nodes[src].output != EdgeType::None
                && let Some(def) = registry::node("noop")
                && let Ok(spec) = (def.build)(&[])
            {
                let out = self.nodes[src].output;
                let id = self.add_node(def, spec, out, false, Span::default());
                self.link(src, id);
            }
        }
        if !self.diags.is_empty() {
            self.diags.sort_by_key(|d| d.span.start.offset);
            return Err(self.diags);
        }
        let nodes = self
            .nodes
            .iter()
            .enumerate()
            .map(|(id, n)| PlanNode {
                id,
                // A UDF node is named after its UDF (`movingAvg2`), as in Kapacitor.
                name: match &n.spec {
                    NodeSpec::Udf(u) => format!("{}{id}", u.name),
                    _ => format!("{}{}", n.def.desc, id),
                },
                spec: n.spec.clone(),
            })
            .collect();
        let mut edges = Vec::new();
        for (id, n) in self.nodes.iter().enumerate() {
            for &c in &n.children {
                let input = self.nodes[c]
                    .parents
                    .iter()
                    .position(|&p| p == id)
                    .unwrap_or(0);
                edges.push(Edge {
                    from: id,
                    to: c,
                    input,
                });
            }
        }
        let pipeline = Pipeline {
            task_type: self.task_type,
            nodes,
            edges,
            dbrps: self.dbrps,
        };
        Ok(Compiled {
            pipeline,
            vars: self.vars,
            warnings: self.warnings,
        })
    }
}

/// Applies properties the evaluator itself writes (deadman's expansion). Their arguments
/// are built here with the right types, so the registry accepts them.
fn apply_props<const N: usize>(def: &NodeDef, spec: &mut NodeSpec, props: [(&str, Vec<Value>); N]) {
    for (name, args) in props {
        if let Some(p) = def.prop(name) {
            let _ = (p.apply)(spec, &args);
        }
    }
}

/// Stats nodes carry the id of the node they report on.
fn set_stats_source(spec: &mut NodeSpec, source: usize) {
    if let NodeSpec::Stats(s) = spec {
        s.source = source;
    }
}

fn comment_text(c: &Option<Comment>) -> String {
    c.as_ref().map(|c| c.lines.join("\n")).unwrap_or_default()
}

fn first_upper(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn article(t: &str) -> String {
    let first = t.chars().next().unwrap_or('x');
    if t.starts_with('*') || t.starts_with("no ") {
        t.to_string()
    } else if "aeiou".contains(first) {
        format!("an {t}")
    } else {
        format!("a {t}")
    }
}

fn placeholder_value(t: ValueType) -> Value {
    match t {
        ValueType::Int => Value::Int(0),
        ValueType::Float => Value::Float(0.0),
        ValueType::Bool => Value::Bool(false),
        ValueType::String => Value::String(String::new()),
        ValueType::Duration => Value::Duration(0),
        ValueType::Regex => Value::Regex(String::new()),
        ValueType::Lambda => Value::Lambda(Expr::Bool(true)),
        ValueType::List => Value::List(Vec::new()),
        ValueType::Star => Value::Star,
        ValueType::TimeDimension => Value::TimeDimension {
            every: 0,
            offset: 0,
        },
        ValueType::Node => Value::Node(0),
    }
}

/// Whether a supplied var value fits a declared type (ints are accepted for floats, and
/// strings for lambdas and regexes, as Kapacitor's JSON vars allow).
fn var_type_matches(t: ValueType, v: &Value) -> bool {
    v.value_type() == t
        || matches!(
            (t, v),
            (ValueType::Float, Value::Int(_)) | (ValueType::Star, Value::String(_))
        )
}

fn coerce_var(t: ValueType, v: Value) -> Value {
    match (t, v) {
        (ValueType::Float, Value::Int(i)) => Value::Float(i as f64),
        (ValueType::Star, _) => Value::Star,
        (_, v) => v,
    }
}

/// Go's `time.Duration.String()`, used in deadman messages (`10s`, `1m0s`, `1.5s`).
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut s = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", trim_frac(u, 1_000))
    } else if u < 1_000_000_000 {
        format!("{}ms", trim_frac(u, 1_000_000))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u / 60_000_000_000) % 60;
        let sec = u % 60_000_000_000;
        let secs = trim_frac(sec, 1_000_000_000);
        if h > 0 {
            format!("{h}h{m}m{secs}s")
        } else if m > 0 {
            format!("{m}m{secs}s")
        } else {
            format!("{secs}s")
        }
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

fn trim_frac(v: u64, unit: u64) -> String {
    let whole = v / unit;
    let frac = v % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let width = unit.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

fn const_unary(op: UnaryOp, v: &Value) -> Result<Value, String> {
    Ok(match (op, v) {
        (UnaryOp::Neg, Value::Int(i)) => Value::Int(i.wrapping_neg()),
        (UnaryOp::Neg, Value::Float(f)) => Value::Float(-f),
        (UnaryOp::Neg, Value::Duration(d)) => Value::Duration(d.wrapping_neg()),
        (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
        (UnaryOp::Neg, v) => {
            return Err(format!(
                "invalid unary `-` on {}",
                article(v.value_type().name())
            ));
        }
        (UnaryOp::Not, v) => {
            return Err(format!(
                "invalid unary `!` on {}",
                article(v.value_type().name())
            ));
        }
    })
}

/// Evaluates an operator on constants outside of lambdas (`var x = 5m * 2`).
fn const_binary(op: BinaryOp, l: &Value, r: &Value) -> Result<Value, String> {
    use BinaryOp::*;
    use Value as V;
    let mismatch = || {
        format!(
            "invalid operands for `{}`: {} {} {}",
            op.as_str(),
            l.value_type(),
            op.as_str(),
            r.value_type()
        )
    };
    Ok(match (op, l, r) {
        (Add, V::Int(a), V::Int(b)) => V::Int(a.wrapping_add(*b)),
        (Sub, V::Int(a), V::Int(b)) => V::Int(a.wrapping_sub(*b)),
        (Mul, V::Int(a), V::Int(b)) => V::Int(a.wrapping_mul(*b)),
        (Div | Mod, V::Int(_), V::Int(0)) => return Err("integer division by zero".into()),
        (Div, V::Int(a), V::Int(b)) => V::Int(a.wrapping_div(*b)),
        (Mod, V::Int(a), V::Int(b)) => V::Int(a.wrapping_rem(*b)),
        (Add, V::Float(a), V::Float(b)) => V::Float(a + b),
        (Sub, V::Float(a), V::Float(b)) => V::Float(a - b),
        (Mul, V::Float(a), V::Float(b)) => V::Float(a * b),
        (Div, V::Float(a), V::Float(b)) => V::Float(a / b),
        (Add, V::String(a), V::String(b)) => V::String(format!("{a}{b}")),
        (Add, V::Duration(a), V::Duration(b)) => V::Duration(a.wrapping_add(*b)),
        (Sub, V::Duration(a), V::Duration(b)) => V::Duration(a.wrapping_sub(*b)),
        (Mul, V::Duration(a), V::Int(b)) | (Mul, V::Int(b), V::Duration(a)) => {
            V::Duration(a.wrapping_mul(*b))
        }
        (Mul, V::Duration(a), V::Float(b)) | (Mul, V::Float(b), V::Duration(a)) => {
            V::Duration((*a as f64 * b) as i64)
        }
        (Div, V::Duration(_), V::Int(0)) => return Err("duration division by zero".into()),
        (Div, V::Duration(a), V::Int(b)) => V::Duration(a / b),
        (Div, V::Duration(a), V::Float(b)) => V::Duration((*a as f64 / b) as i64),
        (Div, V::Duration(_), V::Duration(0)) => return Err("duration division by zero".into()),
        (Div, V::Duration(a), V::Duration(b)) => V::Int(a / b),
        (And, V::Bool(a), V::Bool(b)) => V::Bool(*a && *b),
        (Or, V::Bool(a), V::Bool(b)) => V::Bool(*a || *b),
        (Eq | NotEq | Less | LessEq | Greater | GreaterEq, a, b) => {
            let ord = match (a, b) {
                (V::Int(x), V::Int(y)) => x.partial_cmp(y),
                (V::Float(x), V::Float(y)) => x.partial_cmp(y),
                (V::Int(x), V::Float(y)) => (*x as f64).partial_cmp(y),
                (V::Float(x), V::Int(y)) => x.partial_cmp(&(*y as f64)),
                (V::String(x), V::String(y)) => x.partial_cmp(y),
                (V::Duration(x), V::Duration(y)) => x.partial_cmp(y),
                (V::Bool(x), V::Bool(y)) if matches!(op, Eq | NotEq) => x.partial_cmp(y),
                _ => return Err(mismatch()),
            };
            let Some(o) = ord else {
                return Ok(V::Bool(matches!(op, NotEq)));
            };
            V::Bool(match op {
                Eq => o.is_eq(),
                NotEq => o.is_ne(),
                Less => o.is_lt(),
                LessEq => o.is_le(),
                Greater => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        _ => {
            let mut m = mismatch();
            if matches!((l, r), (V::Int(_), V::Float(_)) | (V::Float(_), V::Int(_))) {
                m.push_str("; convert with float() or int() first");
            }
            return Err(m);
        }
    })
}

/// The shortest duration literal (`90s`), re-exported for messages.
pub fn duration_literal(ns: i64) -> String {
    format_duration(ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(10_000_000_000), "10s");
        assert_eq!(go_duration(60_000_000_000), "1m0s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
    }

    #[test]
    fn const_ops() {
        assert_eq!(
            const_binary(
                BinaryOp::Mul,
                &Value::Duration(300_000_000_000),
                &Value::Int(2)
            ),
            Ok(Value::Duration(600_000_000_000))
        );
        assert!(const_binary(BinaryOp::Add, &Value::Int(1), &Value::Float(2.0)).is_err());
        assert_eq!(
            const_binary(
                BinaryOp::Add,
                &Value::String("a".into()),
                &Value::String("b".into())
            ),
            Ok(Value::String("ab".into()))
        );
    }
}

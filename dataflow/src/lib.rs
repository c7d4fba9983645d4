//! `kap-dataflow`: the engine that runs [`kap_dsl::plan::Pipeline`]s on timely dataflow.
//!
//! The timely runtime and the node operators come with the engine issue. This crate already
//! holds what every node needs at run time:
//!
//! - [`lambda`]: lambda expressions compiled once per task and evaluated per point with
//!   Kapacitor's type rules, missing-value behaviour and per-group stateful functions;
//! - [`template`]: Go's `text/template` / `html/template` for alert ids, messages and details;
//! - [`gofmt`]: the Go formatting that shows in Kapacitor's output (JSON numbers and strings,
//!   RFC 3339 times, durations).
//!
//! # Examples
//!
//! ```
//! use kap_dataflow::lambda::{CompiledLambda, MapScope, Value};
//! use kap_dsl::expr::{BinaryOp, Expr};
//!
//! let expr = Expr::Binary(BinaryOp::Greater, Box::new(Expr::Ref("usage".into())), Box::new(Expr::Float(90.0)));
//! let lambda = CompiledLambda::compile(&expr).unwrap();
//! let mut state = lambda.new_state();
//! let point = MapScope::default().with_field("usage", Value::Float(95.5));
//! assert!(lambda.eval_bool(&mut state, &point).unwrap());
//! ```

// A library reports through `tracing` or its services: a print here is a leftover.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub use kap_dsl::plan;

pub mod alert;
pub mod exec;
pub mod gofmt;
pub mod lambda;
pub mod node;
pub mod ops;
pub mod point;
pub mod result;
pub mod runtime;
pub mod scope;
pub mod template;

//! `kap-dsl`: the TICKscript front end.
//!
//! It lexes and parses a script into a span-carrying [`ast`], checks every node, chain and
//! property against one [`registry`], evaluates vars, and lowers the result to a
//! [`plan::Pipeline`]: a closed enum of node specs plus edges that the engine runs. It
//! also formats scripts exactly as Kapacitor's `tickfmt` does and renders DOT.
//!
//! The crate does no I/O, depends on no other workspace crate, and never panics on input:
//! every problem becomes a [`diagnostic::Diagnostic`] with line, column and a caret.
//!
//! # Examples
//!
//! ```
//! use kap_dsl::{CompileOptions, compile_source, dot, format_source};
//!
//! let script = "stream|from().measurement('cpu')|window().period(10s).every(10s)|mean('usage')|httpOut('cpu')";
//! let plan = compile_source(script, &CompileOptions::default()).unwrap().pipeline;
//! assert_eq!(plan.nodes[2].name, "window2");
//! assert!(dot::render(&plan, "cpu").starts_with("digraph cpu {\nstream0 -> from1;"));
//! assert!(format_source(script).unwrap().starts_with("stream\n    |from()\n        .measurement('cpu')\n"));
//!
//! // A mistake is reported with its position and a suggestion.
//! let err = compile_source("stream|from().measurment('cpu')", &CompileOptions::default()).unwrap_err();
//! assert_eq!(err[0].help.as_deref(), Some("did you mean `measurement`?"));
//! ```

// A library reports through `tracing` or its services: a print here is a leftover.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod ast;
pub mod diagnostic;
pub mod dot;
pub mod eval;
pub mod expr;
pub mod format;
pub mod lambda;
pub mod lexer;
pub mod parser;
pub mod plan;
pub mod query;
pub mod registry;
pub mod schedule;
pub mod seed;
pub mod source;
pub mod span;
pub mod token;
pub mod value;
pub mod workflow;

pub use eval::{CompileOptions, Compiled, DeadmanOptions, UdfInfo, compile};
pub use parser::parse;
pub use source::{compile_source, format_source};

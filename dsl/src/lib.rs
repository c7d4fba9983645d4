//! `kap-dsl`: the TICKscript front end.
//!
//! It lexes and parses a script into a span-carrying [`ast`], checks every node, chain and
//! property against one [`registry`], evaluates vars, and lowers the result to a
//! [`plan::Pipeline`]: a closed enum of node specs plus edges that the engine runs. It
//! also formats scripts exactly as Kapacitor's `tickfmt` does and renders DOT.
//!
//! The crate does no I/O, depends on no other workspace crate, and never panics on input:
//! every problem becomes a [`diagnostic::Diagnostic`] with line, column and a caret.

pub mod ast;
pub mod diagnostic;
pub mod expr;
pub mod plan;
pub mod registry;
pub mod span;
pub mod value;

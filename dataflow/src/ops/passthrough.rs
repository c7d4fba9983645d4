//! Nodes that forward or drop messages unchanged.

use crate::node::{Ctx, Processor};
use crate::point::Msg;

/// Forwards every message (stream/batch roots, query nodes).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Forward;

impl Processor for Forward {
    fn process(&mut self, _: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        super::forward(msg, out);
    }
}

/// Drops every message (the hidden `noop` node).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Swallow;

impl Processor for Swallow {
    fn process(&mut self, _: usize, _: Msg, _: &mut Ctx<'_>, _: &mut Vec<Msg>) {}
}

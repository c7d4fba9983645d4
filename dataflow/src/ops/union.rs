//! `|union(nodes...)`: merges several parents, releasing messages in time order by
//! per-input low-water marks (`kapacitor-semantics.md` §6). Input 0 is the node `union`
//! was chained from. End of input drains every queue (input order, then queue order).

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{Msg, Sym};
use kap_dsl::plan::UnionSpec;
use std::collections::VecDeque;

/// The `union` processor.
#[derive(Debug)]
pub(crate) struct Union {
    rename: Option<Sym>,
    queues: Vec<VecDeque<Msg>>,
    low_marks: Vec<Option<i64>>,
}

/// Builds a `union` node.
pub(crate) fn build(spec: &UnionSpec, info: &BuildInfo) -> Result<Box<dyn Processor>, BuildError> {
    let n = info.inputs.max(spec.inputs).max(1);
    Ok(Box::new(Union {
        rename: (!spec.rename.is_empty()).then(|| Sym::new(&spec.rename)),
        queues: (0..n).map(|_| VecDeque::new()).collect(),
        low_marks: vec![None; n],
    }))
}

fn time_of(m: &Msg) -> i64 {
    match m {
        Msg::Point(p) => p.time,
        Msg::Batch(b) => b.tmax,
        Msg::Barrier(b) => b.time,
        Msg::DeleteGroup(_) => i64::MIN,
    }
}

impl Union {
    fn emit_ready(&mut self, out: &mut Vec<Msg>) {
        loop {
            let mut mark: Option<i64> = None;
            let mut valid = 0;
            for (i, q) in self.queues.iter().enumerate() {
                if let Some(front) = q.front() {
                    let t = time_of(front);
                    self.low_marks[i] = Some(t);
                }
                if let Some(sm) = self.low_marks[i] {
                    valid += 1;
                    if mark.is_none_or(|m| sm < m) {
                        mark = Some(sm);
                    }
                }
            }
            if valid != self.queues.len() {
                return;
            }
            let Some(mark) = mark else { return };
            let mut emitted = false;
            for q in &mut self.queues {
                while q.front().is_some_and(|m| time_of(m) <= mark) {
                    if let Some(m) = q.pop_front() {
                        out.push(m);
                        emitted = true;
                    }
                }
            }
            if !emitted {
                return;
            }
        }
    }
}

impl Processor for Union {
    fn process(&mut self, input: usize, msg: Msg, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        let src = input.min(self.queues.len() - 1);
        let msg = match msg {
            Msg::Point(mut p) => {
                if let Some(r) = self.rename {
                    p.name = r;
                    p.regroup();
                }
                Msg::Point(p)
            }
            Msg::Batch(mut b) => {
                if let Some(r) = self.rename {
                    b.name = r;
                    b.regroup();
                }
                Msg::Batch(b)
            }
            Msg::DeleteGroup(g) => {
                out.push(Msg::DeleteGroup(g));
                return;
            }
            other => other,
        };
        self.queues[src].push_back(msg);
        self.emit_ready(out);
    }

    fn done(&mut self, _: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        for q in &mut self.queues {
            out.extend(q.drain(..));
        }
    }
}

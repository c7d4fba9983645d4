//! DOT (GraphViz) rendering of a plan, byte for byte as Kapacitor prints it.
//!
//! Nodes are visited in Kapacitor's topological order (`pipeline.sort`): a depth-first
//! search from each source, sources taken in reverse, children in link order, appending a
//! node after its children; the list is then reversed. Sources come first; of two sibling
//! subtrees, the one linked last comes first. The conformance corpus confirms this order:
//! batch replays feed recording `i` to the `i`-th query node in this order.

use crate::plan::Pipeline;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Node ids in Kapacitor's walk order.
pub fn walk_order(p: &Pipeline) -> Vec<usize> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); p.nodes.len()];
    for e in &p.edges {
        if e.from < children.len() {
            children[e.from].push(e.to);
        }
    }
    let mut perm = vec![false; p.nodes.len()];
    let mut sorted = Vec::with_capacity(p.nodes.len());
    // Iterative DFS (a deep chain must not overflow the stack).
    for &src in p.sources().iter().rev() {
        if perm[src] {
            continue;
        }
        // (node, index of the next child to visit)
        let mut stack: Vec<(usize, usize)> = vec![(src, 0)];
        let mut on_stack = vec![false; p.nodes.len()];
        on_stack[src] = true;
        while let Some(&mut (n, ref mut k)) = stack.last_mut() {
            let cs = &children[n];
            if *k < cs.len() {
                let c = cs[*k];
                *k += 1;
                if !perm[c] && !on_stack[c] {
                    on_stack[c] = true;
                    stack.push((c, 0));
                }
            } else {
                perm[n] = true;
                on_stack[n] = false;
                sorted.push(n);
                stack.pop();
            }
        }
    }
    sorted.reverse();
    sorted
}

/// DOT of a task that is not executing:
///
/// ```text
/// digraph cpu {
/// stream0 -> from1;
/// from1 -> http_out2;
/// }
/// ```
/// (no newline after the closing brace).
pub fn render(p: &Pipeline, task_id: &str) -> String {
    let mut out = format!("digraph {task_id} {{\n");
    for id in walk_order(p) {
        let name = &p.nodes[id].name;
        for c in p.children(id) {
            let _ = writeln!(out, "{name} -> {};", p.nodes[c].name);
        }
    }
    out.push('}');
    out
}

/// Statistics of an executing task, for [`render_with_stats`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DotStats {
    /// Task throughput in points (stream) or batches (batch) per second.
    pub throughput: f64,
    /// Per node name: stat name → rendered value (e.g. `avg_exec_time_ns` → `0s`).
    pub nodes: BTreeMap<String, BTreeMap<String, String>>,
    /// Per `(parent, child)` node names: messages sent on that edge.
    pub edges: BTreeMap<(String, String), u64>,
}

/// How stats are shown (Kapacitor's `dot-view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DotView {
    /// `dot-view=attributes` (default).
    Attributes,
    /// `dot-view=labels`.
    Labels,
}

/// DOT of an executing task, with stats, as Kapacitor prints it.
pub fn render_with_stats(p: &Pipeline, task_id: &str, stats: &DotStats, view: DotView) -> String {
    let unit = match p.task_type {
        crate::plan::TaskType::Stream => "points",
        crate::plan::TaskType::Batch => "batches",
    };
    let mut out = format!("digraph {task_id} {{\n");
    match view {
        DotView::Attributes => {
            let _ = writeln!(
                out,
                "graph [throughput=\"{:.2} {unit}/s\"];",
                stats.throughput
            );
        }
        DotView::Labels => {
            let _ = writeln!(
                out,
                "graph [label=\"Throughput: {:.2} {unit}/s\" forcelabels=true pad=\"0.8,0.5\"];",
                stats.throughput
            );
        }
    }
    let empty = BTreeMap::new();
    for id in walk_order(p) {
        let node = &p.nodes[id];
        // The batch source prints nothing.
        if matches!(node.spec, crate::plan::NodeSpec::Batch) {
            continue;
        }
        let name = &node.name;
        let ns = stats.nodes.get(name).unwrap_or(&empty);
        match view {
            DotView::Attributes => {
                let _ = write!(out, "\n{name} [");
                for (k, v) in ns {
                    let _ = write!(out, "{k}=\"{v}\" ");
                }
                out.push_str("];\n");
            }
            DotView::Labels => {
                let label: Vec<String> = ns.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let _ = writeln!(out, "\n{name} [xlabel=\"{}\"];", label.join("\\r"));
            }
        }
        for c in p.children(id) {
            let cname = &p.nodes[c].name;
            let n = stats
                .edges
                .get(&(name.clone(), cname.clone()))
                .copied()
                .unwrap_or(0);
            match view {
                DotView::Attributes => {
                    let _ = writeln!(out, "{name} -> {cname} [processed=\"{n}\"];");
                }
                DotView::Labels => {
                    let _ = writeln!(out, "{name} -> {cname} [label=\"processed={n}\"];");
                }
            }
        }
    }
    out.push('}');
    out
}

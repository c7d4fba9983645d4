//! Markdown reference of every node, property and lambda function, generated from the
//! registry (`dsl/NODES.md`).

use super::{NODES, NodeDef, PropDef, Provides, Wants, functions};
use std::fmt::Write as _;

fn wants(w: Wants) -> &'static str {
    match w {
        Wants::Root => "root",
        Wants::Stream => "stream",
        Wants::Batch => "batch",
        Wants::Any => "stream or batch",
    }
}

fn provides(p: Provides) -> &'static str {
    match p {
        Provides::Stream => "stream",
        Provides::Batch => "batch",
        Provides::Same => "same as input",
        Provides::None => "nothing",
    }
}

fn props(out: &mut String, props: &[PropDef], indent: &str) {
    for p in props {
        let _ = writeln!(
            out,
            "{indent}- `.{}{}`: {}",
            p.name,
            p.params.signature(),
            p.doc
        );
        if let Some(hp) = p.opens {
            props_nested(out, hp, indent);
        }
    }
}

fn props_nested(out: &mut String, hp: &[PropDef], indent: &str) {
    let inner = format!("{indent}  ");
    for p in hp {
        let _ = writeln!(
            out,
            "{inner}- `.{}{}`: {}",
            p.name,
            p.params.signature(),
            p.doc
        );
    }
}

fn node(out: &mut String, n: &NodeDef) {
    let call = match n.wants {
        Wants::Root => n.name.to_string(),
        _ if n.name.starts_with('@') => "@name()".to_string(),
        _ => format!("|{}{}", n.name, n.params.signature()),
    };
    let _ = writeln!(out, "### `{}`\n", n.name);
    let _ = writeln!(
        out,
        "`{call}`: {} → {}; description `{}`.\n",
        wants(n.wants),
        provides(n.provides),
        n.desc
    );
    let _ = writeln!(out, "{}\n", n.doc);
    if !n.props.is_empty() {
        out.push_str("Properties:\n\n");
        props(out, n.props, "");
        out.push('\n');
    }
}

/// Renders the registry as Markdown: every node (edge types, chaining signature, doc,
/// properties with their signatures) and every lambda function.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# TICKscript nodes and lambda functions\n\n\
         Generated from the `kap-dsl` registry by `registry::render_markdown()`; do not edit.\n\
         Regenerate with `UPDATE_DOCS=1 cargo test -p kap-dsl --test registry`.\n\n\
         ## Nodes\n\n",
    );
    for n in NODES {
        node(&mut out, n);
    }
    out.push_str("## Lambda functions\n\n");
    functions::render_markdown(&mut out);
    out
}

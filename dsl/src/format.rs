//! The canonical printer: Kapacitor's `tickfmt` (`tick/fmt.go`, `tick/ast/node.go`), byte
//! for byte.
//!
//! Rules (see `kapacitor-semantics.md` §12):
//! * every statement is followed by `\n`, with exactly one empty line between statements;
//! * a chain prints its base, then each link on its own line: `|` and `@` links 4 spaces
//!   deeper than the chain's base, `.` links 8 spaces deeper; a link's comment is printed on
//!   the lines above it at the link's indentation;
//! * a multi-line call prints each argument on its own line one step (4 spaces) deeper than
//!   the call, `,` at line ends and `)` on its own line at the call's indentation;
//! * a multi-line binary expression breaks the line after the operator, the right operand
//!   continuing at the current indentation; parentheses are kept where written (one step
//!   deeper inside);
//! * literals: strings `'...'` with `'` escaped (triple-quoted ones raw), references `"..."`
//!   with `"` escaped, regexes `/.../` with `/` escaped, ints in their base (a leading `0`
//!   keeps octal), floats as the shortest decimal with `.0` added when there is no `.`,
//!   durations as written, `TRUE`/`FALSE`, lists `[a, b]`, `lambda: expr`;
//! * comments print as `// text` (just `//` when empty), one per line at the current
//!   indentation; comments after the last statement follow it after an empty line.

use crate::ast::{Call, ChainOp, Comment, Expr, ExprKind, Program, Stmt};
use crate::diagnostic::Diagnostic;
use crate::expr::{UnaryOp, format_float};

const STEP: usize = 4;

/// Formats a parsed program as `tickfmt` does.
pub fn format_program(p: &Program) -> String {
    let mut f = Fmt { out: String::new() };
    for (i, s) in p.stmts.iter().enumerate() {
        if i > 0 {
            f.out.push('\n');
        }
        f.stmt(s);
        f.out.push('\n');
    }
    if let Some(c) = &p.trailing_comment {
        if !p.stmts.is_empty() {
            f.out.push('\n');
        }
        f.comment(c, 0, true);
    }
    f.out
}

/// Parses and formats a script. Fails with every error diagnostic when the script does not
/// parse.
pub fn format_script(src: &str) -> Result<String, Vec<Diagnostic>> {
    let (p, diags) = crate::parser::parse(src);
    if diags.iter().any(Diagnostic::is_error) {
        return Err(diags);
    }
    Ok(format_program(&p))
}

struct Fmt {
    out: String,
}

impl Fmt {
    fn indent(&mut self, indent: usize, on_new_line: bool) {
        if on_new_line {
            self.out.extend(std::iter::repeat_n(' ', indent));
        }
    }

    /// Prints the comment lines, each ending in a newline.
    fn comment(&mut self, c: &Comment, indent: usize, mut on_new_line: bool) {
        for line in &c.lines {
            self.indent(indent, on_new_line);
            self.out.push_str("//");
            if !line.is_empty() {
                self.out.push(' ');
                self.out.push_str(line);
            }
            self.out.push('\n');
            on_new_line = true;
        }
    }

    fn stmt(&mut self, s: &Stmt) {
        match s {
            Stmt::Decl {
                comment,
                name,
                value,
                ..
            } => {
                if let Some(c) = comment {
                    self.comment(c, 0, true);
                }
                self.out.push_str("var ");
                self.out.push_str(&name.name);
                self.out.push_str(" = ");
                self.expr(value, 0, false);
            }
            Stmt::TypeDecl {
                comment, name, ty, ..
            } => {
                if let Some(c) = comment {
                    self.comment(c, 0, true);
                }
                self.out.push_str("var ");
                self.out.push_str(&name.name);
                self.out.push(' ');
                self.out.push_str(&ty.name);
            }
            Stmt::Dbrp {
                comment, db, rp, ..
            } => {
                if let Some(c) = comment {
                    self.comment(c, 0, true);
                }
                self.out.push_str("dbrp ");
                self.reference(db);
                self.out.push('.');
                self.reference(rp);
            }
            Stmt::Expr { comment, expr } => {
                if let Some(c) = comment {
                    self.comment(c, 0, true);
                }
                self.expr(expr, 0, true);
            }
        }
    }

    fn reference(&mut self, r: &str) {
        self.out.push('"');
        self.out.push_str(&r.replace('"', "\\\""));
        self.out.push('"');
    }

    fn expr(&mut self, e: &Expr, indent: usize, mut on_new_line: bool) {
        if let ExprKind::Chain { .. } = e.kind
            && !e.parens
        {
            self.chain(e, indent, on_new_line);
            return;
        }
        if let Some(c) = &e.comment {
            self.comment(c, indent, on_new_line);
            on_new_line = true;
        }
        if e.parens {
            self.indent(indent, on_new_line);
            self.out.push('(');
            if let ExprKind::Chain { .. } = e.kind {
                self.chain(e, indent + STEP, false);
            } else {
                self.kind(&e.kind, indent + STEP, false);
            }
            self.out.push(')');
        } else {
            self.kind(&e.kind, indent, on_new_line);
        }
    }

    /// Prints a chain without recursion on its (left-nested) links.
    fn chain(&mut self, e: &Expr, indent: usize, on_new_line: bool) {
        let mut links: Vec<(&ChainOp, &Call, Option<&Comment>)> = Vec::new();
        let mut base = e;
        let mut first = true;
        while let ExprKind::Chain { left, op, call, .. } = &base.kind {
            if base.parens && !first {
                break;
            }
            first = false;
            links.push((op, call, base.comment.as_ref()));
            base = left;
        }
        self.expr(base, indent, on_new_line);
        for (op, call, comment) in links.into_iter().rev() {
            self.out.push('\n');
            let link_indent = match op {
                ChainOp::Dot => indent + 2 * STEP,
                ChainOp::Pipe | ChainOp::At => indent + STEP,
            };
            if let Some(c) = comment {
                self.comment(c, link_indent, true);
            }
            self.indent(link_indent, true);
            self.out.push_str(op.as_str());
            self.call(call, link_indent);
        }
    }

    /// Prints `name(args)` at the current position; `indent` is the indentation of the
    /// line the call starts on.
    fn call(&mut self, c: &Call, indent: usize) {
        self.out.push_str(&c.name.name);
        if !c.has_parens {
            return;
        }
        self.out.push('(');
        for (i, arg) in c.args.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
                self.out.push(if c.multiline { '\n' } else { ' ' });
            } else if c.multiline {
                self.out.push('\n');
            }
            self.expr(arg, indent + STEP, c.multiline);
        }
        if c.multiline && !c.args.is_empty() {
            self.out.push('\n');
            self.indent(indent, true);
        }
        self.out.push(')');
    }

    fn kind(&mut self, k: &ExprKind, indent: usize, on_new_line: bool) {
        if let ExprKind::Binary {
            op,
            left,
            right,
            multiline,
            ..
        } = k
        {
            self.expr(left, indent, on_new_line);
            self.out.push(' ');
            self.out.push_str(op.as_str());
            self.out.push(if *multiline { '\n' } else { ' ' });
            self.expr(right, indent, *multiline);
            return;
        }
        self.indent(indent, on_new_line);
        match k {
            ExprKind::Ident(name) => self.out.push_str(name),
            ExprKind::Int { value, literal } => {
                if literal.len() > 1 && literal.starts_with('0') {
                    self.out.push_str(&format!("0{value:o}"));
                } else {
                    self.out.push_str(&value.to_string());
                }
            }
            ExprKind::Float { value, .. } => self.out.push_str(&format_float(*value)),
            ExprKind::Duration { literal, .. } => self.out.push_str(literal),
            ExprKind::Str {
                value,
                triple: true,
            } => {
                self.out.push_str("'''");
                self.out.push_str(value);
                self.out.push_str("'''");
            }
            ExprKind::Str {
                value,
                triple: false,
            } => {
                self.out.push('\'');
                self.out.push_str(&value.replace('\'', "\\'"));
                self.out.push('\'');
            }
            ExprKind::Ref(r) => self.reference(r),
            ExprKind::Regex(r) => {
                self.out.push('/');
                self.out.push_str(&r.replace('/', "\\/"));
                self.out.push('/');
            }
            ExprKind::Bool(true) => self.out.push_str("TRUE"),
            ExprKind::Bool(false) => self.out.push_str("FALSE"),
            ExprKind::Star => self.out.push('*'),
            ExprKind::List(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.expr(item, indent, false);
                }
                self.out.push(']');
            }
            ExprKind::Lambda(body) => {
                self.out.push_str("lambda: ");
                self.expr(body, indent, false);
            }
            ExprKind::Unary { op, expr } => {
                self.out.push_str(match op {
                    UnaryOp::Neg => "-",
                    UnaryOp::Not => "!",
                });
                self.expr(expr, indent, false);
            }
            ExprKind::Call(c) => self.call(c, indent),
            ExprKind::Chain { .. } | ExprKind::Binary { .. } => {}
        }
    }
}

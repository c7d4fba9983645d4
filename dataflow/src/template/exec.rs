//! Executes a parsed template against [`Data`].

use std::borrow::Cow;

use super::data::Data;
use super::funcs::{self, html_escape_into};
use super::parse::{Cmd, Node, Operand, Pipe};
use super::{Mode, Template, TemplateError};

/// Control flow out of a list of nodes.
enum Flow {
    Normal,
    Break,
    Continue,
}

type V<'a> = Cow<'a, Data>;

pub(crate) struct Exec<'a, 't> {
    t: &'t Template,
    vars: Vec<(String, V<'a>)>,
    pub(crate) out: String,
}

/// An execution error before its position is attached.
struct Fail {
    pos: usize,
    ctx: String,
    msg: String,
}

type R<T> = Result<T, Fail>;

impl<'a, 't> Exec<'a, 't> {
    pub(crate) fn run(t: &'t Template, data: &'a Data) -> Result<String, TemplateError> {
        let mut e = Exec {
            t,
            vars: vec![("$".to_owned(), Cow::Borrowed(data))],
            out: String::new(),
        };
        let dot = Cow::Borrowed(data);
        match e.walk(&t.root, &dot) {
            Ok(_) => Ok(e.out),
            Err(f) => Err(TemplateError::exec(&t.name, &t.text, f.pos, &f.ctx, f.msg)),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &V<'a>) -> R<Flow> {
        for node in nodes {
            match node {
                Node::Text(s) => self.out.push_str(s),
                Node::Action(pipe) => {
                    let v = self.pipe(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        self.print(&v);
                    }
                }
                Node::IfWith {
                    is_with,
                    pipe,
                    body,
                    els,
                } => {
                    let mark = self.vars.len();
                    let v = self.pipe(pipe, dot)?;
                    let flow = if v.is_true() {
                        if *is_with {
                            self.walk(body, &v)?
                        } else {
                            self.walk(body, dot)?
                        }
                    } else {
                        self.walk(els, dot)?
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Normal) {
                        return Ok(flow);
                    }
                }
                Node::Range { pipe, body, els } => {
                    let mark = self.vars.len();
                    let v = self.range_pipe(pipe, dot)?;
                    let items = self.range_items(v, pipe)?;
                    if items.is_empty() {
                        let flow = self.walk(els, dot)?;
                        self.vars.truncate(mark);
                        if !matches!(flow, Flow::Normal) {
                            return Ok(flow);
                        }
                        continue;
                    }
                    for (k, v) in items {
                        let inner = self.vars.len();
                        match pipe.decl.as_slice() {
                            [one] => self.set_var(one, v.clone(), pipe.assign),
                            [a, b] => {
                                self.set_var(a, Cow::Owned(k), pipe.assign);
                                self.set_var(b, v.clone(), pipe.assign);
                            }
                            _ => {}
                        }
                        let flow = self.walk(body, &v)?;
                        self.vars.truncate(inner);
                        if matches!(flow, Flow::Break) {
                            break;
                        }
                    }
                    self.vars.truncate(mark);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Normal)
    }

    /// Evaluates a range pipeline without its declaration (range binds per element).
    fn range_pipe(&mut self, pipe: &Pipe, dot: &V<'a>) -> R<V<'a>> {
        let mut final_: Option<V<'a>> = None;
        for cmd in &pipe.cmds {
            final_ = Some(self.cmd(cmd, dot, final_)?);
        }
        Ok(final_.unwrap_or(Cow::Owned(Data::Nil)))
    }

    fn range_items(&self, v: V<'a>, pipe: &Pipe) -> R<Vec<(Data, V<'a>)>> {
        let fail = |msg: String| Fail {
            pos: pipe.cmds.first().map_or(0, |c| c.pos),
            ctx: pipe.cmds.first().map(|c| c.ctx.clone()).unwrap_or_default(),
            msg,
        };
        Ok(match v {
            Cow::Borrowed(d) => match d {
                Data::List(l) => l
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (Data::Int(i as i64), Cow::Borrowed(x)))
                    .collect(),
                Data::Map(m) => m
                    .iter()
                    .map(|(k, x)| (Data::String(k.clone()), Cow::Borrowed(x)))
                    .collect(),
                other => return self.range_owned(other.clone(), fail),
            },
            Cow::Owned(d) => return self.range_owned(d, fail),
        })
    }

    fn range_owned(&self, d: Data, fail: impl Fn(String) -> Fail) -> R<Vec<(Data, V<'a>)>> {
        Ok(match d {
            Data::List(l) => l
                .into_iter()
                .enumerate()
                .map(|(i, x)| (Data::Int(i as i64), Cow::Owned(x)))
                .collect(),
            Data::Map(m) => m
                .into_iter()
                .map(|(k, x)| (Data::String(k), Cow::Owned(x)))
                .collect(),
            Data::StringMap(m) => m
                .into_iter()
                .map(|(k, x)| (Data::String(k), Cow::Owned(Data::String(x))))
                .collect(),
            Data::Int(n) => (0..n.max(0))
                .map(|i| (Data::Int(i), Cow::Owned(Data::Int(i))))
                .collect(),
            Data::Nil => Vec::new(),
            other => {
                return Err(fail(format!(
                    "range can't iterate over {}",
                    other.to_go_string()
                )));
            }
        })
    }

    fn set_var(&mut self, name: &str, v: V<'a>, assign: bool) {
        if assign {
            if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = v;
            }
        } else {
            self.vars.push((name.to_owned(), v));
        }
    }

    fn print(&mut self, v: &Data) {
        match self.t.mode {
            Mode::Text => match v {
                Data::Nil => self.out.push_str("<no value>"),
                Data::String(s) => self.out.push_str(s),
                other => other.write_go(&mut self.out),
            },
            Mode::Html => match v {
                Data::Nil => {}
                Data::String(s) => html_escape_into(&mut self.out, s, true),
                other => html_escape_into(&mut self.out, &other.to_go_string(), true),
            },
        }
    }

    fn pipe(&mut self, pipe: &Pipe, dot: &V<'a>) -> R<V<'a>> {
        let v = self.range_pipe(pipe, dot)?;
        for name in &pipe.decl {
            self.set_var(name, v.clone(), pipe.assign);
        }
        Ok(v)
    }

    fn cmd(&mut self, cmd: &Cmd, dot: &V<'a>, final_: Option<V<'a>>) -> R<V<'a>> {
        let fail = |msg: String| Fail {
            pos: cmd.pos,
            ctx: cmd.ctx.clone(),
            msg,
        };
        match &cmd.args[0] {
            Operand::Ident(name) => self.call(cmd, name, &cmd.args[1..], dot, final_),
            Operand::Nil => Err(fail("nil is not a command".into())),
            op => {
                if cmd.args.len() > 1 || final_.is_some() {
                    return Err(fail(format!(
                        "can't give argument to non-function {}",
                        cmd.ctx
                    )));
                }
                self.operand(cmd, op, dot)
            }
        }
    }

    fn call(
        &mut self,
        cmd: &Cmd,
        name: &str,
        args: &[Operand],
        dot: &V<'a>,
        final_: Option<V<'a>>,
    ) -> R<V<'a>> {
        let fail = |msg: String| Fail {
            pos: cmd.pos,
            ctx: cmd.ctx.clone(),
            msg: format!("error calling {name}: {msg}"),
        };
        let custom = self.t.funcs.get(name).cloned();
        if custom.is_none() && (name == "and" || name == "or") {
            // Short-circuit: the first falsy (and) / truthy (or) argument, else the last.
            let total = args.len() + usize::from(final_.is_some());
            if total == 0 {
                return Err(Fail {
                    pos: cmd.pos,
                    ctx: cmd.ctx.clone(),
                    msg: format!("wrong number of args for {name}: want at least 1 got 0"),
                });
            }
            let mut last = Cow::Owned(Data::Nil);
            for op in args {
                let v = self.operand(cmd, op, dot)?;
                if v.is_true() != (name == "and") {
                    return Ok(v);
                }
                last = v;
            }
            if let Some(f) = final_ {
                return Ok(f);
            }
            return Ok(last);
        }
        let mut vals: Vec<V<'a>> = Vec::with_capacity(args.len() + 1);
        for op in args {
            vals.push(self.operand(cmd, op, dot)?);
        }
        if let Some(f) = final_ {
            vals.push(f);
        }
        let refs: Vec<&Data> = vals.iter().map(|v| v.as_ref()).collect();
        let result = match custom {
            Some(f) => f(&refs),
            None => funcs::call_builtin(name, &refs),
        };
        result.map(Cow::Owned).map_err(fail)
    }

    fn operand(&mut self, cmd: &Cmd, op: &Operand, dot: &V<'a>) -> R<V<'a>> {
        let fail = |msg: String| Fail {
            pos: cmd.pos,
            ctx: cmd.ctx.clone(),
            msg,
        };
        let (base, chain): (V<'a>, &[String]) = match op {
            Operand::Ident(name) => return self.call(cmd, name, &[], dot, None),
            Operand::Dot => return Ok(dot.clone()),
            Operand::Nil => return Ok(Cow::Owned(Data::Nil)),
            Operand::Bool(b) => return Ok(Cow::Owned(Data::Bool(*b))),
            Operand::Str(s) => return Ok(Cow::Owned(Data::String(s.clone()))),
            Operand::Int(i) => return Ok(Cow::Owned(Data::Int(*i))),
            Operand::Float(f) => return Ok(Cow::Owned(Data::Float(*f))),
            Operand::Field(path) => (dot.clone(), path),
            Operand::Var(name, path) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| fail(format!("undefined variable: {name}")))?;
                (v, path)
            }
            Operand::Pipe(p, path) => (self.pipe(p, dot)?, path),
        };
        let mut cur = base;
        for name in chain {
            cur = field(cur, name).map_err(&fail)?;
        }
        Ok(cur)
    }
}

/// `.name` on a value: struct field (missing = error) or map key (missing = nil / "").
fn field<'a>(v: V<'a>, name: &str) -> Result<V<'a>, String> {
    match v {
        Cow::Borrowed(d) => field_ref(d, name),
        Cow::Owned(d) => field_ref(&d, name).map(|c| Cow::Owned(c.into_owned())),
    }
}

fn field_ref<'b>(d: &'b Data, name: &str) -> Result<V<'b>, String> {
    match d {
        Data::Struct(fields) => fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| Cow::Borrowed(v))
            .ok_or_else(|| format!("can't evaluate field {name} in type struct")),
        Data::Map(m) => Ok(m.get(name).map_or(Cow::Owned(Data::Nil), Cow::Borrowed)),
        Data::StringMap(m) => Ok(Cow::Owned(Data::String(
            m.get(name).cloned().unwrap_or_default(),
        ))),
        Data::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
        other => Err(format!(
            "can't evaluate field {name} in type {}",
            other.go_type()
        )),
    }
}

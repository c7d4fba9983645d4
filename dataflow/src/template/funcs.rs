//! Template functions: Go's built-ins and a registry for caller-supplied ones.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::data::Data;
use super::printf;

/// Signature of a registered template function: the evaluated arguments (a piped value comes
/// last) in, a value or an error text out.
pub type FuncImpl = dyn Fn(&[&Data]) -> Result<Data, String> + Send + Sync;

/// Names of Go's predefined template functions (`and`/`or` short-circuit and are evaluated by
/// the executor itself).
pub(crate) const BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html", "js",
    "urlquery", "eq", "ne", "lt", "le", "gt", "ge",
];

/// Caller-registered template functions, looked up by name at parse time (an unknown name
/// is a parse error, as in Go) and called at execution time. A registered name shadows a
/// built-in one.
#[derive(Clone, Default)]
pub struct Funcs {
    map: BTreeMap<String, Arc<FuncImpl>>,
}

impl fmt::Debug for Funcs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.map.keys()).finish()
    }
}

impl Funcs {
    /// Only Go's built-in functions.
    pub fn new() -> Self {
        Self::default()
    }

    /// The built-ins plus Kapacitor's alert-template functions:
    /// * `json v`: `json.NewEncoder(buf).Encode(v)`: compact JSON with a trailing newline; on
    ///   an encoding error (NaN) the result is empty, as Kapacitor ignores that error.
    /// * `jsonCompact v`: the same JSON without the trailing newline.
    pub fn kapacitor() -> Self {
        let mut f = Self::new();
        f.insert("json", |args: &[&Data]| {
            let v = one_arg("json", args)?;
            Ok(Data::String(
                v.to_json().map(|s| s + "\n").unwrap_or_default(),
            ))
        });
        f.insert("jsonCompact", |args: &[&Data]| {
            let v = one_arg("jsonCompact", args)?;
            Ok(Data::String(v.to_json().unwrap_or_default()))
        });
        f
    }

    /// Registers (or replaces) a function.
    pub fn insert<F>(&mut self, name: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(&[&Data]) -> Result<Data, String> + Send + Sync + 'static,
    {
        self.map.insert(name.into(), Arc::new(f));
        self
    }

    /// Whether `name` is callable in a template (registered or built-in).
    pub fn is_defined(&self, name: &str) -> bool {
        self.map.contains_key(name) || BUILTINS.contains(&name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Arc<FuncImpl>> {
        self.map.get(name)
    }
}

fn one_arg<'a>(name: &str, args: &[&'a Data]) -> Result<&'a Data, String> {
    match args {
        [v] => Ok(v),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    }
}

/// Calls the built-in `name` (not `and`/`or`).
pub(crate) fn call_builtin(name: &str, args: &[&Data]) -> Result<Data, String> {
    match name {
        "not" => Ok(Data::Bool(!one_arg(name, args)?.is_true())),
        "len" => builtin_len(one_arg(name, args)?),
        "index" => builtin_index(args),
        "slice" => builtin_slice(args),
        "print" => Ok(Data::String(printf::sprint(args))),
        "println" => Ok(Data::String(printf::sprintln(args))),
        "printf" => match args.split_first() {
            Some((Data::String(f), rest)) => Ok(Data::String(printf::sprintf(f, rest))),
            Some((other, _)) => Err(format!(
                "wrong type for value; expected string; got {}",
                other.go_type()
            )),
            None => Err("wrong number of args for printf: want at least 1 got 0".into()),
        },
        "html" => Ok(Data::String(html_escape(&eval_args(args), false))),
        "js" => Ok(Data::String(js_escape(&eval_args(args)))),
        "urlquery" => Ok(Data::String(crate::gofmt::query_escape(&eval_args(args)))),
        "eq" => compare_eq(args).map(Data::Bool),
        "ne" => match args {
            [a, b] => compare_eq(&[a, b]).map(|e| Data::Bool(!e)),
            _ => Err(format!(
                "wrong number of args for ne: want 2 got {}",
                args.len()
            )),
        },
        "lt" | "le" | "gt" | "ge" => {
            let [a, b] = args else {
                return Err(format!(
                    "wrong number of args for {name}: want 2 got {}",
                    args.len()
                ));
            };
            let ord = compare_lt(a, b)?;
            let eq = compare_eq(&[a, b])?;
            Ok(Data::Bool(match name {
                "lt" => ord,
                "le" => ord || eq,
                "gt" => !ord && !eq,
                _ => !ord,
            }))
        }
        _ => Err(format!("function {name:?} not defined")),
    }
}

/// Go's `evalArgs`: a single string argument as is, otherwise `fmt.Sprint`.
fn eval_args(args: &[&Data]) -> String {
    match args {
        [Data::String(s)] => s.clone(),
        _ => printf::sprint(args),
    }
}

fn builtin_len(v: &Data) -> Result<Data, String> {
    let n = match v {
        Data::String(s) => s.len(),
        Data::Map(m) => m.len(),
        Data::StringMap(m) => m.len(),
        Data::List(l) => l.len(),
        Data::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.go_type())),
    };
    Ok(Data::Int(n as i64))
}

fn index_int(d: &Data, len: usize, cap_ok: bool) -> Result<usize, String> {
    let i = match d {
        Data::Int(i) | Data::Duration(i) => *i,
        Data::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.go_type()
            ));
        }
    };
    let max = if cap_ok { len } else { len.saturating_sub(1) };
    if i < 0 || (i as u64) > max as u64 || (!cap_ok && len == 0) {
        return Err(format!("index out of range: {i}"));
    }
    Ok(i as usize)
}

fn builtin_index(args: &[&Data]) -> Result<Data, String> {
    let Some((first, keys)) = args.split_first() else {
        return Err("wrong number of args for index: want at least 1 got 0".into());
    };
    let mut cur: Data = (*first).clone();
    for key in keys {
        cur = match &cur {
            Data::List(l) => l[index_int(key, l.len(), false)?].clone(),
            Data::String(s) => Data::Int(i64::from(s.as_bytes()[index_int(key, s.len(), false)?])),
            Data::Map(m) => match key {
                Data::String(k) => m.get(k).cloned().unwrap_or(Data::Nil),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.go_type()
                    ));
                }
            },
            Data::StringMap(m) => match key {
                Data::String(k) => Data::String(m.get(k).cloned().unwrap_or_default()),
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.go_type()
                    ));
                }
            },
            Data::Nil => return Err("index of untyped nil".into()),
            other => return Err(format!("can't index item of type {}", other.go_type())),
        };
    }
    Ok(cur)
}

fn builtin_slice(args: &[&Data]) -> Result<Data, String> {
    let Some((item, idx)) = args.split_first() else {
        return Err("wrong number of args for slice: want at least 1 got 0".into());
    };
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Data::String(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Data::List(l) => l.len(),
        Data::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.go_type())),
    };
    let mut bounds = [0, len, len];
    for (i, d) in idx.iter().enumerate() {
        bounds[i] = index_int(d, len, true)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    Ok(match item {
        Data::String(s) => {
            Data::String(String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into_owned())
        }
        Data::List(l) => Data::List(l[bounds[0]..bounds[1]].to_vec()),
        _ => Data::Nil,
    })
}

/// Go's basic kinds for comparisons.
#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    String,
    Other,
}

fn kind(d: &Data) -> Kind {
    match d {
        Data::Bool(_) => Kind::Bool,
        Data::Int(_) | Data::Duration(_) => Kind::Int,
        Data::Float(_) => Kind::Float,
        Data::String(_) => Kind::String,
        _ => Kind::Other,
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";

/// Go `eq arg1 arg2...`: true if arg1 equals any of the others.
fn compare_eq(args: &[&Data]) -> Result<bool, String> {
    let Some((a, rest)) = args.split_first() else {
        return Err("missing argument for comparison".into());
    };
    if rest.is_empty() {
        return Err("missing argument for comparison".into());
    }
    let ka = kind(a);
    for b in rest {
        let kb = kind(b);
        let truth = if ka != kb {
            if !matches!(a, Data::Nil) && !matches!(b, Data::Nil) {
                return Err(BAD_COMPARISON.into());
            }
            false
        } else {
            match (a, b) {
                (Data::Bool(x), Data::Bool(y)) => x == y,
                (Data::Float(x), Data::Float(y)) => x == y,
                (Data::String(x), Data::String(y)) => x == y,
                (Data::Int(x) | Data::Duration(x), Data::Int(y) | Data::Duration(y)) => x == y,
                (Data::Nil, _) | (_, Data::Nil) => matches!(a, Data::Nil) && matches!(b, Data::Nil),
                (Data::Time(x), Data::Time(y)) => x == y,
                (Data::Struct(x), Data::Struct(y)) => x == y,
                (x, y) => {
                    return Err(format!(
                        "non-comparable types {}: {}, {}: {}",
                        x.to_go_string(),
                        x.go_type(),
                        y.go_type(),
                        y.to_go_string()
                    ));
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Go `lt a b`.
fn compare_lt(a: &Data, b: &Data) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Other || ka == Kind::Bool || kb == Kind::Other || kb == Kind::Bool {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err(BAD_COMPARISON.into());
    }
    Ok(match (a, b) {
        (Data::Float(x), Data::Float(y)) => x < y,
        (Data::String(x), Data::String(y)) => x < y,
        (Data::Int(x) | Data::Duration(x), Data::Int(y) | Data::Duration(y)) => x < y,
        _ => false,
    })
}

/// HTML escaping. `plus`: also `+` → `&#43;` (html/template's contextual escaper) on top of
/// text/template's `html` function set (`& < > " '` and NUL → U+FFFD).
pub(crate) fn html_escape(s: &str, plus: bool) -> String {
    let mut out = String::with_capacity(s.len());
    html_escape_into(&mut out, s, plus);
    out
}

/// [`html_escape`] appended to `out`: runs of bytes that need no escape are copied whole
/// (every escaped character is ASCII, so the runs end on character boundaries).
pub(crate) fn html_escape_into(out: &mut String, s: &str, plus: bool) {
    out.reserve(s.len());
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escaped = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&#34;",
            b'\'' => "&#39;",
            b'+' if plus => "&#43;",
            b'\0' => "\u{fffd}",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(escaped);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Go `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || c.is_control() => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's `template.HTMLEscapeString`, one character at a time.
    fn reference(s: &str, plus: bool) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&#34;"),
                '\'' => out.push_str("&#39;"),
                '+' if plus => out.push_str("&#43;"),
                '\0' => out.push('\u{fffd}'),
                c => out.push(c),
            }
        }
        out
    }

    #[test]
    fn html_escape_copies_runs_as_go_escapes_characters() {
        // Every string of up to four characters of this alphabet.
        let alphabet: Vec<char> = "a &<>\"'+\0é😀".chars().collect();
        let mut strings = vec![String::new()];
        let mut last = strings.clone();
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings.extend(last.iter().cloned());
        }
        for s in &strings {
            for plus in [false, true] {
                assert_eq!(html_escape(s, plus), reference(s, plus), "{s:?}");
                let mut into = String::from("x");
                html_escape_into(&mut into, s, plus);
                assert_eq!(into, format!("x{}", reference(s, plus)));
            }
        }
    }
}

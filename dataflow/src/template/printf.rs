//! Go `fmt.Sprintf`, `fmt.Sprint` and `fmt.Sprintln` over [`Data`] values.
//!
//! Supported: verbs `%v %s %d %f %F %e %E %g %G %t %q %x %X %o %O %b %c %U %T %%`, flags
//! `+ - # 0 space`, width and precision (also `*`), and Go's error forms (`%!d(string=a)`,
//! `%!d(MISSING)`, `%!(EXTRA int64=1)`, `%!(NOVERB)`). Not supported: argument indexes
//! (`%[1]d`, printed as a bad verb) and hexadecimal floats (`%x` of a float is a bad verb).

use std::fmt::Write as _;

use super::data::Data;
use crate::gofmt;

/// Flags, width and precision of one verb.
#[derive(Debug, Default, Clone, Copy)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Go `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[&Data]) -> String {
    let mut out = String::with_capacity(format.len() + 16);
    let mut next = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        // Flags.
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => {
                    spec.minus = true;
                    spec.zero = false;
                }
                '#' => spec.sharp = true,
                '0' => spec.zero = !spec.minus,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        // Width.
        if chars.peek().map(|&(_, c)| c) == Some('*') {
            chars.next();
            match args.get(next) {
                Some(Data::Int(w)) => {
                    next += 1;
                    if *w < 0 {
                        spec.minus = true;
                        spec.zero = false;
                    }
                    spec.width = Some(w.unsigned_abs().min(1_000_000) as usize);
                }
                _ => {
                    next += usize::from(next < args.len());
                    out.push_str("%!(BADWIDTH)");
                }
            }
        } else {
            spec.width = parse_num(&mut chars);
        }
        // Precision.
        if chars.peek().map(|&(_, c)| c) == Some('.') {
            chars.next();
            if chars.peek().map(|&(_, c)| c) == Some('*') {
                chars.next();
                match args.get(next) {
                    Some(Data::Int(p)) if *p >= 0 => {
                        next += 1;
                        spec.prec = Some((*p).min(1_000_000) as usize);
                    }
                    Some(Data::Int(_)) => {
                        next += 1;
                        spec.prec = None;
                    }
                    _ => {
                        next += usize::from(next < args.len());
                        out.push_str("%!(BADPREC)");
                    }
                }
            } else {
                spec.prec = Some(parse_num(&mut chars).unwrap_or(0));
            }
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
            Some(arg) => {
                next += 1;
                format_arg(&mut out, &spec, verb, arg);
            }
        }
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, arg) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if matches!(arg, Data::Nil) {
                out.push_str("<nil>");
            } else {
                out.push_str(arg.go_type());
                out.push('=');
                arg.write_go(&mut out);
            }
        }
        out.push(')');
    }
    out
}

fn parse_num(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d as usize)
                .min(1_000_000),
        );
        chars.next();
    }
    n
}

/// Go `fmt.Sprint(args...)`: spaces between operands when neither side is a string.
pub fn sprint(args: &[&Data]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Data::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        arg.write_go(&mut out);
        prev_string = is_string;
    }
    out
}

/// Go `fmt.Sprintln(args...)`: operands separated by spaces, then a newline.
pub fn sprintln(args: &[&Data]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        arg.write_go(&mut out);
    }
    out.push('\n');
    out
}

/// Pads `s` to the width (in characters) with spaces, or zeros when `zero` applies.
fn pad(out: &mut String, spec: &Spec, s: &str) {
    let len = s.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    if spec.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        let c = if spec.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.push_str(s);
    }
}

fn bad_verb(out: &mut String, verb: char, d: &Data) {
    let _ = write!(out, "%!{verb}(");
    if matches!(d, Data::Nil) {
        out.push_str("<nil>");
    } else {
        out.push_str(d.go_type());
        out.push('=');
        d.write_go(out);
    }
    out.push(')');
}

fn format_arg(out: &mut String, spec: &Spec, verb: char, d: &Data) {
    if verb == 'T' {
        let t = if matches!(d, Data::Nil) {
            "<nil>"
        } else {
            d.go_type()
        };
        pad(out, spec, t);
        return;
    }
    match d {
        Data::Nil => match verb {
            'v' => pad(out, spec, "<nil>"),
            _ => bad_verb(out, verb, d),
        },
        Data::Bool(b) => match verb {
            'v' | 't' => pad(out, spec, if *b { "true" } else { "false" }),
            _ => bad_verb(out, verb, d),
        },
        Data::Int(i) => format_int(out, spec, verb, *i, d),
        Data::Float(f) => format_float(out, spec, verb, *f, d),
        Data::String(s) => format_str(out, spec, verb, s, d),
        Data::Time(t) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => {
                format_str(out, spec, verb, &gofmt::format_time_go_default(*t), d)
            }
            _ => bad_verb(out, verb, d),
        },
        Data::Duration(n) => match verb {
            'v' | 's' | 'q' | 'x' | 'X' => {
                format_str(out, spec, verb, &gofmt::format_duration_go(*n), d)
            }
            _ => format_int(out, spec, verb, *n, d),
        },
        Data::Map(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_str(out, spec, verb, k, &Data::String(k.clone()));
                out.push(':');
                format_arg(out, spec, verb, v);
            }
            out.push(']');
        }
        Data::StringMap(m) => {
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_str(out, spec, verb, k, &Data::String(k.clone()));
                out.push(':');
                format_str(out, spec, verb, v, &Data::String(v.clone()));
            }
            out.push(']');
        }
        Data::Struct(fields) => {
            out.push('{');
            for (i, (_, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, spec, verb, v);
            }
            out.push('}');
        }
        Data::List(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, spec, verb, v);
            }
            out.push(']');
        }
    }
}

fn format_str(out: &mut String, spec: &Spec, verb: char, s: &str, d: &Data) {
    let truncated: String;
    let s = match spec.prec {
        Some(p) if verb != 'x' && verb != 'X' => {
            truncated = s.chars().take(p).collect();
            truncated.as_str()
        }
        _ => s,
    };
    match verb {
        'v' | 's' => pad(out, spec, s),
        'q' => pad(out, spec, &gofmt::quote_go(s)),
        'x' | 'X' => {
            let bytes = s.as_bytes();
            let bytes = &bytes[..spec.prec.unwrap_or(bytes.len()).min(bytes.len())];
            let mut hex = String::with_capacity(bytes.len() * 2);
            for (i, b) in bytes.iter().enumerate() {
                if spec.space && i > 0 {
                    hex.push(' ');
                }
                if spec.sharp && (spec.space || i == 0) {
                    hex.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    let _ = write!(hex, "{b:02x}");
                } else {
                    let _ = write!(hex, "{b:02X}");
                }
            }
            pad(out, spec, &hex);
        }
        _ => bad_verb(out, verb, d),
    }
}

fn format_int(out: &mut String, spec: &Spec, verb: char, i: i64, d: &Data) {
    let u = i.unsigned_abs();
    let neg = i < 0;
    let (digits, prefix) = match verb {
        'd' | 'v' => (u.to_string(), ""),
        'x' => (format!("{u:x}"), if spec.sharp { "0x" } else { "" }),
        'X' => (format!("{u:X}"), if spec.sharp { "0X" } else { "" }),
        'o' => (format!("{u:o}"), if spec.sharp { "0" } else { "" }),
        'O' => (format!("{u:o}"), "0o"),
        'b' => (format!("{u:b}"), if spec.sharp { "0b" } else { "" }),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, spec, &c.to_string());
            return;
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{fffd}');
            pad(out, spec, &gofmt::quote_rune_go(c));
            return;
        }
        'U' => {
            let mut s = format!("U+{u:04X}");
            if spec.sharp
                && let Some(c) = u32::try_from(i).ok().and_then(char::from_u32)
                && !c.is_control()
            {
                let _ = write!(s, " '{c}'");
            }
            let mut sp = *spec;
            sp.zero = false;
            pad(out, &sp, &s);
            return;
        }
        _ => {
            bad_verb(out, verb, d);
            return;
        }
    };
    // Go: the zero flag becomes a precision (minimum digit count) leaving room for the sign.
    let mut prec = spec.prec;
    if prec.is_none()
        && spec.zero
        && !spec.minus
        && let Some(w) = spec.width
    {
        let sign = usize::from(neg || spec.plus || spec.space);
        prec = Some(w.saturating_sub(sign + prefix.len()));
    }
    let mut body = String::new();
    if neg {
        body.push('-');
    } else if spec.plus {
        body.push('+');
    } else if spec.space {
        body.push(' ');
    }
    // The octal `#` prefix is only added when the digits don't already start with 0.
    let prefix = if verb == 'o' && digits.starts_with('0') {
        ""
    } else {
        prefix
    };
    body.push_str(prefix);
    match prec {
        Some(0) if u == 0 => {}
        Some(p) => {
            body.extend(std::iter::repeat_n('0', p.saturating_sub(digits.len())));
            body.push_str(&digits);
        }
        None => body.push_str(&digits),
    }
    let mut sp = *spec;
    sp.zero = false;
    pad(out, &sp, &body);
}

fn format_float(out: &mut String, spec: &Spec, verb: char, f: f64, d: &Data) {
    let num = match verb {
        'v' | 'g' => gofmt::format_float_g_prec(f, spec.prec, false),
        'G' => gofmt::format_float_g_prec(f, spec.prec, true),
        'f' | 'F' => gofmt::format_float_f(f, Some(spec.prec.unwrap_or(6))),
        'e' => gofmt::format_float_e_case(f, Some(spec.prec.unwrap_or(6)), false),
        'E' => gofmt::format_float_e_case(f, Some(spec.prec.unwrap_or(6)), true),
        _ => {
            bad_verb(out, verb, d);
            return;
        }
    };
    let mut num = if num.starts_with('-') || num.starts_with('+') {
        num
    } else {
        format!("+{num}")
    };
    if spec.space && num.starts_with('+') && !spec.plus {
        num.replace_range(0..1, " ");
    }
    let mut sp = *spec;
    if f.is_nan() || f.is_infinite() {
        sp.zero = false;
    }
    if sp.plus || !num.starts_with('+') {
        let len = num.chars().count();
        if sp.zero && !sp.minus && sp.width.is_some_and(|w| w > len) {
            let w = sp.width.unwrap_or(0);
            out.push_str(&num[..1]);
            out.extend(std::iter::repeat_n('0', w - len));
            out.push_str(&num[1..]);
            return;
        }
        pad(out, &sp, &num);
        return;
    }
    pad(out, &sp, &num[1..]);
}

//! The parser: a single pass over the bytes of a body, one record at a time.

use std::borrow::Cow;
use std::collections::HashSet;
use std::iter::FusedIterator;

use crate::error::{LineError, LineErrorKind, Locator};
use crate::escape::{
    NameKind, STR_STOP_BYTES, VALUE_END_BYTES, find_any, scan_name, unescape_name, unescape_string,
};
use crate::line::{FieldValue, ParsedLine};
use crate::number::{parse_float, parse_integer, parse_timestamp, parse_unsigned};
use crate::precision::Precision;

/// Parses every line of `body`; timestamps are in nanoseconds.
///
/// Blank lines and `#` comment lines are skipped. Each other line yields either a
/// [`ParsedLine`] or a [`LineError`]; after an error the iterator goes on with the next line.
pub fn parse_lines(body: &str) -> Lines<'_> {
    parse_lines_with_precision(body, Precision::Nanoseconds)
}

/// Like [`parse_lines`], reading timestamps in `precision` units (they are returned scaled to
/// nanoseconds; one that then overflows `i64` is an error).
pub fn parse_lines_with_precision(body: &str, precision: Precision) -> Lines<'_> {
    Lines {
        src: body,
        pos: 0,
        multiplier: precision.multiplier(),
        locator: Locator::new(),
    }
}

/// Iterator over the lines of a body; see [`parse_lines`].
///
/// Besides [`Iterator`], [`Lines::next_into`] fills a caller-owned [`ParsedLine`], so a
/// loop over a large body reuses the tag and field vectors instead of allocating per line.
#[derive(Clone)]
pub struct Lines<'a> {
    src: &'a str,
    pos: usize,
    multiplier: i64,
    locator: Locator,
}

impl std::fmt::Debug for Lines<'_> {
    // The body may be megabytes: show where we are, not what we read.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("len", &self.src.len())
            .field("pos", &self.pos)
            .field("multiplier", &self.multiplier)
            .finish()
    }
}

impl<'a> Lines<'a> {
    /// Parses the next line into `line`, reusing its vectors.
    ///
    /// Returns `None` at the end of the body. On `Some(Err(_))`, `line` is left empty.
    ///
    /// ```
    /// use kap_line_protocol::{parse_lines, ParsedLine};
    ///
    /// let mut lines = parse_lines("cpu v=1\ncpu v=2x\ncpu v=3\n");
    /// let mut line = ParsedLine::default();
    /// let mut sum = 0.0;
    /// let mut errors = 0;
    /// while let Some(result) = lines.next_into(&mut line) {
    ///     match result {
    ///         Ok(()) => sum += line.fields.len() as f64,
    ///         Err(_) => errors += 1,
    ///     }
    /// }
    /// assert_eq!((sum, errors), (2.0, 1));
    /// ```
    pub fn next_into(&mut self, line: &mut ParsedLine<'a>) -> Option<Result<(), LineError>> {
        let b = self.src.as_bytes();
        let n = b.len();
        let mut i = self.pos;
        loop {
            while i < n && (b[i] == b' ' || b[i] == b'\t') {
                i += 1;
            }
            if i >= n {
                self.pos = n;
                return None;
            }
            match b[i] {
                b'\n' => i += 1,
                b'\r' if i + 1 >= n || b[i + 1] == b'\n' => i += 1,
                b'#' => {
                    i = b[i..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(n, |k| i + k + 1)
                }
                _ => break,
            }
        }
        line.clear();
        match parse_record(self.src, i, self.multiplier, line) {
            Ok(end) => {
                self.pos = end;
                Some(Ok(()))
            }
            Err((kind, at)) => {
                line.clear();
                self.pos = resync(b, i);
                Some(Err(self.locator.error(self.src, at, kind)))
            }
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<ParsedLine<'a>, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut line = ParsedLine::default();
        self.next_into(&mut line).map(|r| r.map(|()| line))
    }
}

impl FusedIterator for Lines<'_> {}

/// An error kind and the byte position it is reported at.
type PResult<T> = Result<T, (LineErrorKind, usize)>;

#[inline(always)]
fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// Length of the line ending at `i` (`\n`, `\r\n`, a final `\r`, or the end of the body), or
/// `None` if `i` is not at a line end.
#[inline(always)]
fn eol_len(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i) {
        None => Some(0),
        Some(b'\n') => Some(1),
        Some(b'\r') => match b.get(i + 1) {
            None => Some(1),
            Some(b'\n') => Some(2),
            Some(_) => None,
        },
        Some(_) => None,
    }
}

/// Parses the record starting at `start` (a non-blank, non-comment byte) into `out`; returns
/// the position after its line ending.
#[inline]
fn parse_record<'a>(
    src: &'a str,
    start: usize,
    multiplier: i64,
    out: &mut ParsedLine<'a>,
) -> PResult<usize> {
    let b = src.as_bytes();
    let n = b.len();

    // Measurement.
    let (mut i, esc) = scan_name(b, start, NameKind::Measurement);
    if i == start {
        return Err((LineErrorKind::MissingMeasurement, start));
    }
    out.measurement = unescape_name(&src[start..i], esc, NameKind::Measurement);

    // Tags.
    while i < n && b[i] == b',' {
        let k0 = i + 1;
        let (k1, kesc) = scan_name(b, k0, NameKind::Key);
        if k1 == k0 {
            return Err((LineErrorKind::MissingTagKey, k0));
        }
        if k1 >= n || b[k1] != b'=' {
            return Err((LineErrorKind::InvalidTag, k1));
        }
        let v0 = k1 + 1;
        let (v1, vesc) = scan_name(b, v0, NameKind::Key);
        if v1 < n && b[v1] == b'=' {
            return Err((LineErrorKind::InvalidTag, v1));
        }
        if v1 == v0 {
            return Err((LineErrorKind::MissingTagValue, v0));
        }
        out.tags.push((
            unescape_name(&src[k0..k1], kesc, NameKind::Key),
            unescape_name(&src[v0..v1], vesc, NameKind::Key),
        ));
        i = v1;
    }

    // Separator: one space, then any run of spaces and tabs.
    if i >= n || b[i] != b' ' {
        return Err((LineErrorKind::MissingFields, i));
    }
    i = skip_blanks(b, i + 1);
    if eol_len(b, i).is_some() {
        return Err((LineErrorKind::MissingFields, i));
    }

    // Fields.
    loop {
        let k0 = i;
        let (k1, kesc) = scan_name(b, k0, NameKind::Key);
        if k1 == k0 {
            return Err((LineErrorKind::MissingFieldKey, k0));
        }
        if k1 >= n || b[k1] != b'=' {
            return Err((LineErrorKind::InvalidField, k1));
        }
        let (value, v1) = parse_value(src, k1 + 1)?;
        out.fields
            .push((unescape_name(&src[k0..k1], kesc, NameKind::Key), value));
        i = v1;
        if i < n && b[i] == b',' {
            i += 1;
        } else {
            break;
        }
    }

    // Optional timestamp.
    if i < n && (b[i] == b' ' || b[i] == b'\t') {
        i = skip_blanks(b, i);
        if eol_len(b, i).is_none() {
            let (ts, end) = timestamp(b, i, multiplier)?;
            out.timestamp = Some(ts);
            i = skip_blanks(b, end);
            if eol_len(b, i).is_none() {
                return Err((LineErrorKind::TrailingCharacters, i));
            }
        }
    }
    let Some(eol) = eol_len(b, i) else {
        return Err((LineErrorKind::UnexpectedCharacter, i));
    };

    if !sort_tags(&mut out.tags) {
        return Err((LineErrorKind::DuplicateTag, duplicate_tag_pos(src, start)));
    }
    dedupe_fields(&mut out.fields);
    Ok(i + eol)
}

/// Parses the timestamp at `t0`; returns it in nanoseconds and the position after it.
#[inline(always)]
fn timestamp(b: &[u8], t0: usize, multiplier: i64) -> PResult<(i64, usize)> {
    let is_end = |i: usize| {
        b.get(i)
            .is_none_or(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
    };
    // Fast path: up to 19 digits fit a u64, so accumulate while scanning.
    let neg = b[t0] == b'-';
    let d0 = t0 + usize::from(neg);
    let mut i = d0;
    let mut mag: u64 = 0;
    while i < b.len() && i - d0 < 19 && b[i].is_ascii_digit() {
        mag = mag * 10 + u64::from(b[i] - b'0');
        i += 1;
    }
    if i > d0 && is_end(i) {
        let v = if neg {
            (mag <= 1 << 63).then(|| 0i64.wrapping_sub_unsigned(mag))
        } else {
            i64::try_from(mag).ok()
        };
        return v
            .and_then(|v| v.checked_mul(multiplier))
            .map(|ts| (ts, i))
            .ok_or((LineErrorKind::TimestampOutOfRange, t0));
    }
    // Long, malformed or needing range checks: cut the token and parse it carefully.
    let mut end = t0;
    while !is_end(end) {
        end += 1;
    }
    let ts = parse_timestamp(&b[t0..end], multiplier).map_err(|k| (k, t0))?;
    Ok((ts, end))
}

/// Parses the field value at `v0`; returns it and the position just after it.
#[inline(always)]
fn parse_value(src: &str, v0: usize) -> PResult<(FieldValue<'_>, usize)> {
    let b = src.as_bytes();
    let n = b.len();
    let Some(&first) = b.get(v0) else {
        return Err((LineErrorKind::MissingFieldValue, v0));
    };
    if first == b'"' {
        let mut j = v0 + 1;
        let mut esc = false;
        loop {
            j = find_any(b, j, STR_STOP_BYTES);
            if j >= n {
                return Err((LineErrorKind::UnterminatedString, v0));
            }
            if b[j] == b'\\' {
                if j + 1 < n && (b[j + 1] == b'"' || b[j + 1] == b'\\') {
                    esc = true;
                    j += 2;
                } else {
                    j += 1;
                }
                continue;
            }
            break;
        }
        let value = FieldValue::String(unescape_string(&src[v0 + 1..j], esc));
        return Ok((value, j + 1));
    }

    let j = find_any(b, v0, VALUE_END_BYTES);
    if j == v0 {
        return Err((LineErrorKind::MissingFieldValue, v0));
    }
    let token = &src[v0..j];
    let tb = token.as_bytes();
    let value = match first {
        b'0'..=b'9' | b'-' | b'.' => match tb[tb.len() - 1] {
            b'i' => FieldValue::Integer(parse_integer(&tb[..tb.len() - 1]).map_err(|k| (k, v0))?),
            b'u' => FieldValue::UInteger(parse_unsigned(&tb[..tb.len() - 1]).map_err(|k| (k, v0))?),
            _ => FieldValue::Float(parse_float(token).map_err(|k| (k, v0))?),
        },
        b't' | b'T' | b'f' | b'F' => match token {
            "t" | "T" | "true" | "True" | "TRUE" => FieldValue::Boolean(true),
            "f" | "F" | "false" | "False" | "FALSE" => FieldValue::Boolean(false),
            _ => return Err((LineErrorKind::InvalidBoolean, v0)),
        },
        _ => return Err((LineErrorKind::InvalidFieldValue, v0)),
    };
    Ok((value, j))
}

/// Sorts tags by key; false if a key repeats.
#[inline(always)]
fn sort_tags(tags: &mut [(Cow<'_, str>, Cow<'_, str>)]) -> bool {
    // Writers (Telegraf, InfluxDB clients) usually send tags sorted already.
    if tags.windows(2).all(|w| w[0].0 < w[1].0) {
        return true;
    }
    tags.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    tags.windows(2).all(|w| w[0].0 != w[1].0)
}

/// Position of the first tag key that repeats an earlier one (error path only).
fn duplicate_tag_pos(src: &str, start: usize) -> usize {
    let b = src.as_bytes();
    let (mut i, _) = scan_name(b, start, NameKind::Measurement);
    let mut seen = HashSet::new();
    while i < b.len() && b[i] == b',' {
        let k0 = i + 1;
        let (k1, esc) = scan_name(b, k0, NameKind::Key);
        if !seen.insert(unescape_name(&src[k0..k1], esc, NameKind::Key)) {
            return k0;
        }
        i = scan_name(b, k1 + 1, NameKind::Key).0;
    }
    start
}

/// Removes repeated field keys: the last value wins, at the first key's position.
#[inline(always)]
fn dedupe_fields(fields: &mut Vec<(Cow<'_, str>, FieldValue<'_>)>) {
    let n = fields.len();
    let has_dup = if n <= 16 {
        (1..n).any(|j| fields[..j].iter().any(|(k, _)| *k == fields[j].0))
    } else {
        let mut keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
        keys.sort_unstable();
        keys.windows(2).any(|w| w[0] == w[1])
    };
    if has_dup {
        remove_duplicate_fields(fields);
    }
}

#[cold]
fn remove_duplicate_fields(fields: &mut Vec<(Cow<'_, str>, FieldValue<'_>)>) {
    let n = fields.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| fields[a].0.cmp(&fields[b].0).then(a.cmp(&b)));
    let mut keep = vec![true; n];
    let mut g = 0;
    while g < n {
        let mut e = g + 1;
        while e < n && fields[order[e]].0 == fields[order[g]].0 {
            keep[order[e]] = false;
            e += 1;
        }
        let (first, last) = (order[g], order[e - 1]);
        if first != last {
            let v = std::mem::replace(&mut fields[last].1, FieldValue::Boolean(false));
            fields[first].1 = v;
        }
        g = e;
    }
    let mut k = 0;
    fields.retain(|_| {
        k += 1;
        keep[k - 1]
    });
}

/// Where to resume after a bad record starting at `start`: after the end of its line, found
/// the way InfluxDB 1.x's `scanLine` finds it (a `\n` inside what looks like a quoted field
/// value does not end the line, and a backslash skips the next byte).
#[cold]
fn resync(b: &[u8], start: usize) -> usize {
    let mut i = start;
    let (mut quoted, mut fields) = (false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    while i < b.len() {
        if b[i] == b'\\' && i + 2 < b.len() {
            i += 2;
            continue;
        }
        if b[i] == b' ' {
            fields = true;
        }
        if fields {
            if !quoted && b[i] == b'=' {
                equals += 1;
                i += 1;
                continue;
            } else if !quoted && b[i] == b',' {
                commas += 1;
                i += 1;
                continue;
            } else if b[i] == b'"' && equals > commas {
                quoted = !quoted;
                i += 1;
                continue;
            }
        }
        if b[i] == b'\n' && !quoted {
            break;
        }
        i += 1;
    }
    (i + 1).min(b.len()).max(start + 1)
}

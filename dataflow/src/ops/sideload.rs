//! `|sideload()`: enriches points with fields and tags read from hierarchical files
//! (`kapacitor-features.md` §2.2).
//!
//! Only `file://` sources are supported (`.source('file:///etc/kapacitor/sideload')`).
//! Each `.order()` template (Go text/template over the point's tags, e.g.
//! `host/{{.host}}.yml`) names a file relative to the source directory; for every
//! `.field(name, default)` / `.tag(name, default)` the first file in order that has the key
//! gives the value (converted to the default's type), else the default is used. Files are
//! maps in JSON (`.json`) or YAML (any other extension). YAML is read by a small
//! hand-written reader of the top level (`key: value` lines with scalar values: quoted or
//! bare strings, ints, floats, YAML 1.1 booleans); nested maps, lists and nulls are skipped,
//! so those keys take the default (in Kapacitor they fail the type conversion, which also
//! yields the default). No YAML crate is used: `serde_yaml` is deprecated and the flat
//! top level is all a lookup can use. Each file is read once and cached until the sources
//! are reloaded: the daemon's `POST /kapacitor/v1/sideload/reload` counts a reload in the
//! [`SideloadReloads`] service, and every sideload node drops what it read when the count
//! changes.

use crate::node::{BuildError, BuildInfo, Ctx, Processor};
use crate::point::{FieldValue, Fields, Msg, Sym, Tags, set};
use crate::template::{Data, Template};
use kap_dsl::plan::SideloadSpec;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Name of the [`SideloadReloads`] service in [`crate::node::Services`].
pub const SERVICE_NAME: &str = "sideload";

/// Reloads of the sideload sources (Kapacitor's `POST /kapacitor/v1/sideload/reload`):
/// each sideload node reads its files again after one.
#[derive(Debug, Default)]
pub struct SideloadReloads(AtomicU64);

impl SideloadReloads {
    /// Reloads every source: nodes drop the files they read and read them again as points
    /// need them.
    pub fn reload(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A scalar read from a sideload file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

/// The `sideload` processor.
#[derive(Debug)]
pub(crate) struct Sideload {
    dir: PathBuf,
    order: Vec<Template>,
    fields: Vec<(String, FieldValue)>,
    tags: Vec<(String, String)>,
    quiet: bool,
    cache: HashMap<PathBuf, Option<HashMap<String, Scalar>>>,
    /// The reloads service, and the reload count the cache was filled under.
    reloads: Option<(Arc<SideloadReloads>, u64)>,
}

/// Builds a `sideload` node.
pub(crate) fn build(
    spec: &SideloadSpec,
    info: &BuildInfo,
) -> Result<Box<dyn Processor>, BuildError> {
    let dir = match spec.source.strip_prefix("file://") {
        Some(p) => PathBuf::from(p),
        None => {
            return Err(BuildError::Unsupported {
                node: info.node.clone(),
                kind: "sideload".into(),
                reason: format!("only file:// sources are supported, got {:?}", spec.source),
            });
        }
    };
    let order = spec
        .order
        .iter()
        .map(|o| Template::parse("order", o).map_err(|e| BuildError::invalid(info, e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let mut fields = Vec::new();
    for (k, v) in &spec.fields {
        let f = super::default::script_value_to_field(v).ok_or_else(|| {
            BuildError::invalid(info, format!("unsupported default for field {k:?}: {v}"))
        })?;
        fields.push((k.clone(), f));
    }
    Ok(Box::new(Sideload {
        dir,
        order,
        fields,
        tags: spec.tags.clone(),
        quiet: spec.quiet,
        cache: HashMap::new(),
        reloads: info.services.get::<SideloadReloads>(SERVICE_NAME).map(|r| {
            let n = r.count();
            (r, n)
        }),
    }))
}

/// Parses the top level of a YAML mapping: `key: scalar` lines. Nested values (indented
/// blocks, lists, flow collections) and nulls are skipped, so their keys fall back to the
/// defaults (in Kapacitor they fail the type conversion, which also yields the default).
pub(crate) fn parse_yaml_flat(text: &str) -> Result<HashMap<String, Scalar>, String> {
    let mut out = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" || trimmed == "..." {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') || trimmed.starts_with('-') {
            continue;
        }
        let (k, v) =
            split_key(trimmed).ok_or_else(|| format!("line {}: expected `key: value`", n + 1))?;
        if let Some(v) = yaml_scalar(v) {
            out.insert(k, v);
        }
    }
    Ok(out)
}

fn unquote(s: &str) -> Option<String> {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        serde_json::from_str::<String>(s).ok()
    } else if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        Some(s[1..s.len() - 1].replace("''", "'"))
    } else {
        None
    }
}

fn split_key(line: &str) -> Option<(String, &str)> {
    if line.starts_with('"') || line.starts_with('\'') {
        let q = line.chars().next()?;
        let end = line[1..].find(q)? + 1;
        let key = unquote(&line[..=end])?;
        let rest = line[end + 1..].trim_start().strip_prefix(':')?;
        return Some((key, rest.trim()));
    }
    let i = line
        .find(": ")
        .or_else(|| line.ends_with(':').then(|| line.len() - 1))?;
    Some((line[..i].trim().to_string(), line[i + 1..].trim()))
}

fn yaml_scalar(v: &str) -> Option<Scalar> {
    if let Some(s) = unquote(v) {
        return Some(Scalar::Str(s));
    }
    // Strip a trailing comment.
    let v = match v.find(" #") {
        Some(i) => v[..i].trim_end(),
        None => v,
    };
    if v.is_empty()
        || v == "~"
        || v.eq_ignore_ascii_case("null")
        || v.starts_with('{')
        || v.starts_with('[')
        || v.starts_with('&')
        || v.starts_with('*')
        || v.starts_with('|')
        || v.starts_with('>')
    {
        return None;
    }
    // YAML 1.1 booleans, as gopkg.in/yaml.v2 reads them.
    match v {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Scalar::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Scalar::Bool(false));
        }
        _ => {}
    }
    if let Ok(i) = v.parse::<i64>() {
        return Some(Scalar::Int(i));
    }
    if v.chars().any(|c| c.is_ascii_digit())
        && let Ok(f) = v.parse::<f64>()
    {
        return Some(Scalar::Float(f));
    }
    Some(Scalar::Str(v.to_string()))
}

fn parse_json_flat(text: &str) -> Result<HashMap<String, Scalar>, String> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = v else {
        return Err("expected a JSON object".into());
    };
    let mut out = HashMap::new();
    for (k, v) in map {
        let s = match v {
            serde_json::Value::Bool(b) => Scalar::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Scalar::Int(i),
                None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Scalar::Str(s),
            _ => continue,
        };
        out.insert(k, s);
    }
    Ok(out)
}

fn load(path: &Path) -> Result<HashMap<String, Scalar>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => parse_json_flat(&text),
        _ => parse_yaml_flat(&text),
    }
}

/// Kapacitor's `convertType`: a file value converted to the type of the default.
fn convert(v: &Scalar, dflt: &FieldValue) -> Result<FieldValue, String> {
    Ok(match dflt {
        FieldValue::Int(_) => FieldValue::Int(match v {
            Scalar::Int(i) => *i,
            Scalar::Float(f) => *f as i64,
            Scalar::Bool(b) => i64::from(*b),
            Scalar::Str(s) => s.parse().map_err(|e| format!("{e}"))?,
        }),
        FieldValue::Float(_) => FieldValue::Float(match v {
            Scalar::Int(i) => *i as f64,
            Scalar::Float(f) => *f,
            Scalar::Bool(b) => f64::from(u8::from(*b)),
            Scalar::Str(s) => s.parse().map_err(|e| format!("{e}"))?,
        }),
        FieldValue::Bool(_) => FieldValue::Bool(match v {
            Scalar::Int(i) => *i != 0,
            Scalar::Float(f) => *f != 0.0,
            Scalar::Bool(b) => *b,
            Scalar::Str(s) => match s.as_str() {
                "1" | "t" | "T" | "true" | "TRUE" | "True" => true,
                "0" | "f" | "F" | "false" | "FALSE" | "False" => false,
                _ => return Err(format!("invalid bool {s:?}")),
            },
        }),
        FieldValue::String(_) | FieldValue::Null => {
            FieldValue::String(crate::point::Str::from(scalar_string(v)))
        }
    })
}

fn scalar_string(v: &Scalar) -> String {
    match v {
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => crate::gofmt::format_float_f(*f, None),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Str(s) => s.clone(),
    }
}

impl Sideload {
    fn lookup(&mut self, paths: &[PathBuf], key: &str, ctx: &mut Ctx<'_>) -> Option<Scalar> {
        for p in paths {
            if !self.cache.contains_key(p) {
                let loaded = match load(p) {
                    Ok(m) => Some(m),
                    Err(e) => {
                        if p.exists() {
                            ctx.error(
                                self.quiet,
                                &format!("failed to load sideload file {}: {e}", p.display()),
                            );
                        }
                        None
                    }
                };
                self.cache.insert(p.clone(), loaded);
            }
            if let Some(Some(m)) = self.cache.get(p)
                && let Some(v) = m.get(key)
            {
                return Some(v.clone());
            }
        }
        None
    }

    /// Applies the sideload to fields and tags; whether tags changed.
    fn apply(&mut self, fields: &mut Fields, tags: &mut Tags, ctx: &mut Ctx<'_>) -> bool {
        let data = Data::map(
            tags.iter()
                .map(|(k, v)| (k.as_str(), Data::str(v.as_str()))),
        );
        let mut paths = Vec::with_capacity(self.order.len());
        for t in &self.order {
            match t.execute(&data) {
                Ok(rel) => paths.push(self.dir.join(rel.trim_start_matches('/'))),
                Err(e) => ctx.error(self.quiet, &format!("failed to render order template: {e}")),
            }
        }
        for i in 0..self.fields.len() {
            let (key, dflt) = self.fields[i].clone();
            let v = match self.lookup(&paths, &key, ctx) {
                Some(s) => convert(&s, &dflt).unwrap_or_else(|e| {
                    ctx.error(self.quiet, &format!("failed to load key {key:?}: {e}"));
                    dflt.clone()
                }),
                None => dflt,
            };
            set(fields, Sym::new(&key), v);
        }
        let mut changed = false;
        for i in 0..self.tags.len() {
            let (key, dflt) = self.tags[i].clone();
            let v = match self.lookup(&paths, &key, ctx) {
                Some(s) => scalar_string(&s),
                None => dflt,
            };
            let (k, v) = (Sym::new(&key), Sym::new(&v));
            if crate::point::get(tags, k) != Some(&v) {
                set(tags, k, v);
                changed = true;
            }
        }
        changed
    }
}

impl Processor for Sideload {
    fn process(&mut self, _: usize, msg: Msg, ctx: &mut Ctx<'_>, out: &mut Vec<Msg>) {
        if let Some((reloads, seen)) = &mut self.reloads {
            let n = reloads.count();
            if n != *seen {
                *seen = n;
                self.cache.clear();
            }
        }
        match msg {
            Msg::Point(mut p) => {
                if self.apply(&mut p.fields, &mut p.tags, ctx) {
                    p.regroup();
                }
                out.push(Msg::Point(p));
            }
            Msg::Batch(mut b) => {
                for bp in &mut b.points {
                    self.apply(&mut bp.fields, &mut bp.tags, ctx);
                }
                out.push(Msg::Batch(b));
            }
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_yaml() {
        let m = parse_yaml_flat(
            "# c\n---\na: 1\nb: 2.5\nc: 'x y'\nd: true\ne: hello # note\n\"f g\": \"q\"\n",
        )
        .unwrap();
        assert_eq!(m["a"], Scalar::Int(1));
        assert_eq!(m["b"], Scalar::Float(2.5));
        assert_eq!(m["c"], Scalar::Str("x y".into()));
        assert_eq!(m["d"], Scalar::Bool(true));
        assert_eq!(m["e"], Scalar::Str("hello".into()));
        assert_eq!(m["f g"], Scalar::Str("q".into()));
        let m = parse_yaml_flat("a:\n  b: 1\nl:\n  - 1\nc: ~\nd: yes\ne: [1]\n").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m["d"], Scalar::Bool(true));
        assert!(parse_yaml_flat("just text\n").is_err());
    }

    #[test]
    fn conversions() {
        assert_eq!(
            convert(&Scalar::Int(2), &FieldValue::Float(0.0)),
            Ok(FieldValue::Float(2.0))
        );
        assert_eq!(
            convert(&Scalar::Str("7".into()), &FieldValue::Int(0)),
            Ok(FieldValue::Int(7))
        );
        assert!(convert(&Scalar::Str("x".into()), &FieldValue::Int(0)).is_err());
    }
}

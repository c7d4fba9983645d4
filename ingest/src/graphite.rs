//! Graphite's plaintext protocol, as InfluxDB's (and so Kapacitor's) Graphite service reads
//! it: `<metric path> <value> [<timestamp>]` lines, the path turned into a measurement, tags
//! and a field by templates.
//!
//! A template is `[filter] template [tag1=value1,tag2=value2]`. The template's dot-separated
//! parts name what each part of the path is: `measurement`, `field`, a tag name, or nothing
//! (an empty part skips it); `measurement*` and `field*` take all remaining parts. Parts
//! that name the same thing are joined with the separator. A template that names no
//! measurement gets `measurement*` at its end. The filter (`servers.*.cpu`, `*` matching
//! one part) picks the lines a template is for, the most specific filter winning, exact
//! parts before `*`; without a matching filter the template without filter applies, and
//! without one that, `measurement*` (the whole path as measurement). The value goes to the
//! field the template names, else to `value`. Tags of the template, then the configured
//! default tags, are added where the path set none.
//!
//! The timestamp is Unix seconds, fractions allowed; `-1` or none means now. A NaN or
//! infinite value is dropped ([`Parsed::Unsupported`]), as InfluxDB drops it.

use std::collections::BTreeMap;

/// A template: what each part of a path is, and its tags.
#[derive(Debug, Clone, PartialEq)]
struct Template {
    parts: Vec<String>,
    tags: BTreeMap<String, String>,
}

/// A node of the filter tree: children by part (`*` last), and the template of the filter
/// that ends here.
#[derive(Debug, Default)]
struct Node {
    children: Vec<(String, Node)>,
    template: Option<Template>,
}

impl Node {
    fn insert(&mut self, parts: &[&str], template: Template) {
        let Some((first, rest)) = parts.split_first() else {
            self.template = Some(template);
            return;
        };
        let i = match self.children.iter().position(|(p, _)| p == first) {
            Some(i) => i,
            None => {
                self.children.push(((*first).to_string(), Node::default()));
                // Exact parts sorted, the wildcard last (InfluxDB's order).
                self.children
                    .sort_by(|(a, _), (b, _)| (a == "*").cmp(&(b == "*")).then_with(|| a.cmp(b)));
                self.children
                    .iter()
                    .position(|(p, _)| p == first)
                    .unwrap_or(0)
            }
        };
        self.children[i].1.insert(rest, template);
    }

    /// InfluxDB's search: an exact child first, else the wildcard child, without going
    /// back; a node with nothing more to match gives its own template.
    fn search(&self, parts: &[&str]) -> Option<&Template> {
        let Some((first, rest)) = parts.split_first() else {
            return self.template.as_ref();
        };
        if self.children.is_empty() {
            return self.template.as_ref();
        }
        if let Some((_, child)) = self.children.iter().find(|(p, _)| p == first) {
            return child.search(rest);
        }
        match self.children.last() {
            Some((p, child)) if p == "*" => child.search(rest),
            _ => self.template.as_ref(),
        }
    }
}

/// The parser of one `[[graphite]]` section.
#[derive(Debug)]
pub struct Parser {
    tree: Node,
    default: Template,
    separator: String,
    tags: BTreeMap<String, String>,
}

/// A parsed line.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A point.
    Point {
        /// Measurement.
        measurement: String,
        /// Tags.
        tags: BTreeMap<String, String>,
        /// The field the value goes to.
        field: String,
        /// The value.
        value: f64,
        /// Nanoseconds since the Unix epoch.
        time_ns: i64,
    },
    /// A NaN or infinite value: dropped.
    Unsupported,
    /// A blank line.
    Blank,
}

/// Reads `k=v` pairs separated by commas.
fn tag_pairs(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for kv in text.split(',') {
        match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => {
                out.insert(k.to_string(), v.to_string());
            }
            _ => return Err(format!("invalid tag format {kv:?}: want key=value")),
        }
    }
    Ok(out)
}

fn template(pattern: &str, tags: BTreeMap<String, String>) -> Result<Template, String> {
    let mut parts: Vec<String> = pattern.split('.').map(str::to_string).collect();
    let wild_m = parts.iter().any(|p| p == "measurement*");
    let wild_f = parts.iter().any(|p| p == "field*");
    if wild_m && wild_f {
        return Err(format!(
            "either 'field*' or 'measurement*' can be used in each template (but not both together): {pattern:?}"
        ));
    }
    if !parts.iter().any(|p| p.starts_with("measurement")) {
        parts.push("measurement*".into());
    }
    Ok(Template { parts, tags })
}

impl Parser {
    /// A parser of these templates (`[filter] template [tags]` each), default tags (`k=v`
    /// each) and separator. `Err` names the template or tag that does not parse.
    pub fn new(templates: &[String], tags: &[String], separator: &str) -> Result<Parser, String> {
        let mut tree = Node::default();
        let mut default = None;
        for t in templates {
            let words: Vec<&str> = t.split_whitespace().collect();
            let (filter, pattern, tags) = match words.as_slice() {
                [pattern] => ("", *pattern, ""),
                [a, b] if b.contains('=') => ("", *a, *b),
                [filter, pattern] => (*filter, *pattern, ""),
                [filter, pattern, tags] => (*filter, *pattern, *tags),
                _ => return Err(format!("invalid template format {t:?}")),
            };
            let tags = if tags.is_empty() {
                BTreeMap::new()
            } else {
                tag_pairs(tags).map_err(|e| format!("template {t:?}: {e}"))?
            };
            if filter.split('.').any(str::is_empty) && !filter.is_empty() {
                return Err(format!("template {t:?}: invalid filter {filter:?}"));
            }
            let tmpl = template(pattern, tags).map_err(|e| format!("template {t:?}: {e}"))?;
            if filter.is_empty() {
                default = Some(tmpl);
            } else {
                tree.insert(&filter.split('.').collect::<Vec<_>>(), tmpl);
            }
        }
        let mut default_tags = BTreeMap::new();
        for t in tags {
            default_tags.extend(tag_pairs(t)?);
        }
        Ok(Parser {
            tree,
            default: match default {
                Some(t) => t,
                None => template("measurement*", BTreeMap::new())?,
            },
            separator: separator.to_string(),
            tags: default_tags,
        })
    }

    /// Parses one line; `now_ns` stands for a missing timestamp or `-1`.
    pub fn parse(&self, line: &str, now_ns: i64) -> Result<Parsed, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            return Ok(Parsed::Blank);
        }
        if words.len() != 2 && words.len() != 3 {
            return Err(format!(
                "received {line:?} which doesn't have required fields"
            ));
        }
        let path = words[0];
        let value: f64 = words[1]
            .parse()
            .map_err(|_| format!("field {path:?} value: invalid number {:?}", words[1]))?;
        if !value.is_finite() {
            return Ok(Parsed::Unsupported);
        }
        let mut time_ns = now_ns;
        if let Some(t) = words.get(2) {
            let secs: f64 = t
                .parse()
                .map_err(|_| format!("field {path:?} time: invalid number {t:?}"))?;
            if secs != -1.0 {
                // Go's `time.Unix(int64(t), int64((t-math.Floor(t))*1e9))`.
                if !secs.is_finite() || secs.abs() >= 9.2e9 {
                    return Err(format!("field {path:?} time: timestamp out of range"));
                }
                let frac = ((secs - secs.floor()) * 1e9) as i64;
                time_ns = (secs as i64) * 1_000_000_000 + frac;
            }
        }
        let template = self
            .tree
            .search(&path.split('.').collect::<Vec<_>>())
            .unwrap_or(&self.default);
        let (measurement, mut tags, field) = self.apply(template, path);
        for (k, v) in &self.tags {
            tags.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Ok(Parsed::Point {
            measurement: if measurement.is_empty() {
                path.to_string()
            } else {
                measurement
            },
            tags,
            field: if field.is_empty() {
                "value".into()
            } else {
                field
            },
            value,
            time_ns,
        })
    }

    /// InfluxDB's `template.Apply`: the measurement, tags and field of `path`.
    fn apply(&self, t: &Template, path: &str) -> (String, BTreeMap<String, String>, String) {
        let parts: Vec<&str> = path.split('.').collect();
        let mut measurement: Vec<&str> = Vec::new();
        let mut field: Vec<&str> = Vec::new();
        let mut tags: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &t.tags {
            tags.entry(k.as_str()).or_default().push(v.as_str());
        }
        for (i, what) in t.parts.iter().enumerate() {
            if i >= parts.len() {
                continue;
            }
            match what.as_str() {
                "measurement" => measurement.push(parts[i]),
                "field" => field.push(parts[i]),
                "field*" => {
                    field.extend(&parts[i..]);
                    break;
                }
                "measurement*" => {
                    measurement.extend(&parts[i..]);
                    break;
                }
                "" => {}
                tag => tags.entry(tag).or_default().push(parts[i]),
            }
        }
        let sep = self.separator.as_str();
        (
            measurement.join(sep),
            tags.into_iter()
                .map(|(k, v)| (k.to_string(), v.join(sep)))
                .collect(),
            field.join(sep),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn parser(templates: &[&str], tags: &[&str], sep: &str) -> Parser {
        let t: Vec<String> = templates.iter().map(|s| s.to_string()).collect();
        let g: Vec<String> = tags.iter().map(|s| s.to_string()).collect();
        Parser::new(&t, &g, sep).unwrap()
    }

    fn point(p: &Parser, line: &str) -> (String, Vec<(String, String)>, String, f64, i64) {
        match p.parse(line, NOW).unwrap() {
            Parsed::Point {
                measurement,
                tags,
                field,
                value,
                time_ns,
            } => (
                measurement,
                tags.into_iter().collect(),
                field,
                value,
                time_ns,
            ),
            other => panic!("{line}: {other:?}"),
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn without_templates_the_path_is_the_measurement() {
        let p = parser(&[], &[], ".");
        assert_eq!(
            point(&p, "servers.localhost.cpu.load 0.5 1700000000"),
            (
                "servers.localhost.cpu.load".into(),
                vec![],
                "value".into(),
                0.5,
                NOW
            )
        );
        // No timestamp, or -1: now. Fractions of seconds.
        assert_eq!(point(&p, "a 1").4, NOW);
        assert_eq!(point(&p, "a 1 -1").4, NOW);
        assert_eq!(point(&p, "a 1 1700000000.25").4, NOW + 250_000_000);
        assert_eq!(p.parse("a NaN 1", NOW).unwrap(), Parsed::Unsupported);
        assert_eq!(p.parse("  ", NOW).unwrap(), Parsed::Blank);
    }

    #[test]
    fn templates_name_measurement_tags_and_fields() {
        let p = parser(
            &[
                "servers.* .host.measurement.field region=us",
                "stats.* .measurement.measurement.host",
                "app.*.requests app.env.measurement*",
                "host.measurement.field*",
            ],
            &["dc=eu", "region=none"],
            "_",
        );
        assert_eq!(
            point(&p, "servers.web01.cpu.idle 12 1700000000"),
            (
                "cpu".into(),
                tags(&[("dc", "eu"), ("host", "web01"), ("region", "us")]),
                "idle".into(),
                12.0,
                NOW
            )
        );
        // Parts naming the measurement twice are joined with the separator.
        let (m, t, f, _, _) = point(&p, "stats.local.mem.free.web02 1");
        assert_eq!((m.as_str(), f.as_str()), ("local_mem", "value"));
        assert_eq!(
            t,
            tags(&[("dc", "eu"), ("host", "free"), ("region", "none")])
        );
        // An exact filter part wins over `*`; `measurement*` takes the rest.
        let (m, t, _, _, _) = point(&p, "app.shop.requests.get.ok 1");
        assert_eq!(m, "requests_get_ok");
        assert_eq!(
            t,
            tags(&[
                ("app", "app"),
                ("dc", "eu"),
                ("env", "shop"),
                ("region", "none")
            ])
        );
        // The template without filter, with `field*`.
        let (m, t, f, _, _) = point(&p, "web03.disk.used.bytes 9");
        assert_eq!((m.as_str(), f.as_str()), ("disk", "used_bytes"));
        assert_eq!(
            t,
            tags(&[("dc", "eu"), ("host", "web03"), ("region", "none")])
        );
    }

    #[test]
    fn a_template_without_measurement_takes_the_rest_as_measurement() {
        let p = parser(&["host.region"], &[], ".");
        let (m, t, _, _, _) = point(&p, "h1.eu.cpu.load 1");
        assert_eq!(m, "cpu.load");
        assert_eq!(t, tags(&[("host", "h1"), ("region", "eu")]));
        // A path shorter than the template: the measurement is the whole path.
        let (m, _, _, _, _) = point(&p, "h1.eu 1");
        assert_eq!(m, "h1.eu");
    }

    #[test]
    fn bad_lines_and_templates_say_why() {
        let p = parser(&[], &[], ".");
        for (line, why) in [
            ("a", "doesn't have required fields"),
            ("a 1 2 3", "doesn't have required fields"),
            ("a one", "field \"a\" value: invalid number \"one\""),
            ("a 1 soon", "field \"a\" time: invalid number \"soon\""),
            ("a 1 1e30", "timestamp out of range"),
        ] {
            let e = p.parse(line, NOW).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
        let bad = |t: &str| Parser::new(&[t.to_string()], &[], ".").unwrap_err();
        assert!(bad("a b c d").contains("invalid template format"));
        assert!(bad("measurement*.field*").contains("'field*' or 'measurement*'"));
        assert!(bad("x.* host region=").contains("invalid tag format \"region=\""));
        assert!(
            Parser::new(&[], &["nope".into()], ".")
                .unwrap_err()
                .contains("invalid tag format")
        );
    }
}

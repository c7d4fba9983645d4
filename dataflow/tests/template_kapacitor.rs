//! Kapacitor's real alert templates: defaults, deadman, and every template in the vendored
//! conformance corpora.

use std::collections::BTreeMap;
use std::path::Path;

use kap_dataflow::plan::NodeSpec;
use kap_dataflow::template::{
    DEFAULT_DETAILS_TEMPLATE, DEFAULT_ID_TEMPLATE, DEFAULT_MESSAGE_TEMPLATE, Data, Template,
};

fn tags() -> Data {
    let m: BTreeMap<String, String> = [("cpu", "cpu1"), ("host", "serverA")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Data::StringMap(m)
}

/// Kapacitor's details template data, in Go struct field order (semantics §4.9).
fn details_data(level: &str, fields: Data) -> Data {
    Data::structure([
        ("Name", Data::str("cpu_usage_idle")),
        ("TaskName", Data::str("TestAlert")),
        ("Group", Data::str("cpu=cpu1")),
        ("Tags", tags()),
        (
            "ServerInfo",
            Data::structure([
                ("Hostname", Data::str("localhost")),
                ("ClusterID", Data::str("c1")),
                ("ServerID", Data::str("s1")),
            ]),
        ),
        ("ID", Data::str("cpu_usage_idle:cpu=cpu1")),
        ("Fields", fields),
        ("Level", Data::str(level)),
        ("Time", Data::Time(31_536_020_000_000_000)),
        ("Duration", Data::Duration(90_000_000_000)),
        (
            "Message",
            Data::str("cpu_usage_idle:cpu=cpu1 is CRITICAL <b>"),
        ),
    ])
}

#[test]
fn default_templates() {
    let d = details_data("CRITICAL", Data::map([("mean", Data::Float(96.5))]));
    let id = Template::parse("id", DEFAULT_ID_TEMPLATE).unwrap();
    assert_eq!(id.execute(&d).unwrap(), "cpu_usage_idle:cpu=cpu1");
    let msg = Template::parse("message", DEFAULT_MESSAGE_TEMPLATE).unwrap();
    assert_eq!(
        msg.execute(&d).unwrap(),
        "cpu_usage_idle:cpu=cpu1 is CRITICAL"
    );
    let details = Template::parse_html("details", DEFAULT_DETAILS_TEMPLATE).unwrap();
    let want = concat!(
        "{&#34;Name&#34;:&#34;cpu_usage_idle&#34;,&#34;TaskName&#34;:&#34;TestAlert&#34;,",
        "&#34;Group&#34;:&#34;cpu=cpu1&#34;,&#34;Tags&#34;:{&#34;cpu&#34;:&#34;cpu1&#34;,",
        "&#34;host&#34;:&#34;serverA&#34;},&#34;ServerInfo&#34;:{&#34;Hostname&#34;:",
        "&#34;localhost&#34;,&#34;ClusterID&#34;:&#34;c1&#34;,&#34;ServerID&#34;:&#34;s1&#34;},",
        "&#34;ID&#34;:&#34;cpu_usage_idle:cpu=cpu1&#34;,&#34;Fields&#34;:{&#34;mean&#34;:96.5},",
        "&#34;Level&#34;:&#34;CRITICAL&#34;,&#34;Time&#34;:&#34;1971-01-01T00:00:20Z&#34;,",
        "&#34;Duration&#34;:90000000000,&#34;Message&#34;:",
        "&#34;cpu_usage_idle:cpu=cpu1 is CRITICAL \\u003cb\\u003e&#34;}\n"
    );
    assert_eq!(details.execute(&d).unwrap(), want);
    // The same details in text mode are plain JSON.
    let text = Template::parse("details", DEFAULT_DETAILS_TEMPLATE).unwrap();
    let json = text.execute(&d).unwrap();
    assert!(json.starts_with("{\"Name\":\"cpu_usage_idle\",\"TaskName\""));
    assert!(json.ends_with("\\u003cb\\u003e\"}\n"));
}

#[test]
fn message_with_time_duration_and_details_escaping() {
    let d = details_data("WARNING", Data::map([("value", Data::Int(3))]));
    let t = Template::parse(
        "message",
        "{{ .ID }} at {{ .Time }} for {{ .Duration }}: {{ .Fields.value }} {{ .Tags.host }}",
    )
    .unwrap();
    assert_eq!(
        t.execute(&d).unwrap(),
        "cpu_usage_idle:cpu=cpu1 at 1971-01-01 00:00:20 +0000 UTC for 1m30s: 3 serverA"
    );
    let h = Template::parse_html("details", "<p>{{ .Message }}</p>{{ .Fields.nope }}").unwrap();
    assert_eq!(
        h.execute(&d).unwrap(),
        "<p>cpu_usage_idle:cpu=cpu1 is CRITICAL &lt;b&gt;</p>"
    );
}

#[test]
fn deadman_message() {
    let text = "{{ .ID }} is {{ if eq .Level \"OK\" }}alive{{ else }}dead{{ end }}: {{ index .Fields \"emitted\" | printf \"%0.3f\" }} points/10s.";
    let t = Template::parse("message", text).unwrap();
    let dead = details_data("CRITICAL", Data::map([("emitted", Data::Float(0.0))]));
    assert_eq!(
        t.execute(&dead).unwrap(),
        "cpu_usage_idle:cpu=cpu1 is dead: 0.000 points/10s."
    );
    let alive = details_data("OK", Data::map([("emitted", Data::Float(12.3456))]));
    assert_eq!(
        t.execute(&alive).unwrap(),
        "cpu_usage_idle:cpu=cpu1 is alive: 12.346 points/10s."
    );
}

#[test]
fn corpus_style_templates() {
    let d = details_data("CRITICAL", Data::map([("count", Data::Int(12))]));
    let cases = [
        (
            "kapacitor/{{ .Name }}/{{ index .Tags \"host\" }}",
            "kapacitor/cpu_usage_idle/serverA",
        ),
        (
            "{{ .ID }} got: {{ index .Fields \"count\" }}",
            "cpu_usage_idle:cpu=cpu1 got: 12",
        ),
        ("test-count", "test-count"),
    ];
    for (text, want) in cases {
        assert_eq!(
            Template::parse("t", text).unwrap().execute(&d).unwrap(),
            want
        );
    }
}

/// All string values in a JSON document.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// `.id('…')`, `.message('…')`, `.details('…')` arguments in single-quoted TICKscript form.
fn search_templates(script: &str, out: &mut Vec<(String, String)>) {
    for prop in ["id", "message", "details"] {
        let needle = format!(".{prop}('");
        let mut rest = script;
        while let Some(i) = rest.find(&needle) {
            rest = &rest[i + needle.len()..];
            let mut s = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => s.extend(chars.next()),
                    '\'' => break,
                    c => s.push(c),
                }
            }
            out.push((prop.to_owned(), s));
        }
    }
}

#[test]
fn every_corpus_template_parses() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus");
    let mut templates: Vec<(String, String)> = Vec::new();
    let mut compiled_alerts = 0;
    let mut files = 0;
    for dir in ["kapacitor/cases", "kapacitor-api/scenarios"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let json: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut all = Vec::new();
            strings(&json, &mut all);
            for s in all
                .iter()
                .filter(|s| s.contains("alert(") || s.contains("deadman("))
            {
                search_templates(s, &mut templates);
                if let Ok(c) = kap_dsl::compile_source(s, &Default::default()) {
                    for node in &c.pipeline.nodes {
                        if let NodeSpec::Alert(a) = &node.spec {
                            compiled_alerts += 1;
                            for (prop, t) in [
                                ("id", &a.id),
                                ("message", &a.message),
                                ("details", &a.details),
                            ] {
                                if let Some(t) = t {
                                    templates.push((prop.to_owned(), t.clone()));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(files > 100, "corpus not found under {}", root.display());
    assert!(
        compiled_alerts >= 5,
        "only {compiled_alerts} alert nodes compiled"
    );
    assert!(
        templates.len() >= 5,
        "only {} templates found",
        templates.len()
    );
    let d = details_data(
        "CRITICAL",
        Data::map([("count", Data::Int(1)), ("emitted", Data::Float(0.0))]),
    );
    for (prop, text) in &templates {
        let t = if prop == "details" {
            Template::parse_html(prop, text)
        } else {
            Template::parse(prop, text)
        };
        let t = t.unwrap_or_else(|e| panic!("{prop} template {text:?}: {e}"));
        t.execute(&d)
            .unwrap_or_else(|e| panic!("{prop} template {text:?}: {e}"));
    }
}

//! Golden tests from the HTTP API corpus (`kapacitor-api/scenarios/*.json`): a task or template
//! is POSTed with a raw `script`, and a later GET (formatted, Kapacitor's default) returns the
//! `tickfmt` form. Every such (posted, expected) pair must format byte for byte.

mod format_corpus;

use format_corpus::json_files;
use kap_dsl::format::format_script;
use serde_json::Value;
use std::collections::HashMap;

fn ok_status(expect: &Value) -> bool {
    let ok = |v: &Value| v.as_u64().is_some_and(|s| (200..300).contains(&s));
    match expect.get("status") {
        Some(Value::Array(a)) => a.iter().all(ok),
        Some(v) => ok(v),
        None => true,
    }
}

/// Collects objects carrying a `script` string in an expected body.
/// Each is (`id`, `template-id`, `script`).
type Found<'a> = (Option<&'a str>, Option<&'a str>, &'a str);

fn scripts_in<'a>(v: &'a Value, out: &mut Vec<Found<'a>>) {
    match v {
        Value::Object(m) => {
            if let Some(s) = m.get("script").and_then(Value::as_str) {
                let field = |k: &str| m.get(k).and_then(Value::as_str);
                out.push((field("id"), field("template-id"), s));
            }
            m.values().for_each(|x| scripts_in(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| scripts_in(x, out)),
        _ => {}
    }
}

/// (scenario, id, posted script, expected formatted script) for every pair in the corpus.
fn pairs() -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for (file, scenario) in json_files("kapacitor-api/scenarios") {
        let mut tasks: HashMap<String, String> = HashMap::new();
        let mut task_template: HashMap<String, String> = HashMap::new();
        let mut templates: HashMap<String, String> = HashMap::new();
        let steps = scenario
            .get("steps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for step in &steps {
            let method = step.get("method").and_then(Value::as_str).unwrap_or("");
            let full_path = step.get("path").and_then(Value::as_str).unwrap_or("");
            let path = full_path.split('?').next().unwrap_or("");
            let body = step.get("body").cloned().unwrap_or(Value::Null);
            let expect = step.get("expect").cloned().unwrap_or(Value::Null);
            let is_tasks = path.starts_with("/kapacitor/v1/tasks");
            let is_templates = path.starts_with("/kapacitor/v1/templates");
            let path_id = path.split('/').nth(4).map(str::to_string);
            let script = body
                .get("script")
                .and_then(Value::as_str)
                .map(str::to_string);
            match method {
                "POST" if ok_status(&expect) => {
                    let Some(id) = body.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    if is_tasks {
                        if let Some(s) = script {
                            tasks.insert(id.to_string(), s);
                        }
                        if let Some(t) = body.get("template-id").and_then(Value::as_str) {
                            task_template.insert(id.to_string(), t.to_string());
                        }
                    } else if is_templates && let Some(s) = script {
                        templates.insert(id.to_string(), s);
                    }
                }
                "PATCH" if ok_status(&expect) => {
                    let Some(old) = path_id else { continue };
                    let map = if is_tasks { &mut tasks } else { &mut templates };
                    if let Some(s) = script {
                        map.insert(old.clone(), s);
                    }
                    if let Some(new) = body.get("id").and_then(Value::as_str) {
                        if let Some(s) = map.remove(&old) {
                            map.insert(new.to_string(), s);
                        }
                        if let Some(t) = task_template.remove(&old) {
                            task_template.insert(new.to_string(), t);
                        }
                    }
                }
                "GET" if !full_path.contains("script-format=raw") => {
                    let mut found = Vec::new();
                    scripts_in(&expect, &mut found);
                    for (id, template_id, expected) in found {
                        if expected.starts_with("__") {
                            continue; // placeholder such as __ZERO_OR_ABSENT__
                        }
                        let id = id
                            .map(str::to_string)
                            .or_else(|| path_id.clone())
                            .unwrap_or_default();
                        let posted = if let Some(t) = template_id {
                            templates.get(t)
                        } else if is_templates {
                            templates.get(&id)
                        } else {
                            tasks
                                .get(&id)
                                .or_else(|| task_template.get(&id).and_then(|t| templates.get(t)))
                        };
                        let posted =
                            posted.unwrap_or_else(|| panic!("{file}: no posted script for `{id}`"));
                        out.push((file.clone(), id, posted.clone(), expected.to_string()));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

#[test]
fn api_formatted_scripts_match_byte_for_byte() {
    let pairs = pairs();
    assert!(pairs.len() >= 25, "only {} pairs found", pairs.len());
    let mut failures = Vec::new();
    for (file, id, posted, expected) in &pairs {
        match format_script(posted) {
            Ok(got) if &got == expected => {}
            Ok(got) => failures.push(format!(
                "{file} `{id}`:\n--- expected\n{expected}--- got\n{got}"
            )),
            Err(d) => failures.push(format!("{file} `{id}`: does not parse: {d:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn api_posted_scripts_parse_and_format_idempotently() {
    let mut n = 0;
    for (file, scenario) in json_files("kapacitor-api/scenarios") {
        let mut found = Vec::new();
        for step in scenario
            .get("steps")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(s) = step
                .get("body")
                .and_then(|b| b.get("script"))
                .and_then(Value::as_str)
            {
                found.push(s.to_string());
            }
        }
        for script in found {
            let once = format_script(&script).unwrap_or_else(|d| panic!("{file}: {d:?}\n{script}"));
            assert_eq!(format_script(&once).as_deref(), Ok(once.as_str()), "{file}");
            n += 1;
        }
    }
    assert!(n > 100, "only {n} scripts");
}

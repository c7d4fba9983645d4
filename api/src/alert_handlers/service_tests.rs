//! Service tests (`/kapacitor/v1/service-tests`, `kapacitor service-tests`): each alert
//! service sends a test alert through its configuration, with options over its defaults,
//! so a configuration can be checked without writing a task.

use super::{HandlerServices, options, run_handler};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dataflow::result::ResultSet;
use serde_json::{Map, Value, json};

/// The services that have a test (every alert service), sorted.
pub const NAMES: &[&str] = options::SERVICE_KINDS;

/// Options of the test alert itself, beside the handler's own.
const EVENT_OPTIONS: &[&str] = &["id", "message", "details", "level"];

/// The test options of service `name` with their defaults: the test alert's `id`,
/// `message`, `details` and `level`, and the options its handler takes. `None` for a
/// service without a test.
pub fn default_options(name: &str) -> Option<Map<String, Value>> {
    if !NAMES.contains(&name) {
        return None;
    }
    let mut o = Map::new();
    o.insert("id".into(), json!("testAlertID"));
    o.insert("message".into(), json!(format!("test {name} message")));
    o.insert("details".into(), json!(""));
    o.insert("level".into(), json!("CRITICAL"));
    o.extend(options::default_options(name)?);
    Some(o)
}

/// Sends service `name`'s test alert with `given` options over the defaults: `Ok` when the
/// service took it, `Err` with what went wrong. `None` for a service without a test.
pub fn run(
    services: &HandlerServices,
    name: &str,
    given: &Map<String, Value>,
) -> Option<Result<(), String>> {
    let defaults = default_options(name)?;
    Some(run_with(services, name, defaults, given))
}

fn run_with(
    services: &HandlerServices,
    name: &str,
    mut opts: Map<String, Value>,
    given: &Map<String, Value>,
) -> Result<(), String> {
    for (k, v) in given {
        if !opts.contains_key(k) {
            return Err(super::unknown_option(
                "",
                k,
                opts.keys().map(String::as_str),
            ));
        }
        opts.insert(k.clone(), v.clone());
    }
    let text = |k: &str| {
        opts.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let level = Level::parse(&text("level").to_ascii_uppercase())
        .ok_or_else(|| format!("invalid level {:?}", text("level")))?;
    let event = AlertEvent {
        topic: String::new(),
        id: text("id"),
        message: text("message"),
        details: text("details"),
        time: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        duration: 0,
        level,
        previous_level: Level::Ok,
        recoverable: true,
        data: ResultSet::default(),
        name: "testMeasurement".into(),
        task: "testTask".into(),
        node: "alert".into(),
        category: String::new(),
        group_id: String::new(),
        tags: Default::default(),
        fields: Default::default(),
        handlers: Vec::new(),
    };
    let own: Map<String, Value> = opts
        .into_iter()
        .filter(|(k, _)| !EVENT_OPTIONS.contains(&k.as_str()))
        .collect();
    let spec = options::service_handler(name, &own).ok_or("no such service")??;
    run_handler(&spec, &event, services)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_lists_its_options_and_reports_a_disabled_one() {
        let s = HandlerServices::unconfigured();
        for name in NAMES {
            let o = default_options(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(o["level"], "CRITICAL", "{name}");
            let err = run(&s, name, &Map::new()).unwrap().unwrap_err();
            assert!(
                err.contains("not enabled") || err.contains("is configured"),
                "{name}: {err}"
            );
        }
        assert!(default_options("log").is_none());
        let mut bad = Map::new();
        bad.insert("chanel".into(), json!("#x"));
        let err = run(&s, "slack", &bad).unwrap().unwrap_err();
        assert!(err.contains("unknown option \"chanel\""), "{err}");
        bad.clear();
        bad.insert("level".into(), json!("LOUD"));
        assert!(
            run(&s, "slack", &bad)
                .unwrap()
                .unwrap_err()
                .contains("invalid level")
        );
    }
}

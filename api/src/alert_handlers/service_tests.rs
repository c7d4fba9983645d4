//! Service tests (`/kapacitor/v1/service-tests`, `kapacitor service-tests`): each service
//! sends a test through its configuration, so a configuration can be checked without
//! writing a task.
//!
//! Every service takes Kapacitor's test options (its `testOptions`: names, defaults, and
//! the defaults read from its section, as `TestOptions()` fills them). Options a service
//! does not know are ignored, as Kapacitor's JSON decoding ignores them; an option of the
//! wrong type is refused. A disabled service answers Kapacitor's `service is not enabled`.

use super::{HandlerServices, ServiceConfigs, options, run_handler};
use kap_dataflow::alert::{AlertEvent, Level};
use kap_dataflow::result::ResultSet;
use serde_json::{Map, Value, json};

/// The services that have a test here, sorted: the alert services and `httppost`.
pub fn names() -> Vec<&'static str> {
    let mut names = options::SERVICE_KINDS.to_vec();
    names.push("httppost");
    names.sort_unstable();
    names
}

/// What Kapacitor's test of a disabled service answers.
pub const NOT_ENABLED: &str = "service is not enabled";

/// Where a test option goes.
#[derive(Debug, Clone, Copy)]
enum To {
    /// The test alert's id.
    Id,
    /// Its message.
    Message,
    /// Its details.
    Details,
    /// Its level (`CRITICAL`…, any case).
    Level,
    /// Its topic.
    Topic,
    /// The handler option of this name.
    Opt(&'static str),
    /// Read by the test itself (`httppost`'s).
    Own,
}

/// A test option's default.
#[derive(Debug, Clone, Copy)]
enum Def {
    /// A fixed value.
    Fixed(fn() -> Value),
    /// The value of this key of the service's section (of its default element in a list
    /// section); an empty list reads as `null`, as a Go nil slice marshals.
    Section(&'static str),
}

/// One test option: its name, default and destination.
type TestOption = (&'static str, Def, To);

const fn fixed(f: fn() -> Value) -> Def {
    Def::Fixed(f)
}

const fn section(key: &'static str) -> Def {
    Def::Section(key)
}

fn critical() -> Value {
    json!("CRITICAL")
}

fn empty() -> Value {
    json!("")
}

fn no() -> Value {
    json!(false)
}

/// Kapacitor's test options of service `name`.
fn test_options(name: &str) -> Option<Vec<TestOption>> {
    Some(match name {
        "alerta" => vec![
            (
                "resource",
                fixed(|| json!("testResource")),
                To::Opt("resource"),
            ),
            ("event", fixed(|| json!("testEvent")), To::Opt("event")),
            (
                "environment",
                section("environment"),
                To::Opt("environment"),
            ),
            ("severity", fixed(|| json!("critical")), To::Level),
            ("group", fixed(|| json!("testGroup")), To::Opt("group")),
            ("value", fixed(|| json!("testValue")), To::Opt("value")),
            (
                "message",
                fixed(|| json!("test alerta message")),
                To::Message,
            ),
            ("origin", section("origin"), To::Opt("origin")),
            (
                "service",
                fixed(|| json!(["testServiceA", "testServiceB"])),
                To::Opt("service"),
            ),
            (
                "timeout",
                fixed(|| json!(86_400_000_000_000_i64)),
                To::Opt("timeout"),
            ),
        ],
        "bigpanda" => vec![
            ("app_key", section("app-key"), To::Opt("app-key")),
            (
                "message",
                fixed(|| json!("test bigpanda message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
            (
                "primary_property",
                fixed(empty),
                To::Opt("primary-property"),
            ),
            (
                "secondary_property",
                fixed(empty),
                To::Opt("secondary-property"),
            ),
        ],
        "discord" => vec![
            ("workspace", fixed(empty), To::Opt("workspace")),
            (
                "message",
                fixed(|| json!("test discord message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
            ("username", section("username"), To::Opt("username")),
            ("avatar-url", section("avatar-url"), To::Opt("avatar-url")),
            (
                "embed-title",
                section("embed-title"),
                To::Opt("embed-title"),
            ),
        ],
        "hipchat" => vec![
            ("room", section("room"), To::Opt("room")),
            (
                "message",
                fixed(|| json!("test hipchat message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
        ],
        "httppost" => vec![
            ("endpoint", fixed(|| json!("example")), To::Own),
            ("url", fixed(|| json!("http://localhost:3000/")), To::Own),
            ("headers", fixed(|| json!({"Auth": "secret"})), To::Own),
            ("timeout", fixed(|| json!(0)), To::Own),
        ],
        "kafka" => vec![
            ("cluster", fixed(|| json!("example")), To::Opt("cluster")),
            ("topic", fixed(|| json!("test")), To::Opt("topic")),
            ("key", fixed(|| json!("key")), To::Id),
            (
                "message",
                fixed(|| json!("test kafka message")),
                To::Message,
            ),
        ],
        "mqtt" => vec![
            ("broker-name", section("name"), To::Opt("broker-name")),
            ("topic", fixed(empty), To::Opt("topic")),
            ("message", fixed(|| json!("test MQTT message")), To::Message),
            ("qos", fixed(|| json!("at-most-once")), To::Opt("qos")),
            ("retained", fixed(no), To::Opt("retained")),
        ],
        "opsgenie" => vec![
            ("teams", section("teams"), To::Opt("teams")),
            ("recipients", section("recipients"), To::Opt("recipients")),
            ("message-type", fixed(critical), To::Level),
            (
                "message",
                fixed(|| json!("test opsgenie message")),
                To::Message,
            ),
            ("entity-id", fixed(|| json!("testEntityID")), To::Id),
        ],
        "opsgenie2" => {
            let mut v1 = test_options("opsgenie")?;
            v1.push((
                "recovery_action",
                section("recovery_action"),
                To::Opt("recovery-action"),
            ));
            v1
        }
        "pagerduty" => vec![
            ("incident-key", fixed(|| json!("testIncidentKey")), To::Id),
            (
                "description",
                fixed(|| json!("test pagerduty message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
            ("service-key", fixed(empty), To::Opt("service-key")),
        ],
        "pagerduty2" => vec![
            ("alert_id", fixed(|| json!("testAlertID")), To::Id),
            (
                "description",
                fixed(|| json!("test pagerduty2 message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
            (
                "routing_key",
                section("routing-key"),
                To::Opt("routing-key"),
            ),
            (
                "links",
                fixed(|| {
                    json!([
                        {"href": "https://example.com/a", "text": "a"},
                        {"href": "https://example.com/b", "text": "b"}
                    ])
                }),
                To::Opt("links"),
            ),
        ],
        "pushover" => vec![
            ("user-key", section("user-key"), To::Opt("user-key")),
            (
                "message",
                fixed(|| json!("test pushover message")),
                To::Message,
            ),
            ("device", fixed(empty), To::Opt("device")),
            ("title", fixed(empty), To::Opt("title")),
            ("url", fixed(empty), To::Opt("url")),
            ("url-title", fixed(empty), To::Opt("url-title")),
            ("sound", fixed(empty), To::Opt("sound")),
            ("level", fixed(critical), To::Level),
        ],
        "sensu" => vec![
            ("name", fixed(|| json!("testName")), To::Id),
            ("source", section("source"), To::Opt("source")),
            ("output", fixed(|| json!("testOutput")), To::Message),
            ("handlers", section("handlers"), To::Opt("handlers")),
            ("metadata", fixed(|| json!({})), To::Opt("metadata")),
            ("level", fixed(critical), To::Level),
        ],
        "servicenow" => vec![
            ("alert_id", fixed(|| json!("1001")), To::Id),
            ("type", fixed(|| json!("CPU")), To::Opt("type")),
            (
                "resource",
                fixed(|| json!("CPU-Total")),
                To::Opt("resource"),
            ),
            ("node", fixed(|| json!("localhost")), To::Opt("node")),
            (
                "metric_name",
                fixed(|| json!("usage_idle")),
                To::Opt("metric-name"),
            ),
            (
                "message_key",
                fixed(|| json!("Alert: 1001")),
                To::Opt("message-key"),
            ),
            ("source", section("source"), To::Opt("source")),
            ("level", fixed(critical), To::Level),
            (
                "message",
                fixed(|| json!("test servicenow message")),
                To::Message,
            ),
        ],
        "slack" => vec![
            ("workspace", fixed(empty), To::Opt("workspace")),
            ("channel", section("channel"), To::Opt("channel")),
            (
                "message",
                fixed(|| json!("test slack message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
            ("username", fixed(empty), To::Opt("username")),
            ("icon-emoji", fixed(empty), To::Opt("icon-emoji")),
        ],
        "smtp" => vec![
            ("to", section("to"), To::Opt("to")),
            ("subject", fixed(|| json!("test subject")), To::Message),
            ("body", fixed(|| json!("test body")), To::Details),
        ],
        "snmptrap" => vec![
            ("trap-oid", fixed(|| json!("1.1.1.1")), To::Opt("trap-oid")),
            (
                "data-list",
                fixed(
                    || json!([{"oid": "1.1.1.1.2", "type": "s", "value": "test snmptrap message"}]),
                ),
                To::Opt("data"),
            ),
        ],
        "talk" => vec![
            ("title", fixed(|| json!("testTitle")), To::Id),
            ("text", fixed(|| json!("test talk text")), To::Message),
        ],
        "teams" => vec![
            (
                "channel_url",
                section("channel-url"),
                To::Opt("channel-url"),
            ),
            (
                "alert_topic",
                fixed(|| json!("test kapacitor alert topic")),
                To::Topic,
            ),
            ("alert_id", fixed(|| json!("foo/bar/bat")), To::Id),
            (
                "message",
                fixed(|| json!("test teams message")),
                To::Message,
            ),
            ("level", fixed(critical), To::Level),
        ],
        "telegram" => vec![
            ("chat-id", section("chat-id"), To::Opt("chat-id")),
            ("parse-mode", section("parse-mode"), To::Opt("parse-mode")),
            (
                "message",
                fixed(|| json!("test telegram message")),
                To::Message,
            ),
            (
                "disable-web-page-preview",
                section("disable-web-page-preview"),
                To::Opt("disable-web-page-preview"),
            ),
            (
                "disable-notification",
                section("disable-notification"),
                To::Opt("disable-notification"),
            ),
        ],
        "victorops" => vec![
            ("routingKey", section("routing-key"), To::Opt("routing-key")),
            ("messageType", fixed(critical), To::Level),
            (
                "message",
                fixed(|| json!("test victorops message")),
                To::Message,
            ),
            ("entityID", fixed(|| json!("testEntityID")), To::Id),
        ],
        "zenoss" => vec![
            ("action", section("action"), To::Opt("action")),
            ("method", section("method"), To::Opt("method")),
            ("type", section("type"), To::Opt("type")),
            ("tid", section("tid"), To::Opt("tid")),
            ("collector", section("collector"), To::Opt("collector")),
            (
                "summary",
                fixed(|| json!("test zenoss message")),
                To::Message,
            ),
            ("device", fixed(|| json!("testDevice")), To::Id),
            ("component", fixed(empty), To::Opt("component")),
            ("level", fixed(critical), To::Level),
        ],
        _ => return None,
    })
}

/// Service `name`'s section as configured now (its default element in a list section, the
/// defaults when it has none).
fn section_of(configs: &ServiceConfigs, name: &str) -> Map<String, Value> {
    let all = serde_json::to_value(configs).expect("configurations serialize");
    let element = match &all[name] {
        Value::Array(items) => items
            .iter()
            .find(|c| c["default"] == json!(true))
            .or_else(|| items.first())
            .cloned(),
        v @ Value::Object(_) => Some(v.clone()),
        _ => None,
    };
    match element {
        Some(Value::Object(o)) => o,
        _ => match super::overrides::element_default(name) {
            Value::Object(o) => o,
            _ => Map::new(),
        },
    }
}

/// The test options of service `name` with their defaults, as its section is now; `None`
/// for a service without a test here.
pub fn default_options(services: &HandlerServices, name: &str) -> Option<Map<String, Value>> {
    let spec = test_options(name)?;
    let section = section_of(&services.configs(), name);
    Some(
        spec.iter()
            .map(|(key, def, _)| {
                let value = match def {
                    Def::Fixed(f) => f(),
                    Def::Section(k) => match section.get(*k) {
                        Some(Value::Array(a)) if a.is_empty() => Value::Null,
                        Some(v) => v.clone(),
                        None => Value::Null,
                    },
                };
                ((*key).to_string(), value)
            })
            .collect(),
    )
}

/// Runs service `name`'s test with `given` options over the defaults: `Ok` when the
/// service took it, `Err` with what went wrong. `None` for a service without a test here.
pub fn run(
    services: &HandlerServices,
    name: &str,
    given: &Map<String, Value>,
) -> Option<Result<(), String>> {
    let spec = test_options(name)?;
    let mut opts = default_options(services, name)?;
    for (k, v) in given {
        if let Some(slot) = opts.get_mut(k) {
            if !same_kind(slot, v) {
                return Some(Err(format!(
                    "option {k:?}: expected {}, got {v}",
                    kind_name(slot)
                )));
            }
            *slot = v.clone();
        }
    }
    if name == "httppost" {
        return Some(post_test(services, &opts));
    }
    Some(run_alert(services, name, spec, opts))
}

/// Whether `v` may replace `default` (`null` defaults are Go nil slices and maps: a list
/// or object replaces them).
fn same_kind(default: &Value, v: &Value) -> bool {
    matches!(
        (default, v),
        (Value::Null, _)
            | (_, Value::Null)
            | (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Number(_), Value::Number(_))
            | (Value::Array(_), Value::Array(_))
            | (Value::Object(_), Value::Object(_))
    )
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Sends an alert service's test alert.
fn run_alert(
    services: &HandlerServices,
    name: &str,
    spec: Vec<TestOption>,
    opts: Map<String, Value>,
) -> Result<(), String> {
    check_enabled(&services.configs(), name, &opts)?;
    let mut event = test_event();
    let mut handler = Map::new();
    for (key, _, to) in &spec {
        let value = opts.get(*key).cloned().unwrap_or(Value::Null);
        let text = || match &value {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        match to {
            To::Id => event.id = text(),
            To::Message => event.message = text(),
            To::Details => event.details = text(),
            To::Topic => event.topic = text(),
            To::Level => {
                event.level = Level::parse(&text().to_ascii_uppercase())
                    .ok_or_else(|| format!("option {key:?}: invalid level {:?}", text()))?;
            }
            To::Opt(opt) => {
                if let Some(v) = handler_value(opt, value) {
                    handler.insert((*opt).to_string(), v);
                }
            }
            To::Own => {}
        }
    }
    let spec = options::service_handler(name, &handler).ok_or("no such service")??;
    run_handler(&spec, &event, services).map_err(|f| f.message)
}

/// Kapacitor's answer when the section (or, in a list section, the element the options
/// name, else the default one) is missing or disabled.
fn check_enabled(
    configs: &ServiceConfigs,
    name: &str,
    opts: &Map<String, Value>,
) -> Result<(), String> {
    let all = serde_json::to_value(configs).expect("configurations serialize");
    let element = match (&all[name], list_keys(name)) {
        (Value::Array(items), Some((opt, key))) => {
            let wanted = opts.get(opt).and_then(Value::as_str).unwrap_or("");
            let found = items.iter().find(|c| {
                if wanted.is_empty() {
                    c["default"] == json!(true) || items.len() == 1
                } else {
                    c[key] == json!(wanted)
                }
            });
            if found.is_none() && name == "kafka" {
                return Err(format!("unknown cluster {wanted:?}"));
            }
            found.cloned()
        }
        (v, _) => Some(v.clone()),
    };
    match element {
        Some(e) if e["enabled"] == json!(true) => Ok(()),
        _ => Err(NOT_ENABLED.into()),
    }
}

/// In a list section, the test option naming an element and the element's key for it.
fn list_keys(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "slack" | "discord" => Some(("workspace", "workspace")),
        "mqtt" => Some(("broker-name", "name")),
        "kafka" => Some(("cluster", "id")),
        _ => None,
    }
}

/// A test option's value as its handler option takes it: `null` (a Go nil) is left to
/// the handler's default; MQTT's QoS names are its levels.
fn handler_value(opt: &str, value: Value) -> Option<Value> {
    match (opt, value) {
        (_, Value::Null) => None,
        ("qos", Value::String(s)) => Some(json!(match s.as_str() {
            "at-least-once" | "1" => 1,
            "exactly-once" | "2" => 2,
            _ => 0,
        })),
        (_, v) => Some(v),
    }
}

/// The test alert, before its options.
fn test_event() -> AlertEvent {
    AlertEvent {
        topic: String::new(),
        id: "testAlertID".into(),
        message: String::new(),
        details: String::new(),
        time: chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0),
        duration: 0,
        level: Level::Critical,
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
    }
}

/// `httppost`'s test: an empty alert's data posted to `url` (or, without one, to the
/// endpoint's) with `headers`; a status other than 2xx fails it.
fn post_test(services: &HandlerServices, opts: &Map<String, Value>) -> Result<(), String> {
    let text = |k: &str| {
        opts.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (mut url, mut headers) = (text("url"), Vec::new());
    if let Some(e) = services.endpoints.get(&text("endpoint")) {
        if url.is_empty() {
            url.clone_from(&e.url);
        }
        headers.extend(e.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if url.is_empty() {
        return Err("no url to post to".into());
    }
    if let Some(Value::Object(h)) = opts.get("headers") {
        for (k, v) in h {
            headers.push((k.clone(), v.as_str().unwrap_or("").to_string()));
        }
    }
    headers.push(("Content-Type".into(), "application/json".into()));
    let timeout = opts
        .get("timeout")
        .and_then(Value::as_i64)
        .filter(|t| *t > 0);
    let body = AlertEvent {
        id: String::new(),
        level: Level::Ok,
        recoverable: false,
        task: String::new(),
        name: String::new(),
        node: String::new(),
        ..test_event()
    }
    .to_json_line()?;
    let (status, _) = services.poster.post(&url, &headers, body, timeout)?;
    if status / 100 != 2 {
        return Err(format!("unexpected response code {status} from {url}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_lists_kapacitors_options_and_a_disabled_one_says_so() {
        let s = HandlerServices::unconfigured();
        for name in names() {
            let o = default_options(&s, name).unwrap_or_else(|| panic!("{name}"));
            assert!(!o.is_empty(), "{name}");
            let err = run(&s, name, &Map::new()).unwrap().unwrap_err();
            match name {
                // No endpoint named `example`, and its default URL is closed.
                "httppost" => assert!(!err.is_empty()),
                "kafka" => assert_eq!(err, "unknown cluster \"example\""),
                _ => assert_eq!(err, NOT_ENABLED, "{name}"),
            }
        }
        assert!(default_options(&s, "log").is_none());
        let slack = default_options(&s, "slack").unwrap();
        assert_eq!(
            Value::Object(slack),
            json!({"workspace": "", "channel": "", "message": "test slack message",
                   "level": "CRITICAL", "username": "", "icon-emoji": ""})
        );
        let smtp = default_options(&s, "smtp").unwrap();
        assert_eq!(
            Value::Object(smtp),
            json!({"to": null, "subject": "test subject", "body": "test body"})
        );
    }

    #[test]
    fn options_are_checked_by_type_and_unknown_ones_ignored() {
        let s = HandlerServices::unconfigured();
        let mut o = Map::new();
        o.insert("chanel".into(), json!("#x"));
        assert_eq!(run(&s, "slack", &o).unwrap().unwrap_err(), NOT_ENABLED);
        o.insert("channel".into(), json!(3));
        let err = run(&s, "slack", &o).unwrap().unwrap_err();
        assert!(
            err.contains("option \"channel\": expected a string"),
            "{err}"
        );
    }

    #[test]
    fn sections_fill_the_defaults() {
        let configs: ServiceConfigs = toml::from_str(
            "[victorops]\nenabled = true\napi-key = \"k\"\nrouting-key = \"team\"\n\
             [opsgenie]\nteams = [\"ops\"]\n",
        )
        .unwrap();
        let s = HandlerServices::unconfigured().with_configs(configs);
        let v = default_options(&s, "victorops").unwrap();
        assert_eq!(v["routingKey"], "team");
        assert_eq!(v["messageType"], "CRITICAL");
        let o = default_options(&s, "opsgenie").unwrap();
        assert_eq!(o["teams"], json!(["ops"]));
        assert_eq!(o["recipients"], Value::Null);
    }
}

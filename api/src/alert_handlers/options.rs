//! Topic handlers' `options` (Kapacitor's option names, kebab-case) turned into the handler
//! an inline TICKscript property would build, so both run through the same code.

use kap_dsl::plan::HandlerSpec;
use kap_dsl::value::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};

/// Option names that differ from the handler's field names, per kind.
const RENAMES: &[(&str, &str, &str)] = &[
    ("alerta", "service", "services"),
    ("alerta", "correlate", "correlated"),
    ("kafka", "topic", "kafka_topic"),
    ("kafka", "disablePartitionById", "disable_partition_by_id"),
    (
        "kafka",
        "partitionHashAlgorithm",
        "partition_hash_algorithm",
    ),
    ("sensu", "metadata", "metadata"),
    ("servicenow", "type", "type_"),
    ("zenoss", "type", "type_"),
];

/// Fields holding `key → value` maps (lists of pairs in the handler).
const MAP_FIELDS: &[&str] = &["attributes", "metadata", "additional_info", "custom_fields"];

/// The kinds of the alert services (handlers with a configuration section), sorted.
pub const SERVICE_KINDS: &[&str] = &[
    "alerta",
    "bigpanda",
    "discord",
    "hipchat",
    "kafka",
    "mqtt",
    "opsgenie",
    "opsgenie2",
    "pagerduty",
    "pagerduty2",
    "pushover",
    "sensu",
    "servicenow",
    "slack",
    "smtp",
    "snmptrap",
    "talk",
    "teams",
    "telegram",
    "victorops",
    "zenoss",
];

/// The handler of a service kind (`slack`, `pagerduty2`…) with these options; `None` for a
/// kind this module does not cover (`log`, `post`… are built by the alert center).
pub fn service_handler(
    kind: &str,
    options: &Map<String, Json>,
) -> Option<Result<HandlerSpec, String>> {
    Some(match kind {
        "slack" => build(kind, options).map(HandlerSpec::Slack),
        "pagerduty" => build(kind, options).map(HandlerSpec::PagerDuty),
        "pagerduty2" => build(kind, options).map(HandlerSpec::PagerDuty2),
        "victorops" => build(kind, options).map(HandlerSpec::VictorOps),
        "opsgenie" => build(kind, options).map(HandlerSpec::OpsGenie),
        "opsgenie2" => build(kind, options).map(HandlerSpec::OpsGenie2),
        "teams" => build(kind, options).map(HandlerSpec::Teams),
        "discord" => build(kind, options).map(HandlerSpec::Discord),
        "telegram" => build(kind, options).map(HandlerSpec::Telegram),
        "hipchat" => build(kind, options).map(HandlerSpec::HipChat),
        "talk" => build(kind, options).map(HandlerSpec::Talk),
        "pushover" => build(kind, options).map(HandlerSpec::Pushover),
        "sensu" => build(kind, options).map(HandlerSpec::Sensu),
        "alerta" => build(kind, options).map(HandlerSpec::Alerta),
        "smtp" => build(kind, options).map(HandlerSpec::Email),
        "bigpanda" => build(kind, options).map(HandlerSpec::BigPanda),
        "servicenow" => build(kind, options).map(HandlerSpec::ServiceNow),
        "zenoss" => build(kind, options).map(HandlerSpec::Zenoss),
        "mqtt" => build(kind, options).map(HandlerSpec::Mqtt),
        "snmptrap" => build(kind, options).map(HandlerSpec::SnmpTrap),
        "kafka" => build(kind, options).map(HandlerSpec::Kafka),
        _ => return None,
    })
}

/// The options a handler of `kind` takes, with their defaults, by Kapacitor's names (as
/// [`service_handler`] reads them); `None` for a kind it does not cover.
pub fn default_options(kind: &str) -> Option<Map<String, Json>> {
    let spec = service_handler(kind, &Map::new())?.ok()?;
    let Json::Object(tagged) = serde_json::to_value(&spec).expect("handlers serialize") else {
        return None;
    };
    let Some(Json::Object(fields)) = tagged.into_iter().next().map(|(_, v)| v) else {
        return None;
    };
    Some(
        fields
            .into_iter()
            .map(|(field, value)| {
                let name = RENAMES
                    .iter()
                    .find(|(k, from, to)| {
                        *k == kind && *to == field && !from.contains(char::is_uppercase)
                    })
                    .map_or_else(
                        || field.replace('_', "-"),
                        |(_, from, _)| (*from).to_string(),
                    );
                let value = if MAP_FIELDS.contains(&field.as_str()) {
                    Json::Object(Map::new())
                } else {
                    value
                };
                (name, value)
            })
            .collect(),
    )
}

/// Overlays `options` on the handler's defaults: each option must name a field (as
/// Kapacitor refuses unused options) and have its type.
fn build<T: Serialize + DeserializeOwned + Default>(
    kind: &str,
    options: &Map<String, Json>,
) -> Result<T, String> {
    let Json::Object(mut fields) =
        serde_json::to_value(T::default()).expect("handler options serialize")
    else {
        unreachable!("a handler serializes to an object")
    };
    for (key, value) in options {
        let field = RENAMES
            .iter()
            .find(|(k, from, _)| *k == kind && from == key)
            .map_or_else(|| key.replace('-', "_"), |(_, _, to)| (*to).to_string());
        if !fields.contains_key(&field) {
            let known: Vec<String> = fields.keys().map(|k| k.replace('_', "-")).collect();
            let place = format!("{kind} handler: ");
            return Err(super::unknown_option(
                &place,
                key,
                known.iter().map(String::as_str),
            ));
        }
        let value = if MAP_FIELDS.contains(&field.as_str()) {
            pairs(kind, key, value)?
        } else if kind == "snmptrap" && field == "data" {
            snmp_data(value)?
        } else if field == "timeout" {
            duration(kind, key, value)?
        } else {
            value.clone()
        };
        fields.insert(field, value);
    }
    serde_json::from_value(Json::Object(fields))
        .map_err(|e| format!("{kind} handler: invalid options: {e}"))
}

/// A JSON object of scalars as the handler's list of `(key, value)` pairs.
fn pairs(kind: &str, key: &str, value: &Json) -> Result<Json, String> {
    let Json::Object(m) = value else {
        return Err(format!("{kind} handler: option {key:?} must be an object"));
    };
    let mut out = Vec::new();
    for (k, v) in m {
        let v = match v {
            Json::String(s) => Value::String(s.clone()),
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            other => {
                return Err(format!(
                    "{kind} handler: option {key:?}: value of {k:?} must be a string, number or boolean, got {other}"
                ));
            }
        };
        out.push(serde_json::to_value((k, v)).expect("values serialize"));
    }
    Ok(Json::Array(out))
}

/// `snmptrap`'s `data`: a list of `{oid, type, value}` (the handler's field is `type_`).
fn snmp_data(value: &Json) -> Result<Json, String> {
    let Json::Array(items) = value else {
        return Err("snmptrap handler: option \"data\" must be a list".into());
    };
    items
        .iter()
        .map(|item| {
            let mut item = item
                .as_object()
                .cloned()
                .ok_or("snmptrap handler: each \"data\" item must be an object")?;
            if let Some(t) = item.remove("type") {
                item.insert("type_".into(), t);
            }
            Ok(Json::Object(item))
        })
        .collect()
}

/// A duration option: nanoseconds, or a Go duration string (`10s`).
fn duration(kind: &str, key: &str, value: &Json) -> Result<Json, String> {
    match value {
        Json::Number(_) => Ok(value.clone()),
        Json::String(s) => crate::config::parse_go_duration(s)
            .map(|d| Json::from(d.as_nanos() as i64))
            .map_err(|e| format!("{kind} handler: option {key:?}: {e}")),
        other => Err(format!(
            "{kind} handler: option {key:?} must be a duration, got {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn opts(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn options_fill_the_handler_kapacitor_names_and_types_checked() {
        let h = service_handler(
            "slack",
            &opts(json!({"channel": "#a", "icon-emoji": ":x:", "workspace": "w"})),
        )
        .unwrap()
        .unwrap();
        let HandlerSpec::Slack(s) = h else { panic!() };
        assert_eq!((s.channel.as_str(), s.icon_emoji.as_str()), ("#a", ":x:"));
        assert_eq!(s.workspace, "w");
        let e = service_handler("slack", &opts(json!({"chanel": "#a"})))
            .unwrap()
            .unwrap_err();
        assert!(
            e.contains("unknown option \"chanel\"") && e.contains("channel"),
            "{e}"
        );
        let e = service_handler("slack", &opts(json!({"channel": 3})))
            .unwrap()
            .unwrap_err();
        assert!(e.contains("invalid options"), "{e}");
        let HandlerSpec::PagerDuty2(p) = service_handler(
            "pagerduty2",
            &opts(json!({"routing-key": "rk", "links": [{"href": "http://x", "text": "t"}]})),
        )
        .unwrap()
        .unwrap() else {
            panic!()
        };
        assert_eq!(p.routing_key, "rk");
        assert_eq!(p.links[0].href, "http://x");
        let HandlerSpec::Alerta(a) = service_handler(
            "alerta",
            &opts(json!({"service": ["web"], "attributes": {"n": 1, "s": "x"}, "timeout": "1m"})),
        )
        .unwrap()
        .unwrap() else {
            panic!()
        };
        assert_eq!(a.services, vec!["web"]);
        assert_eq!(a.timeout, 60_000_000_000);
        assert_eq!(a.attributes[0], ("n".to_string(), Value::Int(1)));
        let HandlerSpec::Email(m) = service_handler("smtp", &opts(json!({"to": ["a@b.c"]})))
            .unwrap()
            .unwrap()
        else {
            panic!()
        };
        assert_eq!(m.to, vec!["a@b.c"]);
        let HandlerSpec::SnmpTrap(t) = service_handler(
            "snmptrap",
            &opts(json!({"trap-oid": "1.2.3", "data": [{"oid": "1.2.3.1", "type": "s", "value": "{{.ID}}"}]})),
        )
        .unwrap()
        .unwrap() else {
            panic!()
        };
        assert_eq!(t.trap_oid, "1.2.3");
        assert_eq!(
            (t.data[0].type_.as_str(), t.data[0].value.as_str()),
            ("s", "{{.ID}}")
        );
        let HandlerSpec::Kafka(k) = service_handler(
            "kafka",
            &opts(json!({"cluster": "c", "topic": "t", "disablePartitionById": true})),
        )
        .unwrap()
        .unwrap() else {
            panic!()
        };
        assert_eq!((k.cluster.as_str(), k.kafka_topic.as_str()), ("c", "t"));
        assert!(k.disable_partition_by_id);
        assert!(service_handler("log", &Map::new()).is_none());
        for kind in SERVICE_KINDS {
            assert!(service_handler(kind, &Map::new()).is_some(), "{kind}");
        }
        // The defaults listed by Kapacitor's names read back as the same handler.
        for kind in ["slack", "alerta", "kafka", "snmptrap", "zenoss", "smtp"] {
            let defaults = default_options(kind).unwrap();
            assert!(
                service_handler(kind, &defaults).unwrap().is_ok(),
                "{kind}: {defaults:?}"
            );
        }
        let d = default_options("kafka").unwrap();
        assert!(
            d.contains_key("topic") && d.contains_key("partition-hash-algorithm"),
            "{d:?}"
        );
        assert!(default_options("alerta").unwrap().contains_key("service"));
    }
}

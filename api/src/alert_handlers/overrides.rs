//! The services' sections as Kapacitor's `/config` API shows and changes them: elements
//! (one per section, or one per workspace, broker or cluster in a list section), their
//! options by configuration names with secrets redacted, and the overrides made through
//! the API applied over the configuration file.

use super::ServiceConfigs;
use crate::store::ConfigOverrideRecord;
use serde_json::{Map, Value};

/// A section's shape in the API.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// Its name.
    pub name: &'static str,
    /// In a list section, the option naming each element.
    pub key: Option<&'static str>,
    /// Options shown as whether they are set, never as their value.
    pub redacted: &'static [&'static str],
}

/// Every section the API shows, sorted by name.
pub const SECTIONS: &[Section] = &[
    sec("alerta", None, &["token"]),
    sec("bigpanda", None, &["token", "app-key"]),
    sec("discord", Some("workspace"), &["url"]),
    sec("hipchat", None, &["token"]),
    sec("kafka", Some("id"), &["sasl-password"]),
    sec("mqtt", Some("name"), &["password"]),
    sec("opsgenie", None, &["api-key"]),
    sec("opsgenie2", None, &["api-key"]),
    sec("pagerduty", None, &["service-key"]),
    sec("pagerduty2", None, &["routing-key"]),
    sec("pushover", None, &["token", "user-key"]),
    sec("sensu", None, &[]),
    sec("servicenow", None, &["password"]),
    sec("slack", Some("workspace"), &["url", "token"]),
    sec("smtp", None, &["password"]),
    sec("snmptrap", None, &[]),
    sec("talk", None, &["url"]),
    sec("teams", None, &["channel-url"]),
    sec("telegram", None, &["token"]),
    sec("victorops", None, &["api-key"]),
    sec("zenoss", None, &["password"]),
];

const fn sec(
    name: &'static str,
    key: Option<&'static str>,
    redacted: &'static [&'static str],
) -> Section {
    Section {
        name,
        key,
        redacted,
    }
}

/// The section named `name`.
pub fn section(name: &str) -> Option<&'static Section> {
    SECTIONS.iter().find(|s| s.name == name)
}

/// One element: its name (empty in a section of one element) and its options as the API
/// shows them, secrets redacted (`true` when set). `all` holds the sections by name, as the
/// configuration serializes.
pub fn elements(all: &Value, s: &Section) -> Vec<(String, Map<String, Value>)> {
    let items: Vec<Value> = match (&all[s.name], s.key) {
        (Value::Array(items), Some(_)) => items.clone(),
        (v @ Value::Object(_), None) => vec![v.clone()],
        _ => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(mut o) => {
                let name = s
                    .key
                    .and_then(|k| o.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                for r in s.redacted {
                    if let Some(v) = o.get_mut(*r) {
                        *v = Value::Bool(is_set(v));
                    }
                }
                // An empty list or map option is nil in Kapacitor's configuration (no
                // default fills it), which its API shows as `null`.
                for v in o.values_mut() {
                    if matches!(v, Value::Array(a) if a.is_empty())
                        || matches!(v, Value::Object(m) if m.is_empty())
                    {
                        *v = Value::Null;
                    }
                }
                Some((name, o))
            }
            _ => None,
        })
        .collect()
}

/// Whether a secret is set: a non-empty string, or a table with one (`basic-auth`).
fn is_set(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Object(o) => o.values().any(is_set),
        Value::Array(a) => !a.is_empty(),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// The defaults of one element of section `section` (of a new one in a list section).
pub fn element_default(section: &str) -> Value {
    let one = match section {
        "slack" => serde_json::to_value(super::SlackConfig::default()),
        "discord" => serde_json::to_value(super::DiscordConfig::default()),
        "mqtt" => serde_json::to_value(super::MqttConfig::default()),
        "kafka" => serde_json::to_value(super::KafkaConfig::default()),
        _ => serde_json::to_value(ServiceConfigs::default()).map(|all| all[section].clone()),
    };
    one.expect("configurations serialize")
}

/// `base` with `overrides` applied in order, checked as the configuration file is.
///
/// # Errors
/// What is wrong, naming the section, element and option.
pub fn apply(
    base: &ServiceConfigs,
    overrides: &[ConfigOverrideRecord],
) -> Result<ServiceConfigs, String> {
    let mut all = serde_json::to_value(base).expect("configurations serialize");
    apply_json(&mut all, overrides, section, element_default)?;
    let configs: ServiceConfigs =
        serde_json::from_value(all).map_err(|e| format!("invalid option: {e}"))?;
    configs
        .validate()
        .map_err(|(key, message)| format!("{key}: {message}"))?;
    Ok(configs)
}

/// Applies `overrides` in order to `all` (sections by name, as a configuration
/// serializes): `section` finds a section's shape, `element_default` gives a new element of
/// a list section. Options must exist and keep the element's name; the caller checks the
/// result's types and rules.
///
/// # Errors
/// What is wrong, naming the section, element and option.
pub fn apply_json(
    all: &mut Value,
    overrides: &[ConfigOverrideRecord],
    section: impl Fn(&str) -> Option<&'static Section>,
    element_default: impl Fn(&str) -> Value,
) -> Result<(), String> {
    for o in overrides {
        let s = section(&o.section).ok_or_else(|| format!("unknown section {:?}", o.section))?;
        let place = format!(
            "[{}]{}",
            s.name,
            if o.element.is_empty() {
                String::new()
            } else {
                format!(" element {:?}", o.element)
            }
        );
        let target = match s.key {
            None => &mut all[s.name],
            Some(key) => {
                let Value::Array(items) = &mut all[s.name] else {
                    return Err(format!("{place}: not a list section"));
                };
                let at = items
                    .iter()
                    .position(|e| e.get(key).and_then(Value::as_str) == Some(o.element.as_str()));
                match (at, o.delete, o.create) {
                    (Some(i), true, _) => {
                        items.remove(i);
                        continue;
                    }
                    (None, true, _) => continue,
                    (Some(i), false, _) => &mut items[i],
                    (None, false, true) => {
                        let mut e = element_default(s.name);
                        e[key] = Value::String(o.element.clone());
                        items.push(e);
                        items.last_mut().expect("just pushed")
                    }
                    (None, false, false) => return Err(format!("{place} does not exist")),
                }
            }
        };
        let Value::Object(fields) = target else {
            return Err(format!("{place}: not a table"));
        };
        for (k, v) in &o.options {
            if !fields.contains_key(k) {
                let place = format!("{place}: ");
                return Err(super::unknown_option(
                    &place,
                    k,
                    fields.keys().map(String::as_str),
                ));
            }
            if Some(k.as_str()) == s.key && v.as_str() != Some(o.element.as_str()) {
                return Err(format!(
                    "{place}: option {k:?} names the element and cannot change"
                ));
            }
            // Go decodes `null` into a list or map option as nil: empty.
            let v = match (v, &fields[k]) {
                (Value::Null, Value::Array(_)) => Value::Array(Vec::new()),
                (Value::Null, Value::Object(_)) => Value::Object(Map::new()),
                _ => v.clone(),
            };
            fields.insert(k.clone(), v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(section: &str, element: &str, options: Value) -> ConfigOverrideRecord {
        ConfigOverrideRecord {
            section: section.into(),
            element: element.into(),
            options: options.as_object().unwrap().clone(),
            create: false,
            delete: false,
        }
    }

    #[test]
    fn overrides_set_add_and_remove_elements_and_are_checked() {
        let base = ServiceConfigs::default();
        let c = apply(
            &base,
            &[rec(
                "smtp",
                "",
                json!({"enabled": true, "from": "k@example.com", "port": 2525}),
            )],
        )
        .unwrap();
        assert!(c.smtp.enabled);
        assert_eq!(c.smtp.port, 2525);
        let added = ConfigOverrideRecord {
            create: true,
            ..rec(
                "slack",
                "ops",
                json!({"enabled": true, "url": "http://hook"}),
            )
        };
        let c = apply(&base, std::slice::from_ref(&added)).unwrap();
        assert_eq!(c.slack[0].workspace, "ops");
        assert_eq!(c.slack[0].username, "kapacitor");
        let removed = ConfigOverrideRecord {
            delete: true,
            ..rec("slack", "ops", json!({}))
        };
        assert!(
            apply(&base, &[added.clone(), removed])
                .unwrap()
                .slack
                .is_empty()
        );
        // Unknown options, bad types and invalid results are refused, saying where.
        let e = apply(&base, &[rec("smtp", "", json!({"prot": 1}))]).unwrap_err();
        assert!(e.starts_with("[smtp]: unknown option \"prot\""), "{e}");
        assert!(apply(&base, &[rec("smtp", "", json!({"port": "x"}))]).is_err());
        let e = apply(&base, &[rec("slack", "ops", json!({"url": "x"}))]).unwrap_err();
        assert!(e.contains("does not exist"), "{e}");
        let e = apply(
            &base,
            &[rec("pagerduty2", "", json!({"enabled": true, "url": "x"}))],
        )
        .unwrap_err();
        assert!(e.starts_with("pagerduty2.url"), "{e}");
    }

    #[test]
    fn every_section_of_the_configuration_is_listed_once() {
        let all = serde_json::to_value(ServiceConfigs::default()).unwrap();
        let mut names: Vec<&str> = all
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let listed: Vec<&str> = SECTIONS.iter().map(|s| s.name).collect();
        assert_eq!(names, listed);
    }

    #[test]
    fn elements_redact_secrets() {
        let mut c = ServiceConfigs::default();
        c.slack.push(super::super::SlackConfig {
            workspace: "w".into(),
            url: "http://secret".into(),
            ..Default::default()
        });
        let c = serde_json::to_value(&c).unwrap();
        let s = section("slack").unwrap();
        let e = elements(&c, s);
        assert_eq!(e[0].0, "w");
        assert_eq!(e[0].1["url"], json!(true));
        assert_eq!(e[0].1["token"], json!(false));
        assert_eq!(e[0].1["channel"], json!(""));
        let e = elements(&c, section("smtp").unwrap());
        assert_eq!((e[0].0.as_str(), e[0].1["port"].clone()), ("", json!(25)));
    }
}

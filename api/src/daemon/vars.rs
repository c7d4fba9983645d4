//! Task and template vars: the API's `{"type", "value", "description"}` JSON to and from
//! `kap-dsl` values.

use kap_api_types::{Var, Vars};
use kap_dsl::eval::VarInfo;
use kap_dsl::value::{Value, ValueType};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Converts API vars to compile-time values; errors name the var.
pub fn to_values(vars: &Vars) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    for (name, v) in vars {
        out.insert(name.clone(), to_value(name, v)?);
    }
    Ok(out)
}

fn to_value(name: &str, v: &Var) -> Result<Value, String> {
    let bad = |want: &str| format!("invalid var {name:?}: want a {want} value, got {}", v.value);
    Ok(match v.kind.as_str() {
        "bool" => Value::Bool(v.value.as_bool().ok_or_else(|| bad("bool"))?),
        "int" => match &v.value {
            Json::Number(n) if n.is_i64() => Value::Int(n.as_i64().unwrap_or_default()),
            Json::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 => Value::Int(f as i64),
                _ => return Err(bad("int")),
            },
            _ => return Err(bad("int")),
        },
        "float" => Value::Float(v.value.as_f64().ok_or_else(|| bad("float"))?),
        "string" => Value::String(v.value.as_str().ok_or_else(|| bad("string"))?.to_string()),
        "regex" => Value::Regex(v.value.as_str().ok_or_else(|| bad("regex"))?.to_string()),
        "duration" => match &v.value {
            Json::Number(n) => Value::Duration(
                n.as_i64()
                    .or_else(|| n.as_f64().map(|f| f as i64))
                    .ok_or_else(|| bad("duration"))?,
            ),
            Json::String(s) => match kap_dsl::source::parse_literal(s) {
                Ok(Value::Duration(d)) => Value::Duration(d),
                _ => return Err(bad("duration")),
            },
            _ => return Err(bad("duration")),
        },
        "lambda" => {
            let text = v.value.as_str().ok_or_else(|| bad("lambda"))?;
            let text = text.trim().strip_prefix("lambda:").unwrap_or(text);
            Value::Lambda(kap_dsl::source::parse_lambda(text).map_err(|d| {
                format!(
                    "invalid var {name:?}: invalid lambda expression: {}",
                    d.first().map(|d| d.message.clone()).unwrap_or_default()
                )
            })?)
        }
        "star" => Value::Star,
        "list" => {
            let items: Vec<Var> = serde_json::from_value(v.value.clone())
                .map_err(|_| bad("list of {type, value}"))?;
            Value::List(
                items
                    .iter()
                    .map(|i| to_value(name, i))
                    .collect::<Result<_, _>>()?,
            )
        }
        other => return Err(format!("invalid var {name:?}: unknown type {other:?}")),
    })
}

/// The API form of a value.
pub fn to_var(ty: ValueType, value: Option<&Value>, description: &str) -> Var {
    Var {
        kind: ty.name().to_string(),
        value: value.map_or(Json::Null, value_json),
        description: description.to_string(),
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Int(i) => Json::from(*i),
        Value::Float(f) => Json::from(*f),
        Value::Bool(b) => Json::from(*b),
        Value::String(s) | Value::Regex(s) => Json::from(s.clone()),
        Value::Duration(d) => Json::from(*d),
        Value::Lambda(e) => Json::from(e.to_string()),
        Value::Star => Json::Null,
        Value::List(items) => Json::Array(
            items
                .iter()
                .map(|i| {
                    serde_json::to_value(to_var(i.value_type(), Some(i), "")).unwrap_or_default()
                })
                .collect(),
        ),
        Value::TimeDimension { .. } | Value::Node(_) => Json::Null,
    }
}

/// The vars a template declares, as the templates API reports them.
pub fn declared(vars: &[VarInfo]) -> Vars {
    vars.iter()
        .map(|v| {
            (
                v.name.clone(),
                to_var(v.ty, v.value.as_ref(), &v.description),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(kind: &str, value: Json) -> Var {
        Var {
            kind: kind.into(),
            value,
            description: String::new(),
        }
    }

    #[test]
    fn every_type_converts() {
        let mut vars = Vars::new();
        vars.insert("b".into(), var("bool", Json::from(true)));
        vars.insert("i".into(), var("int", Json::from(1)));
        vars.insert("f".into(), var("float", Json::from(1)));
        vars.insert("d".into(), var("duration", Json::from(10_000_000_000i64)));
        vars.insert("ds".into(), var("duration", Json::from("10s")));
        vars.insert("l".into(), var("lambda", Json::from("\"value\" == 1.0")));
        vars.insert(
            "g".into(),
            var(
                "list",
                serde_json::json!([{"type": "star", "value": null, "description": ""}]),
            ),
        );
        let v = to_values(&vars).unwrap();
        assert_eq!(v["f"], Value::Float(1.0));
        assert_eq!(v["d"], Value::Duration(10_000_000_000));
        assert_eq!(v["ds"], Value::Duration(10_000_000_000));
        assert_eq!(v["g"], Value::List(vec![Value::Star]));
        assert!(to_values(&[("x".to_string(), var("int", Json::from("a")))].into()).is_err());
    }
}

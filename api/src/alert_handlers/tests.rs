//! The payloads of the services the daemon tests do not post to, and the service
//! configurations' checks.

use super::*;
use itsm::basic_auth as itsm_basic_auth;
use kap_dataflow::alert::Level;
use kap_dataflow::point::{FieldValue, Point, Sym, list};
use kap_dataflow::result::{ResultSet, point_row};
use kap_dsl::plan::{
    AlertaHandler, HipChatHandler, OpsGenie2Handler, OpsGenieHandler, PushoverHandler, SensuHandler,
};
use kap_dsl::value::Value;
use serde_json::json;

fn event(level: Level) -> AlertEvent {
    let p = Point::new(
        "cpu",
        list![(Sym::new("host"), Sym::new("a"))],
        list![(Sym::new("value"), FieldValue::Float(95.5))],
        1_500_000_000,
    );
    AlertEvent {
        topic: "main:t:alert2".into(),
        id: "cpu:host=a".into(),
        message: "cpu is <b>hot</b>".into(),
        details: "details".into(),
        time: p.time,
        duration: 0,
        level,
        previous_level: Level::Ok,
        recoverable: true,
        data: ResultSet::single(point_row(&p)),
        name: "cpu".into(),
        task: "t".into(),
        node: "alert2".into(),
        category: String::new(),
        group_id: "host=a".into(),
        tags: p.tags.clone(),
        fields: p.fields.clone(),
        handlers: Vec::new(),
    }
}

#[test]
fn go_json_escapes_html_as_go_does() {
    assert_eq!(
        go_json(&json!({"m": "a<b>&c\u{2028}"})),
        r#"{"m":"a\u003cb\u003e\u0026c\u2028"}"#
    );
}

#[test]
fn opsgenie_v1_and_v2_requests() {
    let c = OpsGenieConfig {
        api_key: "k".into(),
        teams: vec!["ops".into()],
        ..OpsGenieConfig::default()
    };
    let (url, body) = c
        .request(&OpsGenieHandler::default(), &event(Level::Critical))
        .unwrap();
    assert_eq!(url, "https://api.opsgenie.com/v1/json/alert");
    assert_eq!(body["apiKey"], "k");
    assert_eq!(body["alias"], "cpu:host=a");
    assert_eq!(body["teams"], json!(["ops"]));
    let (url, body) = c
        .request(&OpsGenieHandler::default(), &event(Level::Ok))
        .unwrap();
    assert_eq!(url, "https://api.opsgenie.com/v1/json/alert/note");
    assert_eq!(body["note"], "cpu is <b>hot</b>");

    let c2 = OpsGenie2Config {
        recipients: vec!["me".into()],
        ..OpsGenie2Config::default()
    };
    let h = OpsGenie2Handler {
        teams: vec!["ops".into()],
        ..OpsGenie2Handler::default()
    };
    let (url, body) = c2.request(&h, &event(Level::Warning)).unwrap();
    assert_eq!(url, "https://api.opsgenie.com/v2/alerts");
    assert_eq!(body["priority"], "P3");
    assert_eq!(
        body["responders"],
        json!([{"type": "team", "name": "ops"}, {"type": "user", "username": "me"}])
    );
    let (url, body) = c2.request(&h, &event(Level::Ok)).unwrap();
    assert_eq!(
        url,
        "https://api.opsgenie.com/v2/alerts/cpu%3Ahost%3Da/notes?identifierType=alias"
    );
    assert_eq!(body["note"], "cpu is <b>hot</b>");
    let close = OpsGenie2Handler {
        recovery_action: "close".into(),
        ..h
    };
    let (url, _) = c2.request(&close, &event(Level::Ok)).unwrap();
    assert!(url.ends_with("/close?identifierType=alias"), "{url}");
}

#[test]
fn pushover_posts_a_sorted_form() {
    let c = PushoverConfig {
        token: "tok".into(),
        user_key: "usr".into(),
        ..PushoverConfig::default()
    };
    let h = PushoverHandler {
        title: "CPU high*~".into(),
        sound: "siren".into(),
        ..PushoverHandler::default()
    };
    assert_eq!(
        c.form(&h, &event(Level::Critical)),
        "message=cpu+is+%3Cb%3Ehot%3C%2Fb%3E&priority=1&sound=siren&timestamp=1&title=CPU+high%2A~&token=tok&user=usr"
    );
}

#[test]
fn sensu_sends_a_check_result_over_tcp() {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let c = SensuConfig {
        enabled: true,
        addr: listener.local_addr().unwrap().to_string(),
        handlers: vec!["default".into()],
        ..SensuConfig::default()
    };
    let h = SensuHandler {
        metadata: vec![("runbook".into(), Value::String("http://rb".into()))],
        ..SensuHandler::default()
    };
    let mut e = event(Level::Warning);
    e.id = "cpu.a".into();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        text
    });
    c.send(&h, &e).unwrap();
    let got: serde_json::Value = serde_json::from_str(&reader.join().unwrap()).unwrap();
    assert_eq!(
        got,
        json!({"name": "cpu.a", "source": "Kapacitor", "output": "cpu is <b>hot</b>",
               "status": 1, "handlers": ["default"], "runbook": "http://rb"})
    );
    // Sensu refuses names outside [\w.-].
    assert!(c.body(&h, &event(Level::Warning)).is_err());
}

#[test]
fn alerta_renders_its_templates() {
    let c = AlertaConfig {
        environment: "prod".into(),
        ..AlertaConfig::default()
    };
    let h = AlertaHandler {
        resource: "{{ index .Tags \"host\" }}".into(),
        value: "{{ .Level }}".into(),
        attributes: vec![("n".into(), Value::Int(2))],
        ..AlertaHandler::default()
    };
    let body = c.body(&h, &event(Level::Critical)).unwrap();
    assert_eq!(body["resource"], "a");
    assert_eq!(body["event"], "cpu:host=a");
    assert_eq!(body["group"], "host=a");
    assert_eq!(body["environment"], "prod");
    assert_eq!(body["origin"], "kapacitor");
    assert_eq!(body["value"], "CRITICAL");
    assert_eq!(body["severity"], "critical");
    assert_eq!(body["service"], json!(["cpu"]));
    assert_eq!(body["tags"], json!(["host=a"]));
    assert_eq!(body["attributes"], json!({"n": 2}));
    let bad = AlertaHandler {
        event: "{{ .Nope".into(),
        ..AlertaHandler::default()
    };
    assert!(
        c.body(&bad, &event(Level::Ok))
            .unwrap_err()
            .contains("event template")
    );
}

#[test]
fn a_service_not_enabled_says_so() {
    let s = HandlerServices::unconfigured();
    let err = run_handler(
        &HandlerSpec::HipChat(HipChatHandler::default()),
        &event(Level::Critical),
        &s,
    )
    .unwrap_err();
    assert_eq!(err, Failure::from("the [hipchat] service is not enabled"));
    let err = run_handler(
        &HandlerSpec::Slack(Default::default()),
        &event(Level::Critical),
        &s,
    )
    .unwrap_err();
    assert!(
        err.message.contains("no default [[slack]] workspace"),
        "{err}"
    );
    assert!(!err.transient);
}

#[test]
fn configs_are_checked_and_globals_listed() {
    let mut c = ServiceConfigs::default();
    assert_eq!(c.validate(), Ok(()));
    assert!(c.globals().is_empty());
    c.slack = vec![
        SlackConfig {
            workspace: "a".into(),
            ..SlackConfig::default()
        },
        SlackConfig::default(),
    ];
    assert_eq!(c.validate().unwrap_err().0, "slack[1].workspace");
    c.slack = vec![SlackConfig {
        enabled: true,
        url: "http://x".into(),
        global: true,
        state_changes_only: true,
        ..SlackConfig::default()
    }];
    c.pagerduty2.enabled = true;
    c.pagerduty2.global = true;
    let kinds: Vec<(&str, bool)> = c.globals().iter().map(|(h, s)| (h.kind(), *s)).collect();
    assert_eq!(kinds, vec![("slack", true), ("pagerduty2", false)]);
    c.opsgenie2.recovery_action = "reopen".into();
    assert_eq!(c.validate().unwrap_err().0, "opsgenie2.recovery_action");
}

#[test]
fn event_management_services_bodies() {
    let bp = BigPandaConfig {
        app_key: "app".into(),
        ..BigPandaConfig::default()
    };
    let h = kap_dsl::plan::BigPandaHandler {
        primary_property: "host".into(),
        attributes: vec![("runbook".into(), Value::String("http://rb".into()))],
        ..Default::default()
    };
    let b = bp.body(&h, &event(Level::Warning)).unwrap();
    assert_eq!(b["app_key"], "app");
    assert_eq!(b["status"], "warning");
    assert_eq!(b["host"], "a");
    assert_eq!(b["check"], "cpu:host=a");
    assert_eq!(b["timestamp"], 1);
    assert_eq!(b["runbook"], "http://rb");
    assert_eq!(b["primary_property"], "host");
    assert_eq!(bp.body(&h, &event(Level::Ok)).unwrap()["status"], "ok");

    let sn = ServiceNowConfig::default();
    let h = kap_dsl::plan::ServiceNowHandler {
        node: "{{ index .Tags \"host\" }}".into(),
        additional_info: vec![("n".into(), Value::Int(1))],
        ..Default::default()
    };
    let b = sn.body(&h, &event(Level::Critical)).unwrap();
    let r = &b["records"][0];
    assert_eq!(r["source"], "Kapacitor");
    assert_eq!(r["node"], "a");
    assert_eq!(r["message_key"], "cpu:host=a");
    assert_eq!(r["severity"], "1");
    assert_eq!(r["time_of_event"], "1970-01-01 00:00:01");
    assert_eq!(r["additional_info"], json!({"n": 1}));
    assert_eq!(
        sn.body(&h, &event(Level::Ok)).unwrap()["records"][0]["severity"],
        "0"
    );

    let z = ZenossConfig::default();
    let b = z
        .body(
            &kap_dsl::plan::ZenossHandler::default(),
            &event(Level::Critical),
        )
        .unwrap();
    assert_eq!(b["action"], "EventsRouter");
    assert_eq!(b["method"], "add_event");
    assert_eq!(b["type"], "rpc");
    assert_eq!(b["tid"], 1);
    let d = &b["data"][0];
    assert_eq!(d["summary"], "cpu is <b>hot</b>");
    assert_eq!(d["device"], "a");
    assert_eq!(d["severity"], "Critical");
    assert_eq!(d["collector"], "Kapacitor");
    assert_eq!(d["message"], "details");
}

#[test]
fn basic_auth_is_sent_only_with_a_user() {
    assert!(itsm_basic_auth("", "x").is_empty());
    assert_eq!(
        itsm_basic_auth("me", "secret"),
        vec![(
            "Authorization".to_string(),
            "Basic bWU6c2VjcmV0".to_string()
        )]
    );
}

//! Topic handlers and topic persistence of the daemon's [`AlertCenter`]: a `tcp` handler
//! delivers to a real listener on 127.0.0.1 (only the events its `match` selects), handlers
//! are edited with PUT/PATCH semantics, and handlers and topic levels survive reopening the
//! store.

use kap_api::alert_handlers::HandlerServices;
use kap_api::daemon::alerts::{AlertCenter, AlertOptions};
use kap_api::store::Store;
use kap_api_types::HandlerSpec;
use kap_dataflow::alert::{AlertEvent, AlertSink, EventState, Level, TopicStore};
use kap_dataflow::point::Sym;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn wait_until(mut pred: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if pred() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn open(dir: &std::path::Path) -> (Store, Arc<TopicStore>, AlertCenter) {
    open_with(dir, AlertOptions::default())
}

fn open_with(dir: &std::path::Path, opts: AlertOptions) -> (Store, Arc<TopicStore>, AlertCenter) {
    let store = Store::open(&dir.join("kapacitor.db")).expect("open store");
    let topics = Arc::new(TopicStore::default());
    let center = AlertCenter::open(
        store.clone(),
        Arc::clone(&topics),
        Arc::new(HandlerServices::unconfigured()),
        opts,
    )
    .expect("open alert center");
    (store, topics, center)
}

/// Options retrying failed runs 3 times, waiting `ms` milliseconds first.
fn retrying(ms: u64) -> AlertOptions {
    AlertOptions {
        retry: kap_api::daemon::alerts::RetryPolicy {
            retries: 3,
            interval: Duration::from_millis(ms),
        },
        ..AlertOptions::default()
    }
}

/// Records the event in the topic store, as the alert node does, then publishes it.
fn publish(center: &AlertCenter, topics: &TopicStore, topic: &str, level: Level, host: &str) {
    let previous = topics
        .update(
            topic,
            "cpu:host=x",
            EventState {
                level,
                message: format!("cpu is {level}"),
                details: String::new(),
                time: 1_000_000_000,
                duration: 2_000_000_000,
            },
        )
        .map_or(Level::Ok, |s| s.level);
    center.publish(event(topic, level, previous, host));
}

/// Event `cpu:host=x` of task `cpu_alert` on `topic`, at `level`, grouped by `host`.
fn event(topic: &str, level: Level, previous: Level, host: &str) -> AlertEvent {
    AlertEvent {
        topic: topic.into(),
        id: "cpu:host=x".into(),
        message: format!("cpu is {level}"),
        details: String::new(),
        time: 1_000_000_000,
        duration: 2_000_000_000,
        level,
        previous_level: previous,
        recoverable: true,
        data: Default::default(),
        name: "cpu".into(),
        task: "cpu_alert".into(),
        node: "alert2".into(),
        category: String::new(),
        group_id: format!("host={host}"),
        tags: kap_dataflow::point::list![(Sym::new("host"), Sym::new(host))],
        fields: Default::default(),
        handlers: Vec::new(),
    }
}

/// A TCP listener on 127.0.0.1: its address, and the lines it receives.
fn tcp_lines() -> (String, Arc<Mutex<Vec<String>>>) {
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = tcp.local_addr().unwrap().to_string();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = Arc::clone(&lines);
    std::thread::spawn(move || {
        for s in tcp.incoming().flatten() {
            for line in BufReader::new(s).lines().map_while(Result::ok) {
                l.lock().unwrap().push(line);
            }
        }
    });
    (addr, lines)
}

fn spec(id: &str, kind: &str, options: serde_json::Value, m: &str) -> HandlerSpec {
    HandlerSpec {
        topic: String::new(),
        id: id.into(),
        kind: kind.into(),
        options: options.as_object().cloned().unwrap_or_default(),
        match_expr: m.into(),
    }
}

#[test]
fn tcp_topic_handler_receives_matching_events() {
    let dir = crate::tempdir("alerts-tcp");
    let (addr, lines) = tcp_lines();
    let (_store, topics, center) = open(&dir);
    center
        .create_handler(
            "cpu",
            spec(
                "to-tcp",
                "tcp",
                serde_json::json!({"address": addr}),
                "level() >= WARNING AND \"host\" == 'x'",
            ),
        )
        .unwrap();
    // A slack handler without a [slack] service: accepted, counts a delivery error.
    center
        .create_handler(
            "cpu",
            spec("chat", "slack", serde_json::json!({"channel": "#ops"}), ""),
        )
        .unwrap();
    publish(&center, &topics, "cpu", Level::Info, "x"); // below WARNING
    publish(&center, &topics, "cpu", Level::Critical, "y"); // other host
    publish(&center, &topics, "cpu", Level::Critical, "x"); // delivered
    publish(&center, &topics, "other", Level::Critical, "x"); // other topic
    assert!(
        wait_until(|| !lines.lock().unwrap().is_empty()),
        "no line received; last error: {:?}",
        center.last_error()
    );
    assert!(wait_until(|| center
        .stats()
        .errors
        .load(std::sync::atomic::Ordering::Relaxed)
        >= 3));
    std::thread::sleep(Duration::from_millis(200));
    let got = lines.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["id"], "cpu:host=x");
    assert_eq!(v["level"], "CRITICAL");
    assert_eq!(v["previousLevel"], "CRITICAL");
    assert_eq!(v["message"], "cpu is CRITICAL");
    assert!(
        center
            .last_error()
            .unwrap()
            .contains("handler chat of kind slack: no default [[slack]] workspace is configured")
    );
    let topic = center.topic("cpu").unwrap();
    assert_eq!((topic.level.as_str(), topic.collected), ("CRITICAL", 3));
}

#[test]
fn aggregate_handler_publishes_one_event_per_interval() {
    let dir = crate::tempdir("alerts-aggregate");
    let (addr, lines) = tcp_lines();
    let (_store, topics, center) = open(&dir);
    // Events of topic `cpu` are aggregated every second into topic `agg`, whose tcp handler
    // delivers them.
    center
        .create_handler(
            "cpu",
            spec(
                "agg-cpu",
                "aggregate",
                serde_json::json!({"id": "id-agg", "interval": 1_000_000_000, "topic": "agg"}),
                "",
            ),
        )
        .unwrap();
    center
        .create_handler(
            "agg",
            spec("to-tcp", "tcp", serde_json::json!({"address": addr}), ""),
        )
        .unwrap();
    publish(&center, &topics, "cpu", Level::Warning, "x");
    publish(&center, &topics, "cpu", Level::Critical, "y");
    assert!(
        wait_until(|| !lines.lock().unwrap().is_empty()),
        "no aggregate event received; last error: {:?}",
        center.last_error()
    );
    // Nothing more arrives while no event comes in.
    std::thread::sleep(Duration::from_millis(1300));
    let got = lines.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    let v: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    assert_eq!(v["id"], "id-agg");
    assert_eq!(v["message"], "Received 2 events in the last 1s.");
    assert_eq!(v["details"], "cpu is WARNING\ncpu is CRITICAL");
    assert_eq!(v["level"], "CRITICAL");
    assert_eq!(v["previousLevel"], "OK");
    // The aggregate event is the `agg` topic's state.
    let topic = center.topic("agg").unwrap();
    assert_eq!((topic.level.as_str(), topic.collected), ("CRITICAL", 1));
    // A bad option is refused, saying which.
    let err = center
        .create_handler(
            "cpu",
            spec("bad", "aggregate", serde_json::json!({"topic": "agg"}), ""),
        )
        .unwrap_err();
    assert_eq!(err.status, 400);
    assert!(err.message.contains("interval"), "{}", err.message);
}

#[test]
fn handlers_replace_patch_and_delete() {
    let dir = crate::tempdir("alerts-crud");
    let (_store, _topics, center) = open(&dir);
    let h = center
        .create_handler(
            "sys",
            spec("h1", "slack", serde_json::json!({"channel": "#test"}), ""),
        )
        .unwrap();
    assert_eq!(h.link.href, "/kapacitor/v1/alerts/topics/sys/handlers/h1");
    assert_eq!(
        center
            .create_handler("sys", spec("h1", "slack", serde_json::json!({}), ""))
            .unwrap_err()
            .status,
        500
    );
    assert_eq!(
        center
            .create_handler("sys", spec("h2", "nope", serde_json::json!({}), ""))
            .unwrap_err()
            .status,
        400
    );
    assert_eq!(
        center
            .create_handler("sys", spec("", "tcp", serde_json::json!({}), ""))
            .unwrap_err()
            .status,
        400
    );
    let patched = center
        .patch_handler(
            "sys",
            "h1",
            &serde_json::json!([
                {"op": "replace", "path": "/kind", "value": "log"},
                {"op": "remove", "path": "/options/channel", "value": null},
                {"op": "add", "path": "/options/path", "value": "/tmp/alert.log"},
                {"op": "replace", "path": "/id", "value": "h2"},
                {"op": "add", "path": "/match", "value": "changed() == TRUE"},
            ]),
        )
        .unwrap();
    assert_eq!(patched.id, "h2");
    assert_eq!(patched.kind, "log");
    assert_eq!(patched.match_expr, "changed() == TRUE");
    assert_eq!(
        serde_json::Value::Object(patched.options),
        serde_json::json!({"path": "/tmp/alert.log"})
    );
    assert_eq!(center.handler("sys", "h1").unwrap_err().status, 404);
    // An invalid patch result is refused and changes nothing.
    let err = center
        .patch_handler(
            "sys",
            "h2",
            &serde_json::json!([{"op": "replace", "path": "/options/path", "value": "rel.log"}]),
        )
        .unwrap_err();
    assert_eq!(err.status, 400);
    let put = center
        .replace_handler(
            "sys",
            "h2",
            spec("h3", "smtp", serde_json::json!({"to": ["a@b.c"]}), ""),
        )
        .unwrap();
    assert_eq!(put.link.href, "/kapacitor/v1/alerts/topics/sys/handlers/h3");
    let ids: Vec<String> = center
        .handlers("sys", "h*")
        .into_iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids, ["h3"]);
    assert_eq!(center.list_topics("", Level::Ok).len(), 1);
    center.delete_handler("sys", "h3").unwrap();
    center.delete_handler("sys", "h3").unwrap();
    assert!(center.handlers("sys", "").is_empty());
    assert_eq!(center.topic("sys").unwrap_err().status, 404);
}

#[test]
fn handlers_and_topic_levels_survive_reopen() {
    let dir = crate::tempdir("alerts-persist");
    {
        let (_store, topics, center) = open(&dir);
        center
            .create_handler(
                "test",
                spec(
                    "keep",
                    "tcp",
                    serde_json::json!({"address": "localhost:4657"}),
                    "level() > OK",
                ),
            )
            .unwrap();
        center
            .create_handler("gone", spec("x", "slack", serde_json::json!({}), ""))
            .unwrap();
        publish(&center, &topics, "test", Level::Critical, "x");
        publish(&center, &topics, "gone", Level::Warning, "x");
        center.flush();
        center.delete_topic("gone").unwrap();
    }
    let (_store, topics, center) = open(&dir);
    let list = center.list_topics("", Level::Ok);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].id, "test");
    assert_eq!(list[0].level, "CRITICAL");
    assert_eq!(list[0].collected, 0, "collected is not persisted");
    assert!(center.list_topics("", Level::Critical).len() == 1);
    let h = center.handler("test", "keep").unwrap();
    assert_eq!(h.match_expr, "level() > OK");
    let ev = center.event("test", "cpu:host=x").unwrap();
    assert_eq!(ev.state.level, "CRITICAL");
    assert_eq!(ev.state.duration, "2s");
    assert_eq!(ev.state.time, "1970-01-01T00:00:01Z");
    assert_eq!(
        topics.event_state("test", "cpu:host=x").unwrap().level,
        Level::Critical
    );
}

/// A handler whose service hangs holds up only the handlers that share its delivery
/// thread: the others keep delivering, each in its events' order.
#[test]
fn a_hung_handler_does_not_hold_up_the_others() {
    let dir = crate::tempdir("alerts-hung");
    let (addr, lines) = tcp_lines();
    // An HTTP server that takes connections and never answers.
    let hung = TcpListener::bind("127.0.0.1:0").unwrap();
    let hung_url = format!("http://{}/", hung.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in hung.incoming().flatten() {
            held.push(s);
        }
    });
    let (_store, topics, center) = open(&dir);
    // `a-hung` comes first in the topic's handler order.
    center
        .create_handler(
            "cpu",
            spec("a-hung", "post", serde_json::json!({"url": hung_url}), ""),
        )
        .unwrap();
    for i in 0..6 {
        center
            .create_handler(
                "cpu",
                spec(
                    &format!("fast-{i}"),
                    "tcp",
                    serde_json::json!({"address": addr}),
                    "",
                ),
            )
            .unwrap();
    }
    for level in [Level::Warning, Level::Critical, Level::Ok] {
        publish(&center, &topics, "cpu", level, "x");
    }
    // Well within the post handler's 10 s timeout, the other handlers have delivered.
    let started = Instant::now();
    assert!(
        wait_until(|| lines.lock().unwrap().len() >= 3),
        "got {:?}",
        lines.lock().unwrap()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let levels: Vec<String> = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["level"].to_string())
        .collect();
    assert!(levels.contains(&"\"WARNING\"".to_string()), "{levels:?}");
}

/// The inline handlers of a replay's events run on the delivery threads, with their
/// retries, and nothing reaches the topic: not its state, not its handlers.
#[test]
fn inline_handlers_are_retried_and_leave_topics_alone() {
    let dir = crate::tempdir("alerts-inline");
    let tries = Mutex::new(0usize);
    let (url, got) = crate::daemon::http_sink_answering(move |line, _| {
        if line.contains("/flaky") {
            let mut n = tries.lock().unwrap();
            *n += 1;
            if *n <= 2 {
                return 503;
            }
        }
        200
    });
    let (_store, topics, center) = open_with(&dir, retrying(20));
    center
        .create_handler(
            "replayed",
            spec(
                "topic-post",
                "post",
                serde_json::json!({"url": format!("{url}/topic")}),
                "",
            ),
        )
        .unwrap();
    let post = kap_dsl::plan::HandlerSpec::Post(kap_dsl::plan::PostHandler {
        url: format!("{url}/flaky"),
        ..Default::default()
    });
    let mut replayed = event("replayed", Level::Critical, Level::Ok, "x");
    replayed.handlers = vec![post];
    center.inline_handlers().publish(replayed);
    let paths = || -> Vec<String> {
        got.lock()
            .unwrap()
            .iter()
            .map(|(head, _)| head.split_whitespace().nth(1).unwrap_or("").to_string())
            .collect()
    };
    assert!(wait_until(|| paths().len() >= 3), "{:?}", paths());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        paths(),
        ["/flaky", "/flaky", "/flaky"],
        "two 503s, then delivered"
    );
    assert!(
        topics.event_state("replayed", "cpu:host=x").is_none(),
        "the topic holds no state of the event"
    );
}

/// A handler run that fails for a reason that may pass (here 503 and 500) is tried again,
/// waits doubling, and the handler's later events wait behind it, so they arrive in order;
/// a refusal (404) is not retried; after the last retry the run is given up and the next
/// event goes.
#[test]
fn failed_deliveries_are_retried_in_order() {
    let dir = crate::tempdir("alerts-retry");
    let seen = Mutex::new(std::collections::HashMap::<String, usize>::new());
    let (url, got) = crate::daemon::http_sink_answering(move |line, _| {
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut seen = seen.lock().unwrap();
        let n = seen.entry(path.clone()).or_default();
        *n += 1;
        match path.as_str() {
            "/flaky" if *n <= 2 => 503,
            "/gone" => 404,
            "/down" => 500,
            _ => 200,
        }
    });
    let (_store, topics, center) = open_with(&dir, retrying(50));
    for name in ["flaky", "gone", "down"] {
        center
            .create_handler(
                "cpu",
                spec(
                    name,
                    "post",
                    serde_json::json!({"url": format!("{url}/{name}")}),
                    "",
                ),
            )
            .unwrap();
    }
    publish(&center, &topics, "cpu", Level::Warning, "x");
    publish(&center, &topics, "cpu", Level::Critical, "x");
    let of = |path: &str| -> Vec<String> {
        got.lock()
            .unwrap()
            .iter()
            .filter(|(head, _)| head.starts_with(&format!("POST {path} ")))
            .map(|(_, body)| {
                serde_json::from_str::<serde_json::Value>(body).unwrap()["level"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    // /down: 1 + 3 tries of each event (waits 50, 100, 200 ms), the second after the first.
    assert!(wait_until(|| of("/down").len() >= 8), "{:?}", of("/down"));
    assert_eq!(
        of("/flaky"),
        ["WARNING", "WARNING", "WARNING", "CRITICAL"],
        "the critical event waited behind the retried warning"
    );
    assert_eq!(of("/gone"), ["WARNING", "CRITICAL"], "a 404 is not retried");
    assert_eq!(
        of("/down"),
        [
            "WARNING", "WARNING", "WARNING", "WARNING", "CRITICAL", "CRITICAL", "CRITICAL",
            "CRITICAL"
        ]
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(of("/down").len(), 8, "no more than 3 retries");
    let stats = center.stats();
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!(stats.retried.load(Relaxed), 2 + 6);
    // Two 404s and two runs given up on.
    assert_eq!(stats.errors.load(Relaxed), 4);
}

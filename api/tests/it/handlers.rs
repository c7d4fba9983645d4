//! Inline alert handlers (`.log()`, `.tcp()`, `.post()`, `.exec()`) fire for real: a file,
//! a TCP listener and an HTTP server on 127.0.0.1, and a process, fed by a task running in
//! the engine.

use kap_api::alert_handlers::{HandlerDispatcher, HandlerServices};
use kap_dataflow::alert::{ALERTS_SERVICE, AlertService};
use kap_dataflow::node::Services;
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_dataflow::runtime::{Engine, EngineConfig, Feed};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn point(value: f64, t: i64) -> Point {
    let tags = vec![(Sym::new("host"), Sym::new("a"))];
    let fields = vec![(Sym::new("usage"), FieldValue::Float(value))];
    Point::new("cpu", tags, fields, t * 1_000_000_000).in_db("db", "rp")
}

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

#[test]
fn inline_handlers_deliver_alert_json() {
    let dir = crate::tempdir("handlers");
    let log = dir.join("alerts.log");
    let exec_out = dir.join("exec.out");

    // A TCP listener collecting lines.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_addr = tcp.local_addr().unwrap();
    let tcp_lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let lines = Arc::clone(&tcp_lines);
    std::thread::spawn(move || {
        for s in tcp.incoming().flatten() {
            for l in BufReader::new(s).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(l);
            }
        }
    });
    // An HTTP server collecting bodies.
    let http = TcpListener::bind("127.0.0.1:0").unwrap();
    let http_url = format!("http://{}/alert", http.local_addr().unwrap());
    let bodies = Arc::new(Mutex::new(Vec::<String>::new()));
    let b = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for s in http.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                let l = line.trim_end().to_string();
                line.clear();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            b.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let mut w = &s;
            let _ = w.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });

    let script = format!(
        "stream|from().measurement('cpu')|alert().id('cpu:{{{{ index .Tags \"host\" }}}}').crit(lambda: \"usage\" > 90.0)\
         .log('{}').tcp('{}').post('{}').exec('/bin/sh', '-c', 'cat >> {}')",
        log.display(),
        tcp_addr,
        http_url,
        exec_out.display()
    );
    let plan = kap_dsl::compile_source(&script, &Default::default())
        .expect("script")
        .pipeline;
    let dispatcher = Arc::new(HandlerDispatcher::start(
        100,
        Arc::new(HandlerServices::unconfigured()),
    ));
    let services = Services::default().with(
        ALERTS_SERVICE,
        Arc::new(AlertService(Arc::clone(&dispatcher) as _)),
    );
    let engine = Engine::start(EngineConfig {
        workers: 2,
        ..Default::default()
    })
    .unwrap();
    engine
        .install(
            "cpu",
            &plan,
            services,
            Feed::Live {
                dbrps: vec![],
                measurements: None,
            },
        )
        .unwrap();
    engine.write(vec![point(50.0, 1)]).unwrap();
    engine.write(vec![point(95.0, 2)]).unwrap();
    engine.write(vec![point(40.0, 3)]).unwrap();

    // One CRITICAL event, then its recovery (OK): two events per handler.
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    assert!(
        wait_until(|| read(&log).lines().count() == 2),
        "log: {:?} (errors: {:?})",
        read(&log),
        dispatcher.last_error.lock().unwrap()
    );
    assert!(
        wait_until(|| tcp_lines.lock().unwrap().len() == 2),
        "tcp: {:?}",
        tcp_lines.lock().unwrap()
    );
    assert!(
        wait_until(|| bodies.lock().unwrap().len() == 2),
        "post: {:?}",
        bodies.lock().unwrap()
    );
    assert!(
        wait_until(|| read(&exec_out).lines().count() == 2),
        "exec: {:?}",
        read(&exec_out)
    );

    let first: serde_json::Value =
        serde_json::from_str(read(&log).lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "cpu:a");
    assert_eq!(first["level"], "CRITICAL");
    assert_eq!(first["message"], "cpu:a is CRITICAL");
    assert_eq!(first["time"], "1970-01-01T00:00:02Z");
    assert_eq!(first["data"]["series"][0]["values"][0][1], 95.0);
    let second: serde_json::Value =
        serde_json::from_str(read(&log).lines().nth(1).unwrap()).unwrap();
    assert_eq!(
        (second["level"].as_str(), second["previousLevel"].as_str()),
        (Some("OK"), Some("CRITICAL"))
    );
    // Every handler got the same JSON.
    assert_eq!(
        tcp_lines.lock().unwrap()[0],
        read(&log).lines().next().unwrap()
    );
    assert_eq!(
        bodies.lock().unwrap()[0].trim_end(),
        read(&log).lines().next().unwrap()
    );
    assert_eq!(read(&exec_out).lines().next(), read(&log).lines().next());
    engine.shutdown();
}

//! The Prometheus scraper against real HTTP targets on 127.0.0.1: static and file
//! discovery, the points a stream task sees, a failing target, refused configurations.

use crate::daemon::{Daemon, Extra, refuses_config};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A `/metrics` target: it answers every GET with the exposition it currently holds, or
/// for a path of `routes` with that body (a route of the path and query string first, then
/// of the path alone).
struct Target {
    port: u16,
    exposition: Arc<Mutex<String>>,
    routes: Arc<Mutex<std::collections::HashMap<String, String>>>,
    /// Request heads received, each followed by its body (if any).
    requests: Arc<Mutex<Vec<String>>>,
}

impl Target {
    fn start(exposition: &str) -> Target {
        Target::start_tls(exposition, None)
    }

    /// [`Target::start`], over TLS with `tls`.
    fn start_tls(exposition: &str, tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>) -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let exposition = Arc::new(Mutex::new(exposition.to_string()));
        let routes = Arc::new(Mutex::new(std::collections::HashMap::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (text, paths, got) = (
            Arc::clone(&exposition),
            Arc::clone(&routes),
            Arc::clone(&requests),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let mut head = String::new();
                let mut reader = BufReader::new(crate::daemon::server_conn(stream, tls.as_ref()));
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                let full = head.split(' ').nth(1).unwrap_or("").to_string();
                let path = full.split('?').next().unwrap_or("").to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                let mut sent = vec![0; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut sent);
                got.lock()
                    .unwrap()
                    .push(format!("{head}\r\n{}", String::from_utf8_lossy(&sent)));
                let body = {
                    let routes = paths.lock().unwrap();
                    routes
                        .get(&full)
                        .or_else(|| routes.get(&path))
                        .cloned()
                        .unwrap_or_else(|| text.lock().unwrap().clone())
                };
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Target {
            port,
            exposition,
            routes,
            requests,
        }
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// Enables a stream task on `prometheus_raw.autogen` that shows the scraped points of
/// metric `name`, grouped by the tags they should carry.
fn show_metric(d: &Daemon, id: &str, name: &str, by: &str) {
    let script = format!(
        "stream\n    |from()\n        .measurement('myscraper')\n        .where(lambda: \"__name__\" == '{name}')\n        .groupBy({by})\n    |window()\n        .periodCount(1)\n        .everyCount(1)\n    |httpOut('out')\n"
    );
    let task = serde_json::json!({
        "id": id, "type": "stream",
        "dbrps": [{"db": "prometheus_raw", "rp": "autogen"}],
        "script": script, "status": "enabled"
    });
    let (status, body) = d.req("POST", "/kapacitor/v1/tasks", Some(&task.to_string()));
    assert_eq!(status, 200, "{body}");
}

fn scraper_section(discoverer: &str, id: &str, more: &str) -> String {
    format!(
        "[[scraper]]\nenabled = true\nname = \"myscraper\"\ndiscoverer-service = \"{discoverer}\"\ndiscoverer-id = \"{id}\"\ndb = \"prometheus_raw\"\nrp = \"autogen\"\nscrape-interval = \"200ms\"\nscrape-timeout = \"200ms\"\n{more}"
    )
}

#[test]
fn static_targets_are_scraped_into_the_stream_with_their_labels() {
    let target = Target::start(
        "# HELP temp Room temperature.\n# TYPE temp gauge\ntemp{room=\"a\"} 21.5\ntemp{room=\"b\"} NaN\n",
    );
    let d = Daemon::start_config(
        "scraper-static",
        Extra {
            tail: format!(
                "[[static-discovery]]\nenabled = true\nid = \"s\"\ntargets = [\"{}\"]\n[static-discovery.labels]\nregion = \"eu\"\n{}",
                target.address(),
                scraper_section(
                    "static-discovery",
                    "s",
                    "username = \"u\"\npassword = \"p\"\n"
                ),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "temp", "temp", "'instance', 'job', 'region', 'room'");
    show_metric(&d, "up", "up", "'instance'");
    let out = d.wait_json("/kapacitor/v1/tasks/temp/out", 30, |v| {
        v["series"].as_array().is_some_and(|s| !s.is_empty())
    });
    let series = &out["series"][0];
    assert_eq!(series["name"], "myscraper", "{out}");
    assert_eq!(
        series["tags"],
        serde_json::json!({
            "instance": target.address(), "job": "myscraper", "region": "eu", "room": "a"
        }),
        "{out}"
    );
    // The NaN sample of room b is dropped, as Kapacitor drops it.
    assert_eq!(out["series"].as_array().unwrap().len(), 1, "{out}");
    let columns: Vec<&str> = series["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    let value = columns.iter().position(|c| *c == "value").unwrap();
    assert_eq!(series["values"][0][value], 21.5, "{out}");
    let up = d.wait_json("/kapacitor/v1/tasks/up/out", 30, |v| {
        v["series"].as_array().is_some_and(|s| !s.is_empty())
    });
    let cols = up["series"][0]["columns"].as_array().unwrap();
    let value = cols.iter().position(|c| c == "value").unwrap();
    assert_eq!(up["series"][0]["values"][0][value], 1.0, "{up}");
    let head = target.requests.lock().unwrap()[0].clone();
    assert!(head.starts_with("GET /metrics HTTP/1.1\r\n"), "{head}");
    // Basic authentication of u:p.
    assert!(head.contains("authorization: Basic dTpw\r\n"), "{head}");
    assert!(head.contains("text/plain;version=0.0.4"), "{head}");
}

#[test]
fn file_targets_are_read_again_and_a_bad_exposition_fails_the_scrape() {
    let good = Target::start("jobs_total 3\n");
    let targets = crate::tempdir("scraper-targets");
    let file = targets.join("targets.json");
    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["{}"], "labels": {{"env": "test"}}}}]"#,
            good.address()
        ),
    )
    .unwrap();
    let d = Daemon::start_config(
        "scraper-file",
        Extra {
            tail: format!(
                "[[file-discovery]]\nenabled = true\nid = \"f\"\nfiles = [{:?}]\nrefresh-interval = \"200ms\"\n{}",
                format!("{}/*.json", targets.display()),
                scraper_section("file-discovery", "f", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "jobs", "jobs_total", "'instance', 'env'");
    show_metric(&d, "up", "up", "'instance'");
    let out = d.wait_json("/kapacitor/v1/tasks/jobs/out", 30, |v| {
        v["series"].as_array().is_some_and(|s| !s.is_empty())
    });
    assert_eq!(
        out["series"][0]["tags"],
        serde_json::json!({"instance": good.address(), "env": "test"}),
        "{out}"
    );
    // A second target in the file is picked up at the next refresh; it sends a bad line.
    let bad = Target::start("ok 1\nbad{a=\"1\" 2\n");
    std::fs::write(
        &file,
        format!(
            r#"[{{"targets": ["{}", "{}"], "labels": {{"env": "test"}}}}]"#,
            good.address(),
            bad.address()
        ),
    )
    .unwrap();
    let up = d.wait_json("/kapacitor/v1/tasks/up/out", 30, |v| {
        v["series"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["tags"]["instance"] == bad.address() && last_value(s) == Some(0.0))
        })
    });
    assert!(up.to_string().contains(&good.address()), "{up}");
    let line = d.wait_log_line("the failed scrape", |l| l.contains("scrape failed"));
    assert!(
        line.contains(&format!(
            "GET http://{}/metrics: line 2, column 11",
            bad.address()
        )),
        "{line}"
    );
    // Fixed, the target is up again.
    *bad.exposition.lock().unwrap() = "ok 1\n".into();
    d.wait_json("/kapacitor/v1/tasks/up/out", 30, |v| {
        v["series"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["tags"]["instance"] == bad.address() && last_value(s) == Some(1.0))
        })
    });
}

/// The last column of a series' first row (`value`, after the tags not grouped by).
fn last_value(series: &serde_json::Value) -> Option<f64> {
    series["values"][0].as_array()?.last()?.as_f64()
}

#[test]
fn scraper_configurations_that_cannot_work_are_refused_at_start() {
    let dir = crate::tempdir("scraper-refused");
    refuses_config(
        &dir,
        &scraper_section("nerve", "c", ""),
        "scraper[0].discoverer-service: \"nerve\" discovery is not supported",
    );
    refuses_config(
        &dir,
        &scraper_section("static-discovery", "missing", ""),
        "no enabled [[static-discovery]] has id \"missing\"",
    );
    refuses_config(
        &dir,
        &format!(
            "[[static-discovery]]\nenabled = true\nid = \"s\"\ntargets = [\"127.0.0.1:1\"]\n{}",
            scraper_section(
                "static-discovery",
                "s",
                "ssl-ca = \"/nonexistent/ca.pem\"\n"
            )
        ),
        "ssl-ca /nonexistent/ca.pem",
    );
}

/// The scraper sections are overridable through `/kapacitor/v1/config`, as in Kapacitor: a
/// change applies at once, survives a restart, and one that cannot work is refused.
#[test]
fn scraper_sections_change_through_the_config_api() {
    let first = Target::start("a 1\n");
    let second = Target::start("b 2\n");
    let mut d = Daemon::start_config(
        "scraper-config-api",
        Extra {
            tail: format!(
                "[[static-discovery]]\nenabled = true\nid = \"s\"\ntargets = [\"{}\"]\n{}",
                first.address(),
                scraper_section("static-discovery", "s", "password = \"secret\"\n"),
            ),
            ..Extra::default()
        },
    );
    let section = d.json("/kapacitor/v1/config/scraper");
    let options = &section["elements"][0]["options"];
    assert_eq!(options["name"], "myscraper", "{section}");
    assert_eq!(options["password"], true, "{section}");
    assert_eq!(options["scrape-interval"], "200ms", "{section}");
    let scraped = |t: &Target| !t.requests.lock().unwrap().is_empty();
    crate::daemon::wait_for(30, "the first target scraped", || scraped(&first));
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/static-discovery/s",
        Some(&format!(
            r#"{{"set": {{"targets": ["{}"]}}}}"#,
            second.address()
        )),
    );
    assert_eq!(status, 204, "{body}");
    crate::daemon::wait_for(30, "the second target scraped", || scraped(&second));
    // Refused: a discoverer this daemon does not have; nothing changes.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/scraper/myscraper",
        Some(r#"{"set": {"discoverer-service": "nerve"}}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("\\\"nerve\\\" discovery is not supported"),
        "{body}"
    );
    // The change is stored: after a restart the second target is still the one scraped.
    d.kill9_and_restart();
    second.requests.lock().unwrap().clear();
    first.requests.lock().unwrap().clear();
    crate::daemon::wait_for(30, "the second target scraped after the restart", || {
        scraped(&second)
    });
    assert!(!scraped(&first));
}

/// An `https` scraper verifies the target's certificate against `ssl-ca`: trusted, the
/// target is up; without it, its self-signed certificate fails the scrape.
#[test]
fn https_targets_are_verified_against_ssl_ca() {
    let dir = crate::tempdir("scraper-https");
    let (ca, tls) = crate::services::tls_server(&dir);
    let (url, got) = crate::daemon::https_sink(tls);
    let address = url.trim_start_matches("https://").to_string();
    for (trust, up) in [(format!("ssl-ca = {ca:?}\n"), 1.0), (String::new(), 0.0)] {
        let d = Daemon::start_config(
            "scraper-https",
            Extra {
                tail: format!(
                    "[[static-discovery]]\nenabled = true\nid = \"s\"\ntargets = [\"{address}\"]\n{}",
                    scraper_section(
                        "static-discovery",
                        "s",
                        &format!("scheme = \"https\"\n{trust}")
                    ),
                ),
                ..Extra::default()
            },
        );
        show_metric(&d, "up", "up", "'instance'");
        d.wait_json("/kapacitor/v1/tasks/up/out", 30, |v| {
            v["series"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| last_value(s) == Some(up)))
        });
    }
    assert!(
        !got.lock().unwrap().is_empty(),
        "the trusted scrape reached the target"
    );
}

/// `[[consul]]`: the instances of the catalog's watched services are the targets, at their
/// service address (else their node's) and port; the token and datacenter are sent.
#[test]
fn consul_catalog_services_are_the_targets() {
    let web = Target::start("up_web 1\n");
    let db = Target::start("up_db 1\n");
    let consul = Target::start("");
    {
        let mut routes = consul.routes.lock().unwrap();
        routes.insert(
            "/v1/catalog/services".into(),
            r#"{"consul": [], "web": ["prod"], "db": []}"#.into(),
        );
        routes.insert(
            "/v1/catalog/service/web".into(),
            format!(
                r#"[{{"Node": "n1", "Address": "10.9.9.9", "ServiceAddress": "127.0.0.1", "ServicePort": {}}}]"#,
                web.port
            ),
        );
        routes.insert(
            "/v1/catalog/service/db".into(),
            format!(
                r#"[{{"Node": "n2", "Address": "127.0.0.1", "ServiceAddress": "", "ServicePort": {}}}]"#,
                db.port
            ),
        );
    }
    let d = Daemon::start_config(
        "scraper-consul",
        Extra {
            tail: format!(
                "[[consul]]\nenabled = true\nid = \"c\"\naddress = \"{}\"\ntoken = \"s3cret\"\ndatacenter = \"dc1\"\nservices = [\"web\", \"db\"]\n{}",
                consul.address(),
                scraper_section("consul", "c", ""),
            ),
            ..Extra::default()
        },
    );
    let scraped = |t: &Target| !t.requests.lock().unwrap().is_empty();
    crate::daemon::wait_for(30, "both services' instances scraped", || {
        scraped(&web) && scraped(&db)
    });
    let head = consul.requests.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("GET /v1/catalog/services?dc=dc1 "),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("x-consul-token: s3cret\r\n"),
        "{head}"
    );
    // The `consul` service itself is not watched here; the section is overridable.
    let section = d.json("/kapacitor/v1/config/consul");
    let options = &section["elements"][0]["options"];
    assert_eq!(options["token"], true, "{section}");
    assert_eq!(
        options["services"],
        serde_json::json!(["web", "db"]),
        "{section}"
    );
}

/// `[[ec2]]`: the instances with a private address are the targets, at the section's
/// `port`; every page of `DescribeInstances` is read, with signed requests.
#[test]
fn ec2_instances_are_the_targets() {
    let web = Target::start("up_web 1\n");
    let (api, url) = crate::autoscale::Api::start(&[]);
    let d = Daemon::start_config(
        "scraper-ec2",
        Extra {
            tail: format!(
                "[[ec2]]\nenabled = true\nid = \"aws\"\nregion = \"eu-west-1\"\naccess-key = \"AKIDEXAMPLE\"\nsecret-key = \"s3cret\"\nendpoint = \"{url}\"\nport = {}\nrefresh-interval = \"1h\"\n{}",
                web.port,
                scraper_section("ec2", "aws", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "t", "up_web", "'instance', 'job'");
    crate::daemon::wait_for(30, "the instance's metric in the stream", || {
        let out = d.json("/kapacitor/v1/tasks/t/out");
        out["series"][0]["tags"]
            == serde_json::json!({"instance": web.address(), "job": "myscraper"})
            && last_value(&out["series"][0]) == Some(1.0)
    });
    let requests = api.requests.lock().unwrap().clone();
    let bodies: Vec<&str> = requests.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(
        bodies,
        [
            "Action=DescribeInstances&Version=2016-11-15",
            "Action=DescribeInstances&NextToken=p2&Version=2016-11-15",
        ],
        "asked once (refresh-interval), every page"
    );
    assert!(
        requests[0]
            .1
            .contains("/eu-west-1/ec2/aws4_request, SignedHeaders=content-type;host;x-amz-date"),
        "{requests:?}"
    );
    // EC2 discovery named by a scraper needs an enabled `[[ec2]]` of that id.
    refuses_config(
        &crate::tempdir("scraper-ec2-missing"),
        &scraper_section("ec2", "nope", ""),
        "no enabled [[ec2]] has id \"nope\"",
    );
}

/// A DNS server on 127.0.0.1 (UDP) answering from `records` (by name and type), NXDOMAIN
/// for other names; it counts the questions it was asked.
fn dns_server(
    records: Vec<(&str, hickory_resolver::proto::rr::RData)>,
) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    use hickory_resolver::proto::op::{Message, ResponseCode};
    use hickory_resolver::proto::rr::{Name, Record};
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&asked);
    let records: Vec<(Name, hickory_resolver::proto::rr::RData)> = records
        .into_iter()
        .map(|(n, r)| (Name::from_ascii(n).unwrap(), r))
        .collect();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        loop {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let Some(q) = query.queries.first().cloned() else {
                continue;
            };
            log.lock()
                .unwrap()
                .push(format!("{} {}", q.name(), q.query_type()));
            let mut answer = Message::response(query.metadata.id, query.metadata.op_code);
            answer.metadata.recursion_desired = query.metadata.recursion_desired;
            answer.metadata.recursion_available = true;
            answer.add_query(q.clone());
            for (name, rdata) in &records {
                if name == q.name() && rdata.record_type() == q.query_type() {
                    answer.add_answer(Record::from_rdata(name.clone(), 60, rdata.clone()));
                }
            }
            if !records.iter().any(|(name, _)| name == q.name()) {
                answer.metadata.response_code = ResponseCode::NXDomain;
            }
            let _ = socket.send_to(&answer.to_vec().unwrap(), from);
        }
    });
    (addr, asked)
}

/// `[[dns]]`: an SRV record's target and port is a target (its final dot dropped), an A
/// record's address at the section's `port`; the names are looked up again every
/// `refresh-interval`, and the section is overridable.
#[test]
fn dns_records_are_the_targets() {
    use hickory_resolver::proto::rr::rdata::{A, SRV};
    use hickory_resolver::proto::rr::{Name, RData};
    let srv = Target::start("up_srv 1\n");
    let a = Target::start("up_a 1\n");
    let (dns, asked) = dns_server(vec![
        (
            "_metrics._tcp.kapacitor.test.",
            RData::SRV(SRV::new(
                0,
                0,
                srv.port,
                Name::from_ascii("127.0.0.1.").unwrap(),
            )),
        ),
        (
            "web.kapacitor.test.",
            RData::A(A(std::net::Ipv4Addr::LOCALHOST)),
        ),
    ]);
    let d = Daemon::start_config(
        "scraper-dns",
        Extra {
            tail: format!(
                "[[dns]]\nenabled = true\nid = \"d\"\nrecord-names = [\"_metrics._tcp.kapacitor.test.\", \"gone.kapacitor.test.\"]\nrefresh-interval = \"300ms\"\nnameservers = [\"{dns}\"]\n{}",
                scraper_section("dns", "d", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "srv", "up_srv", "'instance'");
    crate::daemon::wait_for(30, "the SRV record's target scraped", || {
        let out = d.json("/kapacitor/v1/tasks/srv/out");
        out["series"][0]["tags"]["instance"] == srv.address()
            && last_value(&out["series"][0]) == Some(1.0)
    });
    crate::daemon::wait_for(30, "the names looked up again", || {
        let asked = asked.lock().unwrap();
        asked
            .iter()
            .filter(|q| *q == "_metrics._tcp.kapacitor.test. SRV")
            .count()
            >= 2
            && asked.iter().any(|q| q == "gone.kapacitor.test. SRV")
    });
    // Through the API: A records at a port.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/dns/d",
        Some(
            &serde_json::json!({"set": {
                "type": "A", "port": a.port, "record-names": ["web.kapacitor.test."]
            }})
            .to_string(),
        ),
    );
    assert_eq!(status, 204, "{body}");
    show_metric(&d, "a", "up_a", "'instance'");
    crate::daemon::wait_for(30, "the A record's address scraped at the port", || {
        let out = d.json("/kapacitor/v1/tasks/a/out");
        out["series"][0]["tags"]["instance"] == a.address()
            && last_value(&out["series"][0]) == Some(1.0)
    });
    assert_eq!(d.json("/kapacitor/v1/config/dns/d")["options"]["type"], "A");
    // The service test looks the names up.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/dns",
        Some(r#"{"id": "d"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"success": true, "message": ""})
    );
    let dir = crate::tempdir("scraper-dns-refused");
    refuses_config(
        &dir,
        "[[dns]]\nenabled = true\nid = \"d\"\nrecord-names = [\"x.test.\"]\ntype = \"A\"\n",
        "dns[0].port: a port is required for records of type A",
    );
    refuses_config(
        &dir,
        "[[dns]]\nenabled = true\nid = \"d\"\nrecord-names = [\"x.test.\"]\ntype = \"MX\"\n",
        "dns[0].type: invalid records type \"MX\" (want SRV, A or AAAA)",
    );
}

/// `[[kubernetes]]` with `resource = "pod"`: each declared port of each container of the
/// namespace's pods with an address is a target; the list is asked for with the token.
#[test]
fn kubernetes_pods_are_the_targets() {
    let app = Target::start("up_pod 1\n");
    let (api, url) = crate::autoscale::Api::start(&[]);
    api.lists.lock().unwrap().insert(
        "/api/v1/namespaces/prod/pods".into(),
        serde_json::json!({"kind": "PodList", "items": [
            {"metadata": {"name": "web-1", "namespace": "prod"},
             "spec": {"containers": [{"name": "app", "ports": [{"name": "metrics", "containerPort": app.port}]}]},
             "status": {"podIP": "127.0.0.1", "phase": "Running"}},
            {"metadata": {"name": "web-2", "namespace": "prod"},
             "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 9}]}]},
             "status": {"phase": "Pending"}}
        ]}),
    );
    let d = Daemon::start_config(
        "scraper-k8s",
        Extra {
            tail: format!(
                "[[kubernetes]]\nenabled = true\nid = \"k\"\napi-servers = [\"{url}\"]\ntoken = \"tok\"\nnamespace = \"prod\"\nresource = \"pod\"\n{}",
                scraper_section("kubernetes", "k", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "t", "up_pod", "'instance'");
    crate::daemon::wait_for(30, "the pod's port scraped", || {
        let out = d.json("/kapacitor/v1/tasks/t/out");
        out["series"][0]["tags"]["instance"] == app.address()
            && last_value(&out["series"][0]) == Some(1.0)
    });
    let first = api.requests.lock().unwrap()[0].clone();
    assert_eq!(
        (first.0.as_str(), first.1.as_str()),
        ("GET /api/v1/namespaces/prod/pods", "Bearer tok")
    );
    // A resource that has no targets is refused for a scraper.
    refuses_config(
        &crate::tempdir("scraper-k8s-refused"),
        &format!(
            "[[kubernetes]]\nenabled = true\nid = \"k\"\napi-servers = [\"{url}\"]\nresource = \"ingress\"\n{}",
            scraper_section("kubernetes", "k", ""),
        ),
        "[[kubernetes]] \"k\" has resource \"ingress\"",
    );
}

/// `[[marathon]]`: each port of each task of the apps is a target at the task's host; the
/// apps are asked for with the bearer token, from the first server that answers.
#[test]
fn marathon_tasks_are_the_targets() {
    let app = Target::start("up_task 1\n");
    let marathon = Target::start("");
    marathon.routes.lock().unwrap().insert(
        "/v2/apps/".into(),
        serde_json::json!({"apps": [{"id": "/web", "labels": {"team": "a"},
            "tasks": [{"id": "web.1", "host": "127.0.0.1", "ports": [app.port]},
                      {"id": "web.2", "host": "127.0.0.1", "ports": []}]}]})
        .to_string(),
    );
    let d = Daemon::start_config(
        "scraper-marathon",
        Extra {
            tail: format!(
                "[[marathon]]\nenabled = true\nid = \"m\"\nservers = [\"http://127.0.0.1:1\", \"http://{}\"]\nbearer-token = \"tok\"\n{}",
                marathon.address(),
                scraper_section("marathon", "m", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "t", "up_task", "'instance'");
    crate::daemon::wait_for(30, "the task's port scraped", || {
        let out = d.json("/kapacitor/v1/tasks/t/out");
        out["series"][0]["tags"]["instance"] == app.address()
            && last_value(&out["series"][0]) == Some(1.0)
    });
    let head = marathon.requests.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("GET /v2/apps/?embed=apps.tasks "),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase()
            .contains("authorization: bearer tok\r\n"),
        "{head}"
    );
    assert_eq!(
        d.json("/kapacitor/v1/config/marathon/m")["options"]["bearer-token"],
        true,
        "redacted"
    );
}

/// `[[azure]]`: a token for the service principal from Azure AD, then the subscription's
/// machines from Azure Resource Manager, page by page; each allocated machine is scraped at
/// its primary interface's private address and `port` (a deallocated one, whose interface
/// says nothing of being primary, is not).
#[test]
fn azure_machines_are_the_targets() {
    let app = Target::start("up_vm 1\n");
    let azure = Target::start("");
    let arm = format!("http://{}", azure.address());
    let nic = |name: &str| {
        format!(
            "/subscriptions/sub1/resourceGroups/rg-web/providers/Microsoft.Network/networkInterfaces/{name}"
        )
    };
    let vm = |name: &str, nic_id: String| {
        serde_json::json!({
            "id": format!("/subscriptions/sub1/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/{name}"),
            "name": name, "location": "westeurope", "tags": {"env": "prod"},
            "properties": {"storageProfile": {"osDisk": {"osType": "Linux"}},
                           "networkProfile": {"networkInterfaces": [{"id": nic_id}]}}
        })
    };
    {
        let mut routes = azure.routes.lock().unwrap();
        routes.insert(
            "/tenant1/oauth2/token".into(),
            serde_json::json!({"access_token": "tok", "expires_in": "3599", "token_type": "Bearer"})
                .to_string(),
        );
        routes.insert(
            "/subscriptions/sub1/providers/Microsoft.Compute/virtualMachines".into(),
            serde_json::json!({"value": [vm("vm1", nic("nic1"))], "nextLink": format!("{arm}/page2")})
                .to_string(),
        );
        routes.insert(
            "/page2".into(),
            serde_json::json!({"value": [vm("vm2", nic("nic2"))]}).to_string(),
        );
        routes.insert(
            nic("nic1"),
            serde_json::json!({"properties": {"primary": true, "ipConfigurations": [
                {"properties": {"privateIPAddress": "127.0.0.1"}}]}})
            .to_string(),
        );
        routes.insert(
            nic("nic2"),
            serde_json::json!({"properties": {"ipConfigurations": [
                {"properties": {"privateIPAddress": "127.0.0.2"}}]}})
            .to_string(),
        );
    }
    let d = Daemon::start_config(
        "scraper-azure",
        Extra {
            tail: format!(
                "[[azure]]\nenabled = true\nid = \"az\"\nport = {}\nsubscription-id = \"sub1\"\ntenant-id = \"tenant1\"\nclient-id = \"app1\"\nclient-secret = \"s3cret\"\nrefresh-interval = \"1h\"\nactive-directory-endpoint = \"{arm}\"\nresource-manager-endpoint = \"{arm}\"\n{}",
                app.port,
                scraper_section("azure", "az", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "t", "up_vm", "'instance', 'job'");
    crate::daemon::wait_for(30, "the machine's metric in the stream", || {
        let out = d.json("/kapacitor/v1/tasks/t/out");
        out["series"][0]["tags"]
            == serde_json::json!({"instance": app.address(), "job": "myscraper"})
            && last_value(&out["series"][0]) == Some(1.0)
    });
    let heads = azure.requests.lock().unwrap().clone();
    let lines: Vec<&str> = heads
        .iter()
        .map(|h| h.lines().next().unwrap_or(""))
        .collect();
    assert_eq!(
        lines,
        [
            "POST /tenant1/oauth2/token?api-version=1.0 HTTP/1.1",
            "GET /subscriptions/sub1/providers/Microsoft.Compute/virtualMachines?api-version=2018-10-01 HTTP/1.1",
            &format!("GET {}?api-version=2018-10-01 HTTP/1.1", nic("nic1")),
            "GET /page2 HTTP/1.1",
            &format!("GET {}?api-version=2018-10-01 HTTP/1.1", nic("nic2")),
        ],
        "a token, every page and each machine's interface, once (refresh-interval)"
    );
    for head in &heads[1..] {
        assert!(
            head.to_ascii_lowercase()
                .contains("authorization: bearer tok\r\n"),
            "{head}"
        );
    }
    assert_eq!(
        d.json("/kapacitor/v1/config/azure/az")["options"]["client-secret"],
        true,
        "redacted"
    );
    // The service test lists the machines.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/azure",
        Some(r#"{"id": "az"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["success"],
        true,
        "{body}"
    );
    // An enabled `[[azure]]` needs its service principal.
    refuses_config(
        &crate::tempdir("scraper-azure-bad"),
        "[[azure]]\nenabled = true\nid = \"az\"\nsubscription-id = \"s\"\ntenant-id = \"t\"\nclient-id = \"c\"\n",
        "azure[0].client-secret",
    );
}

/// `[[gce]]`: a token for the service account of `GOOGLE_APPLICATION_CREDENTIALS` (a JWT
/// signed with its key, for its `token_uri`), then the zone's instances from the Compute
/// Engine API, with the filter, page by page; each instance with a network interface is
/// scraped at its first interface's address and `port`.
#[test]
fn gce_instances_are_the_targets() {
    use base64::Engine as _;
    let app = Target::start("up_gce 1\n");
    let google = Target::start("");
    let base = format!("http://{}", google.address());
    let instances = "/projects/proj1/zones/europe-west1-b/instances";
    let filter = "filter=status%20%3D%20%22RUNNING%22";
    {
        let mut routes = google.routes.lock().unwrap();
        routes.insert(
            "/token".into(),
            serde_json::json!({"access_token": "gtok", "expires_in": 3599, "token_type": "Bearer"})
                .to_string(),
        );
        routes.insert(
            format!("{instances}?{filter}"),
            serde_json::json!({"items": [{
                "name": "web-1", "status": "RUNNING", "zone": "z", "machineType": "m",
                "networkInterfaces": [{"network": "n", "subnetwork": "s", "networkIP": "127.0.0.1",
                                       "accessConfigs": [{"natIP": "203.0.113.7"}]}],
                "tags": {"items": ["web", "prod"]},
                "metadata": {"items": [{"key": "role", "value": "front"}]},
                "labels": {"team": "a"}
            }], "nextPageToken": "p2"})
            .to_string(),
        );
        routes.insert(
            format!("{instances}?{filter}&pageToken=p2"),
            serde_json::json!({"items": [{"name": "no-nic", "status": "RUNNING"}]}).to_string(),
        );
    }
    let dir = crate::tempdir("scraper-gce");
    let pem = std::fs::read_to_string(format!(
        "{}/tests/gce/test_service_account_key.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let creds = dir.join("sa.json");
    std::fs::write(
        &creds,
        serde_json::json!({"type": "service_account", "client_email": "scraper@proj1.iam.gserviceaccount.com",
                           "private_key": pem, "token_uri": format!("{base}/token")})
        .to_string(),
    )
    .unwrap();
    let d = Daemon::start_config(
        "scraper-gce",
        Extra {
            tail: format!(
                "[[gce]]\nenabled = true\nid = \"g\"\nproject = \"proj1\"\nzone = \"europe-west1-b\"\nfilter = 'status = \"RUNNING\"'\nport = {}\nrefresh-interval = \"1h\"\nendpoint = \"{base}\"\n{}",
                app.port,
                scraper_section("gce", "g", ""),
            ),
            env: vec![(
                "GOOGLE_APPLICATION_CREDENTIALS".into(),
                creds.display().to_string(),
            )],
            ..Extra::default()
        },
    );
    show_metric(&d, "t", "up_gce", "'instance', 'job'");
    crate::daemon::wait_for(30, "the instance's metric in the stream", || {
        let out = d.json("/kapacitor/v1/tasks/t/out");
        out["series"][0]["tags"]
            == serde_json::json!({"instance": app.address(), "job": "myscraper"})
            && last_value(&out["series"][0]) == Some(1.0)
    });
    let got = google.requests.lock().unwrap().clone();
    let lines: Vec<&str> = got.iter().map(|h| h.lines().next().unwrap_or("")).collect();
    assert_eq!(
        lines,
        [
            "POST /token HTTP/1.1".to_string(),
            format!("GET {instances}?{filter} HTTP/1.1"),
            format!("GET {instances}?{filter}&pageToken=p2 HTTP/1.1"),
        ],
        "a token, then every page, once (refresh-interval)"
    );
    for head in &got[1..] {
        assert!(
            head.to_ascii_lowercase()
                .contains("authorization: bearer gtok\r\n"),
            "{head}"
        );
    }
    // The token request: a JWT of the service account for the token URI, signed with its
    // key (checked with the key's public half).
    let form = got[0].rsplit("\r\n\r\n").next().unwrap();
    assert!(
        form.starts_with(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion="
        ),
        "{form}"
    );
    let jwt = form.rsplit('=').next().unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "scraper@proj1.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], format!("{base}/token"));
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/compute.readonly"
    );
    use rustls_pki_types::pem::PemObject as _;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    use ring::signature::KeyPair as _;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public_key().as_ref(),
    )
    .verify(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &b64.decode(parts[2]).unwrap(),
    )
    .expect("a signature of the service account's key");
    // The service test lists the instances.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/gce",
        Some(r#"{"id": "g"}"#),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["success"],
        true,
        "{body}"
    );
}

/// `[[triton]]`: the containers of the discovery endpoint (HTTPS, verified with `ssl-ca`)
/// are targets named `<vm_uuid>.<dns-suffix>:<port>`; these do not resolve here, so
/// their scrapes report `up` 0 under that instance.
#[test]
fn triton_containers_are_the_targets() {
    let dir = crate::tempdir("scraper-triton");
    let (ca, tls) = crate::services::tls_server(&dir);
    let triton = Target::start_tls("", Some(tls));
    triton.routes.lock().unwrap().insert(
        "/v1/discover".into(),
        serde_json::json!({"containers": [{"vm_uuid": "3a5e", "vm_alias": "web",
            "vm_brand": "lx", "vm_image_uuid": "i1", "server_uuid": "s1"}]})
        .to_string(),
    );
    let d = Daemon::start_config(
        "scraper-triton",
        Extra {
            tail: format!(
                "[[triton]]\nenabled = true\nid = \"t\"\naccount = \"acct\"\nendpoint = \"127.0.0.1\"\nport = {}\ndns-suffix = \"triton.invalid\"\nssl-ca = {ca:?}\n{}",
                triton.port,
                scraper_section("triton", "t", ""),
            ),
            ..Extra::default()
        },
    );
    show_metric(&d, "up", "up", "'instance'");
    let instance = format!("3a5e.triton.invalid:{}", triton.port);
    crate::daemon::wait_for(30, "the container's target reported down", || {
        let out = d.json("/kapacitor/v1/tasks/up/out");
        out["series"][0]["tags"]["instance"] == instance.as_str()
            && last_value(&out["series"][0]) == Some(0.0)
    });
    let head = triton.requests.lock().unwrap()[0].clone();
    assert!(head.starts_with("GET /v1/discover "), "{head}");
}

/// Kapacitor's service tests of the scraper's side: every discoverer kind and the scraper
/// are listed with their options; a discoverer's test finds it by id and asks it for its
/// targets, the scraper's scrapes each of its targets once and says which failed.
#[test]
fn service_tests_find_discoverers_and_scrape_targets_once() {
    let up = Target::start("x 1\n");
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[{\"targets\": 7}]").unwrap();
    let d = Daemon::start_config(
        "scraper-tests",
        Extra {
            tail: format!(
                "[[static-discovery]]\nenabled = true\nid = \"s\"\ntargets = [\"{}\"]\n\
                 [[static-discovery]]\nenabled = true\nid = \"down\"\ntargets = [\"127.0.0.1:1\"]\n\
                 [[file-discovery]]\nenabled = true\nid = \"f\"\nfiles = [\"{}\"]\n{}\
                 [[scraper]]\nenabled = true\nname = \"other\"\ndiscoverer-service = \"static-discovery\"\n\
                 discoverer-id = \"down\"\ndb = \"prometheus_raw\"\nscrape-interval = \"1h\"\n",
                up.address(),
                bad.display(),
                scraper_section("static-discovery", "s", ""),
            ),
            ..Extra::default()
        },
    );
    let list = d.json("/kapacitor/v1/service-tests");
    let options = |name: &str| {
        list["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["options"].clone())
    };
    for kind in [
        "azure",
        "consul",
        "dns",
        "ec2",
        "file-discovery",
        "gce",
        "kubernetes",
        "marathon",
        "nerve",
        "serverset",
        "static-discovery",
        "swarm",
        "triton",
    ] {
        assert_eq!(options(kind), Some(serde_json::json!({"id": ""})), "{kind}");
    }
    assert_eq!(options("scraper"), Some(serde_json::json!({"name": ""})));
    let test = |service: &str, body: &str| -> serde_json::Value {
        let (status, text) = d.req(
            "POST",
            &format!("/kapacitor/v1/service-tests/{service}"),
            Some(body),
        );
        assert_eq!(status, 200, "{text}");
        serde_json::from_str(&text).unwrap()
    };
    let ok = serde_json::json!({"success": true, "message": ""});
    assert_eq!(test("static-discovery", r#"{"id": "s"}"#), ok);
    assert_eq!(
        test("static-discovery", r#"{"id": "nope"}"#),
        serde_json::json!({"success": false, "message": "discoverer \"nope\" is not found"})
    );
    assert_eq!(
        test("nerve", "{}"),
        serde_json::json!({"success": false, "message": "discoverer \"\" is not found"})
    );
    let file = test("file-discovery", r#"{"id": "f"}"#);
    assert_eq!(file["success"], false, "{file}");
    assert!(
        file["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}: ", bad.display())),
        "{file}"
    );
    let before = up.requests.lock().unwrap().len();
    assert_eq!(test("scraper", r#"{"name": "myscraper"}"#), ok);
    assert!(
        up.requests.lock().unwrap().len() > before,
        "the test scraped"
    );
    let down = test("scraper", r#"{"name": "other"}"#);
    assert_eq!(down["success"], false, "{down}");
    assert!(
        down["message"].as_str().unwrap().contains("127.0.0.1:1"),
        "{down}"
    );
    assert_eq!(
        test("scraper", r#"{"name": 3}"#),
        serde_json::json!({"success": false, "message": "option \"name\": expected a string, got 3"})
    );
}

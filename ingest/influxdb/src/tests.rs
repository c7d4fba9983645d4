//! Client tests: edge cases against a tiny fake server, behaviour against a real influxd.

use super::*;
use std::io::{BufRead, BufReader as StdBufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;
use std::thread;

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: Vec<u8>,
}

/// A fake HTTP server answering every request with the next canned answer (the last one
/// repeats), one connection per request.
struct Fake {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn new(answers: Vec<String>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let answer = answers[n.min(answers.len() - 1)].clone();
                let log = Arc::clone(&log);
                thread::spawn(move || serve(stream, &answer, &log));
            }
        });
        Fake { url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, answer: &str, log: &Mutex<Vec<Seen>>) {
    let mut reader = StdBufReader::new(stream.try_clone().unwrap());
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let len = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    log.lock().unwrap().push(Seen { head, body });
    if answer == "HANG" {
        thread::sleep(Duration::from_secs(5));
        return;
    }
    let mut stream = stream;
    let _ = stream.write_all(answer.as_bytes());
}

/// A raw HTTP answer with `Connection: close` and no length (the body ends at close).
fn answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Influxdb-Version: fake-1.0\r\nConnection: close\r\n\r\n{body}"
    )
}

fn client(urls: &[&str]) -> Client {
    Client::new(ClientConfig {
        name: "test".into(),
        urls: urls.iter().map(|u| u.to_string()).collect(),
        timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    })
    .unwrap()
}

/// A URL nothing listens on.
///
/// Port 1 (tcpmux) on loopback: connections are refused at once. A port taken from a
/// listener and released could be bound again by a fake server of the same test (or of
/// another test running at the same time), which then answers in place of the dead one.
fn dead_url() -> String {
    "http://127.0.0.1:1".to_string()
}

#[test]
fn client_is_send_sync_clone_debug() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<Client>();
    let c = Client::new(ClientConfig {
        urls: vec!["http://a:1".into()],
        username: "u".into(),
        password: "secret".into(),
        ..ClientConfig::default()
    })
    .unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("secret"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}

#[test]
fn bad_urls_are_named() {
    for bad in ["ftp://x:1", "localhost:8086", "http://", ""] {
        let err = Client::new(ClientConfig {
            name: "prod".into(),
            urls: vec!["http://ok:8086".into(), bad.into()],
            ..ClientConfig::default()
        })
        .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "influxdb cluster `prod`: invalid URL `{bad}`: want http://host:port or https://host:port"
            )
        );
        assert!(!err.is_retryable());
    }
    let err = Client::new(ClientConfig::default()).unwrap_err();
    assert_eq!(err.to_string(), "influxdb cluster ``: no URLs configured");
}

#[test]
fn an_update_reaches_every_clone_and_a_bad_one_changes_nothing() {
    let fake = Fake::new(vec![answer("204 No Content", "")]);
    let c = client(&[&dead_url()]);
    let held = c.clone();
    assert!(held.ping().is_err());
    let mut config = c.config();
    config.urls = vec![fake.url.clone()];
    config.username = "me".into();
    c.update(config).unwrap();
    assert_eq!(held.ping().unwrap(), "fake-1.0");
    assert!(
        fake.seen()[0]
            .head
            .to_ascii_lowercase()
            .contains("authorization: basic")
    );
    let bad = ClientConfig {
        urls: vec!["ftp://x".into()],
        ..held.config()
    };
    assert!(matches!(c.update(bad), Err(Error::Config { .. })));
    assert_eq!(held.config().urls, std::slice::from_ref(&fake.url));
}

/// With a shared secret, requests carry a JWT InfluxDB can check: HS256 over the header
/// and the claims `username` and `exp` (a minute ahead), signed with the secret.
#[test]
fn a_shared_secret_sends_a_signed_jwt() {
    let fake = Fake::new(vec![answer("204 No Content", "")]);
    let c = Client::new(ClientConfig {
        urls: vec![fake.url.clone()],
        username: "kap".into(),
        password: "unused".into(),
        shared_secret: "s3cret".into(),
        ..ClientConfig::default()
    })
    .unwrap();
    c.ping().unwrap();
    let head = fake.seen()[0].head.clone();
    let token = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("authorization")
                .then(|| v.trim().strip_prefix("Bearer ").map(str::to_string))?
        })
        .unwrap_or_else(|| panic!("no bearer token: {head}"));
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let decode = |s: &str| {
        let std = s.replace('-', "+").replace('_', "/");
        let padded = format!("{std}{}", "=".repeat((4 - std.len() % 4) % 4));
        base64_decode(&padded)
    };
    let header: serde_json::Value = serde_json::from_slice(&decode(parts[0])).unwrap();
    assert_eq!(header["alg"], "HS256");
    let claims: serde_json::Value = serde_json::from_slice(&decode(parts[1])).unwrap();
    assert_eq!(claims["username"], "kap");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims["exp"].as_u64().unwrap();
    assert!((now + 50..=now + 70).contains(&exp), "{exp} vs {now}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
    let signed = format!("{}.{}", parts[0], parts[1]);
    ring::hmac::verify(&key, signed.as_bytes(), &decode(parts[2])).expect("signature");
}

/// Standard base64 with padding, for the tests.
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            _ => 63,
        }
    };
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(4) {
        let pad = chunk.iter().filter(|b| **b == b'=').count();
        let n = chunk.iter().fold(0u32, |n, b| {
            (n << 6) | if *b == b'=' { 0 } else { value(*b) }
        });
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

#[test]
fn ping_returns_the_version_header() {
    let fake = Fake::new(vec![answer("204 No Content", "")]);
    assert_eq!(client(&[&fake.url]).ping().unwrap(), "fake-1.0");
    assert!(fake.seen()[0].head.starts_with("GET /ping HTTP/1.1"));
}

#[test]
fn query_sends_a_form_body_with_basic_auth() {
    let fake = Fake::new(vec![answer(
        "200 OK",
        r#"{"results":[{"statement_id":0}]}"#,
    )]);
    let c = Client::new(ClientConfig {
        urls: vec![fake.url.clone()],
        username: "martin".into(),
        password: "secret".into(),
        ..ClientConfig::default()
    })
    .unwrap();
    let r = c
        .query(&Query {
            command: "SELECT mean(v) FROM \"cpu\"".into(),
            database: "my db".into(),
            retention_policy: "rp".into(),
            epoch: Some("ms".into()),
            chunked: true,
            chunk_size: 7,
        })
        .unwrap();
    assert_eq!(r.results.len(), 1);
    let seen = &fake.seen()[0];
    assert!(
        seen.head.starts_with("POST /query HTTP/1.1"),
        "{}",
        seen.head
    );
    assert!(
        seen.head
            .contains("authorization: Basic bWFydGluOnNlY3JldA==")
            || seen
                .head
                .contains("Authorization: Basic bWFydGluOnNlY3JldA=="),
        "{}",
        seen.head
    );
    assert_eq!(
        String::from_utf8_lossy(&seen.body),
        "q=SELECT%20mean%28v%29%20FROM%20%22cpu%22&db=my%20db&rp=rp&epoch=ms&chunked=true&chunk_size=7"
    );
}

#[test]
fn chunked_answers_are_merged() {
    let body = concat!(
        r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[1,1],[2,2]],"partial":true}],"partial":true}]}"#,
        "\n",
        r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[3,3]]}]}]}"#,
        "\n",
        r#"{"results":[{"statement_id":1,"series":[{"name":"databases","columns":["name"],"values":[["a"],["b"]]}]}]}"#,
        "\n",
    );
    let fake = Fake::new(vec![answer("200 OK", body)]);
    let r = client(&[&fake.url])
        .query(&Query {
            chunked: true,
            ..Query::new("SELECT v FROM cpu GROUP BY host; SHOW DATABASES")
        })
        .unwrap();
    let want: Response = serde_json::from_str(
        r#"{"results":[
            {"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","v"],"values":[[1,1],[2,2],[3,3]]}]},
            {"statement_id":1,"series":[{"name":"databases","columns":["name"],"values":[["a"],["b"]]}]}]}"#,
    )
    .unwrap();
    assert_eq!(r, want);
}

#[test]
fn a_statement_error_is_an_error_naming_server_and_query() {
    let fake = Fake::new(vec![answer(
        "200 OK",
        r#"{"results":[{"statement_id":0,"series":[{"name":"databases","columns":["name"]}]},{"statement_id":1,"error":"database not found: nope"}]}"#,
    )]);
    let q = format!(
        "SHOW DATABASES; SELECT * FROM x WHERE y = '{}'",
        "z".repeat(300)
    );
    let err = client(&[&fake.url])
        .query(&Query::new(q.clone()))
        .unwrap_err();
    match &err {
        Error::Query {
            statement_id,
            message,
            ..
        } => {
            assert_eq!(*statement_id, Some(1));
            assert_eq!(message, "database not found: nope");
        }
        other => panic!("{other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("query `SHOW DATABASES; SELECT * FROM x WHERE y = 'zzz"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "…` on {} failed: database not found: nope",
        fake.url
    )));
    assert!(text.len() < 350, "{text}");
    assert!(!err.is_retryable());
}

#[test]
fn a_top_level_error_in_a_chunked_answer_is_an_error() {
    let body = concat!(
        r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","columns":["time"],"values":[[1]],"partial":true}],"partial":true}]}"#,
        "\n",
        r#"{"error":"max-row-limit exceeded"}"#,
        "\n"
    );
    let fake = Fake::new(vec![answer("200 OK", body)]);
    let err = client(&[&fake.url])
        .query(&Query {
            chunked: true,
            ..Query::new("SELECT * FROM cpu")
        })
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "query `SELECT * FROM cpu` on {} failed: max-row-limit exceeded",
            fake.url
        )
    );
}

#[test]
fn a_bad_body_is_an_error() {
    let fake = Fake::new(vec![answer("200 OK", "<html>proxy</html>")]);
    let err = client(&[&fake.url])
        .query(&Query::new("SHOW DATABASES"))
        .unwrap_err();
    assert!(matches!(err, Error::Body { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "query `SHOW DATABASES` on {}: bad response body: ",
            fake.url
        )),
        "{err}"
    );
    let fake = Fake::new(vec![answer("200 OK", "")]);
    let err = client(&[&fake.url])
        .query(&Query::new("SHOW DATABASES"))
        .unwrap_err();
    assert!(
        err.to_string().ends_with("bad response body: empty answer"),
        "{err}"
    );
}

#[test]
fn http_errors_carry_influxdb_error_text_and_do_not_fail_over() {
    let a = Fake::new(vec![answer(
        "400 Bad Request",
        r#"{"error":"error parsing query: found EOF, expected FROM at line 1, char 9"}"#,
    )]);
    let b = Fake::new(vec![answer("200 OK", r#"{"results":[]}"#)]);
    let err = client(&[&a.url, &b.url])
        .query(&Query::new("SELECT *"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "query `SELECT *` on {} failed: HTTP 400: error parsing query: found EOF, expected FROM at line 1, char 9",
            a.url
        )
    );
    assert!(!err.is_retryable());
    assert_eq!(b.seen().len(), 0);
}

#[test]
fn fails_over_on_5xx_and_transport_errors_and_sticks_to_the_good_server() {
    let dead = dead_url();
    let a = Fake::new(vec![answer("503 Service Unavailable", "overloaded")]);
    let b = Fake::new(vec![answer(
        "200 OK",
        r#"{"results":[{"statement_id":0}]}"#,
    )]);
    let c = client(&[&dead, &a.url, &b.url]);
    c.query(&Query::new("SHOW DATABASES")).unwrap();
    c.query(&Query::new("SHOW DATABASES")).unwrap();
    assert_eq!(a.seen().len(), 1, "the failed server is skipped next time");
    assert_eq!(b.seen().len(), 2);
}

#[test]
fn when_every_server_fails_the_last_error_is_returned() {
    let dead = dead_url();
    let a = Fake::new(vec![answer(
        "500 Internal Server Error",
        r#"{"error":"timeout"}"#,
    )]);
    let err = client(&[&a.url, &dead]).ping().unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(
        err.to_string()
            .starts_with(&format!("ping on {dead} failed: ")),
        "{err}"
    );
    // Next time the first server tried is the first one again (none answered).
    let err = client(&[&a.url]).ping().unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("ping on {} failed: HTTP 500: timeout", a.url)
    );
    assert!(err.is_retryable());
}

#[test]
fn a_hanging_server_times_out() {
    let fake = Fake::new(vec!["HANG".into()]);
    let c = Client::new(ClientConfig {
        urls: vec![fake.url.clone()],
        timeout: Duration::from_millis(300),
        ..ClientConfig::default()
    })
    .unwrap();
    let start = std::time::Instant::now();
    let err = c.query(&Query::new("SHOW DATABASES")).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "query `SHOW DATABASES` on {} timed out after 300ms",
            fake.url
        )
    );
    assert!(err.is_retryable());
}

#[test]
fn write_sends_params_and_gzipped_body() {
    let fake = Fake::new(vec![answer("204 No Content", "")]);
    let c = Client::new(ClientConfig {
        urls: vec![fake.url.clone()],
        gzip: true,
        ..ClientConfig::default()
    })
    .unwrap();
    let w = WriteRequest {
        database: "db".into(),
        retention_policy: "rp".into(),
        precision: "s".into(),
        consistency: String::new(),
    };
    c.write(&w, b"cpu v=1 1\n").unwrap();
    let seen = &fake.seen()[0];
    assert!(
        seen.head
            .starts_with("POST /write?db=db&rp=rp&precision=s HTTP/1.1"),
        "{}",
        seen.head
    );
    assert!(
        seen.head
            .to_ascii_lowercase()
            .contains("content-encoding: gzip")
    );
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&seen.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "cpu v=1 1\n");
}

#[test]
fn write_errors_name_the_database() {
    let fake = Fake::new(vec![answer(
        "404 Not Found",
        r#"{"error":"database not found: \"db\""}"#,
    )]);
    let err = client(&[&fake.url])
        .write(
            &WriteRequest {
                database: "db".into(),
                ..WriteRequest::default()
            },
            b"cpu v=1",
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "write to database `db` on {} failed: HTTP 404: database not found: \"db\"",
            fake.url
        )
    );
}

// --- Against a real influxd --------------------------------------------------------------

mod real {
    use super::*;
    use crate::testing::Influxd;

    /// InfluxDB's `[http] shared-secret` authentication takes the client's JWT; a client
    /// with another secret is refused.
    #[test]
    fn a_shared_secret_authenticates_to_influxdb() {
        let influxd =
            Influxd::start_with_http("  auth-enabled = true\n  shared-secret = \"s3cret\"\n");
        // With no user yet, InfluxDB lets the first admin be created.
        influxd
            .client()
            .query(&Query::new(
                "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
            ))
            .unwrap();
        let with = |secret: &str| {
            Client::new(ClientConfig {
                urls: vec![influxd.url()],
                username: "admin".into(),
                shared_secret: secret.into(),
                timeout: Duration::from_secs(10),
                ..ClientConfig::default()
            })
            .unwrap()
        };
        let answer = with("s3cret").query(&Query::new("SHOW DATABASES")).unwrap();
        assert_eq!(answer.results.len(), 1);
        let err = with("wrong")
            .query(&Query::new("SHOW DATABASES"))
            .unwrap_err();
        assert!(matches!(err, Error::Http { status: 401, .. }), "{err:?}");
    }

    #[test]
    fn ping_reports_the_version() {
        let influxd = Influxd::start();
        let version = influxd.client().ping().unwrap();
        assert!(version.starts_with("1."), "{version}");
    }

    #[test]
    fn chunked_and_plain_answers_are_the_same() {
        let influxd = Influxd::start();
        influxd.create_database("db");
        let mut lines = String::new();
        for host in ["a", "b", "c"] {
            for i in 0..7 {
                lines.push_str(&format!("cpu,host={host} v={i}i {}000000000\n", i + 1));
            }
        }
        influxd.write_lines("db", &lines);
        let client = influxd.client();
        let command =
            "SELECT v FROM cpu GROUP BY host; SHOW MEASUREMENTS; SELECT count(v) FROM cpu";
        let plain = client
            .query(&Query {
                epoch: Some("s".into()),
                ..Query::new(command).on("db")
            })
            .unwrap();
        let chunked = client
            .query(&Query {
                epoch: Some("s".into()),
                chunked: true,
                chunk_size: 2,
                ..Query::new(command).on("db")
            })
            .unwrap();
        assert_eq!(plain, chunked);
        assert_eq!(plain.results.len(), 3);
        let series = &plain.results[0].series;
        assert_eq!(series.len(), 3);
        assert_eq!(series[1].tags["host"], "b");
        assert_eq!(series[1].values.len(), 7);
        assert_eq!(
            serde_json::json!(series[1].values[6]),
            serde_json::json!([7, 6])
        );
        assert_eq!(
            serde_json::json!(plain.results[2].series[0].values[0]),
            serde_json::json!([0, 21])
        );
        // RFC 3339 times when no epoch is asked for.
        let rfc = influxd.query("db", "SELECT v FROM cpu WHERE host = 'a' LIMIT 1");
        assert_eq!(
            serde_json::json!(rfc.results[0].series[0].values[0]),
            serde_json::json!(["1970-01-01T00:00:01Z", 0])
        );
    }

    #[test]
    fn statement_and_http_errors_name_the_server_and_query() {
        let influxd = Influxd::start();
        let client = influxd.client();
        let err = client
            .query(&Query::new("SELECT v FROM cpu").on("nope"))
            .unwrap_err();
        assert!(matches!(err, Error::Query { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "query `SELECT v FROM cpu` on {} failed: database not found: nope",
                influxd.url()
            )
        );
        let err = client.query(&Query::new("SELECT")).unwrap_err();
        assert!(matches!(err, Error::Http { status: 400, .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&format!(
                "query `SELECT` on {} failed: HTTP 400: error parsing query: ",
                influxd.url()
            )),
            "{err}"
        );
        let w = WriteRequest {
            database: "nope".into(),
            ..WriteRequest::default()
        };
        let err = client.write(&w, b"cpu v=1\n").unwrap_err();
        assert!(matches!(err, Error::Http { status: 404, .. }), "{err:?}");
        assert!(err.to_string().contains("database not found"), "{err}");
        influxd.create_database("db");
        let w = WriteRequest {
            database: "db".into(),
            ..WriteRequest::default()
        };
        let err = client.write(&w, b"cpu v=1\ncpu v=\n").unwrap_err();
        assert!(matches!(err, Error::Http { status: 400, .. }), "{err:?}");
        assert!(err.to_string().contains("unable to parse"), "{err}");
    }

    #[test]
    fn gzip_writes_with_precision_and_failover() {
        let influxd = Influxd::start();
        influxd.create_database("db");
        let client = Client::new(ClientConfig {
            name: "c".into(),
            urls: vec![dead_url(), influxd.url()],
            gzip: true,
            timeout: Duration::from_secs(10),
            ..ClientConfig::default()
        })
        .unwrap();
        let w = WriteRequest {
            database: "db".into(),
            retention_policy: "autogen".into(),
            precision: "s".into(),
            consistency: "one".into(),
        };
        client
            .write(&w, b"mem free=5i 100\nmem free=6i 200\n")
            .unwrap();
        let r = client
            .query(&Query {
                epoch: Some("s".into()),
                ..Query::new("SELECT free FROM mem").on("db")
            })
            .unwrap();
        assert_eq!(
            serde_json::json!(r.results[0].series[0].values),
            serde_json::json!([[100, 5], [200, 6]])
        );
    }
}

#[test]
fn tls_settings_that_do_not_parse_are_refused_naming_the_key() {
    let with = |tls: TlsOptions| {
        Client::new(ClientConfig {
            name: "c".into(),
            urls: vec!["https://127.0.0.1:1".into()],
            tls,
            ..ClientConfig::default()
        })
        .map(|_| ())
        .unwrap_err()
        .to_string()
    };
    let err = with(TlsOptions {
        ca_pem: Some(b"not a certificate".to_vec()),
        ..TlsOptions::default()
    });
    assert!(
        err.contains("ssl-ca") && err.contains("no PEM certificate"),
        "{err}"
    );
    let err = with(TlsOptions {
        client_pem: Some((b"x".to_vec(), b"y".to_vec())),
        ..TlsOptions::default()
    });
    assert!(err.contains("ssl-cert"), "{err}");
}

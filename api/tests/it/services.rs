//! Alert services against real servers on 127.0.0.1: the payloads kapacitord posts to
//! Slack, PagerDuty, VictorOps, Teams, Telegram and Discord (inline, topic and global
//! handlers), the mail it sends over SMTP, and the configuration it refuses.

use crate::daemon::{Daemon, Extra, Requests, http_sink, refuses_to_start};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Waits until `got` holds `n` requests whose request line starts with `POST path`, and
/// returns their JSON bodies in arrival order.
fn bodies(got: &Requests, path: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found: Vec<Value> = got
            .lock()
            .unwrap()
            .iter()
            .filter(|(head, _)| head.starts_with(&format!("POST {path} ")))
            .map(|(_, body)| serde_json::from_str(body).unwrap_or(Value::String(body.clone())))
            .collect();
        if found.len() >= n {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{n} posts to {path} expected; got {:?}",
            got.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a test server records, shared with the test.
type Log<T> = Arc<Mutex<Vec<T>>>;

/// A TCP server on 127.0.0.1 that serves each connection on a thread of its own with
/// `serve(connection, its port, the log)`: its port, and the log.
fn tcp_server<T: Send + 'static>(
    serve: impl Fn(std::net::TcpStream, u16, &Log<T>) + Send + Sync + 'static,
) -> (u16, Log<T>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log: Log<T> = Arc::new(Mutex::new(Vec::new()));
    let (l, serve) = (Arc::clone(&log), Arc::new(serve));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (l, serve) = (Arc::clone(&l), Arc::clone(&serve));
            std::thread::spawn(move || serve(stream, port, &l));
        }
    });
    (port, log)
}

/// Waits until `log` has an entry, and returns the first; fails saying `what` is missing.
fn first<T: Clone>(log: &Log<T>, what: &str) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(t) = log.lock().unwrap().first() {
            return t.clone();
        }
        assert!(Instant::now() < deadline, "no {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One alert with inline Slack, PagerDuty v2, VictorOps, Teams and Telegram handlers, and
/// a global Discord configured state-changes-only: each service gets Kapacitor's payload
/// for the CRITICAL event and for its recovery, and the repeated CRITICAL is not sent.
#[test]
fn inline_and_global_handlers_post_each_services_payload() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "services-inline",
        Extra {
            tail: format!(
                "[[slack]]\nenabled = true\nurl = \"{url}/slack\"\nchannel = \"#default\"\n\
                 [pagerduty2]\nenabled = true\nurl = \"{url}/pd2\"\nrouting-key = \"rk\"\n\
                 [victorops]\nenabled = true\nurl = \"{url}/vo\"\napi-key = \"api\"\nrouting-key = \"team\"\n\
                 [teams]\nenabled = true\nchannel-url = \"{url}/teams\"\n\
                 [telegram]\nenabled = true\nurl = \"{url}/tg/bot\"\ntoken = \"TOKEN\"\nchat-id = \"42\"\n\
                 [[discord]]\nenabled = true\nurl = \"{url}/discord\"\nglobal = true\nstate-changes-only = true\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task(
        "svc",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .id('cpu:{{index .Tags \"host\"}}')\n        .message('{{.ID}} is {{.Level}}')\n        .crit(lambda: \"value\" > 90)\n        .slack()\n            .channel('#alerts')\n        .pagerDuty2()\n            .link('http://dash', 'dashboard')\n        .victorOps()\n        .teams()\n        .telegram()\n",
    );
    d.write_s("cpu,host=a value=95 1\ncpu,host=a value=96 2\ncpu,host=a value=10 3");

    let slack = bodies(&got, "/slack", 2);
    assert_eq!(slack[0]["channel"], "#alerts");
    assert_eq!(slack[0]["username"], "kapacitor");
    assert_eq!(slack[0]["text"], "");
    assert_eq!(slack[0]["as_user"], false);
    let a = &slack[0]["attachments"][0];
    assert_eq!(a["text"], "cpu:a is CRITICAL");
    assert_eq!(a["fallback"], "cpu:a is CRITICAL");
    assert_eq!(a["color"], "danger");
    assert_eq!(a["mrkdwn_in"], serde_json::json!(["text"]));
    assert_eq!(slack[1]["attachments"][0]["color"], "good");

    let pd = bodies(&got, "/pd2", 2);
    assert_eq!(pd[0]["routing_key"], "rk");
    assert_eq!(pd[0]["event_action"], "trigger");
    assert_eq!(pd[0]["dedup_key"], "cpu:a");
    assert_eq!(pd[0]["payload"]["summary"], "cpu:a is CRITICAL");
    assert_eq!(pd[0]["payload"]["severity"], "critical");
    assert_eq!(pd[0]["payload"]["source"], "a");
    assert_eq!(pd[0]["payload"]["class"], "svc");
    assert_eq!(pd[0]["payload"]["timestamp"], "1970-01-01T00:00:01Z");
    assert_eq!(
        pd[0]["payload"]["custom_details"]["result"]["series"][0]["values"][0][1],
        95
    );
    assert_eq!(pd[0]["links"][0]["href"], "http://dash");
    assert_eq!(pd[0]["client"], "kapacitor");
    assert_eq!(
        pd[0]["client_url"],
        format!("http://localhost:{}", d.port).as_str()
    );
    assert_eq!(pd[1]["event_action"], "resolve");

    let vo = bodies(&got, "/vo/api/team", 2);
    assert_eq!(vo[0]["message_type"], "CRITICAL");
    assert_eq!(vo[0]["entity_id"], "cpu:a");
    assert_eq!(vo[0]["state_message"], "cpu:a is CRITICAL");
    assert_eq!(vo[0]["timestamp"], 1);
    assert_eq!(vo[0]["monitoring_tool"], "kapacitor");
    assert!(
        vo[0]["data"].as_str().unwrap().contains("\"series\""),
        "{}",
        vo[0]
    );
    assert_eq!(vo[1]["message_type"], "RECOVERY");

    let teams = bodies(&got, "/teams", 2);
    assert_eq!(teams[0]["@type"], "MessageCard");
    assert_eq!(teams[0]["text"], "cpu:a is CRITICAL");
    assert_eq!(teams[0]["themeColor"], "CC4A31");

    let tg = bodies(&got, "/tg/botTOKEN/sendMessage", 2);
    assert_eq!(tg[0]["chat_id"], "42");
    assert_eq!(tg[0]["text"], "cpu:a is CRITICAL");
    assert_eq!(tg[1]["text"], "cpu:a is OK");

    // The global Discord handler joined the alert, and made it state-changes-only: the
    // second CRITICAL went to no service.
    let discord = bodies(&got, "/discord", 2);
    assert_eq!(discord[0]["username"], "Kapacitor");
    assert_eq!(discord[0]["embeds"][0]["description"], "cpu:a is CRITICAL");
    std::thread::sleep(Duration::from_millis(300));
    for path in ["/slack", "/pd2", "/teams", "/discord"] {
        assert_eq!(bodies(&got, path, 2).len(), 2, "{path}");
    }
}

/// A topic handler of a service kind takes Kapacitor's option names; an unknown option is
/// refused with a 400 that names it.
#[test]
fn topic_handlers_of_service_kinds() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "services-topic",
        Extra {
            tail: format!(
                "[slack]\nenabled = true\nurl = \"{url}/slack\"\n\
                 [pagerduty]\nenabled = true\nurl = \"{url}/pd\"\nservice-key = \"sk\"\n"
            ),
            ..Extra::default()
        },
    );
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/alerts/topics/ops/handlers",
        Some(r##"{"id":"s","kind":"slack","options":{"channel":"#ops","icon-emoji":":fire:"}}"##),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/alerts/topics/ops/handlers",
        Some(r#"{"id":"p","kind":"pagerduty","options":{}}"#),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/alerts/topics/ops/handlers",
        Some(r##"{"id":"bad","kind":"slack","options":{"chanel":"#ops"}}"##),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown option \\\"chanel\\\""), "{body}");
    d.enable_task(
        "topic",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('hot')\n        .details('{{.ID}} details')\n        .topic('ops')\n",
    );
    d.write_s("cpu,host=b value=1 1");
    let slack = bodies(&got, "/slack", 1);
    assert_eq!(slack[0]["channel"], "#ops");
    assert_eq!(slack[0]["icon_emoji"], ":fire:");
    assert_eq!(slack[0]["attachments"][0]["text"], "hot");
    let pd = bodies(&got, "/pd", 1);
    assert_eq!(pd[0]["service_key"], "sk");
    assert_eq!(pd[0]["event_type"], "trigger");
    assert_eq!(pd[0]["description"], "hot");
    assert_eq!(pd[0]["incident_key"], "cpu:nil");
    assert_eq!(pd[0]["details"], "cpu:nil details");
}

/// An SMTP server on 127.0.0.1 that records each mail's envelope and data.
fn smtp_sink() -> (u16, Log<String>) {
    tcp_server(|stream, _, m| {
        let mut w = stream.try_clone().unwrap();
        let mut r = BufReader::new(stream);
        let _ = w.write_all(b"220 sink ESMTP\r\n");
        let mut mail = String::new();
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            let cmd = line.to_ascii_uppercase();
            if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                let _ = w.write_all(b"250-sink\r\n250 8BITMIME\r\n");
            } else if cmd.starts_with("DATA") {
                let _ = w.write_all(b"354 go on\r\n");
                let mut data = String::new();
                loop {
                    data.clear();
                    if r.read_line(&mut data).unwrap_or(0) == 0 || data == ".\r\n" {
                        break;
                    }
                    mail.push_str(&data);
                }
                m.lock().unwrap().push(std::mem::take(&mut mail));
                let _ = w.write_all(b"250 queued\r\n");
            } else if cmd.starts_with("QUIT") {
                let _ = w.write_all(b"221 bye\r\n");
                break;
            } else {
                mail.push_str(&line);
                let _ = w.write_all(b"250 ok\r\n");
            }
            line.clear();
        }
    })
}

/// `.email()` sends the message as subject and the details as an HTML body.
#[test]
fn email_goes_through_smtp() {
    let (port, mails) = smtp_sink();
    let d = Daemon::start_config(
        "services-smtp",
        Extra {
            tail: format!(
                "[smtp]\nenabled = true\nhost = \"127.0.0.1\"\nport = {port}\nfrom = \"kapacitor@example.com\"\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task(
        "mail",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('cpu is hot')\n        .details('<b>{{.ID}}</b>')\n        .email('oncall@example.com')\n",
    );
    d.write_s("cpu value=1 1");
    let mail = first(&mails, "mail");
    assert!(mail.contains("MAIL FROM:<kapacitor@example.com>"), "{mail}");
    assert!(mail.contains("RCPT TO:<oncall@example.com>"), "{mail}");
    assert!(mail.contains("Subject: cpu is hot"), "{mail}");
    assert!(mail.contains("Content-Type: text/html"), "{mail}");
    assert!(mail.contains("<b>cpu:nil</b>"), "{mail}");
}

/// An enabled service without its URL stops the daemon, naming the section and key.
#[test]
fn a_service_without_its_url_is_refused() {
    let dir = crate::tempdir("services-refused");
    let conf = dir.join("kapacitor.conf");
    std::fs::write(
        &conf,
        format!(
            "data_dir = {:?}\n[[slack]]\nenabled = true\nchannel = \"#x\"\n",
            dir.join("data")
        ),
    )
    .unwrap();
    refuses_to_start(&conf, &[], "slack[0].url");
    std::fs::write(
        &conf,
        format!(
            "data_dir = {:?}\n[telegram]\nenabled = true\ntoken = \"t\"\nparse-mode = \"rtf\"\n",
            dir.join("data")
        ),
    )
    .unwrap();
    refuses_to_start(&conf, &[], "telegram.parse-mode");
}

/// The PUBLISH packets an [`mqtt_sink`] got: `(topic, payload, qos, retain)`.
type Published = Log<(String, String, u8, bool)>;

/// An MQTT 3.1.1 broker on 127.0.0.1 that accepts any client and records each PUBLISH.
fn mqtt_sink() -> (u16, Published) {
    mqtt_broker(None)
}

/// [`mqtt_sink`], over TLS with `tls`.
fn mqtt_broker(tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>) -> (u16, Published) {
    use std::io::Read;
    tcp_server(move |stream, _, g| {
        let mut conn = crate::daemon::server_conn(stream, tls.as_ref());
        loop {
            let mut head = [0u8; 1];
            if conn.read_exact(&mut head).is_err() {
                return;
            }
            // Remaining length: a base-128 varint.
            let (mut len, mut shift) = (0usize, 0);
            loop {
                let mut b = [0u8; 1];
                if conn.read_exact(&mut b).is_err() {
                    return;
                }
                len |= usize::from(b[0] & 0x7f) << shift;
                shift += 7;
                if b[0] & 0x80 == 0 {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            if conn.read_exact(&mut body).is_err() {
                return;
            }
            let reply: &[u8] = match head[0] >> 4 {
                1 => &[0x20, 0x02, 0x00, 0x00], // CONNECT → CONNACK
                3 => {
                    let qos = (head[0] >> 1) & 3;
                    let n = usize::from(body[0]) << 8 | usize::from(body[1]);
                    let topic = String::from_utf8_lossy(&body[2..2 + n]).into_owned();
                    let mut at = 2 + n;
                    let id = if qos > 0 {
                        at += 2;
                        [body[at - 2], body[at - 1]]
                    } else {
                        [0, 0]
                    };
                    let payload = String::from_utf8_lossy(&body[at..]).into_owned();
                    g.lock()
                        .unwrap()
                        .push((topic, payload, qos, head[0] & 1 == 1));
                    if qos == 1 {
                        let _ = conn.write_all(&[0x40, 0x02, id[0], id[1]]);
                    }
                    &[]
                }
                12 => &[0xd0, 0x00], // PINGREQ → PINGRESP
                _ => &[],
            };
            let _ = conn.write_all(reply).and_then(|()| conn.flush());
        }
    })
}

/// `.mqtt(topic)` publishes the alert message to the named broker, with its QoS and the
/// retain flag.
#[test]
fn mqtt_publishes_the_message() {
    let (port, got) = mqtt_sink();
    let d = Daemon::start_config(
        "services-mqtt",
        Extra {
            tail: format!(
                "[[mqtt]]\nenabled = true\nname = \"local\"\nurl = \"tcp://127.0.0.1:{port}\"\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task(
        "mq",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('{{.ID}} is {{.Level}}')\n        .mqtt('alerts/cpu')\n            .brokerName('local')\n            .qos(1)\n            .retained()\n",
    );
    d.write_s("cpu value=1 1");
    assert_eq!(
        first(&got, "PUBLISH"),
        (
            "alerts/cpu".to_string(),
            "cpu:nil is CRITICAL".to_string(),
            1,
            true
        )
    );
}

/// HTTPS services take their section's TLS keys: Slack trusts the `ssl-ca` of its section
/// (and without it refuses the self-signed certificate), Alerta takes any certificate with
/// `insecure-skip-verify`; an `ssl-ca` that does not exist stops the daemon naming it.
#[test]
fn https_services_take_their_tls_keys() {
    let dir = crate::tempdir("services-https");
    let (ca, tls) = tls_server(&dir);
    let (url, got) = crate::daemon::https_sink(tls);
    let d = Daemon::start_config(
        "services-https",
        Extra {
            tail: format!(
                "[[slack]]\nenabled = true\nworkspace = \"trusted\"\ndefault = true\nurl = \"{url}/slack\"\nssl-ca = {ca:?}\n\
                 [[slack]]\nenabled = true\nworkspace = \"untrusted\"\nurl = \"{url}/slack-untrusted\"\n\
                 [alerta]\nenabled = true\nurl = \"{url}/alerta\"\ninsecure-skip-verify = true\n"
            ),
            ..Extra::default()
        },
    );
    let test = |service: &str, options: &str| {
        let (status, body) = d.req(
            "POST",
            &format!("/kapacitor/v1/service-tests/{service}"),
            Some(options),
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()
    };
    assert_eq!(
        test("slack", r#"{"workspace": "trusted"}"#),
        serde_json::json!({"success": true, "message": ""})
    );
    // The PEM file was read once, as Kapacitor reads it with the section: not per post.
    std::fs::rename(&ca, dir.join("ca.pem.moved")).unwrap();
    assert_eq!(
        test("slack", r#"{"workspace": "trusted"}"#),
        serde_json::json!({"success": true, "message": ""})
    );
    assert_eq!(
        test("alerta", "{}"),
        serde_json::json!({"success": true, "message": ""})
    );
    let refused = test("slack", r#"{"workspace": "untrusted"}"#);
    assert_eq!(refused["success"], false, "{refused}");
    let paths: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(head, _)| head.split_whitespace().nth(1).unwrap_or("").to_string())
        .collect();
    assert_eq!(paths, ["/slack", "/slack", "/alerta/alert"]);

    crate::daemon::refuses_config(
        &dir,
        &format!(
            "[[slack]]\nenabled = true\nurl = \"{url}/slack\"\nssl-ca = \"/nonexistent/ca.pem\"\n"
        ),
        "slack[0].ssl-ca",
    );
}

/// A `ssl://` broker is reached over TLS, trusting `ssl-ca`; a broker whose certificate
/// is not trusted gets nothing.
#[test]
fn mqtt_over_tls() {
    let dir = crate::tempdir("services-mqtt-tls");
    let (ca, tls) = tls_server(&dir);
    let (port, got) = mqtt_broker(Some(tls));
    let d = Daemon::start_config(
        "services-mqtt-tls",
        Extra {
            tail: format!(
                "[[mqtt]]\nenabled = true\nname = \"secure\"\nurl = \"ssl://127.0.0.1:{port}\"\nssl-ca = {ca:?}\n"
            ),
            ..Extra::default()
        },
    );
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/mqtt",
        Some(r#"{"broker-name": "secure", "topic": "alerts/tls", "message": "over tls"}"#),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"","success":true}"#)
    );
    assert_eq!(
        first(&got, "PUBLISH over TLS"),
        ("alerts/tls".to_string(), "over tls".to_string(), 0, false)
    );
    // Without `ssl-ca`, the self-signed certificate is not trusted: nothing arrives.
    let (port2, got2) = mqtt_broker(Some(tls_server(&dir).1));
    let d = Daemon::start_config(
        "services-mqtt-tls-untrusted",
        Extra {
            tail: format!(
                "[[mqtt]]\nenabled = true\nname = \"secure\"\nurl = \"ssl://127.0.0.1:{port2}\"\n"
            ),
            ..Extra::default()
        },
    );
    d.req(
        "POST",
        "/kapacitor/v1/service-tests/mqtt",
        Some(r#"{"broker-name": "secure", "topic": "alerts/tls"}"#),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(got2.lock().unwrap().is_empty());
}

/// `.snmpTrap(oid)` sends an SNMPv2c trap: `sysUpTime.0`, `snmpTrapOID.0`, then the
/// `.data()` bindings with their templates rendered.
#[test]
fn snmp_trap_reaches_the_receiver() {
    use rasn_smi::v2::{ObjectSyntax, SimpleSyntax};
    use rasn_snmp::v2::{Pdus, VarBindValue};
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let d = Daemon::start_config(
        "services-snmptrap",
        Extra {
            tail: format!(
                "[snmptrap]\nenabled = true\naddr = \"{}\"\ncommunity = \"public\"\nretries = 0\n",
                socket.local_addr().unwrap()
            ),
            ..Extra::default()
        },
    );
    d.enable_task(
        "trap",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('cpu is hot')\n        .snmpTrap('1.3.6.1.4.1.1')\n            .data('1.3.6.1.4.1.1.1', 's', '{{ .Message }}')\n            .data('1.3.6.1.4.1.1.2', 'i', '{{ index .Fields \"value\" }}')\n",
    );
    d.write_s("cpu value=42i 1");
    let mut buf = [0u8; 2048];
    let (n, _) = socket.recv_from(&mut buf).expect("a trap");
    let msg: rasn_snmp::v2c::Message<Pdus> = rasn::ber::decode(&buf[..n]).expect("BER");
    assert_eq!(msg.community.as_ref(), b"public");
    let Pdus::Trap(trap) = msg.data else {
        panic!("not a trap: {:?}", msg.data)
    };
    let b = &trap.0.variable_bindings;
    let oid = |i: usize| {
        b[i].name
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(".")
    };
    assert_eq!(b.len(), 4, "{b:?}");
    assert_eq!(oid(0), "1.3.6.1.2.1.1.3.0");
    assert_eq!(oid(1), "1.3.6.1.6.3.1.1.4.1.0");
    assert_eq!(
        b[1].value,
        VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::ObjectId(
            rasn::types::ObjectIdentifier::new(vec![1, 3, 6, 1, 4, 1, 1]).unwrap()
        )))
    );
    assert_eq!(oid(2), "1.3.6.1.4.1.1.1");
    assert_eq!(
        b[2].value,
        VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::String(
            b"cpu is hot".to_vec().into()
        )))
    );
    assert_eq!(
        b[3].value,
        VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::Integer(42.into())))
    );
}

/// The Produce requests a [`kafka_sink`] got: `(partition, record batch bytes)`.
type Produced = Log<(i32, Vec<u8>)>;

/// A Kafka broker on 127.0.0.1 speaking just enough of the protocol for a producer
/// (ApiVersions v3, Metadata v1, Produce v3), with one topic of `partitions` partitions, of
/// which it leads all.
fn kafka_sink(topic: &'static str, partitions: i32) -> (u16, Produced) {
    kafka_broker(topic, partitions, None, None)
}

/// [`kafka_sink`], over TLS with `tls`, and asking SASL PLAIN with these credentials when
/// `sasl` is set (SaslHandshake v1, SaslAuthenticate v1; other credentials are refused).
fn kafka_broker(
    topic: &'static str,
    partitions: i32,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    sasl: Option<(&'static str, &'static str)>,
) -> (u16, Produced) {
    use std::io::Read;
    fn i16_at(b: &[u8], at: &mut usize) -> i16 {
        *at += 2;
        i16::from_be_bytes([b[*at - 2], b[*at - 1]])
    }
    fn i32_at(b: &[u8], at: &mut usize) -> i32 {
        *at += 4;
        i32::from_be_bytes(b[*at - 4..*at].try_into().unwrap())
    }
    fn str_at(b: &[u8], at: &mut usize) -> String {
        let n = i16_at(b, at);
        if n < 0 {
            return String::new();
        }
        *at += n as usize;
        String::from_utf8_lossy(&b[*at - n as usize..*at]).into_owned()
    }
    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as i16).to_be_bytes());
        out.extend(s.as_bytes());
    }
    tcp_server(move |stream, port, g| {
        let mut conn = crate::daemon::server_conn(stream, tls.as_ref());
        let mut authenticated = sasl.is_none();
        loop {
            let mut size = [0u8; 4];
            if conn.read_exact(&mut size).is_err() {
                return;
            }
            let mut req = vec![0u8; i32::from_be_bytes(size) as usize];
            if conn.read_exact(&mut req).is_err() {
                return;
            }
            let mut at = 0;
            let (key, version) = (i16_at(&req, &mut at), i16_at(&req, &mut at));
            let correlation = i32_at(&req, &mut at);
            let _client = str_at(&req, &mut at);
            assert!(
                authenticated || [18, 17, 36].contains(&key),
                "Kafka API {key} before SASL authentication"
            );
            let mut body = Vec::new();
            match key {
                18 => {
                    // ApiVersions v3: compact array of the APIs.
                    assert_eq!(version, 3, "ApiVersions version");
                    let mut apis = vec![(0i16, 3i16, 3i16), (3, 0, 1), (18, 0, 3)];
                    if sasl.is_some() {
                        apis.extend([(17, 1, 1), (36, 0, 1)]);
                    }
                    body.extend(0i16.to_be_bytes());
                    body.push(apis.len() as u8 + 1);
                    for (api, min, max) in apis {
                        body.extend(api.to_be_bytes());
                        body.extend(min.to_be_bytes());
                        body.extend(max.to_be_bytes());
                        body.push(0);
                    }
                    body.extend(0i32.to_be_bytes());
                    body.push(0);
                }
                17 => {
                    // SaslHandshake v1: the mechanism asked, and the one offered.
                    let mechanism = str_at(&req, &mut at);
                    body.extend((if mechanism == "PLAIN" { 0i16 } else { 33 }).to_be_bytes());
                    body.extend(1i32.to_be_bytes());
                    put_str(&mut body, "PLAIN");
                }
                36 => {
                    // SaslAuthenticate v0/v1: PLAIN's `\0user\0password`.
                    let n = i32_at(&req, &mut at) as usize;
                    let token = &req[at..at + n];
                    let (user, pass) = sasl.expect("SASL asked for");
                    let want = format!("\0{user}\0{pass}");
                    authenticated = token == want.as_bytes();
                    body.extend((if authenticated { 0i16 } else { 58 }).to_be_bytes());
                    body.extend((-1i16).to_be_bytes());
                    body.extend(0i32.to_be_bytes());
                    if version >= 1 {
                        body.extend(0i64.to_be_bytes());
                    }
                }
                3 => {
                    // Metadata v1: this broker, and the topic it leads.
                    body.extend(1i32.to_be_bytes());
                    body.extend(1i32.to_be_bytes());
                    put_str(&mut body, "127.0.0.1");
                    body.extend(i32::from(port).to_be_bytes());
                    body.extend((-1i16).to_be_bytes());
                    body.extend(1i32.to_be_bytes());
                    body.extend(1i32.to_be_bytes());
                    body.extend(0i16.to_be_bytes());
                    put_str(&mut body, topic);
                    body.push(0);
                    body.extend(partitions.to_be_bytes());
                    for p in 0..partitions {
                        body.extend(0i16.to_be_bytes());
                        body.extend(p.to_be_bytes());
                        body.extend(1i32.to_be_bytes());
                        for _ in 0..2 {
                            body.extend(1i32.to_be_bytes());
                            body.extend(1i32.to_be_bytes());
                        }
                    }
                }
                0 => {
                    // Produce v3: one topic, one partition, its record batch.
                    let _transactional = str_at(&req, &mut at);
                    let _acks = i16_at(&req, &mut at);
                    let _timeout = i32_at(&req, &mut at);
                    let _topics = i32_at(&req, &mut at);
                    let name = str_at(&req, &mut at);
                    let _partitions = i32_at(&req, &mut at);
                    let partition = i32_at(&req, &mut at);
                    let n = i32_at(&req, &mut at) as usize;
                    g.lock()
                        .unwrap()
                        .push((partition, req[at..at + n].to_vec()));
                    body.extend(1i32.to_be_bytes());
                    put_str(&mut body, &name);
                    body.extend(1i32.to_be_bytes());
                    body.extend(partition.to_be_bytes());
                    body.extend(0i16.to_be_bytes());
                    body.extend(0i64.to_be_bytes());
                    body.extend((-1i64).to_be_bytes());
                    body.extend(0i32.to_be_bytes());
                }
                other => panic!("unexpected Kafka API {other}"),
            }
            let mut frame = ((body.len() + 4) as i32).to_be_bytes().to_vec();
            frame.extend(correlation.to_be_bytes());
            frame.extend(body);
            if conn.write_all(&frame).and_then(|()| conn.flush()).is_err() {
                return;
            }
        }
    })
}

/// A self-signed certificate for 127.0.0.1, written to `dir` (`ca.pem`), and the TLS
/// server configuration serving it.
pub(crate) fn tls_server(
    dir: &std::path::Path,
) -> (String, Arc<tokio_rustls::rustls::ServerConfig>) {
    use rustls_pki_types::PrivateKeyDer;
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("self-signed certificate");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, ck.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![ck.cert.der().clone()], key)
        .expect("server config");
    (ca.display().to_string(), Arc::new(config))
}

/// Kafka over TLS with SASL PLAIN: the alert reaches a broker that serves TLS with a
/// certificate `ssl-ca` trusts (or any, with `insecure-skip-verify`) and takes only these
/// credentials; an `ssl-ca` file that does not exist stops the daemon naming the key.
#[test]
fn kafka_over_tls_with_sasl() {
    let dir = crate::tempdir("services-kafka-tls");
    let (ca, tls) = tls_server(&dir);
    let (port, got) = kafka_broker("alerts", 1, Some(tls), Some(("kap", "s3cret")));
    for trust in [
        format!("ssl-ca = {ca:?}"),
        "insecure-skip-verify = true".to_string(),
    ] {
        got.lock().unwrap().clear();
        let d = Daemon::start_config(
            "services-kafka-tls",
            Extra {
                tail: format!(
                    "[[kafka]]\nenabled = true\nid = \"main\"\nbrokers = [\"127.0.0.1:{port}\"]\nuse-ssl = true\n{trust}\nsasl-username = \"kap\"\nsasl-password = \"s3cret\"\nsasl-mechanism = \"PLAIN\"\n"
                ),
                ..Extra::default()
            },
        );
        let (status, body) = d.req(
            "POST",
            "/kapacitor/v1/service-tests/kafka",
            Some(r#"{"cluster": "main", "topic": "alerts", "message": "over tls"}"#),
        );
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"message":"","success":true}"#),
            "{trust}"
        );
        let (_, batch) = first(&got, "Produce request over TLS");
        assert!(String::from_utf8_lossy(&batch).contains("over tls"));
    }
    // Credentials the broker refuses: the test says the write failed.
    let d = Daemon::start_config(
        "services-kafka-tls",
        Extra {
            tail: format!(
                "[[kafka]]\nenabled = true\nid = \"main\"\nbrokers = [\"127.0.0.1:{port}\"]\nuse-ssl = true\nssl-ca = {ca:?}\nsasl-username = \"kap\"\nsasl-password = \"wrong\"\ntimeout = \"2s\"\n"
            ),
            ..Extra::default()
        },
    );
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/kafka",
        Some(r#"{"cluster": "main", "topic": "alerts"}"#),
    );
    assert_eq!(status, 200);
    assert!(body.contains(r#""success":false"#), "{body}");
    crate::daemon::refuses_config(
        &dir,
        &format!(
            "[[kafka]]\nenabled = true\nbrokers = [\"127.0.0.1:{port}\"]\nuse-ssl = true\nssl-ca = \"/nonexistent/ca.pem\"\n"
        ),
        "kafka[0].ssl-ca",
    );
}

/// `.kafka()` writes Kapacitor's alert JSON to the topic, keyed by the alert id, on the
/// partition the crc32 of the id picks.
#[test]
fn kafka_writes_the_alert_to_its_partition() {
    let (port, got) = kafka_sink("alerts", 3);
    let d = Daemon::start_config(
        "services-kafka",
        Extra {
            tail: format!(
                "[[kafka]]\nenabled = true\nid = \"main\"\nbrokers = [\"127.0.0.1:{port}\"]\n"
            ),
            ..Extra::default()
        },
    );
    d.enable_task(
        "k",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('cpu is hot')\n        .kafka()\n            .cluster('main')\n            .kafkaTopic('alerts')\n",
    );
    d.write_s("cpu value=1 1");
    let (partition, batch) = first(&got, "Produce request");
    assert_eq!(partition, (crc32fast::hash(b"cpu:nil") % 3) as i32);
    let text = String::from_utf8_lossy(&batch);
    assert!(text.contains("cpu:nil"), "{text}");
    assert!(
        text.contains(r#"{"id":"cpu:nil","message":"cpu is hot","details":"#),
        "{text}"
    );
    // The service test writes through the same client, from the API's blocking pool.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/kafka",
        Some(r#"{"cluster": "main", "topic": "alerts", "message": "test"}"#),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"","success":true}"#)
    );
    assert_eq!(got.lock().unwrap().len(), 2);
}

/// Service tests: the API lists each service's test options, runs a test alert through a
/// service's configuration (`success` and the error otherwise, 200 either way), and the
/// CLI's `service-tests` and `list service-tests` print Kapacitor's tables.
#[test]
fn service_tests_check_a_configuration() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "services-tests",
        Extra {
            tail: format!("[[slack]]\nenabled = true\nurl = \"{url}/slack\"\nchannel = \"#d\"\n"),
            ..Extra::default()
        },
    );
    let (status, body) = d.req("GET", "/kapacitor/v1/service-tests?pattern=s*", None);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let names: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "scraper",
            "sensu",
            "serverset",
            "servicenow",
            "slack",
            "smtp",
            "snmptrap",
            "static-discovery",
            "swarm"
        ]
    );
    // Kapacitor's test options, with the section's channel.
    let (_, body) = d.req("GET", "/kapacitor/v1/service-tests/slack", None);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["options"],
        serde_json::json!({"workspace": "", "channel": "#d", "message": "test slack message",
                           "level": "CRITICAL", "username": "", "icon-emoji": ""})
    );
    let (status, body) = d.req("GET", "/kapacitor/v1/service-tests/slack", None);
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["link"]["href"], "/kapacitor/v1/service-tests/slack");
    assert_eq!(v["options"]["message"], "test slack message");
    assert_eq!(v["options"]["icon-emoji"], "");

    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/service-tests/slack",
        Some(r##"{"channel": "#t", "level": "WARNING"}"##),
    );
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"message":"","success":true}"#)
    );
    let slack = bodies(&got, "/slack", 1);
    assert_eq!(slack[0]["channel"], "#t");
    assert_eq!(slack[0]["attachments"][0]["text"], "test slack message");
    assert_eq!(slack[0]["attachments"][0]["color"], "warning");
    let (status, body) = d.req("POST", "/kapacitor/v1/service-tests/pagerduty", None);
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        serde_json::json!({"success": false, "message": "service is not enabled"})
    );
    assert_eq!(
        d.req("POST", "/kapacitor/v1/service-tests/nope", None).0,
        404
    );

    let out = d.cli(&["service-tests", "slack", "pagerduty"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Service   Success Message");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["slack", "true"]
    );
    assert!(
        lines[2].starts_with("pagerduty false   service is not enabled"),
        "{text}"
    );
    let out = d.cli(&["list", "service-tests", "pager*"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Service Name\npagerduty\npagerduty2\n"
    );
}

/// `/config`: a Slack workspace added through the API serves alerts at once, shows with
/// its secrets redacted, survives a restart, and is removed; bad updates are refused with
/// what is wrong; overrides of a one-element section are set and deleted.
#[test]
fn config_overrides_change_services_at_runtime() {
    let (url, got) = http_sink();
    let mut d = Daemon::start("services-config");
    assert_eq!(
        d.json("/kapacitor/v1/config/slack")["elements"],
        serde_json::json!([])
    );
    let add = format!(
        r##"{{"add": {{"workspace": "ops", "enabled": true, "url": "{url}/slack", "channel": "#c"}}}}"##
    );
    let (status, body) = d.req("POST", "/kapacitor/v1/config/slack", Some(&add));
    assert_eq!(status, 204, "{body}");
    let e = d.json("/kapacitor/v1/config/slack/ops");
    assert_eq!(e["link"]["href"], "/kapacitor/v1/config/slack/ops");
    assert_eq!(e["options"]["url"], true);
    assert_eq!(e["options"]["token"], false);
    assert_eq!(e["options"]["channel"], "#c");
    assert_eq!(e["redacted"], serde_json::json!(["url", "token"]));
    d.enable_task(
        "cfg",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n        .message('via override')\n        .slack()\n            .workspace('ops')\n",
    );
    d.write_s("cpu value=1 1");
    assert_eq!(
        bodies(&got, "/slack", 1)[0]["attachments"][0]["text"],
        "via override"
    );

    // Refused: an unknown option, a bad value, and an element of a list without a name.
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/smtp",
        Some(r#"{"set": {"prot": 1}}"#),
    );
    assert_eq!(status, 400);
    assert!(body.contains("unknown option \\\"prot\\\""), "{body}");
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/pagerduty2",
        Some(r#"{"set": {"enabled": true, "url": "nope"}}"#),
    );
    assert_eq!(status, 400);
    assert!(body.contains("pagerduty2.url"), "{body}");
    let (status, _) = d.req(
        "POST",
        "/kapacitor/v1/config/slack",
        Some(r##"{"set": {"channel": "#x"}}"##),
    );
    assert_eq!(status, 400);
    assert_eq!(d.req("GET", "/kapacitor/v1/config/nope", None).0, 404);
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/slack",
        Some(r#"{"remove": ["nope"]}"#),
    );
    assert_eq!(status, 400);
    assert!(body.contains("does not exist"), "{body}");

    // A one-element section: set, then delete back to the file's value.
    let (status, _) = d.req(
        "POST",
        "/kapacitor/v1/config/pagerduty2/",
        Some(r#"{"set": {"routing-key": "rk", "global": true}}"#),
    );
    assert_eq!(status, 204);
    let e = d.json("/kapacitor/v1/config/pagerduty2/");
    assert_eq!(
        (
            e["options"]["routing-key"].clone(),
            e["options"]["global"].clone()
        ),
        (true.into(), true.into())
    );

    // An unset list is Go's nil slice, shown as `null`, as is a list set to `null`.
    let teams = |d: &Daemon| d.json("/kapacitor/v1/config/opsgenie/")["options"]["teams"].clone();
    assert_eq!(teams(&d), Value::Null);
    for (set, shown) in [
        (r#"["ops"]"#, serde_json::json!(["ops"])),
        ("null", Value::Null),
    ] {
        let (status, body) = d.req(
            "POST",
            "/kapacitor/v1/config/opsgenie/",
            Some(&format!(r#"{{"set": {{"teams": {set}}}}}"#)),
        );
        assert_eq!(status, 204, "{body}");
        assert_eq!(teams(&d), shown);
    }

    // Overrides survive a restart.
    d.kill9_and_restart();
    assert_eq!(
        d.json("/kapacitor/v1/config/slack/ops")["options"]["channel"],
        "#c"
    );
    assert_eq!(
        d.json("/kapacitor/v1/config/pagerduty2/")["options"]["global"],
        true
    );
    let (status, _) = d.req(
        "POST",
        "/kapacitor/v1/config/pagerduty2/",
        Some(r#"{"delete": ["routing-key", "global"]}"#),
    );
    assert_eq!(status, 204);
    let e = d.json("/kapacitor/v1/config/pagerduty2/");
    assert_eq!(
        (
            e["options"]["routing-key"].clone(),
            e["options"]["global"].clone()
        ),
        (false.into(), false.into())
    );
    let (status, _) = d.req(
        "POST",
        "/kapacitor/v1/config/slack",
        Some(r#"{"remove": ["ops"]}"#),
    );
    assert_eq!(status, 204);
    assert_eq!(d.req("GET", "/kapacitor/v1/config/slack/ops", None).0, 404);
    let all = d.json("/kapacitor/v1/config");
    assert_eq!(
        all["sections"]["smtp"]["elements"][0]["options"]["port"],
        25
    );
}

/// `[config-override] enabled = false` refuses changes (403) and still shows the sections.
#[test]
fn config_overrides_can_be_disabled() {
    let d = Daemon::start_config(
        "services-config-off",
        Extra {
            tail: "[config-override]\nenabled = false\n".into(),
            ..Extra::default()
        },
    );
    let (status, body) = d.req(
        "POST",
        "/kapacitor/v1/config/smtp",
        Some(r#"{"set": {"port": 2525}}"#),
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(d.json("/kapacitor/v1/config/smtp/")["options"]["port"], 25);
}

/// A global service whose kind `-disable-handlers` refuses is not attached: tasks still
/// define and run, and nothing reaches it.
#[test]
fn a_disabled_global_service_is_left_out() {
    let (url, got) = http_sink();
    let d = Daemon::start_config(
        "services-global-disabled",
        Extra {
            tail: format!(
                "[pagerduty2]\nenabled = true\nurl = \"{url}/pd2\"\nglobal = true\n[teams]\nenabled = true\nchannel-url = \"{url}/teams\"\nglobal = true\n"
            ),
            args: vec!["-disable-handlers".into(), "pagerduty2".into()],
            ..Extra::default()
        },
    );
    d.enable_task(
        "g",
        "stream\n    |from()\n        .measurement('cpu')\n    |alert()\n        .crit(lambda: TRUE)\n",
    );
    d.write_s("cpu value=1 1");
    bodies(&got, "/teams", 1);
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !got.lock()
            .unwrap()
            .iter()
            .any(|(head, _)| head.contains("/pd2")),
        "{:?}",
        got.lock().unwrap()
    );
}

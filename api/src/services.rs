//! The services the daemon injects into the engine: today the HTTP client used by
//! `httpPost` nodes (and its configured endpoints).

use kap_dataflow::node::Services;
use kap_dataflow::ops::http_post::{
    EndpointConfig, HttpPostService, HttpPoster, PostTls, SERVICE_NAME,
};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A blocking HTTP client for `httpPost` nodes and post alert handlers (ureq; http and
/// https), refusing hosts in its blacklisted networks (`kapacitord -blacklist-cidrs`).
///
/// It keeps one agent per timeout and HTTPS settings, as Go's client keeps its transport:
/// posts to a host reuse an open connection (no TCP and TLS handshake per alert), and the
/// trusted roots are built once, not per post.
#[derive(Default)]
pub struct UreqPoster {
    blacklist: Vec<Cidr>,
    agents: Mutex<HashMap<AgentKey, ureq::Agent>>,
}

/// What an agent is made for: a timeout (ns) and HTTPS settings.
type AgentKey = (Option<i64>, Option<PostTls>);

/// The most agents kept (timeouts and HTTPS settings in use come from the configuration
/// and the tasks: a few); beyond, they are all made again.
const AGENTS_MAX: usize = 64;

impl std::fmt::Debug for UreqPoster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UreqPoster")
            .field("blacklist", &self.blacklist)
            .finish_non_exhaustive()
    }
}

/// A network: an address and the length of its prefix (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    /// `addr/prefix`, or a bare address (one host).
    fn from_str(s: &str) -> Result<Cidr, String> {
        let bad = || format!("invalid CIDR {s:?}: want e.g. 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let bits = |a: IpAddr| -> (u128, u32) {
            match a {
                IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
                IpAddr::V6(v6) => (u128::from(v6), 128),
            }
        };
        let ((net, width), (host, host_width)) = (bits(self.addr), bits(ip));
        if width != host_width {
            return false;
        }
        let mask = if self.prefix == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(self.prefix))
        };
        net & mask == host & mask
    }
}

impl UreqPoster {
    /// A client that refuses to post to hosts in these networks.
    pub fn with_blacklist(blacklist: Vec<Cidr>) -> UreqPoster {
        UreqPoster {
            blacklist,
            agents: Mutex::default(),
        }
    }

    /// Refuses a URL whose host resolves into a blacklisted network.
    fn check(&self, url: &str) -> Result<(), String> {
        if self.blacklist.is_empty() {
            return Ok(());
        }
        let uri: ureq::http::Uri = url.parse().map_err(|e| format!("POST {url}: {e}"))?;
        let host = uri.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if uri.scheme_str() == Some("https") {
                443
            } else {
                80
            });
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| format!("POST {url}: resolving {host}: {e}"))?;
        for a in addrs {
            if let Some(c) = self.blacklist.iter().find(|c| c.contains(a.ip())) {
                return Err(format!(
                    "POST {url}: {} is in the blacklisted network {c} (kapacitord -blacklist-cidrs)",
                    a.ip()
                ));
            }
        }
        Ok(())
    }
}

impl HttpPoster for UreqPoster {
    fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout_ns: Option<i64>,
    ) -> Result<(u16, String), String> {
        self.send(url, headers, body, timeout_ns, None)
    }

    fn post_tls(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout_ns: Option<i64>,
        tls: &PostTls,
    ) -> Result<(u16, String), String> {
        self.send(url, headers, body, timeout_ns, Some(tls))
    }
}

impl UreqPoster {
    fn send(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout_ns: Option<i64>,
        tls: Option<&PostTls>,
    ) -> Result<(u16, String), String> {
        self.check(url)?;
        let agent = self.agent(timeout_ns.filter(|ns| *ns > 0), tls)?;
        let mut req = agent.post(url);
        // JSON unless a header says otherwise (Pushover posts a form).
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("Content-Type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req.send(body).map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }

    /// The agent for this timeout (ns, positive) and these HTTPS settings, made on first use.
    fn agent(&self, timeout_ns: Option<i64>, tls: Option<&PostTls>) -> Result<ureq::Agent, String> {
        let key: AgentKey = (timeout_ns, tls.cloned());
        let mut agents = self.agents.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(agent) = agents.get(&key) {
            return Ok(agent.clone());
        }
        let mut config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(ns) = timeout_ns {
            config = config.timeout_global(Some(Duration::from_nanos(ns as u64)));
        }
        if let Some(tls) = tls {
            config = config.tls_config(crate::alert_handlers::tls::ureq_tls(tls)?);
        }
        let agent: ureq::Agent = config.build().into();
        if agents.len() >= AGENTS_MAX {
            agents.clear();
        }
        agents.insert(key, agent.clone());
        Ok(agent)
    }
}

/// Adds the httpPost service, with the `[[httppost]]` endpoints a conformance case's
/// `tm_init` declares (`__HTTP_SINK_URL__` replaced by `sink_url`).
pub fn with_http_post(services: Services, case: &Json, sink_url: &str) -> Services {
    let mut service = HttpPostService::new(Arc::new(UreqPoster::default()));
    if let Some(endpoints) = case["tm_init"]["httppost_endpoints"].as_array() {
        for e in endpoints {
            let (Some(name), Some(url)) = (e["endpoint"].as_str(), e["url"].as_str()) else {
                continue;
            };
            let headers = e["headers"]
                .as_object()
                .map(|h| {
                    h.iter()
                        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            service = service.with_endpoint(
                name,
                EndpointConfig {
                    url: url.replace("__HTTP_SINK_URL__", sink_url),
                    headers,
                    ..EndpointConfig::default()
                },
            );
        }
    }
    services.with(SERVICE_NAME, Arc::new(service))
}

/// Percent-encodes `s` for a URL path segment or a form value: unreserved characters
/// (RFC 3986: letters, digits, `-`, `.`, `_`, `~`) as they are, every other byte `%XX`
/// (AWS's encoding of query parameters too).
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs_parse_and_contain() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(
            c.contains("::ffff:10.0.0.1".parse().unwrap()),
            "IPv4-mapped"
        );
        let one: Cidr = "127.0.0.1".parse().unwrap();
        assert_eq!(one.to_string(), "127.0.0.1/32");
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0/8", "x", "::/129", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_blacklisted_host_is_refused_before_any_connection() {
        let p = UreqPoster::with_blacklist(vec!["127.0.0.0/8".parse().unwrap()]);
        let err = p
            .post(
                "http://127.0.0.1:9/x",
                &[],
                String::new(),
                Some(1_000_000_000),
            )
            .unwrap_err();
        assert!(
            err.contains("127.0.0.1 is in the blacklisted network 127.0.0.0/8"),
            "{err}"
        );
        let err = p
            .post(
                "http://localhost:9/x",
                &[],
                String::new(),
                Some(1_000_000_000),
            )
            .unwrap_err();
        assert!(err.contains("blacklisted network"), "{err}");
    }

    /// An HTTP/1.1 server on 127.0.0.1 that keeps connections open: answers every
    /// request `200 ok` and counts the connections it accepted.
    fn keep_alive_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut conn = conn;
                    loop {
                        let mut length = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                            if let Some((k, v)) = line.split_once(':')
                                && k.eq_ignore_ascii_case("content-length")
                            {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; length];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if conn.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    #[test]
    fn posts_to_a_host_reuse_one_open_connection() {
        let (url, accepted) = keep_alive_server();
        let p = UreqPoster::default();
        let timeout = Some(5_000_000_000);
        for i in 0..3 {
            let got = p.post(&format!("{url}/x"), &[], format!("{{\"n\":{i}}}"), timeout);
            assert_eq!(got, Ok((200, "ok".to_string())));
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Another timeout is another agent, with connections of its own.
        let got = p.post(&format!("{url}/y"), &[], String::new(), Some(1_000_000_000));
        assert_eq!(got, Ok((200, "ok".to_string())));
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}

//! The AWS APIs an `[[ec2]]` section serves: Auto Scaling as `ec2Autoscale` uses it
//! (`DescribeAutoScalingGroups`, `SetDesiredCapacity`) and EC2's `DescribeInstances` for
//! scrapers' EC2 discovery, both in AWS's query protocol (a form, answers in XML), with
//! requests signed by Signature Version 4, and the credentials of the section: its keys, else the
//! environment's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), else
//! the shared credentials file's profile, else the instance's role from the EC2 instance
//! metadata service (IMDSv2, v1 as a fallback; `AWS_EC2_METADATA_SERVICE_ENDPOINT`,
//! `AWS_EC2_METADATA_DISABLED`), as AWS's SDKs look for them.

use crate::config::Ec2Config;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// An AWS API of the query protocol: its name in hosts and signatures, and its version.
#[derive(Debug, Clone, Copy)]
struct Service {
    name: &'static str,
    version: &'static str,
}

/// The Auto Scaling API.
const AUTOSCALING: Service = Service {
    name: "autoscaling",
    version: "2011-01-01",
};
/// The EC2 API.
const EC2: Service = Service {
    name: "ec2",
    version: "2016-11-15",
};

/// Keys to sign requests with.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// Where an `[[ec2]]` section's credentials come from.
#[derive(Debug)]
enum Provider {
    /// Keys of the section, the environment or the shared credentials file.
    Fixed(Credentials),
    /// The instance's role, from the instance metadata service at this URL: temporary
    /// keys, fetched again shortly before they expire.
    Instance {
        endpoint: String,
        /// Asks the service, with a short timeout (it answers at once on an instance).
        agent: ureq::Agent,
        cached: std::sync::Mutex<Option<(Credentials, chrono::DateTime<chrono::Utc>)>>,
        /// Why no fixed keys were found (said when the service has none either).
        elsewhere: String,
    },
}

impl Credentials {
    /// The credentials of `config`: its keys, else the environment's, else the shared
    /// credentials file's profile. `Err` says where none were found.
    pub fn of(config: &Ec2Config) -> Result<Credentials, String> {
        if !config.access_key.is_empty() {
            return Ok(Credentials {
                access_key: config.access_key.clone(),
                secret_key: config.secret_key.clone(),
                session_token: None,
            });
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let (Some(access_key), Some(secret_key)) =
            (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        {
            return Ok(Credentials {
                access_key,
                secret_key,
                session_token: env("AWS_SESSION_TOKEN"),
            });
        }
        let file = env("AWS_SHARED_CREDENTIALS_FILE")
            .unwrap_or_else(|| format!("{}/.aws/credentials", env("HOME").unwrap_or_default()));
        let profile = if config.profile.is_empty() {
            env("AWS_PROFILE").unwrap_or_else(|| "default".into())
        } else {
            config.profile.clone()
        };
        let text = std::fs::read_to_string(&file).map_err(|e| {
            format!(
                "no access-key, no AWS_ACCESS_KEY_ID, and the shared credentials file {file}: {e}"
            )
        })?;
        profile_credentials(&text, &profile)
            .ok_or_else(|| format!("no credentials of profile {profile:?} in {file}"))
    }
}

impl Provider {
    /// The provider of `config`: fixed keys when there are some, else the instance
    /// metadata service (unless `AWS_EC2_METADATA_DISABLED=true`; then `Err`).
    fn of(config: &Ec2Config) -> Result<Provider, String> {
        let elsewhere = match Credentials::of(config) {
            Ok(c) => return Ok(Provider::Fixed(c)),
            Err(e) => e,
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            return Err(format!(
                "{elsewhere}; the instance metadata service is disabled"
            ));
        }
        Ok(Provider::Instance {
            endpoint: env("AWS_EC2_METADATA_SERVICE_ENDPOINT")
                .unwrap_or_else(|| "http://169.254.169.254".into())
                .trim_end_matches('/')
                .to_string(),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(std::time::Duration::from_secs(2)))
                .build()
                .into(),
            cached: std::sync::Mutex::new(None),
            elsewhere,
        })
    }

    /// The credentials to sign with now.
    fn get(&self) -> Result<Credentials, String> {
        let (endpoint, agent, cached, elsewhere) = match self {
            Provider::Fixed(c) => return Ok(c.clone()),
            Provider::Instance {
                endpoint,
                agent,
                cached,
                elsewhere,
            } => (endpoint, agent, cached, elsewhere),
        };
        let mut cached = cached.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((c, expires)) = cached.as_ref()
            && *expires - chrono::Utc::now() > chrono::TimeDelta::minutes(5)
        {
            return Ok(c.clone());
        }
        let (c, expires) = instance_credentials(agent, endpoint)
            .map_err(|e| format!("{elsewhere}; the instance metadata service: {e}"))?;
        *cached = Some((c.clone(), expires));
        Ok(c)
    }
}

/// The role credentials of this EC2 instance, from its metadata service at `endpoint`
/// (a session token first, IMDSv2; without one if the service gives none, IMDSv1).
fn instance_credentials(
    agent: &ureq::Agent,
    endpoint: &str,
) -> Result<(Credentials, chrono::DateTime<chrono::Utc>), String> {
    let read = |mut r: ureq::http::Response<ureq::Body>, what: &str| -> Result<String, String> {
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_string()
            .map_err(|e| format!("{what}: {e}"))?;
        if status != 200 {
            return Err(format!("{what}: HTTP status {status}"));
        }
        Ok(text)
    };
    let token = agent
        .put(&format!("{endpoint}/latest/api/token"))
        .header("X-aws-ec2-metadata-token-ttl-seconds", "21600")
        .send_empty()
        .ok()
        .and_then(|r| read(r, "token").ok());
    let get = |path: &str| -> Result<String, String> {
        let mut req = agent.get(&format!("{endpoint}{path}"));
        if let Some(t) = &token {
            req = req.header("X-aws-ec2-metadata-token", t.as_str());
        }
        read(req.call().map_err(|e| format!("GET {path}: {e}"))?, path)
    };
    let base = "/latest/meta-data/iam/security-credentials/";
    let role = get(base)?;
    let role = role
        .lines()
        .next()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .ok_or("the instance has no role")?
        .to_string();
    let doc: serde_json::Value = serde_json::from_str(&get(&format!("{base}{role}"))?)
        .map_err(|e| format!("role {role}: {e}"))?;
    let field = |k: &str| {
        doc[k]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("role {role}: no {k}"))
    };
    let expires = chrono::DateTime::parse_from_rfc3339(&field("Expiration")?)
        .map_err(|e| format!("role {role}: Expiration: {e}"))?
        .with_timezone(&chrono::Utc);
    Ok((
        Credentials {
            access_key: field("AccessKeyId")?,
            secret_key: field("SecretAccessKey")?,
            session_token: Some(field("Token")?),
        },
        expires,
    ))
}

/// The keys of `[profile]` in a shared credentials file.
fn profile_credentials(text: &str, profile: &str) -> Option<Credentials> {
    let mut inside = false;
    let (mut access_key, mut secret_key, mut session_token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name.trim() == profile;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = Some(v.trim().to_string());
            match k.trim() {
                "aws_access_key_id" => access_key = v,
                "aws_secret_access_key" => secret_key = v,
                "aws_session_token" => session_token = v,
                _ => {}
            }
        }
    }
    Some(Credentials {
        access_key: access_key?,
        secret_key: secret_key?,
        session_token,
    })
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A request to sign: method, host, path, query string (already canonical), the headers to
/// sign besides `host` (lowercase names), and the body.
#[derive(Debug)]
pub struct Unsigned<'a> {
    /// `GET`, `POST`.
    pub method: &'a str,
    /// `host[:port]`, as sent.
    pub host: &'a str,
    /// The URI path (`/`).
    pub path: &'a str,
    /// The canonical query string (sorted, encoded).
    pub query: &'a str,
    /// Other signed headers, by lowercase name, sorted.
    pub headers: &'a [(&'a str, &'a str)],
    /// The payload.
    pub body: &'a [u8],
}

/// Signature Version 4: the `Authorization` header of `req` at `amz_date`
/// (`YYYYMMDD'T'HHMMSS'Z'`, the `x-amz-date` header, which must be among its headers) for
/// `service` in `region`.
pub fn authorization(
    creds: &Credentials,
    req: &Unsigned<'_>,
    amz_date: &str,
    region: &str,
    service: &str,
) -> String {
    let mut headers: Vec<(&str, &str)> = req.headers.to_vec();
    headers.push(("host", req.host));
    headers.sort();
    let canonical_headers: String = headers
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| *k)
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        req.method,
        req.path,
        req.query,
        hex(&Sha256::digest(req.body))
    );
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, service);
    let key = hmac(&key, "aws4_request");
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={}",
        creds.access_key,
        hex(&hmac(&key, &to_sign))
    )
}

/// One `[[ec2]]`'s client of one AWS API.
#[derive(Debug)]
struct QueryApi {
    service: Service,
    endpoint: String,
    region: String,
    creds: Provider,
    agent: ureq::Agent,
    breaker: super::autoscale::Breaker,
}

impl QueryApi {
    /// The client of `service` for `config` (its credentials found now): at the section's
    /// `endpoint` (ours: one URL for every AWS API, as AWS-compatible servers have), else
    /// AWS's regional endpoint of the service. `Err` says why it cannot be used.
    fn new(service: Service, config: &Ec2Config, timeout: Duration) -> Result<QueryApi, String> {
        let endpoint = if config.endpoint.is_empty() {
            format!("https://{}.{}.amazonaws.com", service.name, config.region)
        } else {
            config.endpoint.trim_end_matches('/').to_string()
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(concat!("Kapacitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(QueryApi {
            service,
            endpoint,
            region: config.region.clone(),
            creds: Provider::of(config)?,
            agent,
            breaker: Default::default(),
        })
    }

    /// Calls `action` with `params`; the answer's XML.
    fn call(&self, action: &str, params: &[(&str, String)]) -> Result<String, String> {
        self.breaker.check()?;
        let mut body = format!("Action={action}");
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", crate::services::percent_encode(v)));
        }
        body.push_str(&format!("&Version={}", self.service.version));
        let rest = self
            .endpoint
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(&self.endpoint);
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        // Credentials that cannot be had (no instance role) leave the API alone a while too.
        let creds = self.creds.get().inspect_err(|e| self.breaker.failed(e))?;
        let amz_date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let mut signed = vec![("content-type", content_type), ("x-amz-date", &amz_date)];
        if let Some(t) = &creds.session_token {
            signed.push(("x-amz-security-token", t.as_str()));
        }
        signed.sort();
        let auth = authorization(
            &creds,
            &Unsigned {
                method: "POST",
                host,
                path,
                query: "",
                headers: &signed,
                body: body.as_bytes(),
            },
            &amz_date,
            &self.region,
            self.service.name,
        );
        let url = if rest.contains('/') {
            self.endpoint.clone()
        } else {
            format!("{}/", self.endpoint)
        };
        let mut req = self
            .agent
            .post(&url)
            .header("Content-Type", content_type)
            .header("X-Amz-Date", amz_date.as_str())
            .header("Authorization", auth.as_str());
        if let Some(t) = &creds.session_token {
            req = req.header("X-Amz-Security-Token", t.as_str());
        }
        let mut resp = match req.send(body.as_bytes()) {
            Ok(r) => {
                self.breaker.succeeded();
                r
            }
            Err(e) => {
                let why = format!("{action}: {e}");
                self.breaker.failed(&why);
                return Err(why);
            }
        };
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_string()
            .map_err(|e| format!("{action}: {e}"))?;
        if !(200..300).contains(&status) {
            let doc = roxmltree::Document::parse(&text).ok();
            let find = |tag: &str| {
                doc.as_ref().and_then(|d| {
                    d.descendants()
                        .find(|n| n.has_tag_name(tag))
                        .and_then(|n| n.text())
                        .map(str::to_string)
                })
            };
            let why = match (find("Code"), find("Message")) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c,
                _ => text,
            };
            return Err(format!("{action}: HTTP status {status}: {why}"));
        }
        Ok(text)
    }
}

/// One `[[ec2]]`'s Auto Scaling API.
#[derive(Debug)]
pub struct AutoScaling(QueryApi);

impl AutoScaling {
    /// The API of `config` (its credentials found now); `Err` says why it cannot be used.
    pub fn new(config: &Ec2Config, timeout: Duration) -> Result<AutoScaling, String> {
        QueryApi::new(AUTOSCALING, config, timeout).map(AutoScaling)
    }

    fn call(&self, action: &str, params: &[(&str, String)]) -> Result<String, String> {
        self.0.call(action, params)
    }

    /// The desired capacity of group `name` (0 when there is no such group, as Kapacitor).
    pub fn desired_capacity(&self, name: &str) -> Result<i64, String> {
        let xml = self.call(
            "DescribeAutoScalingGroups",
            &[("AutoScalingGroupNames.member.1", name.to_string())],
        )?;
        let doc = roxmltree::Document::parse(&xml)
            .map_err(|e| format!("DescribeAutoScalingGroups: {e}"))?;
        let last = doc
            .descendants()
            .filter(|n| n.has_tag_name("DesiredCapacity"))
            .filter_map(|n| n.text())
            .next_back();
        match last {
            None => Ok(0),
            Some(t) => t
                .trim()
                .parse()
                .map_err(|_| format!("DescribeAutoScalingGroups: DesiredCapacity {t:?}")),
        }
    }

    /// Whether the API answers with these credentials (one group asked for).
    pub fn groups_reachable(&self) -> Result<(), String> {
        self.call(
            "DescribeAutoScalingGroups",
            &[("MaxRecords", "1".to_string())],
        )
        .map(drop)
    }

    /// Sets the desired capacity of group `name`, honouring its cooldown (as Kapacitor).
    pub fn set_desired_capacity(&self, name: &str, capacity: i64) -> Result<(), String> {
        self.call(
            "SetDesiredCapacity",
            &[
                ("AutoScalingGroupName", name.to_string()),
                ("DesiredCapacity", capacity.to_string()),
                ("HonorCooldown", "true".to_string()),
            ],
        )
        .map(|_| ())
    }
}

/// An EC2 instance as `DescribeInstances` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its private address; `None` when it has none (terminated).
    pub private_ip: Option<String>,
    /// Prometheus' `__meta_ec2_*` labels of the instance.
    pub labels: std::collections::BTreeMap<String, String>,
}

/// The most pages of instances read at one refresh.
const MAX_PAGES: usize = 1000;

/// One `[[ec2]]`'s EC2 API, as EC2 discovery uses it.
#[derive(Debug)]
pub struct Ec2(QueryApi);

impl Ec2 {
    /// The API of `config` (its credentials found now); `Err` says why it cannot be used.
    pub fn new(config: &Ec2Config, timeout: Duration) -> Result<Ec2, String> {
        QueryApi::new(EC2, config, timeout).map(Ec2)
    }

    /// Every instance of the region (all pages of `DescribeInstances`, as Prometheus' EC2
    /// discovery reads them).
    pub fn instances(&self) -> Result<Vec<Instance>, String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params: Vec<(&str, String)> =
                token.take().map(|t| ("NextToken", t)).into_iter().collect();
            let xml = self.0.call("DescribeInstances", &params)?;
            token = describe_instances(&xml, &mut out)
                .map_err(|e| format!("DescribeInstances: {e}"))?;
            if token.is_none() {
                return Ok(out);
            }
        }
        Err(format!("DescribeInstances: more than {MAX_PAGES} pages"))
    }
}

/// Reads one page of `DescribeInstances` into `out`; the next page's token.
fn describe_instances(xml: &str, out: &mut Vec<Instance>) -> Result<Option<String>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let root = doc.root_element();
    type Node<'a, 'i> = roxmltree::Node<'a, 'i>;
    fn child<'a, 'i>(n: Node<'a, 'i>, tag: &str) -> Option<Node<'a, 'i>> {
        n.children().find(|c| c.is_element() && c.has_tag_name(tag))
    }
    fn text(n: Node<'_, '_>, tag: &str) -> Option<String> {
        child(n, tag)
            .and_then(|c| c.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    }
    fn items<'a, 'i>(n: Option<Node<'a, 'i>>) -> Vec<Node<'a, 'i>> {
        n.into_iter()
            .flat_map(|n| n.children())
            .filter(|c| c.is_element() && c.has_tag_name("item"))
            .collect()
    }
    for reservation in items(child(root, "reservationSet")) {
        let owner = text(reservation, "ownerId");
        for i in items(child(reservation, "instancesSet")) {
            let mut labels = std::collections::BTreeMap::new();
            let mut put = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    labels.insert(format!("__meta_ec2_{k}"), v);
                }
            };
            let private_ip = text(i, "privateIpAddress");
            put("instance_id", text(i, "instanceId"));
            put("instance_type", text(i, "instanceType"));
            put("ami", text(i, "imageId"));
            put("architecture", text(i, "architecture"));
            put("platform", text(i, "platform"));
            put("owner_id", owner.clone());
            put("private_ip", private_ip.clone());
            put("private_dns_name", text(i, "privateDnsName"));
            put("public_ip", text(i, "ipAddress"));
            put("public_dns_name", text(i, "dnsName"));
            put("vpc_id", text(i, "vpcId"));
            put("primary_subnet_id", text(i, "subnetId"));
            put(
                "instance_state",
                child(i, "instanceState").and_then(|s| text(s, "name")),
            );
            put(
                "availability_zone",
                child(i, "placement").and_then(|p| text(p, "availabilityZone")),
            );
            // Prometheus: the subnets of the instance's interfaces, `,a,b,`.
            let subnets: Vec<String> = items(child(i, "networkInterfaceSet"))
                .into_iter()
                .filter_map(|n| text(n, "subnetId"))
                .collect();
            if !subnets.is_empty() {
                put("subnet_id", Some(format!(",{},", subnets.join(","))));
            }
            for tag in items(child(i, "tagSet")) {
                if let (Some(k), v) = (text(tag, "key"), text(tag, "value")) {
                    let name = super::scraper::label_name(&k);
                    put(&format!("tag_{name}"), Some(v.unwrap_or_default()));
                }
            }
            out.push(Instance { private_ip, labels });
        }
    }
    Ok(text(root, "nextToken"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's documented example of Signature Version 4 (IAM `ListUsers`).
    #[test]
    fn signs_as_aws_documents() {
        let creds = Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let auth = authorization(
            &creds,
            &Unsigned {
                method: "GET",
                host: "iam.amazonaws.com",
                path: "/",
                query: "Action=ListUsers&Version=2010-05-08",
                headers: &[
                    (
                        "content-type",
                        "application/x-www-form-urlencoded; charset=utf-8",
                    ),
                    ("x-amz-date", "20150830T123600Z"),
                ],
                body: b"",
            },
            "20150830T123600Z",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn reads_a_profile_of_the_shared_credentials_file() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[ops]\n# comment\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        let ops = profile_credentials(text, "ops").unwrap();
        assert_eq!(
            (ops.access_key.as_str(), ops.secret_key.as_str()),
            ("C", "D")
        );
        assert_eq!(ops.session_token.as_deref(), Some("E"));
        assert_eq!(
            profile_credentials(text, "default").unwrap().access_key,
            "A"
        );
        assert!(profile_credentials(text, "nope").is_none());
        assert_eq!(crate::services::percent_encode("a b/c"), "a%20b%2Fc");
    }

    /// A page of `DescribeInstances` as EC2 answers it: instances of two reservations, one
    /// without a private address; interfaces' own addresses are not the instance's.
    #[test]
    fn reads_the_instances_of_describe_instances() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <reservationSet>
    <item>
      <reservationId>r-1</reservationId><ownerId>123456789012</ownerId>
      <instancesSet>
        <item>
          <instanceId>i-1</instanceId><imageId>ami-1</imageId>
          <instanceState><code>16</code><name>running</name></instanceState>
          <privateDnsName>ip-10-0-0-5.ec2.internal</privateDnsName><dnsName/>
          <instanceType>t3.micro</instanceType>
          <placement><availabilityZone>eu-west-1a</availabilityZone></placement>
          <subnetId>subnet-a</subnetId><vpcId>vpc-1</vpcId>
          <privateIpAddress>10.0.0.5</privateIpAddress><ipAddress>54.1.2.3</ipAddress>
          <networkInterfaceSet>
            <item><subnetId>subnet-a</subnetId><privateIpAddress>10.0.0.5</privateIpAddress></item>
            <item><subnetId>subnet-b</subnetId><privateIpAddress>10.0.1.9</privateIpAddress></item>
          </networkInterfaceSet>
          <tagSet><item><key>Name</key><value>web 1</value></item><item><key>aws:role</key><value/></item></tagSet>
        </item>
      </instancesSet>
    </item>
    <item>
      <ownerId>123456789012</ownerId>
      <instancesSet>
        <item><instanceId>i-2</instanceId><instanceState><name>terminated</name></instanceState></item>
      </instancesSet>
    </item>
  </reservationSet>
  <nextToken>page-2</nextToken>
</DescribeInstancesResponse>"#;
        let mut out = Vec::new();
        assert_eq!(
            describe_instances(xml, &mut out).unwrap().as_deref(),
            Some("page-2")
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].private_ip.as_deref(), Some("10.0.0.5"));
        let l = &out[0].labels;
        for (k, v) in [
            ("instance_id", "i-1"),
            ("instance_state", "running"),
            ("instance_type", "t3.micro"),
            ("availability_zone", "eu-west-1a"),
            ("public_ip", "54.1.2.3"),
            ("subnet_id", ",subnet-a,subnet-b,"),
            ("owner_id", "123456789012"),
            ("tag_Name", "web 1"),
            ("tag_aws_role", ""),
        ] {
            assert_eq!(l[&format!("__meta_ec2_{k}")], v, "{k}");
        }
        assert!(!l.contains_key("__meta_ec2_public_dns_name"));
        assert_eq!(out[1].private_ip, None);
        assert_eq!(out[1].labels["__meta_ec2_instance_state"], "terminated");
        let mut last = Vec::new();
        assert_eq!(
            describe_instances(
                "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
                &mut last
            ),
            Ok(None)
        );
        assert!(last.is_empty());
    }
}

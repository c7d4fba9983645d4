//! `[[gce]]` discovery, as Prometheus' GCE discovery (the one Kapacitor's scrapers use)
//! finds targets: the instances of `project` in `zone` (with `filter`, page by page through
//! `nextPageToken`) from the Compute Engine API, each at the address of its first network
//! interface and `port`.
//!
//! Credentials are Google's application default credentials, as Prometheus' (Go's
//! `google.DefaultClient`): the JSON file `GOOGLE_APPLICATION_CREDENTIALS` names (a
//! service account's key, signed into a JWT for its `token_uri`, or a user's refresh
//! token), else gcloud's `~/.config/gcloud/application_default_credentials.json`, else
//! the metadata server of the instance kapacitord runs on (`GCE_METADATA_HOST` to name
//! another). A token is kept until shortly before it expires.
//!
//! Labels: `__meta_gce_instance_name`, `_instance_status`, `_project`, `_zone`,
//! `_network`, `_subnetwork`, `_private_ip`, `_public_ip` (the first access config's NAT
//! address, when there is one), `_machine_type`, `_tags` (the network tags joined with
//! `tag-separator`, and one at each end), `_metadata_<key>` and `_label_<name>`.

use super::scraper::{Target, get_json, join_host_port, label_name};
use super::token::{Token, plain_agent};
use crate::config::GceConfig;
use crate::services::percent_encode;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one request to Google may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The scope asked for (Prometheus': read-only Compute Engine).
const SCOPE: &str = "https://www.googleapis.com/auth/compute.readonly";

/// Where the application default credentials come from.
#[derive(Debug)]
enum Credentials {
    /// A service account's key: `(client_email, PKCS#8 key, token_uri)`.
    ServiceAccount(String, Vec<u8>, String),
    /// A user's refresh token: `(client_id, client_secret, refresh_token, token_uri)`.
    User(String, String, String, String),
    /// The metadata server at this host.
    Metadata(String),
}

impl Credentials {
    /// The application default credentials (see the module docs).
    fn find() -> Result<Credentials, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let file = env("GOOGLE_APPLICATION_CREDENTIALS")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let path = std::path::PathBuf::from(env("HOME")?)
                    .join(".config/gcloud/application_default_credentials.json");
                path.exists().then_some(path)
            });
        let Some(file) = file else {
            let host = env("GCE_METADATA_HOST").unwrap_or_else(|| "169.254.169.254".into());
            return Ok(Credentials::Metadata(host));
        };
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("reading {}: {e}", file.display()))?;
        let field = |k: &str| -> Result<String, String> {
            v[k].as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("{}: no \"{k}\"", file.display()))
        };
        let token_uri = v["token_uri"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("https://oauth2.googleapis.com/token")
            .to_string();
        match v["type"].as_str() {
            Some("service_account") => {
                let pem = field("private_key")?;
                let key = pkcs8_of(&pem).ok_or_else(|| {
                    format!("{}: private_key is not a PKCS#8 PEM key", file.display())
                })?;
                Ok(Credentials::ServiceAccount(
                    field("client_email")?,
                    key,
                    token_uri,
                ))
            }
            Some("authorized_user") => Ok(Credentials::User(
                field("client_id")?,
                field("client_secret")?,
                field("refresh_token")?,
                token_uri,
            )),
            other => Err(format!(
                "{}: credentials of type {other:?} are not supported (service_account or \
                 authorized_user are)",
                file.display()
            )),
        }
    }
}

/// The DER bytes of a `-----BEGIN PRIVATE KEY-----` PEM block.
fn pkcs8_of(pem: &str) -> Option<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
        .ok()
        .map(|k| k.secret_pkcs8_der().to_vec())
}

/// A JWT of the service account `email` for `token_uri`, signed RS256 with `key`, as
/// Google's OAuth 2.0 for service accounts takes it.
fn service_account_jwt(email: &str, key: &[u8], token_uri: &str) -> Result<String, String> {
    use base64::Engine as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": email, "scope": SCOPE, "aud": token_uri, "iat": now, "exp": now + 3600,
    });
    let signed = format!("{header}.{}", b64(claims.to_string().as_bytes()));
    let pair = ring::signature::RsaKeyPair::from_pkcs8(key)
        .map_err(|e| format!("the service account's private_key: {e}"))?;
    let mut signature = vec![0; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signed.as_bytes(),
        &mut signature,
    )
    .map_err(|e| format!("signing the token request: {e}"))?;
    Ok(format!("{signed}.{}", b64(&signature)))
}

/// A `[[gce]]` discoverer: its section, its client, its credentials and current token.
pub(crate) struct Gce {
    config: GceConfig,
    agent: ureq::Agent,
    token: Token,
}

impl std::fmt::Debug for Gce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gce")
            .field("id", &self.config.id)
            .finish_non_exhaustive()
    }
}

impl Gce {
    /// A discoverer of `config`'s instances.
    pub(crate) fn new(config: &GceConfig) -> anyhow::Result<Gce> {
        Ok(Gce {
            config: config.clone(),
            agent: plain_agent(TIMEOUT)?,
            token: Token::default(),
        })
    }

    /// How often the instances are listed again.
    pub(crate) fn refresh_interval(&self) -> Duration {
        self.config.refresh_interval
    }

    /// The section's `id`.
    pub(crate) fn id(&self) -> &str {
        &self.config.id
    }

    /// A token for the Compute Engine API (the last one, while it lasts).
    fn token(&mut self) -> Result<String, String> {
        let agent = &self.agent;
        self.token.get(|| {
            let (url, resp) = match Credentials::find()? {
                Credentials::ServiceAccount(email, key, uri) => {
                    let jwt = service_account_jwt(&email, &key, &uri)?;
                    let resp = agent.post(&uri).send_form([
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("assertion", jwt.as_str()),
                    ]);
                    (uri, resp)
                }
                Credentials::User(id, secret, refresh, uri) => {
                    let resp = agent.post(&uri).send_form([
                        ("grant_type", "refresh_token"),
                        ("client_id", id.as_str()),
                        ("client_secret", secret.as_str()),
                        ("refresh_token", refresh.as_str()),
                    ]);
                    (uri, resp)
                }
                Credentials::Metadata(host) => {
                    let url = format!(
                        "http://{host}/computeMetadata/v1/instance/service-accounts/default/token"
                    );
                    let resp = agent.get(&url).header("Metadata-Flavor", "Google").call();
                    (url, resp)
                }
            };
            super::token::answer(&url, resp)
        })
    }

    /// Every instance of the zone with a network interface, as a target.
    pub(crate) fn targets(&mut self) -> Result<Vec<Target>, String> {
        let auth = format!("Bearer {}", self.token()?);
        let c = &self.config;
        let base = format!(
            "{}/projects/{}/zones/{}/instances",
            c.endpoint.trim_end_matches('/'),
            percent_encode(&c.project),
            percent_encode(&c.zone)
        );
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        loop {
            let mut params = Vec::new();
            if !c.filter.is_empty() {
                params.push(format!("filter={}", percent_encode(&c.filter)));
            }
            if let Some(p) = &page {
                params.push(format!("pageToken={}", percent_encode(p)));
            }
            let url = if params.is_empty() {
                base.clone()
            } else {
                format!("{base}?{}", params.join("&"))
            };
            let list = get_json(&self.agent, &url, Some(&auth))?;
            out.extend(
                list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|i| self.instance(i)),
            );
            page = list["nextPageToken"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if page.is_none() {
                return Ok(out);
            }
        }
    }

    /// The target of instance `i` (an element of a listing), if it has a network interface.
    fn instance(&self, i: &serde_json::Value) -> Option<Target> {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let nic = i["networkInterfaces"].as_array()?.first()?;
        let c = &self.config;
        let mut labels = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            labels.insert(format!("__meta_gce_{k}"), v);
        };
        put("instance_name", text(&i["name"]));
        put("instance_status", text(&i["status"]));
        put("project", c.project.clone());
        put("zone", text(&i["zone"]));
        put("network", text(&nic["network"]));
        put("subnetwork", text(&nic["subnetwork"]));
        put("private_ip", text(&nic["networkIP"]));
        put("machine_type", text(&i["machineType"]));
        if let Some(nat) = nic["accessConfigs"]
            .as_array()
            .and_then(|a| a.first())
            .and_then(|a| a["natIP"].as_str())
        {
            put("public_ip", nat.to_string());
        }
        let tags: Vec<&str> = i["tags"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str())
            .collect();
        if !tags.is_empty() {
            let sep = &c.tag_separator;
            put("tags", format!("{sep}{}{sep}", tags.join(sep)));
        }
        for item in i["metadata"]["items"].as_array().into_iter().flatten() {
            put(
                &format!("metadata_{}", label_name(&text(&item["key"]))),
                text(&item["value"]),
            );
        }
        for (k, v) in i["labels"].as_object().into_iter().flatten() {
            put(&format!("label_{}", label_name(k)), text(v));
        }
        let address = join_host_port(nic["networkIP"].as_str()?, c.port);
        Some(Target { address, labels })
    }
}

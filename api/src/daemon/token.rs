//! OAuth 2.0 access tokens of the cloud discoverers (`[[azure]]`, `[[gce]]`): an answer
//! read as Azure AD and Google write it, and the token kept until shortly before it
//! expires.

use super::scraper::agent;
use crate::alert_handlers::tls::TlsKeys;
use std::time::{Duration, Instant};

/// How long before its expiry a token is asked for again.
const MARGIN: Duration = Duration::from_secs(60);

/// A token and until when it may be used.
#[derive(Debug, Default)]
pub(crate) struct Token(Option<(String, Instant)>);

impl Token {
    /// The current token, or a new one from `fetch` (the token and how long it lasts).
    pub(crate) fn get(
        &mut self,
        fetch: impl FnOnce() -> Result<(String, Duration), String>,
    ) -> Result<String, String> {
        if let Some((token, until)) = &self.0
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let (token, lasts) = fetch()?;
        self.0 = Some((token.clone(), Instant::now() + lasts.saturating_sub(MARGIN)));
        Ok(token)
    }
}

/// The token of the answer `resp` of token endpoint `url`, and how long it lasts
/// (`expires_in`: a number, or a string as Azure AD's v1 endpoint writes it); `Err` says
/// why there is none (the endpoint's `error_description` when it gives one).
pub(crate) fn answer(
    url: &str,
    resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<(String, Duration), String> {
    let mut resp = resp.map_err(|e| format!("asking {url} for a token: {e}"))?;
    let status = resp.status();
    let text = resp
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("asking {url} for a token: {e}"))?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    if status != 200 {
        let why = v["error_description"]
            .as_str()
            .or_else(|| v["error"].as_str())
            .unwrap_or(text.as_str());
        return Err(format!(
            "asking {url} for a token: HTTP status {status}: {why}"
        ));
    }
    let token = v["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("asking {url} for a token: no access_token in the answer"))?
        .to_string();
    let lasts = v["expires_in"]
        .as_u64()
        .or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok()))
        .map_or(Duration::ZERO, Duration::from_secs);
    Ok((token, lasts))
}

/// An HTTP agent of this timeout with the usual roots and no client certificate.
pub(crate) fn plain_agent(timeout: Duration) -> anyhow::Result<ureq::Agent> {
    agent(timeout, TlsKeys::insecure(false))
}

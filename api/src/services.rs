//! The services the daemon injects into the engine: today the HTTP client used by
//! `httpPost` nodes (and its configured endpoints).

use kap_dataflow::node::Services;
use kap_dataflow::ops::http_post::{EndpointConfig, HttpPostService, HttpPoster, SERVICE_NAME};
use serde_json::Value as Json;
use std::sync::Arc;
use std::time::Duration;

/// A blocking HTTP client for `httpPost` (ureq, plain HTTP).
#[derive(Debug, Default)]
pub struct UreqPoster;

impl HttpPoster for UreqPoster {
    fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: String,
        timeout_ns: Option<i64>,
    ) -> Result<(u16, String), String> {
        let mut config = ureq::Agent::config_builder().http_status_as_error(false);
        if let Some(ns) = timeout_ns.filter(|ns| *ns > 0) {
            config = config.timeout_global(Some(Duration::from_nanos(ns as u64)));
        }
        let agent: ureq::Agent = config.build().into();
        let mut req = agent.post(url).header("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let mut resp = req.send(body).map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        Ok((status, text))
    }
}

/// Adds the httpPost service, with the `[[httppost]]` endpoints a conformance case's
/// `tm_init` declares (`__HTTP_SINK_URL__` replaced by `sink_url`).
pub fn with_http_post(services: Services, case: &Json, sink_url: &str) -> Services {
    let mut service = HttpPostService::new(Arc::new(UreqPoster));
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
                },
            );
        }
    }
    services.with(SERVICE_NAME, Arc::new(service))
}

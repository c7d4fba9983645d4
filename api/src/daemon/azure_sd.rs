//! `[[azure]]` discovery, as Prometheus' Azure discovery (the one Kapacitor's scrapers use)
//! finds targets: a token for the service principal's client credentials from Azure Active
//! Directory (`POST <ad>/<tenant>/oauth2/token`, kept until shortly before it expires),
//! then every virtual machine of the subscription from Azure Resource Manager
//! (`GET <arm>/subscriptions/<id>/providers/Microsoft.Compute/virtualMachines`, page by
//! page through `nextLink`), each at the first private IP address of its primary network
//! interface (`GET <arm><interface id>`) and the section's `port`. A machine whose
//! interfaces say nothing of being primary is deallocated and skipped, as Prometheus does.
//!
//! Labels: `__meta_azure_machine_id`, `_name`, `_location`, `_os_type`,
//! `_resource_group` (from the machine's id), `_private_ip` and `_tag_<name>` for each of
//! its tags. A failure anywhere fails the whole listing (the scraper keeps the last
//! targets and logs why).

use super::scraper::{Target, get_json, join_host_port, label_name};
use super::token::{Token, plain_agent};
use crate::config::AzureConfig;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long one request to Azure may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The API versions asked for (the machines', the network interfaces').
const COMPUTE_API: &str = "2018-10-01";
const NETWORK_API: &str = "2018-10-01";

/// An `[[azure]]` discoverer: its section, its client and its current token.
pub(crate) struct Azure {
    config: AzureConfig,
    agent: ureq::Agent,
    token: Token,
}

impl std::fmt::Debug for Azure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Azure")
            .field("id", &self.config.id)
            .finish_non_exhaustive()
    }
}

impl Azure {
    /// A discoverer of `config`'s machines.
    pub(crate) fn new(config: &AzureConfig) -> anyhow::Result<Azure> {
        Ok(Azure {
            config: config.clone(),
            agent: plain_agent(TIMEOUT)?,
            token: Token::default(),
        })
    }

    /// How often the machines are listed again.
    pub(crate) fn refresh_interval(&self) -> Duration {
        self.config.refresh_interval
    }

    /// The section's `id`.
    pub(crate) fn id(&self) -> &str {
        &self.config.id
    }

    /// A token for Azure Resource Manager (the last one, while it lasts).
    fn token(&mut self) -> Result<String, String> {
        let (c, agent) = (&self.config, &self.agent);
        self.token.get(|| {
            let url = format!(
                "{}/{}/oauth2/token?api-version=1.0",
                c.active_directory_endpoint.trim_end_matches('/'),
                c.tenant_id
            );
            let resource = format!("{}/", c.resource_manager_endpoint.trim_end_matches('/'));
            let resp = agent.post(&url).send_form([
                ("grant_type", "client_credentials"),
                ("client_id", c.client_id.as_str()),
                ("client_secret", c.client_secret.as_str()),
                ("resource", resource.as_str()),
            ]);
            super::token::answer(&url, resp)
        })
    }

    /// Every allocated machine of the subscription, as a target.
    pub(crate) fn targets(&mut self) -> Result<Vec<Target>, String> {
        let auth = format!("Bearer {}", self.token()?);
        let arm = self.config.resource_manager_endpoint.trim_end_matches('/');
        let mut next = Some(format!(
            "{arm}/subscriptions/{}/providers/Microsoft.Compute/virtualMachines?api-version={COMPUTE_API}",
            self.config.subscription_id
        ));
        let mut out = Vec::new();
        while let Some(url) = next.take() {
            let page = get_json(&self.agent, &url, Some(&auth))?;
            for vm in page["value"].as_array().into_iter().flatten() {
                if let Some(t) = self.machine(vm, arm, &auth)? {
                    out.push(t);
                }
            }
            next = page["nextLink"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        Ok(out)
    }

    /// The target of machine `vm` (an element of a listing), if it is allocated.
    fn machine(
        &self,
        vm: &serde_json::Value,
        arm: &str,
        auth: &str,
    ) -> Result<Option<Target>, String> {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let id = text(&vm["id"]);
        let mut labels = BTreeMap::new();
        labels.insert("__meta_azure_machine_id".to_string(), id.clone());
        labels.insert("__meta_azure_machine_name".into(), text(&vm["name"]));
        labels.insert(
            "__meta_azure_machine_location".into(),
            text(&vm["location"]),
        );
        labels.insert(
            "__meta_azure_machine_os_type".into(),
            text(&vm["properties"]["storageProfile"]["osDisk"]["osType"]),
        );
        labels.insert(
            "__meta_azure_machine_resource_group".into(),
            resource_group(&id).unwrap_or_default().to_string(),
        );
        for (k, v) in vm["tags"].as_object().into_iter().flatten() {
            labels.insert(
                format!("__meta_azure_machine_tag_{}", label_name(k)),
                text(v),
            );
        }
        let interfaces = vm["properties"]["networkProfile"]["networkInterfaces"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for nic in interfaces {
            let url = format!("{arm}{}?api-version={NETWORK_API}", text(&nic["id"]));
            let nic = get_json(&self.agent, &url, Some(auth))?;
            // A deallocated machine's interfaces do not say whether they are primary.
            if nic["properties"]["primary"].as_bool() != Some(true) {
                continue;
            }
            let ips = nic["properties"]["ipConfigurations"]
                .as_array()
                .into_iter()
                .flatten();
            for ip in ips {
                if let Some(addr) = ip["properties"]["privateIPAddress"].as_str() {
                    labels.insert("__meta_azure_machine_private_ip".into(), addr.to_string());
                    return Ok(Some(Target {
                        address: join_host_port(addr, self.config.port),
                        labels,
                    }));
                }
            }
        }
        Ok(None)
    }
}

/// The resource group of an Azure resource id
/// (`/subscriptions/<s>/resourceGroups/<group>/providers/…`).
fn resource_group(id: &str) -> Option<&str> {
    let mut parts = id.split('/');
    parts
        .by_ref()
        .find(|p| p.eq_ignore_ascii_case("resourceGroups"))?;
    parts.next().filter(|g| !g.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_groups_come_from_ids() {
        let id = "/subscriptions/s1/resourceGroups/rg-Web/providers/Microsoft.Compute/virtualMachines/vm1";
        assert_eq!(resource_group(id), Some("rg-Web"));
        assert_eq!(
            resource_group("/subscriptions/s1/resourcegroups/x/providers/p"),
            Some("x")
        );
        assert_eq!(resource_group("/subscriptions/s1"), None);
    }
}

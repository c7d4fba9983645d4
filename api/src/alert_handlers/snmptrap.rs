//! `.snmpTrap(oid)` / `snmptrap`: an SNMPv2c trap over UDP, as Kapacitor's
//! `services/snmptrap`: `sysUpTime.0` and `snmpTrapOID.0`, then the handler's `.data()`
//! bindings, whose values are templates over the event.

use super::{Failure, invalid, not_enabled, render, template_data};
use kap_dataflow::alert::AlertEvent;
use kap_dsl::plan::{SnmpData, SnmpTrapHandler};
use rasn::types::{Integer, ObjectIdentifier, OctetString};
use rasn_snmp::v2::{ObjectSyntax, Pdu, Pdus, Trap, VarBind, VarBindValue};
use rasn_snmp::v2c::Message;
use serde::{Deserialize, Serialize};
use std::net::UdpSocket;
use std::sync::OnceLock;
use std::time::Instant;

/// `[snmptrap]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct SnmpTrapConfig {
    /// Whether traps may be sent.
    pub enabled: bool,
    /// The trap receiver's `host:port`.
    pub addr: String,
    /// The SNMP community.
    pub community: String,
    /// Times a trap is sent again (UDP gives no acknowledgement; Kapacitor's setting).
    pub retries: i64,
}

impl Default for SnmpTrapConfig {
    fn default() -> Self {
        SnmpTrapConfig {
            enabled: false,
            addr: "localhost:162".into(),
            community: "kapacitor".into(),
            retries: 1,
        }
    }
}

/// `sysUpTime.0`.
const SYS_UP_TIME: &[u32] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// `snmpTrapOID.0`.
const SNMP_TRAP_OID: &[u32] = &[1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0];

/// Parses a dotted OID (a leading dot allowed).
fn oid(text: &str) -> Result<ObjectIdentifier, String> {
    let arcs: Result<Vec<u32>, _> = text
        .trim_start_matches('.')
        .split('.')
        .map(str::parse::<u32>)
        .collect();
    arcs.ok()
        .and_then(ObjectIdentifier::new)
        .ok_or_else(|| format!("snmptrap: {text:?} is not an OID"))
}

/// The daemon's uptime in hundredths of a second (`sysUpTime`).
fn uptime() -> u32 {
    static START: OnceLock<Instant> = OnceLock::new();
    (START.get_or_init(Instant::now).elapsed().as_millis() / 10) as u32
}

/// One `.data(oid, type, value)` binding, its value rendered: types `c` (Counter32), `i`
/// (Integer), `n` (Null), `s` (string), `t` (TimeTicks), as Kapacitor takes them.
fn binding(d: &SnmpData, value: &str) -> Result<VarBind, String> {
    use rasn_smi::v1::{Counter, TimeTicks};
    use rasn_smi::v2::{ApplicationSyntax, SimpleSyntax};
    let number = |what: &str| {
        value
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("snmptrap: {}: {value:?} is not {what}", d.oid))
    };
    let unsigned = |what: &str| {
        value
            .trim()
            .parse::<u32>()
            .map_err(|_| format!("snmptrap: {}: {value:?} is not {what}", d.oid))
    };
    let value = match d.type_.as_str() {
        "c" => VarBindValue::Value(ObjectSyntax::ApplicationWide(ApplicationSyntax::Counter(
            Counter(unsigned("a counter")?),
        ))),
        "i" => VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::Integer(Integer::from(
            number("an integer")?,
        )))),
        "n" => VarBindValue::Unspecified,
        "s" => VarBindValue::Value(ObjectSyntax::Simple(SimpleSyntax::String(
            OctetString::from(value.as_bytes().to_vec()),
        ))),
        "t" => VarBindValue::Value(ObjectSyntax::ApplicationWide(ApplicationSyntax::Ticks(
            TimeTicks(unsigned("time ticks")?),
        ))),
        t => {
            return Err(format!(
                "snmptrap: {}: unknown data type {t:?} (c, i, n, s or t)",
                d.oid
            ));
        }
    };
    Ok(VarBind {
        name: oid(&d.oid)?,
        value,
    })
}

impl SnmpTrapConfig {
    pub(super) fn validate(&self) -> Result<(), (String, String)> {
        if self.enabled && self.addr.is_empty() {
            return invalid("snmptrap", "addr", "must be set when enabled");
        }
        Ok(())
    }

    /// The trap's BER bytes.
    pub(super) fn trap(&self, h: &SnmpTrapHandler, event: &AlertEvent) -> Result<Vec<u8>, String> {
        let data = template_data(event);
        let mut bindings = vec![
            VarBind {
                name: ObjectIdentifier::new(SYS_UP_TIME.to_vec()).expect("a valid OID"),
                value: VarBindValue::Value(ObjectSyntax::ApplicationWide(
                    rasn_smi::v2::ApplicationSyntax::Ticks(rasn_smi::v1::TimeTicks(uptime())),
                )),
            },
            VarBind {
                name: ObjectIdentifier::new(SNMP_TRAP_OID.to_vec()).expect("a valid OID"),
                value: VarBindValue::Value(ObjectSyntax::Simple(
                    rasn_smi::v2::SimpleSyntax::ObjectId(oid(&h.trap_oid)?),
                )),
            },
        ];
        for d in &h.data {
            let value = render("snmptrap", &d.oid, &d.value, "", &data)?;
            bindings.push(binding(d, &value)?);
        }
        let message = Message {
            version: Integer::from(1),
            community: OctetString::from(self.community.as_bytes().to_vec()),
            data: Pdus::Trap(Trap(Pdu {
                request_id: (event.time as u64 % i32::MAX as u64) as i32,
                error_status: 0,
                error_index: 0,
                variable_bindings: bindings,
            })),
        };
        rasn::ber::encode(&message).map_err(|e| format!("snmptrap: encoding the trap: {e}"))
    }

    pub(super) fn send(&self, h: &SnmpTrapHandler, event: &AlertEvent) -> Result<(), Failure> {
        if !self.enabled {
            return Err(not_enabled("snmptrap").into());
        }
        let bytes = self.trap(h, event)?;
        let socket =
            UdpSocket::bind("0.0.0.0:0").map_err(|e| format!("snmptrap: a UDP socket: {e}"))?;
        for _ in 0..=self.retries.max(0) {
            socket
                .send_to(&bytes, &self.addr)
                .map_err(|e| format!("snmptrap: sending to {}: {e}", self.addr))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oids_and_binding_types() {
        assert_eq!(oid(".1.3.6.1").unwrap(), oid("1.3.6.1").unwrap());
        assert!(oid("1.x").is_err());
        let d = |t: &str| SnmpData {
            oid: "1.3.6.1.4.1.1".into(),
            type_: t.into(),
            value: String::new(),
        };
        assert!(binding(&d("i"), "42").is_ok());
        assert!(
            binding(&d("i"), "x")
                .unwrap_err()
                .contains("not an integer")
        );
        assert!(
            binding(&d("q"), "1")
                .unwrap_err()
                .contains("unknown data type")
        );
        assert_eq!(
            binding(&d("n"), "").unwrap().value,
            VarBindValue::Unspecified
        );
    }
}

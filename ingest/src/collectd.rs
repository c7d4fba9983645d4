//! collectd's binary network protocol, as InfluxDB's (and so Kapacitor's) collectd service
//! reads it, with the value names of a `types.db`.
//!
//! A packet is a run of parts (`type: u16, length: u16` including the 4-byte header, big
//! endian, then the payload). String parts (host, plugin, plugin instance, type, type
//! instance) and time parts set the state that each values part then reports: one
//! [`ValueList`] per values part. Values are counters (`u64` BE), gauges (`f64` *little*
//! endian, as collectd writes them), derives (`i64` BE) and absolutes (`u64` BE). A
//! signature part is skipped (its packet is plaintext); an encrypted part cannot be read
//! without the key and refuses the packet.

use std::collections::HashMap;

/// The data sources of each type (`types.db`): their names, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypesDb(HashMap<String, Vec<String>>);

impl TypesDb {
    /// Parses a `types.db` text: `type ds:DERIVE:0:U, ds2:GAUGE:U:U` lines, `#` comments.
    /// `Err` names the line that does not parse.
    pub fn parse(text: &str) -> Result<TypesDb, String> {
        let mut out = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (name, rest) = line
                .split_once(|c: char| c.is_whitespace())
                .ok_or_else(|| format!("line {}: a type without data sources", i + 1))?;
            let mut names = Vec::new();
            for ds in rest.split(',') {
                let ds = ds.trim();
                let fields: Vec<&str> = ds.split(':').collect();
                if fields.len() != 4 || fields[0].is_empty() {
                    return Err(format!(
                        "line {}: invalid data source {ds:?} (want name:TYPE:min:max)",
                        i + 1
                    ));
                }
                names.push(fields[0].to_string());
            }
            out.insert(name.to_string(), names);
        }
        Ok(TypesDb(out))
    }

    /// Adds the types of `other` (later files win, as collectd reads several).
    pub fn extend(&mut self, other: TypesDb) {
        self.0.extend(other.0);
    }

    /// The data source names of `kind`.
    pub fn names(&self, kind: &str) -> Option<&[String]> {
        self.0.get(kind).map(Vec::as_slice)
    }
}

/// The values one values part reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueList {
    /// Host.
    pub host: String,
    /// Plugin.
    pub plugin: String,
    /// Plugin instance.
    pub plugin_instance: String,
    /// Type.
    pub kind: String,
    /// Type instance.
    pub type_instance: String,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The values, as floats.
    pub values: Vec<f64>,
}

impl ValueList {
    /// The name of value `i` (collectd.org's `DSName`): the type's data source name when
    /// `types` knows the type, else `value` for a single value, else its index.
    pub fn ds_name(&self, i: usize, types: &TypesDb) -> String {
        match types.names(&self.kind) {
            Some(names) if names.len() == self.values.len() => names[i].clone(),
            _ if self.values.len() == 1 => "value".into(),
            _ => i.to_string(),
        }
    }
}

const HOST: u16 = 0x0000;
const TIME: u16 = 0x0001;
const PLUGIN: u16 = 0x0002;
const PLUGIN_INSTANCE: u16 = 0x0003;
const TYPE: u16 = 0x0004;
const TYPE_INSTANCE: u16 = 0x0005;
const VALUES: u16 = 0x0006;
const INTERVAL: u16 = 0x0007;
const TIME_HR: u16 = 0x0008;
const INTERVAL_HR: u16 = 0x0009;
const SIGNATURE: u16 = 0x0200;
const ENCRYPTION: u16 = 0x0210;

/// Parses one packet into its value lists. `Err` says what is wrong and at which byte.
pub fn parse_packet(mut buf: &[u8]) -> Result<Vec<ValueList>, String> {
    let mut state = ValueList {
        host: String::new(),
        plugin: String::new(),
        plugin_instance: String::new(),
        kind: String::new(),
        type_instance: String::new(),
        time_ns: 0,
        values: Vec::new(),
    };
    let mut out = Vec::new();
    let total = buf.len();
    while !buf.is_empty() {
        let at = total - buf.len();
        if buf.len() < 4 {
            return Err(format!("byte {at}: a part header needs 4 bytes"));
        }
        let kind = u16::from_be_bytes([buf[0], buf[1]]);
        let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
        if len < 4 || len > buf.len() {
            return Err(format!("byte {at}: part length {len} does not fit"));
        }
        let payload = &buf[4..len];
        buf = &buf[len..];
        let string = || -> Result<String, String> {
            let bytes = payload.strip_suffix(&[0]).unwrap_or(payload);
            String::from_utf8(bytes.to_vec())
                .map_err(|_| format!("byte {at}: a string part that is not UTF-8"))
        };
        let number = || -> Result<u64, String> {
            let b: [u8; 8] = payload
                .try_into()
                .map_err(|_| format!("byte {at}: a numeric part needs 8 bytes"))?;
            Ok(u64::from_be_bytes(b))
        };
        match kind {
            HOST => state.host = string()?,
            PLUGIN => state.plugin = string()?,
            PLUGIN_INSTANCE => state.plugin_instance = string()?,
            TYPE => state.kind = string()?,
            TYPE_INSTANCE => state.type_instance = string()?,
            TIME => {
                let secs = i64::try_from(number()?).unwrap_or(i64::MAX / 1_000_000_000);
                state.time_ns = secs.saturating_mul(1_000_000_000);
            }
            TIME_HR => {
                // 2^-30 seconds.
                let t = number()?;
                let secs = (t >> 30) as i64;
                let frac = (((t & ((1 << 30) - 1)) as u128 * 1_000_000_000) >> 30) as i64;
                state.time_ns = secs.saturating_mul(1_000_000_000).saturating_add(frac);
            }
            INTERVAL | INTERVAL_HR => {
                number()?;
            }
            VALUES => {
                if payload.len() < 2 {
                    return Err(format!("byte {at}: a values part without its count"));
                }
                let n = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
                if payload.len() != 2 + n * 9 {
                    return Err(format!(
                        "byte {at}: {n} values need {} bytes, the part has {}",
                        2 + n * 9,
                        payload.len()
                    ));
                }
                let (types, data) = payload[2..].split_at(n);
                let mut values = Vec::with_capacity(n);
                for (i, t) in types.iter().enumerate() {
                    let b: [u8; 8] = data[i * 8..i * 8 + 8].try_into().unwrap_or_default();
                    values.push(match t {
                        0 | 3 => u64::from_be_bytes(b) as f64,
                        1 => f64::from_le_bytes(b),
                        2 => i64::from_be_bytes(b) as f64,
                        other => {
                            return Err(format!("byte {at}: unknown value type {other}"));
                        }
                    });
                }
                let mut list = state.clone();
                list.values = values;
                out.push(list);
            }
            SIGNATURE => {}
            ENCRYPTION => {
                return Err(format!(
                    "byte {at}: an encrypted packet (security-level none reads plaintext only)"
                ));
            }
            // Notifications and unknown parts carry no values.
            _ => {}
        }
    }
    Ok(out)
}

/// Writes a part of `kind` with `payload` (for tests and tools that send collectd data).
pub fn write_part(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = u16::try_from(payload.len() + 4).unwrap_or(u16::MAX);
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Writes a string part (NUL-terminated, as collectd sends them).
pub fn write_string(out: &mut Vec<u8>, kind: u16, s: &str) {
    let mut payload = s.as_bytes().to_vec();
    payload.push(0);
    write_part(out, kind, &payload);
}

/// A packet of one value list with gauge values (for tests and tools).
pub fn gauge_packet(list: &ValueList) -> Vec<u8> {
    let mut out = Vec::new();
    write_string(&mut out, HOST, &list.host);
    write_part(
        &mut out,
        TIME,
        &((list.time_ns / 1_000_000_000) as u64).to_be_bytes(),
    );
    write_string(&mut out, PLUGIN, &list.plugin);
    write_string(&mut out, PLUGIN_INSTANCE, &list.plugin_instance);
    write_string(&mut out, TYPE, &list.kind);
    write_string(&mut out, TYPE_INSTANCE, &list.type_instance);
    let mut values = (list.values.len() as u16).to_be_bytes().to_vec();
    values.extend(std::iter::repeat_n(1u8, list.values.len()));
    for v in &list.values {
        values.extend_from_slice(&v.to_le_bytes());
    }
    write_part(&mut out, VALUES, &values);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPES: &str = "# collectd types\nload shortterm:GAUGE:0:5000, midterm:GAUGE:0:5000, longterm:GAUGE:0:5000\n\
                         cpu value:DERIVE:0:U\nif_octets rx:DERIVE:0:U, tx:DERIVE:0:U\n";

    #[test]
    fn types_db_names_data_sources() {
        let t = TypesDb::parse(TYPES).unwrap();
        assert_eq!(
            t.names("load").unwrap(),
            ["shortterm", "midterm", "longterm"]
        );
        assert_eq!(t.names("cpu").unwrap(), ["value"]);
        assert!(t.names("nope").is_none());
        let e = TypesDb::parse("ok value:GAUGE:0:U\nbad value:GAUGE\n").unwrap_err();
        assert_eq!(
            e,
            "line 2: invalid data source \"value:GAUGE\" (want name:TYPE:min:max)"
        );
    }

    #[test]
    fn packets_report_value_lists_with_their_state() {
        let list = ValueList {
            host: "web01".into(),
            plugin: "load".into(),
            plugin_instance: String::new(),
            kind: "load".into(),
            type_instance: String::new(),
            time_ns: 1_356_998_400_000_000_000,
            values: vec![0.5, 0.25, 0.125],
        };
        let mut packet = gauge_packet(&list);
        // A second values part of another type: counter, derive, absolute; a high
        // resolution time before it.
        write_string(&mut packet, TYPE, "if_octets");
        write_part(
            &mut packet,
            TIME_HR,
            &((1_356_998_401u64 << 30) + (1 << 29)).to_be_bytes(),
        );
        let mut v = 3u16.to_be_bytes().to_vec();
        v.extend([0u8, 2, 3]);
        v.extend(7u64.to_be_bytes());
        v.extend((-2i64).to_be_bytes());
        v.extend(9u64.to_be_bytes());
        write_part(&mut packet, VALUES, &v);
        write_part(&mut packet, SIGNATURE, &[0; 36]);
        let lists = parse_packet(&packet).unwrap();
        assert_eq!(lists.len(), 2);
        assert_eq!(lists[0], list);
        assert_eq!(lists[1].kind, "if_octets");
        assert_eq!(lists[1].host, "web01");
        assert_eq!(lists[1].time_ns, 1_356_998_401_500_000_000);
        assert_eq!(lists[1].values, [7.0, -2.0, 9.0]);
        let types = TypesDb::parse(TYPES).unwrap();
        assert_eq!(lists[0].ds_name(1, &types), "midterm");
        // A type types.db does not know: `value` for one value, else the index.
        assert_eq!(lists[1].ds_name(2, &types), "2");
        let one = ValueList {
            values: vec![1.0],
            kind: "unknown".into(),
            ..list
        };
        assert_eq!(one.ds_name(0, &types), "value");
    }

    #[test]
    fn bad_packets_say_where() {
        assert_eq!(
            parse_packet(&[0, 1]).unwrap_err(),
            "byte 0: a part header needs 4 bytes"
        );
        let mut p = Vec::new();
        write_string(&mut p, HOST, "h");
        p.extend([0, 6, 0, 40]);
        assert_eq!(
            parse_packet(&p).unwrap_err(),
            "byte 6: part length 40 does not fit"
        );
        let mut p = Vec::new();
        write_part(&mut p, VALUES, &[0, 2, 1]);
        assert!(
            parse_packet(&p)
                .unwrap_err()
                .contains("2 values need 20 bytes")
        );
        let mut p = Vec::new();
        write_part(&mut p, ENCRYPTION, &[0; 8]);
        assert!(parse_packet(&p).unwrap_err().contains("encrypted"));
    }
}

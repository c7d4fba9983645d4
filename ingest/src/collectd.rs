//! collectd's binary network protocol, as InfluxDB's (and so Kapacitor's) collectd service
//! reads it, with the value names of a `types.db`.
//!
//! A packet is a run of parts (`type: u16, length: u16` including the 4-byte header, big
//! endian, then the payload). String parts (host, plugin, plugin instance, type, type
//! instance) and time parts set the state that each values part then reports: one
//! [`ValueList`] per values part. Values are counters (`u64` BE), gauges (`f64` *little*
//! endian, as collectd writes them), derives (`i64` BE) and absolutes (`u64` BE).
//!
//! Security, as collectd's network plugin and InfluxDB's collectd service (`security-level`,
//! `auth-file`): a signature part (HMAC-SHA-256 keyed by the user's password, over the
//! user name and the rest of the packet) makes the rest of the packet *signed*; an
//! encryption part (AES-256-OFB keyed by the SHA-256 of the user's password, its plaintext
//! led by the SHA-1 of the rest) holds *encrypted* parts. Values count only when they came
//! with at least the configured level: `none` reads everything it can (a signature it
//! cannot check is accepted, as collectd does without an auth file), `sign` wants signed or
//! encrypted values, `encrypt` encrypted ones. A packet whose signature does not match, or
//! whose encrypted part does not decrypt, is refused whole.

use hmac::Mac as _;
use sha1::Digest as _;
use std::collections::{BTreeMap, HashMap};

/// The data sources of each type (`types.db`): their names, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypesDb(HashMap<String, Vec<String>>);

impl TypesDb {
    /// Parses a `types.db` text: `type ds:DERIVE:0:U, ds2:GAUGE:U:U` lines (the data
    /// sources separated by commas or blanks), `#` comments.
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
            // Data sources are separated by commas, blanks or both (collectd's own
            // `types.db` has lines of each).
            for ds in rest
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|ds| !ds.is_empty())
            {
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
#[derive(Debug, Clone, Default, PartialEq)]
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

/// The least security a value must come with (`security-level`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecurityLevel {
    /// Plaintext is read (`none`).
    #[default]
    None,
    /// Signed or encrypted values only (`sign`).
    Sign,
    /// Encrypted values only (`encrypt`).
    Encrypt,
}

impl std::str::FromStr for SecurityLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<SecurityLevel, String> {
        match s {
            "none" => Ok(SecurityLevel::None),
            "sign" => Ok(SecurityLevel::Sign),
            "encrypt" => Ok(SecurityLevel::Encrypt),
            other => Err(format!(
                "unknown security level \"{other}\" (want none, sign or encrypt)"
            )),
        }
    }
}

impl std::fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecurityLevel::None => "none",
            SecurityLevel::Sign => "sign",
            SecurityLevel::Encrypt => "encrypt",
        })
    }
}

/// collectd's auth file: the password of each user, a `user: password` line each (blank
/// lines and `#` comments aside).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthFile(BTreeMap<String, String>);

impl AuthFile {
    /// Parses an auth file; `Err` names the line that does not parse.
    pub fn parse(text: &str) -> Result<AuthFile, String> {
        let mut users = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, password)) = line.split_once(':') else {
                return Err(format!("line {}: want \"user: password\"", i + 1));
            };
            let user = user.trim();
            if user.is_empty() {
                return Err(format!("line {}: a password without a user", i + 1));
            }
            users.insert(user.to_string(), password.trim().to_string());
        }
        Ok(AuthFile(users))
    }

    /// The password of `user`.
    pub fn password(&self, user: &str) -> Option<&str> {
        self.0.get(user).map(String::as_str)
    }
}

/// How packets are read: the least security their values need, and the passwords that
/// check signatures and decrypt.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParseOpts<'a> {
    /// `security-level`.
    pub level: SecurityLevel,
    /// `auth-file`, when read.
    pub auth: Option<&'a AuthFile>,
}

/// Parses one packet into its value lists. `Err` says what is wrong and at which byte.
pub fn parse_packet(buf: &[u8], opts: ParseOpts<'_>) -> Result<Vec<ValueList>, String> {
    let mut out = Vec::new();
    let mut refused = None;
    parse(buf, 0, SecurityLevel::None, opts, &mut out, &mut refused)?;
    match refused {
        Some(at) if out.is_empty() => Err(format!(
            "byte {at}: values that are not {} (security-level {})",
            match opts.level {
                SecurityLevel::Encrypt => "encrypted",
                _ => "signed or encrypted",
            },
            opts.level
        )),
        _ => Ok(out),
    }
}

const HMAC_LEN: usize = 32;
const SHA1_LEN: usize = 20;
const IV_LEN: usize = 16;

/// Parses the parts of `buf` (at byte `base` of the packet), received with security
/// `level`, into `out`; `refused` keeps where the first values without enough security
/// were.
fn parse(
    mut buf: &[u8],
    base: usize,
    level: SecurityLevel,
    opts: ParseOpts<'_>,
    out: &mut Vec<ValueList>,
    refused: &mut Option<usize>,
) -> Result<(), String> {
    let mut state = ValueList::default();
    let total = buf.len();
    while !buf.is_empty() {
        let at = base + total - buf.len();
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
        let password = |user: &str| -> Result<Option<&str>, String> {
            match opts.auth {
                Some(auth) => auth
                    .password(user)
                    .map(Some)
                    .ok_or_else(|| format!("byte {at}: user \"{user}\" is not in the auth file")),
                None => Ok(None),
            }
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
                if level >= opts.level {
                    let mut list = state.clone();
                    list.values = values;
                    out.push(list);
                } else {
                    refused.get_or_insert(at);
                }
            }
            SIGNATURE => {
                // The signature covers its user name and everything after it.
                if payload.len() < HMAC_LEN {
                    return Err(format!(
                        "byte {at}: a signature part needs {HMAC_LEN} bytes"
                    ));
                }
                let (mac, user) = payload.split_at(HMAC_LEN);
                let user = String::from_utf8_lossy(user);
                let rest_at = at + len;
                let signed = match password(&user)? {
                    Some(password) => {
                        let mut h = hmac::Hmac::<sha2::Sha256>::new_from_slice(password.as_bytes())
                            .map_err(|e| format!("byte {at}: {e}"))?;
                        h.update(user.as_bytes());
                        h.update(buf);
                        h.verify_slice(mac).map_err(|_| {
                            format!("byte {at}: the signature of user \"{user}\" does not match")
                        })?;
                        SecurityLevel::Sign.max(level)
                    }
                    // Without an auth file nothing can be checked: accepted as it stands,
                    // as collectd does.
                    None => level,
                };
                return parse(buf, rest_at, signed, opts, out, refused);
            }
            ENCRYPTION => {
                if opts.auth.is_none() {
                    return Err(format!(
                        "byte {at}: an encrypted part, and no auth-file to decrypt it"
                    ));
                }
                if payload.len() < 2 {
                    return Err(format!("byte {at}: an encryption part without its user"));
                }
                let ulen = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
                if payload.len() < 2 + ulen + IV_LEN + SHA1_LEN {
                    return Err(format!("byte {at}: an encryption part too short"));
                }
                let user = String::from_utf8_lossy(&payload[2..2 + ulen]).into_owned();
                let iv = &payload[2 + ulen..2 + ulen + IV_LEN];
                let mut plain = payload[2 + ulen + IV_LEN..].to_vec();
                let password = password(&user)?.unwrap_or_default();
                let key = sha2::Sha256::digest(password.as_bytes());
                use aes::cipher::{KeyIvInit as _, StreamCipher as _};
                let mut cipher = ofb::Ofb::<aes::Aes256>::new_from_slices(&key, iv)
                    .map_err(|e| format!("byte {at}: {e}"))?;
                cipher.apply_keystream(&mut plain);
                let (hash, inner) = plain.split_at(SHA1_LEN);
                if sha1::Sha1::digest(inner).as_slice() != hash {
                    return Err(format!(
                        "byte {at}: the encrypted part of user \"{user}\" does not decrypt (another password?)"
                    ));
                }
                parse(inner, 0, SecurityLevel::Encrypt, opts, out, refused)
                    .map_err(|e| format!("in the encrypted part at byte {at}: {e}"))?;
            }
            // Notifications and unknown parts carry no values.
            _ => {}
        }
    }
    Ok(())
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

/// `plain` signed by `user` with `password`, as collectd's `SecurityLevel Sign` sends it
/// (for tests and tools).
pub fn sign_packet(plain: &[u8], user: &str, password: &str) -> Vec<u8> {
    let mut h = hmac::Hmac::<sha2::Sha256>::new_from_slice(password.as_bytes())
        .expect("HMAC takes keys of any length");
    h.update(user.as_bytes());
    h.update(plain);
    let mut payload = h.finalize().into_bytes().to_vec();
    payload.extend_from_slice(user.as_bytes());
    let mut out = Vec::new();
    write_part(&mut out, SIGNATURE, &payload);
    out.extend_from_slice(plain);
    out
}

/// `plain` encrypted for `user` with `password` and initialization vector `iv`, as
/// collectd's `SecurityLevel Encrypt` sends it (for tests and tools).
pub fn encrypt_packet(plain: &[u8], user: &str, password: &str, iv: [u8; IV_LEN]) -> Vec<u8> {
    use aes::cipher::{KeyIvInit as _, StreamCipher as _};
    let mut data = sha1::Sha1::digest(plain).to_vec();
    data.extend_from_slice(plain);
    let key = sha2::Sha256::digest(password.as_bytes());
    ofb::Ofb::<aes::Aes256>::new_from_slices(&key, &iv)
        .expect("a 32-byte key and a 16-byte IV")
        .apply_keystream(&mut data);
    let mut payload = u16::try_from(user.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec();
    payload.extend_from_slice(user.as_bytes());
    payload.extend_from_slice(&iv);
    payload.extend_from_slice(&data);
    let mut out = Vec::new();
    write_part(&mut out, ENCRYPTION, &payload);
    out
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
                         cpu value:DERIVE:0:U\nif_octets rx:DERIVE:0:U, tx:DERIVE:0:U\n\
                         ib_octets               rx:DERIVE:0:U tx:DERIVE:0:U\n";

    #[test]
    fn types_db_names_data_sources() {
        let t = TypesDb::parse(TYPES).unwrap();
        assert_eq!(
            t.names("load").unwrap(),
            ["shortterm", "midterm", "longterm"]
        );
        assert_eq!(t.names("cpu").unwrap(), ["value"]);
        assert_eq!(t.names("ib_octets").unwrap(), ["rx", "tx"]);
        assert!(t.names("nope").is_none());
        let e = TypesDb::parse("ok value:GAUGE:0:U\nbad value:GAUGE\n").unwrap_err();
        assert_eq!(
            e,
            "line 2: invalid data source \"value:GAUGE\" (want name:TYPE:min:max)"
        );
    }

    #[test]
    fn packets_report_value_lists_with_their_state() {
        let list = load();
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
        let lists = parse_packet(&packet, ParseOpts::default()).unwrap();
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
            parse_packet(&[0, 1], ParseOpts::default()).unwrap_err(),
            "byte 0: a part header needs 4 bytes"
        );
        let mut p = Vec::new();
        write_string(&mut p, HOST, "h");
        p.extend([0, 6, 0, 40]);
        assert_eq!(
            parse_packet(&p, ParseOpts::default()).unwrap_err(),
            "byte 6: part length 40 does not fit"
        );
        let mut p = Vec::new();
        write_part(&mut p, VALUES, &[0, 2, 1]);
        assert!(
            parse_packet(&p, ParseOpts::default())
                .unwrap_err()
                .contains("2 values need 20 bytes")
        );
        let mut p = Vec::new();
        write_part(&mut p, ENCRYPTION, &[0; 8]);
        assert!(
            parse_packet(&p, ParseOpts::default())
                .unwrap_err()
                .contains("encrypted")
        );
    }

    fn load() -> ValueList {
        ValueList {
            host: "web01".into(),
            plugin: "load".into(),
            plugin_instance: String::new(),
            kind: "load".into(),
            type_instance: String::new(),
            time_ns: 1_356_998_400_000_000_000,
            values: vec![0.5, 0.25, 0.125],
        }
    }

    #[test]
    fn auth_files_hold_a_password_per_user() {
        let auth = AuthFile::parse("# users\n\nalice: s3cret: x \n bob:hunter2\n").unwrap();
        assert_eq!(auth.password("alice"), Some("s3cret: x"));
        assert_eq!(auth.password("bob"), Some("hunter2"));
        assert_eq!(auth.password("eve"), None);
        assert_eq!(
            AuthFile::parse("alice: a\nbob\n").unwrap_err(),
            "line 2: want \"user: password\""
        );
    }

    #[test]
    fn security_levels_take_the_values_that_come_with_enough_security() {
        let auth = AuthFile::parse("alice: s3cret\n").unwrap();
        let plain = gauge_packet(&load());
        let signed = sign_packet(&plain, "alice", "s3cret");
        let encrypted = encrypt_packet(&plain, "alice", "s3cret", [7; 16]);
        let opts = |level| ParseOpts {
            level,
            auth: Some(&auth),
        };
        for (level, packet, ok) in [
            (SecurityLevel::None, &plain, true),
            (SecurityLevel::None, &signed, true),
            (SecurityLevel::None, &encrypted, true),
            (SecurityLevel::Sign, &plain, false),
            (SecurityLevel::Sign, &signed, true),
            (SecurityLevel::Sign, &encrypted, true),
            (SecurityLevel::Encrypt, &plain, false),
            (SecurityLevel::Encrypt, &signed, false),
            (SecurityLevel::Encrypt, &encrypted, true),
        ] {
            let got = parse_packet(packet, opts(level));
            if ok {
                assert_eq!(got, Ok(vec![load()]), "{level}");
            } else {
                let e = got.unwrap_err();
                assert!(e.starts_with("byte "), "{level}: {e}");
                assert!(e.contains(&format!("(security-level {level})")), "{e}");
            }
        }
        // A signature nothing can check is taken as it stands; encrypted data needs keys.
        assert_eq!(
            parse_packet(&signed, ParseOpts::default()),
            Ok(vec![load()])
        );
        assert!(
            parse_packet(&encrypted, ParseOpts::default())
                .unwrap_err()
                .contains("no auth-file")
        );
        // A wrong password, an unknown user, a changed byte: the packet is refused.
        let other = AuthFile::parse("alice: other\n").unwrap();
        let wrong = ParseOpts {
            level: SecurityLevel::Sign,
            auth: Some(&other),
        };
        assert_eq!(
            parse_packet(&signed, wrong).unwrap_err(),
            "byte 0: the signature of user \"alice\" does not match"
        );
        assert!(
            parse_packet(&encrypted, wrong)
                .unwrap_err()
                .contains("does not decrypt")
        );
        let nobody = encrypt_packet(&plain, "mallory", "x", [0; 16]);
        assert_eq!(
            parse_packet(&nobody, opts(SecurityLevel::Encrypt)).unwrap_err(),
            "byte 0: user \"mallory\" is not in the auth file"
        );
        let mut tampered = signed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            parse_packet(&tampered, opts(SecurityLevel::Sign))
                .unwrap_err()
                .contains("does not match")
        );
        // Plaintext after an encrypted part still counts at level none.
        let mut mixed = encrypted.clone();
        mixed.extend(gauge_packet(&ValueList {
            host: "web02".into(),
            ..load()
        }));
        let got = parse_packet(&mixed, opts(SecurityLevel::None)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            parse_packet(&mixed, opts(SecurityLevel::Encrypt)).unwrap(),
            vec![load()]
        );
    }
}

//! Small encoders the client needs: `application/x-www-form-urlencoded`, basic auth (base64),
//! and InfluxQL quoting (for callers building statements).

/// Appends `key=value` (form-encoded) to `out`, with a `&` first unless `out` is empty.
pub(crate) fn push_pair(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    push_component(out, key);
    out.push('=');
    push_component(out, value);
}

/// Form-encodes `s` (WHATWG `application/x-www-form-urlencoded`, with `%20` for spaces so the
/// result is also valid in a URL query string).
fn push_component(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'*') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Standard base64 with padding.
pub(crate) fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A JWT (`HS256`) with claims `exp` (Unix seconds) and `username`, signed with `secret`,
/// as InfluxDB's `[http] shared-secret` authentication takes it.
pub(crate) fn jwt_hs256(secret: &[u8], username: &str, exp: u64) -> String {
    let url = |b: &[u8]| {
        base64(b)
            .trim_end_matches('=')
            .replace('+', "-")
            .replace('/', "_")
    };
    let claims = serde_json::json!({"exp": exp, "username": username});
    let input = format!(
        "{}.{}",
        url(br#"{"alg":"HS256","typ":"JWT"}"#),
        url(claims.to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let signature = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", url(signature.as_ref()))
}

/// `name` as an InfluxQL double-quoted identifier (`"my \"db\""`).
pub fn quote_ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// `value` as an InfluxQL single-quoted string literal (`'it\'s'`).
pub fn quote_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("martin:secret", "bWFydGluOnNlY3JldA=="),
        ];
        for (input, want) in cases {
            assert_eq!(base64(input.as_bytes()), want, "{input}");
        }
    }

    #[test]
    fn form_encoding() {
        let mut s = String::new();
        push_pair(
            &mut s,
            "q",
            "SHOW DATABASES; SELECT \"a\" FROM b WHERE c='d&e'",
        );
        push_pair(&mut s, "db", "é");
        assert_eq!(
            s,
            "q=SHOW%20DATABASES%3B%20SELECT%20%22a%22%20FROM%20b%20WHERE%20c%3D%27d%26e%27&db=%C3%A9"
        );
    }

    #[test]
    fn influxql_quoting() {
        assert_eq!(quote_ident(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote_string("it's"), r"'it\'s'");
    }
}

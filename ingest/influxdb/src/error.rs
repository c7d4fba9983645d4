//! What can go wrong talking to InfluxDB.

use std::time::Duration;

/// Queries echoed in error messages are cut to this many characters.
const MAX_QUERY_CHARS: usize = 200;

/// An InfluxDB client error.
///
/// Every message names the server URL and the operation (`ping`, ``query `…` ``, ``write to
/// database `…` ``), with the query text cut to about 200 characters.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The [`ClientConfig`](crate::ClientConfig) is unusable (no URLs, a URL that is not
    /// `http://` or `https://`).
    #[error("influxdb cluster `{name}`: {message}")]
    Config {
        /// The cluster name.
        name: String,
        /// What is wrong, naming the bad value.
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("{op} on {url} failed: {message}")]
    Transport {
        /// The server.
        url: String,
        /// What was being done (`ping`, ``query `…` ``, ``write to database `…` ``).
        op: String,
        /// The cause.
        message: String,
    },
    /// The server did not answer within the configured timeout.
    #[error("{op} on {url} timed out after {timeout:?}")]
    Timeout {
        /// The server.
        url: String,
        /// What was being done.
        op: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The server answered with a non-2xx status.
    #[error("{op} on {url} failed: HTTP {status}: {message}")]
    Http {
        /// The server.
        url: String,
        /// What was being done.
        op: String,
        /// The HTTP status.
        status: u16,
        /// InfluxDB's `{"error": …}` text, or the body as text.
        message: String,
    },
    /// A statement of a query failed (`results[i].error`, or a top-level `error` of a chunked
    /// answer).
    #[error("query `{query}` on {url} failed: {message}")]
    Query {
        /// The server.
        url: String,
        /// The query text (truncated).
        query: String,
        /// The failing statement, when InfluxDB says which.
        statement_id: Option<usize>,
        /// InfluxDB's error text.
        message: String,
    },
    /// The answer is not what InfluxDB sends.
    #[error("{op} on {url}: bad response body: {message}")]
    Body {
        /// The server.
        url: String,
        /// What was being done.
        op: String,
        /// What is wrong with it.
        message: String,
    },
}

impl Error {
    /// Whether trying again (or another server) may succeed: transport failures, timeouts and
    /// 5xx answers. 4xx answers, statement errors, bad bodies and bad configuration are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } => true,
            Error::Http { status, .. } => *status >= 500,
            Error::Config { .. } | Error::Query { .. } | Error::Body { .. } => false,
        }
    }

    /// The server the error came from (`None` for configuration errors).
    pub fn url(&self) -> Option<&str> {
        match self {
            Error::Config { .. } => None,
            Error::Transport { url, .. }
            | Error::Timeout { url, .. }
            | Error::Http { url, .. }
            | Error::Query { url, .. }
            | Error::Body { url, .. } => Some(url),
        }
    }
}

/// `query` cut to [`MAX_QUERY_CHARS`] characters, with `…` when cut.
pub(crate) fn truncate_query(query: &str) -> String {
    let query = query.trim();
    match query.char_indices().nth(MAX_QUERY_CHARS) {
        Some((at, _)) => format!("{}…", &query[..at]),
        None => query.to_string(),
    }
}

/// `text` cut to `max` characters, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_queries_are_cut_on_a_char_boundary() {
        let q = "é".repeat(500);
        let t = truncate_query(&q);
        assert_eq!(t.chars().count(), MAX_QUERY_CHARS + 1);
        assert!(t.ends_with('…'));
        assert_eq!(truncate_query("  SHOW DATABASES "), "SHOW DATABASES");
    }

    #[test]
    fn retryable_classification() {
        let http = |status| Error::Http {
            url: "http://a".into(),
            op: "ping".into(),
            status,
            message: String::new(),
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(404).is_retryable());
        let q = Error::Query {
            url: "http://a".into(),
            query: "SELECT".into(),
            statement_id: Some(0),
            message: "boom".into(),
        };
        assert!(!q.is_retryable());
        let t = Error::Transport {
            url: "http://a".into(),
            op: "ping".into(),
            message: "connection refused".into(),
        };
        assert!(t.is_retryable());
        assert_eq!(t.to_string(), "ping on http://a failed: connection refused");
    }
}

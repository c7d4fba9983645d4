//! Outputs: `httpOut`, `httpPost`, `influxDBOut`, `kapacitorLoopback`.

use super::{QUIET, ok, string, strings};
use crate::plan::{HttpOutSpec, HttpPostSpec, InfluxDbOutSpec, KapacitorLoopbackSpec, NodeSpec};
use crate::registry::{ArgKind, NodeDef, Param, Params, PropDef, Provides, Special, Wants};

/// Kapacitor rejects an `Authenticate` header (secrets belong in the configuration).
pub(super) fn check_headers(headers: &[(String, String)]) -> Result<(), String> {
    if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authenticate"))
    {
        return Err("cannot set 'authenticate' header".into());
    }
    Ok(())
}

pub(super) const HTTP_OUT: NodeDef = NodeDef {
    name: "httpOut",
    desc: "http_out",
    doc: "Caches the latest point or batch of each group, served at \
          `/kapacitor/v1/tasks/<task>/<endpoint>`.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!(["endpoint" String] []),
    props: &[QUIET],
    build: |a| {
        Ok(NodeSpec::HttpOut(HttpOutSpec {
            endpoint: string(a, 0)?,
            quiet: false,
        }))
    },
    validate: ok,
    special: Special::None,
};

pub(super) const HTTP_POST: NodeDef = NodeDef {
    name: "httpPost",
    desc: "http_post",
    doc: "POSTs every point or batch as JSON to a URL or a configured `[[httppost]]` endpoint.",
    wants: Wants::Any,
    provides: Provides::Same,
    params: params!([] [] "url" String),
    props: &[
        prop!(
            "endpoint",
            "A `[[httppost]]` endpoint from the configuration.",
            params!(["endpoint" String] []),
            HttpPost,
            |s, a| {
                s.endpoints.push(string(a, 0)?);
            }
        ),
        kv_prop!("header", "An HTTP header to send.", HttpPost, headers),
        flag_prop!(
            "captureResponse",
            "Log the response body of non-2xx responses.",
            HttpPost,
            capture_response
        ),
        str_prop!(
            "codeField",
            "Field receiving the HTTP status code (0 on transport error).",
            HttpPost,
            code_field
        ),
        dur_prop!("timeout", "Request timeout (0 = none).", HttpPost, timeout),
        QUIET,
    ],
    build: |a| {
        Ok(NodeSpec::HttpPost(HttpPostSpec {
            urls: strings(a, 0)?,
            ..HttpPostSpec::default()
        }))
    },
    validate: |spec| {
        let NodeSpec::HttpPost(s) = spec else {
            return Ok(());
        };
        if s.urls.len() >= 2 {
            return Err(format!(
                "httpPost expects 0 or 1 arguments, got {}",
                s.urls.len()
            ));
        }
        if s.endpoints.len() >= 2 {
            return Err(format!(
                "httpPost expects 0 or 1 endpoints, got {}",
                s.endpoints.len()
            ));
        }
        if s.urls.is_empty() && s.endpoints.is_empty() {
            return Err("must provide url or endpoint".into());
        }
        if !s.urls.is_empty() && !s.endpoints.is_empty() {
            return Err("only one endpoint and url may be specified".into());
        }
        if s.timeout < 0 {
            return Err("timeout must be positive".into());
        }
        check_headers(&s.headers)
    },
    special: Special::None,
};

pub(super) const INFLUXDB_OUT: NodeDef = NodeDef {
    name: "influxDBOut",
    desc: "influxdb_out",
    doc: "Writes points to InfluxDB (buffered).",
    wants: Wants::Any,
    provides: Provides::None,
    params: Params::NONE,
    props: &[
        str_prop!(
            "cluster",
            "The InfluxDB cluster (default: the default one).",
            InfluxDbOut,
            cluster
        ),
        str_prop!("database", "Target database.", InfluxDbOut, database),
        str_prop!(
            "retentionPolicy",
            "Target retention policy.",
            InfluxDbOut,
            retention_policy
        ),
        str_prop!(
            "measurement",
            "Override the measurement name.",
            InfluxDbOut,
            measurement
        ),
        str_prop!(
            "writeConsistency",
            "Write consistency (any, one, quorum, all).",
            InfluxDbOut,
            write_consistency
        ),
        str_prop!(
            "precision",
            "Write precision (n, u, ms, s, m, h).",
            InfluxDbOut,
            precision
        ),
        int_prop!(
            "buffer",
            "Number of points to buffer before writing (default 1000).",
            InfluxDbOut,
            buffer
        ),
        dur_prop!(
            "flushInterval",
            "Write buffered points at least this often (default 10s).",
            InfluxDbOut,
            flush_interval
        ),
        kv_prop!(
            "tag",
            "A static tag added to every point.",
            InfluxDbOut,
            tags
        ),
        flag_prop!(
            "create",
            "Create the database and retention policy on start.",
            InfluxDbOut,
            create
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::InfluxDbOut(InfluxDbOutSpec::default())),
    validate: |spec| {
        let NodeSpec::InfluxDbOut(s) = spec else {
            return Ok(());
        };
        if s.buffer < 0 {
            return Err("buffer must be positive".into());
        }
        if s.flush_interval < 0 {
            return Err("flushInterval must be positive".into());
        }
        Ok(())
    },
    special: Special::None,
};

pub(super) const KAPACITOR_LOOPBACK: NodeDef = NodeDef {
    name: "kapacitorLoopback",
    desc: "kapacitor_loopback",
    doc: "Writes points back into Kapacitor's own stream.",
    wants: Wants::Any,
    provides: Provides::None,
    params: Params::NONE,
    props: &[
        str_prop!(
            "database",
            "Database of the written points (required).",
            KapacitorLoopback,
            database
        ),
        str_prop!(
            "retentionPolicy",
            "Retention policy of the written points (required).",
            KapacitorLoopback,
            retention_policy
        ),
        str_prop!(
            "measurement",
            "Override the measurement name.",
            KapacitorLoopback,
            measurement
        ),
        kv_prop!(
            "tag",
            "A static tag added to every point.",
            KapacitorLoopback,
            tags
        ),
        QUIET,
    ],
    build: |_| Ok(NodeSpec::KapacitorLoopback(KapacitorLoopbackSpec::default())),
    validate: |spec| {
        let NodeSpec::KapacitorLoopback(s) = spec else {
            return Ok(());
        };
        if s.database.is_empty() {
            return Err("must specify a database".into());
        }
        if s.retention_policy.is_empty() {
            return Err("must specify a retention policy".into());
        }
        Ok(())
    },
    special: Special::None,
};

//! The collectd input (`[collectd]`), as InfluxDB's collectd service that Kapacitor runs:
//! collectd's binary network packets over UDP ([`kap_ingest::collectd`]), each value a
//! point, named by the `types.db` read at start.
//!
//! With `parse-multivalue-plugin = "split"` (the default) each value is a point of
//! `<plugin>_<value name>` with field `value`; with `join`, each value list is one point of
//! `<plugin>` with a field per value name. Tags: `host`, `instance` (the plugin instance),
//! `type` and `type_instance`, each when set. A packet that does not parse, or whose values
//! lack the security `security-level` asks for (signed or encrypted with a password of
//! `auth-file`), is dropped, counted and logged.

use super::runtime::Runtime;
use super::udp::{UdpListener, UdpSink};
use crate::config::CollectdConfig;
use anyhow::Context as _;
use kap_dataflow::point::{FieldValue, Fields, Point, Sym, Tags};
use kap_ingest::collectd::{self, TypesDb, ValueList};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Reads `types.db`: a file, or every file of a directory.
pub(crate) fn read_types(path: &str) -> anyhow::Result<TypesDb> {
    let read = |p: &Path| -> anyhow::Result<TypesDb> {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("[collectd] typesdb {}", p.display()))?;
        TypesDb::parse(&text)
            .map_err(|e| anyhow::anyhow!("[collectd] typesdb {}: {e}", p.display()))
    };
    let path = Path::new(path);
    if !path.is_dir() {
        return read(path);
    }
    let mut files: Vec<_> = std::fs::read_dir(path)
        .with_context(|| format!("[collectd] typesdb {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut types = TypesDb::default();
    for f in files {
        types.extend(read(&f)?);
    }
    Ok(types)
}

/// The points of one value list.
pub(crate) fn points(
    list: &ValueList,
    types: &TypesDb,
    join: bool,
    (db, rp): (&str, &str),
) -> Vec<Point> {
    let mut tags: Tags = Tags::default();
    for (k, v) in [
        ("host", &list.host),
        ("instance", &list.plugin_instance),
        ("type", &list.kind),
        ("type_instance", &list.type_instance),
    ] {
        if !v.is_empty() {
            tags.push((Sym::new(k), Sym::new(v)));
        }
    }
    let value = |i: usize| {
        (
            Sym::new(&list.ds_name(i, types)),
            FieldValue::Float(list.values[i]),
        )
    };
    if join {
        let fields: Fields = (0..list.values.len()).map(value).collect();
        return vec![Point::new(&list.plugin, tags, fields, list.time_ns).in_db(db, rp)];
    }
    (0..list.values.len())
        .map(|i| {
            let name = format!("{}_{}", list.plugin, list.ds_name(i, types));
            let fields = vec![(Sym::new("value"), FieldValue::Float(list.values[i]))];
            Point::new(&name, tags.clone(), fields, list.time_ns).in_db(db, rp)
        })
        .collect()
}

/// Starts the `[collectd]` listener when enabled (validated), serving until `stop` fires;
/// returns the address it is bound to.
pub async fn start(
    config: &CollectdConfig,
    default_rp: &str,
    runtime: Arc<Runtime>,
    stop: &tokio::sync::broadcast::Sender<()>,
) -> anyhow::Result<Option<SocketAddr>> {
    if !config.enabled {
        return Ok(None);
    }
    let types = Arc::new(read_types(&config.typesdb)?);
    let level: collectd::SecurityLevel = config
        .security_level
        .parse()
        .map_err(|e| anyhow::anyhow!("[collectd] security-level: {e}"))?;
    // As InfluxDB's service: the passwords are read only when the level asks for security.
    let auth = if level == collectd::SecurityLevel::None {
        None
    } else {
        let text = std::fs::read_to_string(&config.auth_file)
            .with_context(|| format!("[collectd] auth-file {}", config.auth_file))?;
        Some(
            collectd::AuthFile::parse(&text)
                .map_err(|e| anyhow::anyhow!("[collectd] auth-file {}: {e}", config.auth_file))?,
        )
    };
    let rp = crate::config::input_rp(&config.retention_policy, default_rp).to_string();
    let join = config.parse_multivalue_plugin == "join";
    let sink = UdpSink::new(move |packet, db, rp| {
        let opts = collectd::ParseOpts {
            level,
            auth: auth.as_ref(),
        };
        match collectd::parse_packet(packet, opts) {
            Ok(lists) => {
                let points: Vec<Point> = lists
                    .iter()
                    .flat_map(|l| points(l, &types, join, (db, rp)))
                    .collect();
                runtime.write_logged("collectd", points);
            }
            Err(e) => {
                runtime
                    .ingest
                    .points_rejected
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(db, "collectd packet dropped: {e}");
            }
        }
    });
    let listener = UdpListener::start(
        &config.bind_address,
        config.read_buffer,
        config.batch_pending.max(1) * 100,
        (&config.database, &rp),
        sink,
    )
    .with_context(|| format!("[collectd] listening on {}", config.bind_address))?;
    let addr = listener.addr();
    tracing::info!(%addr, db = %config.database, "listening for collectd");
    super::udp::stop_on(vec![listener], stop);
    Ok(Some(addr))
}

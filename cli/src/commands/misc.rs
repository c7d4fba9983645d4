//! `stats`, `vars`, `backup`, `level`, and the log streams `watch` and `logs`.

use crate::client::{Client, Context, Failure};
use std::path::PathBuf;

/// Arguments of `stats`.
#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// `general` (server summary) or `ingress` (points received per db, rp, measurement).
    #[arg(value_parser = ["general", "ingress"])]
    pub kind: String,
}

/// Arguments of `watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// The task whose log lines to print.
    pub task: String,
    /// More `key=value` pairs a line must have (e.g. `node=log2`, `lvl=error`).
    pub tags: Vec<String>,
}

/// Arguments of `logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// `key=value` pairs a line must have (e.g. `service=alerts`, `lvl=info+`: info and
    /// above).
    pub tags: Vec<String>,
}

/// `watch <task> [k=v…]`: prints the task's log lines as the daemon writes them.
pub(crate) fn watch(c: &Client, a: &WatchArgs) -> Result<(), Failure> {
    let mut pairs = vec![("task".to_string(), a.task.clone())];
    pairs.extend(key_values(&a.tags)?);
    tail_logs(c, &pairs)
}

/// `logs [k=v…]`: prints the daemon's log lines as it writes them.
pub(crate) fn logs(c: &Client, a: &LogsArgs) -> Result<(), Failure> {
    tail_logs(c, &key_values(&a.tags)?)
}

/// `key=value` arguments, or a usage error naming the bad one.
fn key_values(args: &[String]) -> Result<Vec<(String, String)>, Failure> {
    args.iter()
        .map(|s| match s.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.contains('=') => Ok((k.to_string(), v.to_string())),
            _ => Err(Failure::usage(format!(
                "bad key=value pair {s:?}: want key=value, e.g. lvl=info+"
            ))),
        })
        .collect()
}

/// Streams `/kapacitor/v1preview/logs` with these filters to stdout.
fn tail_logs(c: &Client, pairs: &[(String, String)]) -> Result<(), Failure> {
    use std::io::Write;
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::client::query_escape(k),
                crate::client::query_escape(v)
            )
        })
        .collect();
    let path = format!("/kapacitor/v1preview/logs?{}", query.join("&"));
    let stdout = std::io::stdout();
    c.stream(&path, &mut |bytes| {
        let mut out = stdout.lock();
        out.write_all(bytes)?;
        out.flush()
    })
    .context("stream the logs")
}

/// Arguments of `backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the backup.
    pub path: PathBuf,
}

/// Arguments of `level`.
#[derive(Debug, clap::Args)]
pub struct LevelArgs {
    /// The log level.
    #[arg(value_parser = ["debug", "info", "warn", "error"])]
    pub level: String,
}

/// Arguments of `service-tests`.
#[derive(Debug, clap::Args)]
pub struct ServiceTestsArgs {
    /// Service names or glob patterns (all services when none is given).
    pub patterns: Vec<String>,
}

/// The names of the services with a test matching `patterns` (all when empty), each once,
/// in the daemon's order.
pub(crate) fn service_test_names(c: &Client, patterns: &[String]) -> Result<Vec<String>, Failure> {
    let all = [String::new()];
    let patterns = if patterns.is_empty() {
        &all[..]
    } else {
        patterns
    };
    let mut names: Vec<String> = Vec::new();
    for p in patterns {
        let l: serde_json::Value = c.get(&format!(
            "/service-tests?pattern={}",
            crate::client::query_escape(p)
        ))?;
        for s in l["services"].as_array().cloned().unwrap_or_default() {
            if let Some(n) = s["name"].as_str()
                && !names.iter().any(|m| m == n)
            {
                names.push(n.to_string());
            }
        }
    }
    Ok(names)
}

/// `service-tests [PATTERN...]`: runs each matching service's test with its default options,
/// printing Kapacitor's table (`Service`, `Success`, `Message`).
pub(crate) fn service_tests(c: &Client, a: &ServiceTestsArgs) -> Result<(), Failure> {
    let names = service_test_names(c, &a.patterns).context("service-tests")?;
    let w = names.iter().map(String::len).max().unwrap_or(0).max(7) + 1;
    println!("{:<w$}{:<8}Message", "Service", "Success");
    for name in names {
        let r: serde_json::Value = c
            .send(
                "POST",
                &format!("/service-tests/{}", crate::client::path_escape(&name)),
                &serde_json::json!({}),
            )
            .context(format!("service test {name:?}"))?;
        println!(
            "{name:<w$}{:<8}{}",
            r["success"].as_bool().unwrap_or(false),
            text(&r["message"])
        );
    }
    Ok(())
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Every `{"name": "ingress", "tags": {...}, "values": {...}}` object in the vars, wherever
/// it is nested (`kapacitor` map in Kapacitor's expvar, or a list).
fn collect_stats<'a>(v: &'a serde_json::Value, name: &str, out: &mut Vec<&'a serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("name").and_then(|n| n.as_str()) == Some(name) && m.contains_key("values") {
                out.push(v);
                return;
            }
            for child in m.values() {
                collect_stats(child, name, out);
            }
        }
        serde_json::Value::Array(a) => {
            for child in a {
                collect_stats(child, name, out);
            }
        }
        _ => {}
    }
}

/// `stats general|ingress` from `GET /debug/vars`.
pub(crate) fn stats(c: &Client, a: &StatsArgs) -> Result<(), Failure> {
    let vars: serde_json::Value = c.get("/debug/vars").context("stats")?;
    if a.kind == "general" {
        for (label, key) in [
            ("ClusterID:", "cluster_id"),
            ("ServerID:", "server_id"),
            ("Host:", "host"),
            ("Tasks:", "num_tasks"),
            ("Enabled Tasks:", "num_enabled_tasks"),
            ("Subscriptions:", "num_subscriptions"),
            ("Version:", "version"),
        ] {
            println!("{label:<30}{}", text(&vars[key]));
        }
        return Ok(());
    }
    let mut found = Vec::new();
    collect_stats(&vars, "ingress", &mut found);
    let mut rows: Vec<(String, String, String, f64)> = found
        .iter()
        .filter(|s| {
            let tm = &s["tags"]["task_master"];
            tm.is_null() || tm.as_str() == Some("main")
        })
        .map(|s| {
            let tags = &s["tags"];
            (
                text(&tags["database"]),
                text(&tags["retention_policy"]),
                text(&tags["measurement"]),
                s["values"]["points_received"].as_f64().unwrap_or(0.0),
            )
        })
        .collect();
    rows.sort_by(|x, y| (&x.0, &x.1, &x.2).cmp(&(&y.0, &y.1, &y.2)));
    println!(
        "{:<30}{:<30}{:<30}{:<9}",
        "Database", "Retention Policy", "Measurement", "Points Received"
    );
    for (db, rp, m, n) in rows {
        println!("{db:<30}{rp:<30}{m:<30}{n:<9.0}");
    }
    Ok(())
}

/// `vars`: prints `/debug/vars` as the daemon sends it.
pub(crate) fn vars(c: &Client) -> Result<(), Failure> {
    let resp = c.call("GET", "/debug/vars", None::<&()>).context("vars")?;
    let body = String::from_utf8_lossy(&resp.body);
    println!("{}", body.trim_end());
    Ok(())
}

/// `backup PATH`: `GET /storage/backup` into a file.
pub(crate) fn backup(c: &Client, a: &BackupArgs) -> Result<(), Failure> {
    let resp = c
        .call("GET", "/storage/backup", None::<&()>)
        .context("backup")?;
    std::fs::write(&a.path, &resp.body)
        .map_err(|e| Failure::command(format!("backup: cannot write {}: {e}", a.path.display())))?;
    Ok(())
}

/// `level LEVEL`: `POST /loglevel {"level": LEVEL}`.
pub(crate) fn level(c: &Client, a: &LevelArgs) -> Result<(), Failure> {
    let body = serde_json::json!({ "level": a.level });
    c.send_empty("POST", "/loglevel", Some(&body))
        .context(format!("set log level {:?}", a.level))
}

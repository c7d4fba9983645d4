//! `kapacitord demo`: a daemon with a working example for a newcomer — an alerting task on
//! CPU idle, fed by a built-in generator of Telegraf-like points, printing its alerts.

use super::Daemon;
use crate::config::Config;
use kap_api_types::{CreateTask, DbRp};
use kap_dataflow::point::{FieldValue, Point, Sym};
use std::sync::Arc;
use std::time::Duration;

/// The example task.
pub const DEMO_SCRIPT: &str = r#"// CPU idle per host: warn below 30 %, critical below 10 %.
dbrp "telegraf"."autogen"

stream
    |from()
        .measurement('cpu')
        .where(lambda: "cpu" == 'cpu-total')
        .groupBy('host')
    |window()
        .period(10s)
        .every(5s)
    |mean('usage_idle')
        .as('idle')
    |alert()
        .id('{{ index .Tags "host" }}/cpu')
        .message('{{ .ID }} is {{ .Level }}: idle {{ index .Fields "idle" | printf "%.1f" }}%')
        .details('')
        .warn(lambda: "idle" < 30)
        .crit(lambda: "idle" < 10)
        .stateChangesOnly()
        .log('/dev/stdout')
"#;

/// The configuration of the demo: a fresh data dir under the system temp dir, no InfluxDB.
pub fn config(port: u16) -> Config {
    let mut c = Config {
        data_dir: std::env::temp_dir().join(format!("kapacitord-demo-{}", std::process::id())),
        ..Config::default()
    };
    c.http.bind_address = format!("127.0.0.1:{port}");
    // Self-contained: no InfluxDB to subscribe to or query.
    for cluster in &mut c.influxdb {
        cluster.enabled = false;
    }
    c
}

/// Defines and enables the example task, then writes a point per host every second whose
/// idle CPU falls, recovers and falls again, so alerts come within the first minute.
pub fn start(daemon: &Arc<Daemon>) -> anyhow::Result<()> {
    daemon
        .tasks
        .create(CreateTask {
            id: "cpu_idle".into(),
            script: DEMO_SCRIPT.into(),
            dbrps: Vec::<DbRp>::new(),
            status: "enabled".into(),
            ..CreateTask::default()
        })
        .map_err(|e| anyhow::anyhow!("defining the demo task: {}", e.message))?;
    let d = Arc::clone(daemon);
    std::thread::Builder::new()
        .name("demo-generator".into())
        .spawn(move || generate(&d))?;
    Ok(())
}

/// Idle CPU of `host` at second `t`: a 60 s cycle; server02 dips below 30 % and server03
/// below 10 % within the first 30 s.
pub fn idle(host: usize, t: i64) -> f64 {
    let phase = (t % 60) as f64 / 60.0 * std::f64::consts::TAU;
    let base = [70.0, 45.0, 35.0][host % 3];
    (base + 30.0 * phase.cos()).clamp(0.0, 100.0)
}

fn generate(d: &Daemon) {
    let hosts: Vec<Sym> = (1..=3).map(|i| Sym::new(&format!("server0{i}"))).collect();
    let start = chrono::Utc::now().timestamp();
    loop {
        let now = chrono::Utc::now();
        let t = now.timestamp();
        let ns = now.timestamp_nanos_opt().unwrap_or(0);
        let points = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                // Rising from the start so the first alerts come after ~15 s.
                let v = idle(i, t - start + 30);
                Point::new(
                    "cpu",
                    vec![
                        (Sym::new("cpu"), Sym::new("cpu-total")),
                        (Sym::new("host"), *h),
                    ],
                    vec![(Sym::new("usage_idle"), FieldValue::Float(v))],
                    ns,
                )
                .in_db("telegraf", "autogen")
            })
            .collect();
        if let Err(e) = d.runtime.write(points) {
            tracing::warn!("demo generator: {e}");
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_compiles_and_alerts_come_early() {
        kap_dsl::compile_source(DEMO_SCRIPT, &kap_dsl::CompileOptions::default())
            .expect("the demo script compiles");
        // server03 goes critical (< 10) within the first 30 s of the demo.
        assert!((0..30).any(|t| idle(2, t + 30) < 10.0));
        assert!((0..30).any(|t| idle(1, t + 30) < 30.0));
    }
}

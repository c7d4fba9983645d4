//! Kapacitor's REST API scenarios (vendored from `../shared/conformance/kapacitor-api`),
//! run by their own runner (`runner.py`) against real `kapacitord` processes: the shared
//! scenarios against one daemon, each fresh-daemon scenario against its own.

use crate::daemon::Daemon;
use std::path::PathBuf;
use std::process::Command;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus/kapacitor-api")
}

fn run(d: &Daemon, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(corpus().join("runner.py"))
        .arg(d.url())
        .args(args)
        .output()
        .expect("python3 runs the API corpus runner (the test command installs python3)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "API corpus failures:\n{text}");
    text
}

#[test]
fn shared_scenarios_pass_against_one_daemon() {
    let d = Daemon::start("apicorpus");
    let scenarios = corpus().join("scenarios");
    let text = run(&d, &[&scenarios.to_string_lossy(), "--retry-scale", "10"]);
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn fresh_daemon_scenarios_pass() {
    for name in [
        "TestServer_ListTask_Defaults",
        "TestServer_ListTasks",
        "TestServer_RecordReplayStream",
        "TestServer_RecordReplayStreamWithPost",
        "TestServer_TaskNums",
    ] {
        let d = Daemon::start(&format!("fresh-{name}"));
        let file = corpus().join("scenarios").join(format!("{name}.json"));
        let text = run(
            &d,
            &[
                &file.to_string_lossy(),
                "--include-fresh",
                "--retry-scale",
                "10",
            ],
        );
        assert!(text.contains("1 passed, 0 failed"), "{name}: {text}");
    }
}

#[test]
fn default_retention_policy_scenario_passes() {
    let d = Daemon::start_with("fresh-norp", "default-retention-policy = \"myrp\"");
    let file = corpus().join("scenarios/TestServer_StreamTask_NoRP.json");
    let text = run(
        &d,
        &[
            &file.to_string_lossy(),
            "--include-fresh",
            "--retry-scale",
            "10",
        ],
    );
    assert!(text.contains("1 passed, 0 failed"), "{text}");
}

#[test]
fn restart_scenario_passes_with_a_real_restart() {
    let d = Daemon::start("fresh-restart");
    let pid = d.dir.join("kapacitord.pid");
    let script = d.dir.join("restart.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\npid=$(cat {pid})\nkill -TERM \"$pid\"\n# Until it exits (the first daemon is the test's child: a zombie counts as gone).\nwhile [ -e /proc/$pid ]; do read -r _ _ state _ < /proc/$pid/stat; [ \"$state\" = Z ] && break; sleep 0.05; done\n{bin} -config {conf} -pidfile {pid} >/dev/null 2>>{log} &\n",
            pid = pid.display(),
            bin = env!("CARGO_BIN_EXE_kapacitord"),
            conf = d.config_path().display(),
            log = d.dir.join("kapacitord.log").display(),
        ),
    )
    .expect("restart script");
    let restart = format!("sh {}", script.display());
    for name in [
        "TestServer_AlertListTopics",
        "TestServer_AlertHandlers_CRUD__system",
        "TestServer_AlertListHandlers",
    ] {
        let file = corpus().join("scenarios").join(format!("{name}.json"));
        let text = run(
            &d,
            &[
                &file.to_string_lossy(),
                "--include-fresh",
                "--retry-scale",
                "10",
                "--restart-cmd",
                &restart,
            ],
        );
        assert!(text.contains("1 passed, 0 failed"), "{name}: {text}");
    }
}

//! kapacitord as a multi-process engine cluster (`[engine] cluster-addresses`): two real
//! daemons on 127.0.0.1, a task defined on one, points written to the other.

use crate::daemon::{Daemon, Extra, free_port, http_sink, wait_posts};
use std::time::{Duration, Instant};

/// Two daemons joined in one engine cluster, one worker each.
fn two_processes() -> Vec<Daemon> {
    two_processes_with("")
}

/// [`two_processes`], with `engine` added to each one's `[engine]` section.
fn two_processes_with(engine: &str) -> Vec<Daemon> {
    let addresses = format!(
        "[\"127.0.0.1:{}\", \"127.0.0.1:{}\"]",
        free_port(),
        free_port()
    );
    Daemon::start_all(
        (0..2)
            .map(|p| {
                let extra = Extra {
                    tail: format!(
                        "[engine]\nworkers = 1\ncluster-addresses = {addresses}\ncluster-process = {p}\n{engine}"
                    ),
                    ..Extra::default()
                };
                (if p == 0 { "cluster0" } else { "cluster1" }, extra)
            })
            .collect(),
    )
}

/// Eight hosts: the cluster's two workers (one per process) each hold some of them.
const HOSTS: usize = 8;

#[test]
fn a_task_defined_on_one_process_takes_points_written_to_another() {
    // Two tasks: `count` defined on process 1, `alert` on process 0; every point is
    // written to process 0, and each task's groups are held by the workers of both.
    let all = two_processes();
    let (url, posts) = http_sink();
    all[1].enable_task(
        "count",
        "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|count('value')|httpOut('count')",
    );
    all[0].enable_task(
        "alert",
        &format!(
            "stream|from().measurement('cpu').groupBy('host')|alert().id('{{{{ index .Tags \"host\" }}}}').crit(lambda: \"value\" > 5.0).post('{url}')"
        ),
    );
    // Every point goes to process 0: the `count` task, process 1's, takes them there.
    let mut lines = String::new();
    for t in 0..=10 {
        for h in 0..HOSTS {
            lines.push_str(&format!(
                "cpu,host=h{h} value={} {t}\n",
                if t == 0 { 10 } else { 1 }
            ));
        }
    }
    all[0].write_s(&lines);
    // httpOut gathers to the defining process, 1: each host's window [0, 10) counted there.
    let out = all[1].wait_json("/kapacitor/v1/tasks/count/count", 20, |v| {
        v["series"].as_array().is_some_and(|s| s.len() == HOSTS)
    });
    for s in out["series"].as_array().unwrap() {
        assert_eq!(s["values"][0][1], 10, "{out}");
    }
    // Each host went critical at t=0 and back to OK at t=1: the events of every host were
    // posted, by the defining process.
    let got = wait_posts(&posts, 2 * HOSTS);
    let mut ids: Vec<String> = got
        .iter()
        .map(|(_, body)| {
            let v: serde_json::Value = serde_json::from_str(body).unwrap();
            format!(
                "{} {}",
                v["id"].as_str().unwrap(),
                v["level"].as_str().unwrap()
            )
        })
        .collect();
    ids.sort();
    let mut want: Vec<String> = (0..HOSTS)
        .flat_map(|h| [format!("h{h} CRITICAL"), format!("h{h} OK")])
        .collect();
    want.sort();
    assert_eq!(ids, want);
    // The alert's topic is the defining process's: every host's state is there (the
    // events of the groups process 1 holds were relayed to it), and process 1 has none.
    let topic = "/kapacitor/v1/alerts/topics/main:alert:alert2/events";
    let events = all[0].wait_json(topic, 10, |v| {
        v["events"].as_array().is_some_and(|e| e.len() == HOSTS)
    });
    for e in events["events"].as_array().unwrap() {
        assert_eq!(e["state"]["level"], "OK", "{events}");
    }
    assert_eq!(all[1].req("GET", topic, None).0, 404);
    // Each process lists the task it defined, and only that one.
    for (d, id) in all.iter().zip(["alert", "count"]) {
        let tasks = d.json("/kapacitor/v1/tasks");
        let ids: Vec<&str> = tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [id]);
    }
}

#[test]
fn group_expiry_holds_on_every_process_of_the_cluster() {
    // `[engine] group-expiry = "1s"` on both processes: the groups each process's worker
    // holds are forgotten after a second of silence, on both. Every host sends from 0s to
    // 5s, then only h0 for three seconds; at 12s every host sends again, which would close
    // each host's window [0s, 10s) had it been kept: only h0's is emitted.
    let all = two_processes_with("group-expiry = \"1s\"\n");
    all[0].enable_task(
        "count",
        "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|count('value')|httpOut('count')",
    );
    let mut lines = String::new();
    for t in 0..=5 {
        for h in 0..HOSTS {
            lines.push_str(&format!("cpu,host=h{h} value=1 {t}\n"));
        }
    }
    all[1].write_s(&lines);
    let silence = Instant::now();
    let mut t = 6;
    while silence.elapsed() < Duration::from_secs(3) {
        all[1].write_s(&format!("cpu,host=h0 value=1 {}\n", t.min(9)));
        t += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut lines = String::new();
    for h in 0..HOSTS {
        lines.push_str(&format!("cpu,host=h{h} value=1 12\n"));
    }
    all[1].write_s(&lines);
    all[0].wait_json("/kapacitor/v1/tasks/count/count", 20, |v| {
        v["series"].as_array().is_some_and(|s| !s.is_empty())
    });
    // Give the other hosts' windows, had they been kept, time to come out too.
    std::thread::sleep(Duration::from_millis(500));
    let out = all[0].json("/kapacitor/v1/tasks/count/count");
    let hosts: Vec<&str> = out["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tags"]["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["h0"], "{out}");
}

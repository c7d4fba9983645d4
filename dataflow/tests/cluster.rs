//! A multi-process timely cluster: real processes (this test binary run again, once per
//! process of the cluster, by the test [`cluster_process`]) joined on 127.0.0.1, each with
//! its own engine. A task installed on one process runs on the workers of all; points
//! written to any process reach the worker of their group wherever it is; the alerts of
//! every group reach the installing process, and are exactly those of a single process.

use kap_dataflow::alert::{ALERTS_SERVICE, AlertEvent, AlertService, AlertSink};
use kap_dataflow::node::{LogSink, Services};
use kap_dataflow::point::{FieldValue, Point, Sym};
use kap_dataflow::runtime::{ClusterConfig, Engine, EngineConfig, Feed};
use kap_dsl::plan::{DbRp, Pipeline};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Set in the environment of a cluster process: `<mode> <process> <workers> <addr>...`.
const PROCESS_ENV: &str = "KAP_CLUSTER_PROCESS";

/// Begins what a cluster process says on its stdout (where the test harness writes too).
const SAYS: &str = "cluster> ";

const HOSTS: usize = 200;
const SECONDS: i64 = 40;

fn script() -> Pipeline {
    let script = "stream|from().measurement('cpu').groupBy('host')|window().period(10s).every(10s)|mean('value')|log()|alert().warn(lambda: \"mean\" < 50.0).crit(lambda: \"mean\" < 40.0).topic('cluster')";
    kap_dsl::compile_source(script, &Default::default())
        .expect("script compiles")
        .pipeline
}

/// One point per host per second, values from a xorshift; then one point per host 10 s
/// after the last, which closes every host's last window.
fn points() -> Vec<Point> {
    let mut out = Vec::new();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for t in 0..=SECONDS {
        let t = if t == SECONDS { SECONDS + 10 } else { t };
        for h in 0..HOSTS {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let tags = vec![(Sym::new("host"), Sym::new(&format!("h{h:03}")))];
            let fields = vec![(
                Sym::new("value"),
                FieldValue::Float((x % 10_000) as f64 / 100.0),
            )];
            out.push(Point::new("cpu", tags, fields, t * 1_000_000_000).in_db("db", "rp"));
        }
    }
    out
}

fn live() -> Feed {
    Feed::Live {
        dbrps: vec![DbRp {
            db: "db".into(),
            rp: "rp".into(),
        }],
        measurements: None,
    }
}

/// Every alert event published, as a line (id, time, level, previous level, message),
/// and the lines the `log` node wrote (one per window of a group this process holds).
#[derive(Debug, Default)]
struct Events(Mutex<Vec<String>>, AtomicUsize);

impl AlertSink for Events {
    fn publish(&self, e: AlertEvent) {
        let line = format!(
            "{} {} {:?} {:?} {}",
            e.id, e.time, e.level, e.previous_level, e.message
        );
        self.0.lock().unwrap().push(line);
    }
}

impl LogSink for Events {
    fn log(&self, _: &str, _: &str) {
        self.1.fetch_add(1, Ordering::Relaxed);
    }
}

fn services(events: &Arc<Events>) -> Services {
    let sink: Arc<dyn AlertSink> = Arc::<Events>::clone(events);
    Services {
        log: Arc::<Events>::clone(events),
        ..Services::default()
    }
    .with(ALERTS_SERVICE, Arc::new(AlertService(sink)))
}

/// The events of the whole computation on one process with one worker, sorted.
fn reference(feed: Feed) -> Vec<String> {
    let engine = Engine::start(EngineConfig {
        workers: 1,
        ..Default::default()
    })
    .unwrap();
    let events = Arc::new(Events::default());
    engine
        .install("t", &script(), services(&events), feed.clone())
        .unwrap();
    let points = points();
    match feed {
        Feed::Direct => {
            for chunk in points.chunks(1000) {
                engine.feed_points("t", chunk.to_vec()).unwrap();
            }
            engine.close_and_wait("t", Duration::from_secs(60)).unwrap();
        }
        Feed::Live { .. } => {
            for chunk in points.chunks(1000) {
                engine
                    .write_timeout(chunk.to_vec(), Duration::from_secs(10))
                    .unwrap();
            }
            engine.quiesce(Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    engine.shutdown();
    let mut events = events.0.lock().unwrap().clone();
    events.sort();
    events
}

/// A free port on 127.0.0.1 (free when asked).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One process of a test cluster, spoken to over its stdin and stdout.
struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Process {
    fn spawn(mode: &str, process: usize, workers: usize, addresses: &[String]) -> Process {
        let spec = format!("{mode} {process} {workers} {}", addresses.join(" "));
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cluster_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(PROCESS_ENV, spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Process {
            child,
            stdin,
            stdout,
        }
    }

    /// What the next line it says (after [`SAYS`]) that starts with `prefix` says after it.
    fn expect(&mut self, prefix: &str) -> String {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                self.stdout.read_line(&mut line).unwrap() > 0,
                "the cluster process exited before `{prefix}`"
            );
            // The harness may have begun the line (`test cluster_process ... `).
            if let Some((_, said)) = line.trim_end().split_once(SAYS)
                && let Some(rest) = said.strip_prefix(prefix)
            {
                return rest.to_string();
            }
        }
    }

    fn say(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Asks for its events (sorted) after everything it was to do.
    fn events(&mut self) -> Vec<String> {
        self.say("events");
        let n: usize = self.expect("events ").parse().unwrap();
        (0..n).map(|_| self.expect("event ")).collect()
    }

    /// Its events once it has `n` (or after 30 s): the events of other processes' workers
    /// arrive after the task's data has drained.
    fn events_when(&mut self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = self.events();
        while got.len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
            got = self.events();
        }
        got
    }

    /// Asks how many lines its `log` nodes wrote: the windows its workers emitted.
    fn logs(&mut self) -> usize {
        self.say("logs");
        self.expect("logs ").parse().unwrap()
    }

    /// Waits until it exits, and checks it exited cleanly.
    fn wait(mut self, deadline: Instant) {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "a cluster process failed: {status}");
                return;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("a cluster process did not stop");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Stops every process of a cluster: timely's processes leave together (each one's
/// connections close cleanly once every process's workers are done), so all are told
/// before any is waited for.
fn stop(all: Vec<Process>) {
    let mut all = all;
    for p in &mut all {
        p.say("stop");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for p in all {
        p.wait(deadline);
    }
}

/// Checks the events a process got are those wanted (saying which are missing, not all).
fn same(got: &[String], want: &[String]) {
    let missing: Vec<&String> = want.iter().filter(|w| !got.contains(w)).take(10).collect();
    assert!(
        got == want,
        "{} events, {} wanted; missing {missing:?}",
        got.len(),
        want.len()
    );
}

/// Starts a cluster of `processes` processes with `workers` workers each.
fn cluster(mode: &str, processes: usize, workers: usize) -> Vec<Process> {
    let addresses: Vec<String> = (0..processes)
        .map(|_| format!("127.0.0.1:{}", free_port()))
        .collect();
    let mut all: Vec<Process> = (0..processes)
        .map(|p| Process::spawn(mode, p, workers, &addresses))
        .collect();
    for p in &mut all {
        p.expect("ready");
    }
    all
}

#[test]
fn a_task_installed_on_one_process_runs_on_the_workers_of_every_process() {
    let want = reference(Feed::Direct);
    assert!(want.len() > 100, "the script must alert often");
    for workers in [1, 2] {
        let mut all = cluster("direct", 2, workers);
        // Process 0 installs the task, feeds it every point and waits until every worker
        // of the cluster has drained it.
        all[0].say("run");
        all[0].expect("drained");
        // Both processes' workers emitted windows (of the groups they hold)...
        let logs: Vec<usize> = all.iter_mut().map(Process::logs).collect();
        assert!(
            logs.iter().all(|n| *n > 0),
            "with {workers} workers per process, each process must hold groups: {logs:?}"
        );
        assert_eq!(logs.iter().sum::<usize>(), 4 * HOSTS, "{logs:?}");
        // ...and every alert event reached the installing process, as one process has them.
        same(&all[0].events_when(want.len()), &want);
        assert_eq!(all[1].events(), Vec::<String>::new());
        stop(all);
    }
}

#[test]
fn points_written_to_any_process_reach_the_worker_of_their_group() {
    let want = reference(live());
    assert!(want.len() > 100, "the script must alert often");
    let mut all = cluster("live", 2, 1);
    // Process 1 installs the live task; process 0 takes it when its worker has built it.
    all[1].say("install");
    all[1].expect("installed");
    all[0].expect("built");
    // Each process is written half of the hosts (every point of a host to one process, in
    // time order, as one writer would send them).
    for p in &mut all {
        p.say("write");
    }
    for p in &mut all {
        p.expect("written");
    }
    // Live windows emit on later points, and alerts arrive as the watermark passes: wait
    // until the cluster has published as many events as one process did.
    // Every event reached the installing process, 1; both processes held groups.
    same(&all[1].events_when(want.len()), &want);
    assert_eq!(all[0].events(), Vec::<String>::new());
    let logs: Vec<usize> = all.iter_mut().map(Process::logs).collect();
    assert!(logs.iter().all(|n| *n > 0), "{logs:?}");
    stop(all);
}

/// A process of a test cluster (only when run with [`PROCESS_ENV`]): starts its engine,
/// says `ready` and follows the commands it reads.
#[test]
fn cluster_process() {
    let Ok(spec) = std::env::var(PROCESS_ENV) else {
        return;
    };
    let mut words = spec.split(' ');
    let mode = words.next().unwrap().to_string();
    let process: usize = words.next().unwrap().parse().unwrap();
    let workers: usize = words.next().unwrap().parse().unwrap();
    let addresses: Vec<String> = words.map(str::to_string).collect();
    let events = Arc::new(Events::default());
    let built = Arc::new(AtomicBool::new(false));
    let for_others = {
        let events = Arc::clone(&events);
        let built = Arc::clone(&built);
        Arc::new(move |task: &str| {
            assert_eq!(task, "t");
            built.store(true, Ordering::SeqCst);
            services(&events)
        })
    };
    let engine = Engine::start(EngineConfig {
        workers,
        heartbeat: Duration::from_millis(10),
        cluster: Some(ClusterConfig {
            process,
            addresses,
            services: Some(for_others),
        }),
        ..Default::default()
    })
    .unwrap();
    println!("{SAYS}ready");
    let mine: Vec<Point> = points()
        .into_iter()
        .filter(|p| {
            let host = p.tags[0].1.as_str();
            host[1..].parse::<usize>().unwrap() % 2 == process
        })
        .collect();
    if mode == "live" && process == 0 {
        while !built.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        println!("{SAYS}built");
    }
    for line in std::io::stdin().lines() {
        match line.unwrap().as_str() {
            "run" => {
                engine
                    .install("t", &script(), services(&events), Feed::Direct)
                    .unwrap();
                for chunk in points().chunks(1000) {
                    engine.feed_points("t", chunk.to_vec()).unwrap();
                }
                engine.close_and_wait("t", Duration::from_secs(60)).unwrap();
                println!("{SAYS}drained");
            }
            "install" => {
                engine
                    .install("t", &script(), services(&events), live())
                    .unwrap();
                println!("{SAYS}installed");
            }
            "write" => {
                for chunk in mine.chunks(500) {
                    engine
                        .write_timeout(chunk.to_vec(), Duration::from_secs(10))
                        .unwrap();
                }
                println!("{SAYS}written");
            }
            "events" => {
                let mut all = events.0.lock().unwrap().clone();
                all.sort();
                println!("{SAYS}events {}", all.len());
                for e in all {
                    println!("{SAYS}event {e}");
                }
            }
            "logs" => println!("{SAYS}logs {}", events.1.load(Ordering::Relaxed)),
            "stop" => break,
            other => panic!("unknown command {other}"),
        }
    }
    engine.shutdown();
}

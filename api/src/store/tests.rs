//! Tests of the metadata store: each record kind, transactions, reopening, versions,
//! concurrency and durability across a `kill -9`.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use chrono::{DateTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 123_456_789)
        .unwrap()
}

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("kapacitor.db")
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db_path(&dir)).unwrap();
    (dir, store)
}

fn task(id: &str, status: &str) -> TaskRecord {
    TaskRecord {
        id: id.into(),
        template_id: None,
        task_type: "stream".into(),
        dbrps: vec![DbRpRecord {
            db: "telegraf".into(),
            rp: "autogen".into(),
        }],
        script: "stream\n    |from()\n        .measurement('cpu')\n".into(),
        vars: json!({"crit": {"type": "float", "value": 90.5}}),
        status: status.into(),
        created: t(0),
        modified: t(1),
        last_enabled: (status == "enabled").then(|| t(2)),
    }
}

fn template(id: &str) -> TemplateRecord {
    TemplateRecord {
        id: id.into(),
        task_type: "batch".into(),
        script: "var x = 1\nbatch|query('SELECT 1')".into(),
        created: t(0),
        modified: t(5),
    }
}

fn recording(id: &str) -> RecordingRecord {
    RecordingRecord {
        id: id.into(),
        kind: "stream".into(),
        size: 1 << 40,
        date: t(3),
        error: String::new(),
        status: "finished".into(),
        progress: 1.0,
    }
}

fn replay(id: &str) -> ReplayRecord {
    ReplayRecord {
        id: id.into(),
        task: "cpu".into(),
        recording: "rec1".into(),
        recording_time: true,
        clock: "fast".into(),
        date: t(4),
        error: "boom".into(),
        status: "failed".into(),
        progress: 0.25,
        stats: serde_json::Value::Null,
        dot: Default::default(),
    }
}

fn topic_state(topic: &str) -> TopicStateRecord {
    let mut events = BTreeMap::new();
    events.insert(
        "cpu:host=a".to_owned(),
        EventStateRecord {
            message: "cpu is CRITICAL".into(),
            details: "<b>details</b>".into(),
            time: t(6),
            duration_ns: 30_000_000_000,
            level: "CRITICAL".into(),
        },
    );
    events.insert(
        "cpu:host=b".to_owned(),
        EventStateRecord {
            message: "cpu is OK".into(),
            details: String::new(),
            time: t(7),
            duration_ns: 0,
            level: "OK".into(),
        },
    );
    TopicStateRecord {
        topic: topic.into(),
        events,
    }
}

fn handler(topic: &str, id: &str) -> HandlerRecord {
    HandlerRecord {
        topic: topic.into(),
        id: id.into(),
        kind: "post".into(),
        options: json!({"url": "http://localhost:9999/alert"}),
        match_expr: "changed() == TRUE".into(),
    }
}

/// Puts `a` and `b` (keys sorting in that order), then checks get, list, delete and that a
/// second delete finds nothing.
fn crud<R: Record + PartialEq + Clone + std::fmt::Debug>(store: &Store, a: R, b: R) {
    store.put(&b).unwrap();
    store.put(&a).unwrap();
    assert_eq!(store.get::<R>(&a.key()).unwrap().as_ref(), Some(&a));
    assert_eq!(store.get::<R>("missing").unwrap(), None);
    assert_eq!(store.list::<R>().unwrap(), vec![a.clone(), b.clone()]);
    assert!(store.delete::<R>(&a.key()).unwrap());
    assert!(!store.delete::<R>(&a.key()).unwrap());
    assert_eq!(store.get::<R>(&a.key()).unwrap(), None);
    assert_eq!(store.list::<R>().unwrap(), vec![b]);
}

#[test]
fn tasks_put_get_list_delete() {
    let (_dir, store) = open();
    crud(
        &store,
        task("a_task", "enabled"),
        task("b_task", "disabled"),
    );
}

#[test]
fn put_replaces_the_record_under_the_same_key() {
    let (_dir, store) = open();
    store.put(&task("cpu", "disabled")).unwrap();
    let mut updated = task("cpu", "enabled");
    updated.script = "stream|from()".into();
    store.put(&updated).unwrap();
    assert_eq!(store.list::<TaskRecord>().unwrap(), vec![updated]);
}

#[test]
fn templates_put_get_list_delete() {
    let (_dir, store) = open();
    crud(&store, template("t1"), template("t2"));
}

#[test]
fn recordings_put_get_list_delete() {
    let (_dir, store) = open();
    crud(&store, recording("r1"), recording("r2"));
}

#[test]
fn replays_put_get_list_delete() {
    let (_dir, store) = open();
    crud(&store, replay("p1"), replay("p2"));
}

#[test]
fn topic_states_put_get_list_delete() {
    let (_dir, store) = open();
    crud(
        &store,
        topic_state("main:cpu:alert2"),
        topic_state("main:mem:alert2"),
    );
}

#[test]
fn handlers_put_get_list_delete() {
    let (_dir, store) = open();
    crud(&store, handler("cpu", "h1"), handler("cpu", "h2"));
}

#[test]
fn handlers_list_by_topic_without_matching_longer_topic_names() {
    let (_dir, store) = open();
    for (topic, id) in [
        ("cpu2", "x"),
        ("cpu", "b"),
        ("cp", "z"),
        ("cpu", "a"),
        ("cpu\u{1}", "y"),
    ] {
        store.put(&handler(topic, id)).unwrap();
    }
    let ids = |topic: &str| -> Vec<String> {
        store
            .list_prefix::<HandlerRecord>(&HandlerRecord::topic_prefix(topic))
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(ids("cpu"), ["a", "b"]);
    assert_eq!(ids("cpu2"), ["x"]);
    assert_eq!(ids("cp"), ["z"]);
    assert!(ids("mem").is_empty());
    assert_eq!(
        store
            .get::<HandlerRecord>(&HandlerRecord::key_for("cpu", "b"))
            .unwrap(),
        Some(handler("cpu", "b"))
    );
}

#[test]
fn list_is_sorted_by_key_and_list_prefix_filters() {
    let (_dir, store) = open();
    for id in ["m", "b", "z", "ab", "a", "mm"] {
        store.put(&template(id)).unwrap();
    }
    let ids = |records: Vec<TemplateRecord>| records.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list().unwrap()), ["a", "ab", "b", "m", "mm", "z"]);
    assert_eq!(ids(store.list_prefix("a").unwrap()), ["a", "ab"]);
    assert_eq!(ids(store.list_prefix("m").unwrap()), ["m", "mm"]);
    assert!(ids(store.list_prefix("q").unwrap()).is_empty());
}

#[test]
fn record_kinds_do_not_share_tables() {
    let (_dir, store) = open();
    store.put(&task("same", "enabled")).unwrap();
    store.put(&template("same")).unwrap();
    assert!(store.delete::<TaskRecord>("same").unwrap());
    assert_eq!(
        store.get::<TemplateRecord>("same").unwrap(),
        Some(template("same"))
    );
}

#[test]
fn transaction_commits_all_writes_together() {
    let (_dir, store) = open();
    store.put(&task("old", "enabled")).unwrap();
    // Renaming a task: delete the old id, put the new one.
    let renamed = store
        .transaction(|tx| {
            let mut t = tx.get::<TaskRecord>("old")?.expect("old exists");
            t.id = "new".into();
            assert!(tx.delete::<TaskRecord>("old")?);
            tx.put(&t)?;
            tx.put(&template("tpl"))?;
            // Reads inside the transaction see its own writes.
            assert_eq!(tx.get::<TaskRecord>("old")?, None);
            assert_eq!(tx.list::<TaskRecord>()?, vec![t.clone()]);
            assert_eq!(tx.list_prefix::<TemplateRecord>("t")?.len(), 1);
            Ok::<_, StoreError>(t)
        })
        .unwrap();
    assert_eq!(store.list::<TaskRecord>().unwrap(), vec![renamed]);
    assert_eq!(
        store.list::<TemplateRecord>().unwrap(),
        vec![template("tpl")]
    );
}

#[derive(Debug)]
enum AppError {
    Store(StoreError),
    NotFound(String),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Store(e) => e.fmt(f),
            AppError::NotFound(m) => f.write_str(m),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

#[test]
fn an_error_inside_a_transaction_rolls_back_every_write() {
    let (_dir, store) = open();
    store.put(&task("keep", "enabled")).unwrap();
    store.put(&template("tpl")).unwrap();
    let before_tasks = store.list::<TaskRecord>().unwrap();
    let before_templates = store.list::<TemplateRecord>().unwrap();

    // A template update rewriting many tasks fails half way: none of it is kept.
    let result = store.transaction(|tx| {
        let mut tpl = template("tpl");
        tpl.script = "changed".into();
        tx.put(&tpl)?;
        assert!(tx.delete::<TaskRecord>("keep")?);
        for i in 0..10 {
            tx.put(&task(&format!("t{i}"), "enabled"))?;
        }
        tx.put(&recording("r"))?;
        Err::<(), _>(AppError::NotFound("task \"t10\" does not exist".into()))
    });
    let err = result.unwrap_err();
    assert!(matches!(err, AppError::NotFound(_)));
    assert_eq!(err.to_string(), "task \"t10\" does not exist");
    assert_eq!(store.list::<TaskRecord>().unwrap(), before_tasks);
    assert_eq!(store.list::<TemplateRecord>().unwrap(), before_templates);
    assert!(store.list::<RecordingRecord>().unwrap().is_empty());

    // The store stays usable after the rollback.
    store.put(&task("after", "disabled")).unwrap();
    assert_eq!(store.list::<TaskRecord>().unwrap().len(), 2);
}

#[test]
fn a_panic_inside_a_transaction_rolls_back_every_write() {
    let (_dir, store) = open();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        store
            .transaction(|tx| {
                tx.put(&task("ghost", "enabled"))?;
                panic!("handler crashed");
                #[allow(unreachable_code)]
                Ok::<(), StoreError>(())
            })
            .unwrap();
    }));
    assert!(result.is_err());
    assert_eq!(store.get::<TaskRecord>("ghost").unwrap(), None);
    store.put(&task("real", "enabled")).unwrap();
    assert_eq!(store.list::<TaskRecord>().unwrap().len(), 1);
}

#[test]
fn reopening_keeps_every_kind_of_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    {
        let store = Store::open(&path).unwrap();
        let clone = store.clone();
        store.put(&task("on", "enabled")).unwrap();
        store.put(&task("off", "disabled")).unwrap();
        clone.put(&template("tpl")).unwrap();
        clone.put(&recording("rec")).unwrap();
        clone.put(&replay("rpl")).unwrap();
        clone.put(&topic_state("main:cpu:alert2")).unwrap();
        clone.put(&handler("main:cpu:alert2", "post")).unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.path(), path);
    assert_eq!(store.enabled_tasks().unwrap(), vec![task("on", "enabled")]);
    assert_eq!(store.list::<TaskRecord>().unwrap().len(), 2);
    assert_eq!(store.get("tpl").unwrap(), Some(template("tpl")));
    assert_eq!(store.get("rec").unwrap(), Some(recording("rec")));
    assert_eq!(store.get("rpl").unwrap(), Some(replay("rpl")));
    assert_eq!(
        store.get("main:cpu:alert2").unwrap(),
        Some(topic_state("main:cpu:alert2"))
    );
    assert_eq!(
        store.list::<HandlerRecord>().unwrap(),
        vec![handler("main:cpu:alert2", "post")]
    );
}

#[test]
fn opening_a_store_that_is_already_open_names_the_file() {
    let (dir, _store) = open();
    let err = Store::open(&db_path(&dir)).unwrap_err();
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("kapacitor.db"), "{err}");
}

#[test]
fn opening_a_file_that_is_not_a_store_fails() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.db");
    std::fs::write(
        &path,
        b"definitely not a redb file, but long enough to be looked at",
    )
    .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(err.to_string().starts_with("opening store "), "{err}");
}

/// Writes raw `bytes` under `key` in `table`, as an older (or newer) kapacitord would have.
fn put_raw(store: &Store, table: RecordTable, key: &str, bytes: &[u8]) {
    let txn = store.db.begin_write().unwrap();
    txn.open_table(table).unwrap().insert(key, bytes).unwrap();
    txn.commit().unwrap();
}

/// Reads the raw bytes under `key` in `table`.
fn get_raw(store: &Store, table: RecordTable, key: &str) -> Vec<u8> {
    let txn = store.db.begin_read().unwrap();
    let table = txn.open_table(table).unwrap();
    table.get(key).unwrap().unwrap().value().to_vec()
}

/// The version 1 on-disk form of a task, written out by hand: changing how version 1 is
/// read breaks this test, which is the point.
const TASK_V1: &str = r#"{"v":1,"data":{
    "id":"cpu_alert","template_id":"tpl","task_type":"batch",
    "dbrps":[{"db":"telegraf","rp":"autogen"},{"db":"db2","rp":"rp2"}],
    "script":"batch|query('SELECT 1')","vars":{"n":{"type":"int","value":3}},
    "status":"enabled","created":"2023-11-14T22:13:20.123456789Z",
    "modified":"2023-11-14T22:13:21Z","last_enabled":null}}"#;

#[test]
fn a_version_1_record_reads_back() {
    let (_dir, store) = open();
    put_raw(&store, TaskRecord::TABLE, "cpu_alert", TASK_V1.as_bytes());
    let task = store.get::<TaskRecord>("cpu_alert").unwrap().unwrap();
    assert_eq!(
        task,
        TaskRecord {
            id: "cpu_alert".into(),
            template_id: Some("tpl".into()),
            task_type: "batch".into(),
            dbrps: vec![
                DbRpRecord {
                    db: "telegraf".into(),
                    rp: "autogen".into()
                },
                DbRpRecord {
                    db: "db2".into(),
                    rp: "rp2".into()
                },
            ],
            script: "batch|query('SELECT 1')".into(),
            vars: json!({"n": {"type": "int", "value": 3}}),
            status: "enabled".into(),
            created: t(0),
            modified: Utc.timestamp_opt(1_700_000_001, 0).unwrap(),
            last_enabled: None,
        }
    );
}

#[test]
fn records_are_written_in_a_version_envelope() {
    let (_dir, store) = open();
    store.put(&task("cpu", "enabled")).unwrap();
    let raw: serde_json::Value =
        serde_json::from_slice(&get_raw(&store, TaskRecord::TABLE, "cpu")).unwrap();
    assert_eq!(raw["v"], 1);
    assert_eq!(raw["data"]["id"], "cpu");
    assert_eq!(raw["data"]["created"], "2023-11-14T22:13:20.123456789Z");
    assert_eq!(
        raw["data"]["last_enabled"],
        "2023-11-14T22:13:22.123456789Z"
    );
}

#[test]
fn a_record_of_an_unknown_future_version_is_a_clear_error() {
    let (_dir, store) = open();
    put_raw(
        &store,
        TaskRecord::TABLE,
        "from_the_future",
        br#"{"v":7,"data":{"id":"from_the_future","new_field":true}}"#,
    );
    let err = store.get::<TaskRecord>("from_the_future").unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::FutureVersion {
                found: 7,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    for part in [
        "kapacitor.db",
        "'tasks'",
        "\"from_the_future\"",
        "version 7",
        "newer kapacitord",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg:?}");
    }
    // Listing fails the same way rather than silently skipping the record.
    assert!(matches!(
        store.list::<TaskRecord>(),
        Err(StoreError::FutureVersion { .. })
    ));
}

#[test]
fn a_corrupt_record_is_a_decode_error_naming_its_key() {
    let (_dir, store) = open();
    put_raw(
        &store,
        TemplateRecord::TABLE,
        "bad",
        b"{\"v\":1,\"data\":{\"id\":3}}",
    );
    let err = store.get::<TemplateRecord>("bad").unwrap_err();
    assert!(matches!(err, StoreError::Decode { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("decoding record \"bad\" in table 'templates'"),
        "{err}"
    );
    put_raw(&store, TemplateRecord::TABLE, "worse", b"\x00\x01");
    assert!(matches!(
        store.get::<TemplateRecord>("worse"),
        Err(StoreError::Decode { .. })
    ));
}

/// A record kind at version 2 whose version 1 called `name` what is now `id`, to exercise
/// migrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Widget {
    id: String,
    size: u32,
}

impl Record for Widget {
    const TABLE: RecordTable = TableDefinition::new("test_widgets");
    const VERSION: u32 = 2;

    fn key(&self) -> String {
        self.id.clone()
    }

    fn migrate(from: u32, mut data: serde_json::Value) -> Result<serde_json::Value, String> {
        match from {
            1 => {
                let obj = data.as_object_mut().ok_or("not an object")?;
                let name = obj.remove("name").ok_or("no name")?;
                obj.insert("id".into(), name);
                Ok(data)
            }
            _ => Err(format!("unknown widget version {from}")),
        }
    }
}

#[test]
fn older_versions_migrate_when_read() {
    let (_dir, store) = open();
    // A table that was never created reads as empty.
    assert!(store.list::<Widget>().unwrap().is_empty());
    assert_eq!(store.get::<Widget>("w").unwrap(), None);

    put_raw(
        &store,
        Widget::TABLE,
        "w1",
        br#"{"v":1,"data":{"name":"w1","size":3}}"#,
    );
    store
        .put(&Widget {
            id: "w2".into(),
            size: 4,
        })
        .unwrap();
    assert_eq!(
        store.list::<Widget>().unwrap(),
        vec![
            Widget {
                id: "w1".into(),
                size: 3
            },
            Widget {
                id: "w2".into(),
                size: 4
            }
        ]
    );

    put_raw(&store, Widget::TABLE, "w0", br#"{"v":0,"data":{}}"#);
    let err = store.get::<Widget>("w0").unwrap_err();
    assert!(
        err.to_string()
            .contains("migrating record \"w0\" in table 'test_widgets' from version 0 to 2: unknown widget version 0"),
        "{err}"
    );
}

#[test]
fn readers_see_only_committed_snapshots_while_a_writer_runs() {
    let (_dir, store) = open();
    const ROUNDS: usize = 200;
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        let writer = s.spawn(|| {
            for i in 0..ROUNDS {
                // Each round writes a pair in one transaction; readers must never see half.
                store
                    .transaction(|tx| {
                        tx.put(&template(&format!("a{i:04}")))?;
                        tx.put(&template(&format!("b{i:04}")))?;
                        Ok::<_, StoreError>(())
                    })
                    .unwrap();
            }
            done.store(true, Ordering::SeqCst);
        });
        let readers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut reads = 0;
                    let mut last = 0;
                    loop {
                        let finished = done.load(Ordering::SeqCst);
                        let a = store.list_prefix::<TemplateRecord>("a").unwrap().len();
                        let b = store.list_prefix::<TemplateRecord>("b").unwrap().len();
                        let all = store.list::<TemplateRecord>().unwrap();
                        assert!(all.len().is_multiple_of(2), "half a transaction seen");
                        assert!(all.len() >= last, "a snapshot went back in time");
                        last = all.len();
                        // `a` is read before `b`, so `b` can only have moved ahead.
                        assert!(b >= a, "b={b} a={a}");
                        reads += 1;
                        if finished {
                            assert_eq!(all.len(), 2 * ROUNDS);
                            return reads;
                        }
                    }
                })
            })
            .collect();
        writer.join().unwrap();
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    });
}

/// The variable that makes [`kill_child`] act: the store file it writes to.
const KILL_CHILD_ENV: &str = "KAP_STORE_TEST_KILL_CHILD";
const KILL_CHILD_READY: &str = "store: committed";

/// Not a test on its own: run by [`a_put_survives_kill_9`] in a child process, it writes a
/// record, says so, then waits to be killed.
#[test]
fn kill_child() {
    let Some(path) = std::env::var_os(KILL_CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&path)).unwrap();
    store.put(&task("survivor", "enabled")).unwrap();
    store.put(&topic_state("main:cpu:alert2")).unwrap();
    println!("{KILL_CHILD_READY}");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    thread::sleep(std::time::Duration::from_secs(120));
}

#[test]
fn a_put_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "store::tests::kill_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_CHILD_ENV, &path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ready = false;
    for line in stdout.lines() {
        if line.unwrap().contains(KILL_CHILD_READY) {
            ready = true;
            break;
        }
    }
    // `Child::kill` sends SIGKILL on Unix: no destructor, no clean shutdown.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ready, "the child exited before committing");

    let store = Store::open(&path).unwrap();
    assert_eq!(
        store.enabled_tasks().unwrap(),
        vec![task("survivor", "enabled")]
    );
    assert_eq!(
        store.get("main:cpu:alert2").unwrap(),
        Some(topic_state("main:cpu:alert2"))
    );
}

#[test]
fn store_and_errors_can_cross_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Store>();
    assert_send_sync::<StoreError>();
}

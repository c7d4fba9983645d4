//! Go's profiler endpoints, as Kapacitor serves them under `/kapacitor/v1/debug/pprof/`
//! with `[http] pprof-enabled = true` (without it they do not exist: 404).
//!
//! - `profile?seconds=N`: a CPU profile of the whole daemon (every thread: the engine's
//!   workers, HTTP, ingest) over `N` seconds (30 when missing or not positive, as Go),
//!   sampled 100 times a second, in the gzipped pprof protobuf Go's profiler writes, so
//!   `go tool pprof http://host:9092/kapacitor/v1/debug/pprof/profile` reads it. One at a
//!   time, as in Go: another answers 500 `Could not enable CPU profiling: cpu profiling
//!   already in use`. A client that goes away ends its profile.
//! - `cmdline`: the daemon's arguments, NUL-separated.
//! - the index (`/debug/pprof/`) lists them.
//!
//! kapacitord is not a Go program: Go's runtime profiles (`heap`, `goroutine`, `allocs`,
//! `block`, `mutex`, `threadcreate`, `trace`, `symbol`) do not exist; asking for one
//! answers 404 saying so (Go answers 404 `Unknown profile` for a name it does not know).

use super::Daemon;
use axum::Router;
use axum::extract::{Path, RawQuery};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The routes, nested under `/kapacitor/v1`.
pub(crate) fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/debug/pprof", get(index))
        .route("/debug/pprof/", get(index))
        .route("/debug/pprof/profile", get(profile))
        .route("/debug/pprof/cmdline", get(cmdline))
        .route("/debug/pprof/{name}", get(other))
}

/// Go's runtime profiles, which a Rust daemon does not have.
const GO_PROFILES: &[&str] = &[
    "allocs",
    "block",
    "goroutine",
    "heap",
    "mutex",
    "threadcreate",
    "trace",
    "symbol",
];

/// Whether a CPU profile is being taken (one at a time).
static PROFILING: AtomicBool = AtomicBool::new(false);

/// Go's default and the rate of `runtime.SetCPUProfileRate` it uses: 100 samples a second.
const HZ: i32 = 100;

/// A plain text answer, with Go's headers for pprof errors.
fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn index() -> Response {
    let body = "<html>\n<head>\n<title>/kapacitor/v1/debug/pprof/</title>\n</head>\n<body>\n\
                /kapacitor/v1/debug/pprof/<br>\n<br>\nTypes of profiles available:\n\
                <table>\n<thead><td>Count</td><td>Profile</td></thead>\n\
                <tr><td></td><td><a href='cmdline'>cmdline</a></td></tr>\n\
                <tr><td></td><td><a href='profile'>profile</a></td></tr>\n\
                </table>\n<br>\n<p>\n<ul>\n\
                <li><div class=profile-name>cmdline: </div> The command line invocation of \
                the current program</li>\n\
                <li><div class=profile-name>profile: </div> CPU profile. You can specify the \
                duration in the seconds GET parameter. After you get the profile file, use \
                the go tool pprof command to investigate the profile.</li>\n\
                </ul>\n</p>\n</body>\n</html>\n";
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

async fn cmdline() -> Response {
    let args: Vec<String> = std::env::args().collect();
    text(StatusCode::OK, args.join("\0"))
}

async fn other(Path(name): Path<String>) -> Response {
    if GO_PROFILES.contains(&name.as_str()) {
        return text(
            StatusCode::NOT_FOUND,
            format!(
                "Unknown profile: {name} is a profile of Go's runtime, and kapacitord is not a \
                 Go program; profile (CPU) and cmdline exist\n"
            ),
        );
    }
    text(StatusCode::NOT_FOUND, "Unknown profile\n".into())
}

/// Frees the profiler when the profile ends, whatever happened.
struct Profiling;

impl Drop for Profiling {
    fn drop(&mut self) {
        PROFILING.store(false, Ordering::SeqCst);
    }
}

async fn profile(RawQuery(query): RawQuery) -> Response {
    let seconds = super::http::Query::parse(query.as_deref())
        .get("seconds")
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(30);
    if PROFILING.swap(true, Ordering::SeqCst) {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Could not enable CPU profiling: cpu profiling already in use\n".into(),
        );
    }
    let profiling = Profiling;
    // Dropped with this future when the client goes away: the profile ends then.
    let (_client, gone) = std::sync::mpsc::channel::<()>();
    let taken = tokio::task::spawn_blocking(move || {
        let _profiling = profiling;
        cpu_profile(Duration::from_secs(seconds.unsigned_abs()), &gone)
    })
    .await;
    match taken {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"profile\"",
                ),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response(),
        Ok(Err(e)) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Could not enable CPU profiling: {e}\n"),
        ),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("Could not take the CPU profile: {e}\n"),
        ),
    }
}

/// Samples every thread for `duration` (less if `gone` says the client went away) and
/// returns the profile as Go's profiler writes it: pprof protobuf, gzipped.
fn cpu_profile(
    duration: Duration,
    gone: &std::sync::mpsc::Receiver<()>,
) -> Result<Vec<u8>, String> {
    use pprof::protos::Message;
    // Frames of these libraries are not unwound through: unwinding inside them from a
    // signal handler can deadlock (pprof-rs's advice).
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(HZ)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|e| e.to_string())?;
    let _ = gone.recv_timeout(duration);
    let report = guard.report().build().map_err(|e| e.to_string())?;
    drop(guard);
    let mut profile = report.pprof().map_err(|e| e.to_string())?;
    trim_profiler_frames(&mut profile);
    let mut raw = Vec::new();
    profile.encode(&mut raw).map_err(|e| e.to_string())?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).map_err(|e| e.to_string())?;
    gz.finish().map_err(|e| e.to_string())
}

/// Whether `function` is the profiler's own (the unwinder its signal handler runs).
fn profilers(function: &str) -> bool {
    function.starts_with("backtrace::")
        || function.starts_with("<pprof::")
        || function.starts_with("pprof::")
}

/// What a sample taken in a library the profiler does not unwind through (see
/// [`cpu_profile`]) shows as its stack; Go's profiles name such samples
/// `runtime._ExternalCode`.
const EXTERNAL: &str = "[external code: libc, libgcc, pthread or vdso]";

/// Drops, from the leaf end of every sample's stack, the frames of the profiler taking it
/// (its unwinder, inlined at one address): left there, they would be every sample's leaf,
/// and a `top` would show nothing but them. A stack of nothing else (a sample in a library
/// not unwound through) becomes one frame, [`EXTERNAL`].
fn trim_profiler_frames(profile: &mut pprof::protos::Profile) {
    use std::collections::{HashMap, HashSet};
    let names: HashMap<u64, &str> = profile
        .function
        .iter()
        .map(|f| {
            let name = usize::try_from(f.name)
                .ok()
                .and_then(|i| profile.string_table.get(i))
                .map_or("", String::as_str);
            (f.id, name)
        })
        .collect();
    let own: HashSet<u64> = profile
        .location
        .iter()
        .filter(|l| {
            !l.line.is_empty()
                && l.line
                    .iter()
                    .all(|line| names.get(&line.function_id).is_some_and(|n| profilers(n)))
        })
        .map(|l| l.id)
        .collect();
    let mut external = None;
    for i in 0..profile.sample.len() {
        let stack = &profile.sample[i].location_id;
        let skip = stack.iter().take_while(|id| own.contains(id)).count();
        if skip == 0 {
            continue;
        }
        if skip < stack.len() {
            profile.sample[i].location_id.drain(..skip);
            continue;
        }
        let location = *external.get_or_insert_with(|| external_location(profile));
        profile.sample[i].location_id = vec![location];
    }
}

/// Adds the location of [`EXTERNAL`] to `profile` (its function, its name) and returns its
/// id.
fn external_location(profile: &mut pprof::protos::Profile) -> u64 {
    let name = profile.string_table.len() as i64;
    profile.string_table.push(EXTERNAL.to_string());
    let function = profile.function.iter().map(|f| f.id).max().unwrap_or(0) + 1;
    profile.function.push(pprof::protos::Function {
        id: function,
        name,
        system_name: name,
        ..Default::default()
    });
    let location = profile.location.iter().map(|l| l.id).max().unwrap_or(0) + 1;
    profile.location.push(pprof::protos::Location {
        id: location,
        line: vec![pprof::protos::Line {
            function_id: function,
            line: 0,
        }],
        ..Default::default()
    });
    location
}

#[cfg(test)]
mod tests {
    use super::*;
    use pprof::protos::{Function, Line, Location, Profile, Sample};

    fn location(id: u64, functions: &[u64]) -> Location {
        Location {
            id,
            line: functions
                .iter()
                .map(|&f| Line {
                    function_id: f,
                    line: 0,
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn the_profiler_s_own_frames_leave_every_stack() {
        let names = [
            "",
            "backtrace::backtrace::trace_unsynchronized",
            "<pprof::backtrace::backtrace_rs::Trace as pprof::backtrace::Trace>::trace",
            "kap_dataflow::runtime::stage_logic",
        ];
        let mut profile = Profile {
            string_table: names.iter().map(|s| s.to_string()).collect(),
            function: (1..=3)
                .map(|i| Function {
                    id: i,
                    name: i as i64,
                    ..Default::default()
                })
                .collect(),
            location: vec![location(10, &[1, 2]), location(20, &[3])],
            sample: [vec![10, 20], vec![10], vec![20]]
                .into_iter()
                .map(|location_id| Sample {
                    location_id,
                    value: vec![1, 10_000_000],
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        trim_profiler_frames(&mut profile);
        let stacks: Vec<Vec<String>> = profile
            .sample
            .iter()
            .map(|s| {
                s.location_id
                    .iter()
                    .flat_map(|id| &profile.location.iter().find(|l| l.id == *id).unwrap().line)
                    .map(|line| {
                        let f = profile
                            .function
                            .iter()
                            .find(|f| f.id == line.function_id)
                            .unwrap();
                        profile.string_table[f.name as usize].clone()
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            stacks,
            [
                vec!["kap_dataflow::runtime::stage_logic".to_string()],
                vec![EXTERNAL.to_string()],
                vec!["kap_dataflow::runtime::stage_logic".to_string()],
            ]
        );
    }
}

//! `kapacitord`: the daemon binary. Thin: parse arguments, call the library, map the result
//! to an exit code.

/// mimalloc: the engine allocates and frees on different worker threads all the time, and
/// glibc's allocator handed memory back to the OS and faulted it in again on every batch
/// (measured by `benches/batch.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kap_api::cli::main(std::env::args_os().collect())
}

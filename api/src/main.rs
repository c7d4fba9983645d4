//! `kapacitord`: the daemon binary. Thin: all logic lives in the `kap_api` library.

fn main() -> std::process::ExitCode {
    match std::env::args().nth(1).as_deref() {
        Some("version") | Some("-version") | Some("--version") => {
            println!("Kapacitor (Rust) {}", kap_api::VERSION);
            std::process::ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "kapacitord: the daemon is not implemented yet in this build; only `kapacitord version` works"
            );
            std::process::ExitCode::from(2)
        }
    }
}

//! `kapacitord`: the daemon binary. Thin: parse arguments, call the library, map the result
//! to an exit code.

fn main() -> std::process::ExitCode {
    kap_api::cli::main(std::env::args_os().collect())
}

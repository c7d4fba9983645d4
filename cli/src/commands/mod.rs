//! One module per sub-command.

pub(crate) mod fmt;
pub(crate) mod vet;

/// Reads a script file, printing `kapacitor: <path>: <cause>` on failure.
pub(crate) fn read_script(path: &std::path::Path) -> Option<String> {
    match std::fs::read_to_string(path) {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("kapacitor: cannot read {}: {e}", path.display());
            None
        }
    }
}

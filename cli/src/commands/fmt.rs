//! `kapacitor fmt [--write] FILE`

use crate::exit;
use std::path::PathBuf;

/// Arguments of `fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Rewrite the file in place instead of printing it.
    #[arg(long)]
    pub write: bool,
    /// The TICKscript (or seed-form) file.
    pub file: PathBuf,
}

/// Prints (or writes back) the canonical form. A script that does not parse is left
/// untouched and its diagnostics are printed; exit 3.
pub(crate) fn run(args: &FmtArgs) -> u8 {
    let Some(src) = super::read_script(&args.file) else {
        return exit::COMMAND;
    };
    let file = args.file.display().to_string();
    match kap_dsl::format_source(&src) {
        Ok(out) => {
            if args.write {
                if out != src
                    && let Err(e) = std::fs::write(&args.file, &out)
                {
                    eprintln!("kapacitor: cannot write {file}: {e}");
                    return exit::COMMAND;
                }
            } else {
                print!("{out}");
            }
            exit::OK
        }
        Err(diags) => {
            eprint!("{}", kap_dsl::diagnostic::render_all(&diags, &file, &src));
            exit::COMMAND
        }
    }
}

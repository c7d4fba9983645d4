//! `kapacitor vet [--type stream|batch] FILE...`

use crate::exit;
use kap_dsl::eval::CompileOptions;
use kap_dsl::plan::TaskType;
use std::path::PathBuf;

/// Arguments of `vet`.
#[derive(Debug, clap::Args)]
pub struct VetArgs {
    /// Task type; inferred from each script when not given.
    #[arg(long = "type", value_parser = ["stream", "batch"])]
    pub task_type: Option<String>,
    /// Files to check (TICKscript, or the seed form such as `alert(avg(window(value, 10)), <, 30)`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

/// Checks every file; prints each diagnostic with line, column and caret. Exit 0 when no
/// file has an error, 3 otherwise (1 if a file cannot be read).
pub(crate) fn run(args: &VetArgs) -> u8 {
    let task_type = match args.task_type.as_deref() {
        Some("batch") => Some(TaskType::Batch),
        Some(_) => Some(TaskType::Stream),
        None => None,
    };
    let opts = CompileOptions {
        task_type,
        template: true,
        ..CompileOptions::default()
    };
    let mut failed = false;
    for path in &args.files {
        let Some(src) = super::read_script(path) else {
            failed = true;
            continue;
        };
        let file = path.display().to_string();
        match kap_dsl::compile_source(&src, &opts) {
            Ok(c) => {
                for w in &c.warnings {
                    eprint!("{}", w.render(&file, &src));
                }
                println!(
                    "{file}: ok ({} task, {} nodes)",
                    c.pipeline.task_type.name(),
                    c.pipeline.nodes.len()
                );
            }
            Err(diags) => {
                failed = true;
                let errors = diags.iter().filter(|d| d.is_error()).count();
                eprint!("{}", kap_dsl::diagnostic::render_all(&diags, &file, &src));
                eprintln!(
                    "{file}: {errors} error{}",
                    if errors == 1 { "" } else { "s" }
                );
            }
        }
    }
    if failed { exit::COMMAND } else { exit::OK }
}

//! Entry points that accept either language: TICKscript or the original design's seed form
//! (`alert(avg(window(value, 10)), <, 30)`), detected from the text.

use crate::diagnostic::Diagnostic;
use crate::eval::{CompileOptions, Compiled, compile};
use crate::expr::format_float;
use crate::seed::{self, SeedExpr};

/// The TICKscript a seed-form script stands for: `stream|from()` followed by the seed's
/// chain (see [`seed::seed_to_tickscript`]).
pub fn seed_script(src: &str) -> Result<String, Vec<Diagnostic>> {
    let e = seed::parse_seed(src)?;
    let fragment = seed::seed_to_tickscript(&e)?;
    Ok(format!("stream\n    |from()\n{fragment}"))
}

/// Compiles TICKscript or the seed form (detected with [`seed::looks_like_seed`]).
pub fn compile_source(src: &str, opts: &CompileOptions) -> Result<Compiled, Vec<Diagnostic>> {
    if seed::looks_like_seed(src) {
        let script = seed_script(src)?;
        // The generated script is checked too: a seed expression whose TICKscript does not
        // check (e.g. a stream-only node in a batch task) is reported against the seed text.
        return compile(&script, opts).map_err(|diags| {
            let span = seed::parse_seed(src).map(|e| e.span()).unwrap_or_default();
            diags
                .into_iter()
                .map(|mut d| {
                    d.notes.push(format!(
                        "in the TICKscript this seed form stands for:\n{script}"
                    ));
                    d.span = span;
                    d
                })
                .collect()
        });
    }
    compile(src, opts)
}

/// The canonical form of a script: tickfmt for TICKscript, `name(arg, arg)` with single
/// spaces for the seed form.
pub fn format_source(src: &str) -> Result<String, Vec<Diagnostic>> {
    if seed::looks_like_seed(src) {
        let e = seed::parse_seed(src)?;
        let mut out = format_seed(&e);
        out.push('\n');
        return Ok(out);
    }
    crate::format::format_script(src)
}

/// Prints a seed expression canonically: `alert(avg(window(value, 10)), <, 30)`.
pub fn format_seed(e: &SeedExpr) -> String {
    match e {
        SeedExpr::Call(c) => {
            let args: Vec<String> = c.args.iter().map(format_seed).collect();
            format!("{}({})", c.name.name, args.join(", "))
        }
        SeedExpr::Field(i) => i.name.clone(),
        SeedExpr::Int { value, .. } => value.to_string(),
        SeedExpr::Float { value, .. } => format_float(*value),
        SeedExpr::Duration { literal, .. } => literal.clone(),
        SeedExpr::Str { value, .. } => format!("'{}'", value.replace('\'', "\\'")),
        SeedExpr::Op { op, .. } => op.as_str().to_string(),
    }
}

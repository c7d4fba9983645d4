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

/// Reads one TICKscript literal (`10s`, `'a'`, `lambda: "x" > 1`…) into a [`crate::value::Value`], as the
/// API does for the values of vars given as JSON text (lambda and duration vars).
pub fn parse_literal(text: &str) -> Result<crate::value::Value, Vec<Diagnostic>> {
    let src = format!("var v = {text}\nstream\n    |from()\n");
    let compiled = compile(&src, &CompileOptions::default())?;
    compiled
        .vars
        .into_iter()
        .next()
        .and_then(|v| v.value)
        .ok_or_else(|| {
            vec![Diagnostic::error(
                crate::diagnostic::codes::BAD_LITERAL,
                format!("`{text}` is not a value"),
                crate::span::Span::default(),
            )]
        })
}

/// Reads the text of a lambda expression (without `lambda:`), as template vars of type
/// `lambda` carry it in the API.
pub fn parse_lambda(text: &str) -> Result<crate::expr::Expr, Vec<Diagnostic>> {
    match parse_literal(&format!("lambda: {text}"))? {
        crate::value::Value::Lambda(e) => Ok(e),
        _ => Err(vec![Diagnostic::error(
            crate::diagnostic::codes::BAD_LITERAL,
            format!("`{text}` is not a lambda expression"),
            crate::span::Span::default(),
        )]),
    }
}

#[cfg(test)]
mod literal_tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn literals_and_lambdas() {
        assert_eq!(
            parse_literal("10s").unwrap(),
            Value::Duration(10_000_000_000)
        );
        assert_eq!(parse_literal("'a'").unwrap(), Value::String("a".into()));
        let e = parse_lambda("\"value\" == 1.0").unwrap();
        assert_eq!(e.to_string(), "\"value\" == 1.0");
        assert!(parse_lambda("\"value\" ==").is_err());
    }
}

//! Script generation for the original design's workflow verbs, `kapacitor define streamer`
//! and `kapacitor define batcher`: pure text functions, no I/O.
//!
//! * [`where_to_lambda`] turns an InfluxQL condition (`cpu = 'cpu-total' AND host =~ /^a/`)
//!   into a TICKscript lambda body (`"cpu" == 'cpu-total' AND "host" =~ /^a/`); a lambda given
//!   as such passes through.
//! * [`split_query`] splits an InfluxQL `SELECT` into the query a batch `|query()` runs and the
//!   tags of its `GROUP BY`, which move to `.groupBy()`.
//! * [`classify_script`] tells a seed-form script, a chain fragment (`|window()...`) and a whole
//!   TICKscript apart; [`streamer_script`] and [`batcher_script`] assemble the task.
//!
//! ```
//! use kap_dsl::workflow::{StreamerSpec, streamer_script};
//!
//! let script = streamer_script(&StreamerSpec {
//!     measurement: Some("cpu".into()),
//!     condition: Some("cpu = 'cpu-total'".into()),
//!     script: "alert(avg(window(value, 10)), <, 30)".into(),
//! })
//! .unwrap();
//! assert!(script.starts_with(
//!     "stream\n    |from()\n        .measurement('cpu')\n        .where(lambda: \"cpu\" == 'cpu-total')\n    |window()"
//! ));
//! ```

use crate::query::{Tok, tokenize};
use crate::seed;

/// A problem with a workflow argument (`--where`, `--query`, `--script`…), as one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowError(pub String);

impl std::fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WorkflowError {}

fn err<T>(msg: impl Into<String>) -> Result<T, WorkflowError> {
    Err(WorkflowError(msg.into()))
}

/// What a `--script` file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// The seed form, e.g. `alert(avg(window(value, 10)), <, 30)`.
    Seed,
    /// A TICKscript chain fragment starting with `|`, continuing the generated source.
    Fragment,
    /// A whole TICKscript, sent as is.
    Whole,
}

/// Classifies a `--script` text (leading whitespace and `//` comments are skipped).
pub fn classify_script(src: &str) -> ScriptKind {
    if seed::looks_like_seed(src) {
        return ScriptKind::Seed;
    }
    let mut rest = src.trim_start();
    while let Some(comment) = rest.strip_prefix("//") {
        rest = comment
            .split_once('\n')
            .map(|(_, r)| r)
            .unwrap_or("")
            .trim_start();
    }
    if rest.starts_with('|') {
        ScriptKind::Fragment
    } else {
        ScriptKind::Whole
    }
}

/// Translates a `--where` condition into the body of a TICKscript lambda.
///
/// InfluxQL operators map to TICKscript's (`=` → `==`, `<>` → `!=`, `AND`/`OR` upper-cased),
/// bare identifiers become double-quoted references (`cpu` → `"cpu"`), and strings, numbers,
/// regexes, double-quoted identifiers and parentheses are kept. A bare identifier followed by
/// `(` is a function call and is kept. Text starting with `lambda:` is taken as TICKscript
/// and returned without that prefix; an already-TICKscript condition (`"cpu" == 'cpu-total'`)
/// comes out unchanged.
///
/// ```
/// use kap_dsl::workflow::where_to_lambda;
/// assert_eq!(
///     where_to_lambda("cpu = 'cpu-total' and (host <> 'a' or n >= 3)").unwrap(),
///     "\"cpu\" == 'cpu-total' AND (\"host\" != 'a' OR \"n\" >= 3)"
/// );
/// ```
pub fn where_to_lambda(cond: &str) -> Result<String, WorkflowError> {
    let cond = cond.trim();
    if let Some(rest) = cond.strip_prefix("lambda:") {
        let rest = rest.trim();
        if rest.is_empty() {
            return err("empty lambda in --where");
        }
        return Ok(rest.to_string());
    }
    if cond.is_empty() {
        return err("empty --where condition");
    }
    let toks = tokenize(cond).map_err(|e| WorkflowError(format!("--where: {e}")))?;
    let mut out = String::with_capacity(cond.len() + 8);
    let mut depth: i32 = 0;
    let mut operands = 0;
    for (idx, t) in toks.iter().enumerate() {
        let next = toks[idx + 1..].iter().find(|t| !t.is_trivia());
        match t {
            Tok::Space(_) | Tok::Comment(_) => out.push(' '),
            Tok::Ident(s) => {
                let upper = s.to_ascii_uppercase();
                match upper.as_str() {
                    "AND" | "OR" => out.push_str(&upper),
                    "TRUE" | "FALSE" => out.push_str(&upper),
                    "NOT" => out.push('!'),
                    _ if matches!(next, Some(Tok::Op("("))) => out.push_str(s),
                    _ => {
                        operands += 1;
                        out.push('"');
                        out.push_str(s);
                        out.push('"');
                    }
                }
            }
            Tok::QuotedIdent(s) | Tok::Str(s) | Tok::Number(s) | Tok::Regex(s) => {
                operands += 1;
                out.push_str(s);
            }
            Tok::Op(op) => {
                let mapped = match *op {
                    "=" | "==" => "==",
                    "<>" | "!=" => "!=",
                    "&&" => "AND",
                    "||" => "OR",
                    "(" => {
                        depth += 1;
                        "("
                    }
                    ")" => {
                        depth -= 1;
                        if depth < 0 {
                            return err(format!("--where: unbalanced `)` in `{cond}`"));
                        }
                        ")"
                    }
                    ";" | "::" | ":" | "." => {
                        return err(format!("--where: unexpected `{op}` in `{cond}`"));
                    }
                    other => other,
                };
                out.push_str(mapped);
            }
        }
    }
    if depth != 0 {
        return err(format!("--where: unbalanced `(` in `{cond}`"));
    }
    if operands == 0 {
        return err(format!("--where: no condition in `{cond}`"));
    }
    Ok(out)
}

/// An InfluxQL query split for a batch `|query()` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitQuery {
    /// The query without its `GROUP BY` clause, keywords upper-cased
    /// (`SELECT mean(value) FROM cpu_idle WHERE role = 'logs'`).
    pub select: String,
    /// The `GROUP BY` tags, as TICKscript arguments: `'dc'`, or `*` for all tags.
    pub group_by: Vec<String>,
    /// The `fill(...)` option of the query, as a TICKscript `.fill()` argument.
    pub fill: Option<String>,
}

/// InfluxQL keywords that are upper-cased in the generated query.
const KEYWORDS: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "AS", "GROUP", "BY", "INTO", "ORDER", "LIMIT",
    "OFFSET", "SLIMIT", "SOFFSET", "FILL", "ASC", "DESC", "NOT",
];

/// Splits `select ... from ... where ... group by a, b fill(none)` into the query a batch
/// task runs (`GROUP BY` removed, keywords upper-cased) and the tags that move to
/// `.groupBy()`. A `GROUP BY time(...)` in the query is an error (the batcher adds its own
/// from `--group-by`), as are `ORDER BY`, `LIMIT`, `OFFSET`, `SLIMIT`, `SOFFSET` and `INTO`.
pub fn split_query(query: &str) -> Result<SplitQuery, WorkflowError> {
    let q = query.trim().trim_end_matches(';').trim();
    let toks = tokenize(q).map_err(|e| WorkflowError(format!("--query: {e}")))?;
    let significant: Vec<&Tok<'_>> = toks.iter().filter(|t| !t.is_trivia()).collect();
    if !significant.first().is_some_and(|t| t.is_keyword("SELECT")) {
        return err(format!(
            "--query must be an InfluxQL SELECT statement, got `{q}`"
        ));
    }
    if !significant.iter().any(|t| t.is_keyword("FROM")) {
        return err(format!("--query has no FROM clause: `{q}`"));
    }
    for kw in ["ORDER", "LIMIT", "OFFSET", "SLIMIT", "SOFFSET", "INTO"] {
        if significant.iter().any(|t| t.is_keyword(kw)) {
            return err(format!("--query: {kw} is not supported in a batcher query"));
        }
    }
    // Find a top-level GROUP BY and FILL.
    let mut depth = 0;
    let mut group_at = None;
    let mut fill_at = None;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Op("(") => depth += 1,
            Tok::Op(")") => depth -= 1,
            _ if depth == 0 && t.is_keyword("GROUP") => {
                group_at.get_or_insert(i);
            }
            _ if depth == 0
                && t.is_keyword("FILL")
                && toks[i + 1..]
                    .iter()
                    .find(|t| !t.is_trivia())
                    .is_some_and(|t| *t == Tok::Op("(")) =>
            {
                fill_at.get_or_insert(i);
            }
            _ => {}
        }
    }
    let select_end = [group_at, fill_at]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(toks.len());
    let mut select = String::new();
    for t in &toks[..select_end] {
        match t {
            Tok::Ident(s) if KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s)) => {
                select.push_str(&s.to_ascii_uppercase());
            }
            Tok::Comment(_) => select.push(' '),
            other => select.push_str(other.text()),
        }
    }
    let select = select.trim_end().to_string();

    let mut group_by = Vec::new();
    if let Some(g) = group_at {
        let end = fill_at.filter(|f| *f > g).unwrap_or(toks.len());
        let clause: Vec<&Tok<'_>> = toks[g + 1..end].iter().filter(|t| !t.is_trivia()).collect();
        let Some((by, dims)) = clause.split_first() else {
            return err("--query: GROUP without BY");
        };
        if !by.is_keyword("BY") {
            return err("--query: GROUP without BY");
        }
        for dim in dims.split(|t| **t == Tok::Op(",")) {
            match dim {
                [Tok::Ident(s)] if s.eq_ignore_ascii_case("time") => {
                    return err("--query: remove GROUP BY time(...); --group-by sets it");
                }
                [Tok::Ident(s), Tok::Op("("), ..] if s.eq_ignore_ascii_case("time") => {
                    return err("--query: remove GROUP BY time(...); --group-by sets it");
                }
                [Tok::Ident(s)] => group_by.push(quote_tick(s)),
                [Tok::QuotedIdent(s)] => {
                    group_by.push(quote_tick(&crate::lexer::unquote(s, '"')));
                }
                [Tok::Op("*")] => group_by.push("*".to_string()),
                [Tok::Regex(_), ..] | [] => {
                    return err("--query: empty or unsupported GROUP BY dimension");
                }
                other => {
                    let text: Vec<&str> = other.iter().map(|t| t.text()).collect();
                    return err(format!(
                        "--query: unsupported GROUP BY dimension `{}`",
                        text.join("")
                    ));
                }
            }
        }
    }

    let mut fill = None;
    if let Some(f) = fill_at {
        let args: Vec<&Tok<'_>> = toks[f + 1..].iter().filter(|t| !t.is_trivia()).collect();
        match args.as_slice() {
            [Tok::Op("("), Tok::Ident(v), Tok::Op(")")] => {
                let v = v.to_ascii_lowercase();
                if !matches!(v.as_str(), "none" | "null" | "previous" | "linear") {
                    return err(format!("--query: unknown fill option `{v}`"));
                }
                fill = Some(quote_tick(&v));
            }
            [Tok::Op("("), Tok::Number(n), Tok::Op(")")] => fill = Some((*n).to_string()),
            [Tok::Op("("), Tok::Op("-"), Tok::Number(n), Tok::Op(")")] => {
                fill = Some(format!("-{n}"));
            }
            _ => {
                if group_at.is_some_and(|g| g > f) {
                    return err("--query: put fill(...) after GROUP BY");
                }
                return err("--query: fill(...) must end the query");
            }
        }
    }
    Ok(SplitQuery {
        select,
        group_by,
        fill,
    })
}

/// `s` as a TICKscript single-quoted string literal.
pub fn quote_tick(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Checks that `d` is a TICKscript duration literal (`15m`, `1h`, `10s`).
pub fn check_duration(flag: &str, d: &str) -> Result<(), WorkflowError> {
    if d.is_empty() || !d.starts_with(|c: char| c.is_ascii_digit()) {
        return err(format!(
            "{flag} must be a duration such as 15m or 1h, got `{d}`"
        ));
    }
    match crate::lexer::duration_value(d) {
        Ok(ns) if ns > 0 => Ok(()),
        Ok(_) => err(format!("{flag} must be positive, got `{d}`")),
        Err(e) => err(format!("{flag}: {e}")),
    }
}

/// The source a generated task starts from: the seed form lowers differently after each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `stream|from()`: points.
    Stream,
    /// `batch|query()`: batches.
    Batch,
}

/// The chain that follows the generated source for a seed or fragment `--script`; a whole
/// script is refused (the caller sends it as is instead).
///
/// After a batch source, each `|window()` link of the seed's lowering is preceded by
/// `|trickle()`: `window` takes points, and trickle turns the query's batches back into
/// points (one per row, in order, keeping the batch's group), so the seed's
/// `window(field, n)` keeps its meaning, "the last `n` rows", now over query results.
fn continuation(script: &str, source: Source) -> Result<String, WorkflowError> {
    match classify_script(script) {
        ScriptKind::Seed => {
            let e = seed::parse_seed(script).map_err(diags_error)?;
            let chain = seed::seed_to_tickscript(&e).map_err(diags_error)?;
            Ok(match source {
                Source::Stream => chain,
                Source::Batch => trickle_before_windows(&chain),
            })
        }
        ScriptKind::Fragment => {
            let mut s = script.trim_end().to_string();
            s.push('\n');
            // Indent a fragment written at column 0 as tickfmt would.
            if s.starts_with('|') {
                s.insert_str(0, "    ");
            }
            Ok(s)
        }
        ScriptKind::Whole => err("a whole TICKscript has no continuation"),
    }
}

/// Inserts `|trickle()` before each `|window()` of a chain that follows a batch source and
/// receives batches there. Edge types come from the registry (`mean` of a batch is a stream,
/// `derivative` keeps its input's type...). `chain` is tickfmt output, as
/// `seed_to_tickscript` prints it: one `    |node(...)` line per link.
fn trickle_before_windows(chain: &str) -> String {
    use crate::registry::{self, EdgeType};
    let mut edge = EdgeType::Batch;
    let mut out = String::with_capacity(chain.len() + 32);
    for line in chain.split_inclusive('\n') {
        if let Some(link) = line.strip_prefix("    |") {
            let name = link.split('(').next().unwrap_or_default();
            if name == "window" && edge == EdgeType::Batch {
                out.push_str("    |trickle()\n");
                edge = EdgeType::Stream;
            }
            if let Some(def) = registry::node(name) {
                edge = def.output(edge);
            }
        }
        out.push_str(line);
    }
    out
}

fn diags_error(d: Vec<crate::diagnostic::Diagnostic>) -> WorkflowError {
    let msgs: Vec<String> = d
        .iter()
        .map(|d| {
            format!(
                "{} (line {}, column {})",
                d.message, d.span.start.line, d.span.start.column
            )
        })
        .collect();
    WorkflowError(format!("--script: {}", msgs.join("; ")))
}

/// What `kapacitor define streamer` generates a stream task from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamerSpec {
    /// `--from`: the measurement to match (every measurement when `None`).
    pub measurement: Option<String>,
    /// `--where`: an InfluxQL condition or a TICKscript lambda.
    pub condition: Option<String>,
    /// The `--script` text: seed form, `|` fragment or whole TICKscript.
    pub script: String,
}

/// Builds the stream task: `stream|from().measurement(..).where(lambda: ..)` followed by the
/// seed's chain or the fragment. A whole TICKscript comes back unchanged; combined with
/// `--from`/`--where` it is an error.
pub fn streamer_script(spec: &StreamerSpec) -> Result<String, WorkflowError> {
    if classify_script(&spec.script) == ScriptKind::Whole {
        if spec.measurement.is_some() || spec.condition.is_some() {
            return err(
                "--from and --where apply to a seed-form script or a `|` fragment; --script holds a whole TICKscript",
            );
        }
        return Ok(spec.script.clone());
    }
    let mut out = String::from("stream\n    |from()\n");
    if let Some(m) = &spec.measurement {
        if m.trim().is_empty() {
            return err("--from needs a measurement name");
        }
        out.push_str(&format!("        .measurement({})\n", quote_tick(m.trim())));
    }
    if let Some(w) = &spec.condition {
        out.push_str(&format!(
            "        .where(lambda: {})\n",
            where_to_lambda(w)?
        ));
    }
    out.push_str(&continuation(&spec.script, Source::Stream)?);
    Ok(out)
}

/// What `kapacitor define batcher` generates a batch task from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatcherSpec {
    /// `--query`: an InfluxQL `SELECT`, possibly with `GROUP BY` tags.
    pub query: String,
    /// `--period`: how often the query runs (`.every()`).
    pub every: String,
    /// `--group-by`: the time range each run covers and its `GROUP BY time()` interval
    /// (`.period()` and `.groupBy(time(..))`).
    pub group_by: String,
    /// The `--script` text: seed form or `|` fragment (a whole TICKscript is not combined
    /// with a query).
    pub script: String,
}

/// Builds the batch task:
///
/// ```text
/// batch
///     |query('SELECT mean(value) FROM cpu_idle WHERE role = \'logs\'')
///         .period(1h)
///         .every(15m)
///         .groupBy(time(1h), 'dc')
/// ```
///
/// followed by the seed's chain or the fragment.
///
/// In the seed form, `window(field, n)` becomes `|trickle()|window().periodCount(n)
/// .everyCount(1)`: the query's rows are turned back into points so the window holds the
/// last `n` rows of each group, as it holds the last `n` points in a streamer; the rest
/// lowers as for a streamer. `alert(avg(window(value, 10)), <, 30)` after the query is
/// `|trickle()|window().periodCount(10).everyCount(1)|mean('value')|alert().crit(lambda:
/// "mean" < 30)`; without `window`, functions apply to each query result
/// (`alert(avg(value), <, 30)` is `|mean('value')|alert()...`).
pub fn batcher_script(spec: &BatcherSpec) -> Result<String, WorkflowError> {
    if classify_script(&spec.script) == ScriptKind::Whole {
        return err(
            "--query applies to a seed-form script or a `|` fragment; --script holds a whole TICKscript",
        );
    }
    check_duration("--period", &spec.every)?;
    check_duration("--group-by", &spec.group_by)?;
    let split = split_query(&spec.query)?;
    let mut group = vec![format!("time({})", spec.group_by)];
    group.extend(split.group_by.iter().cloned());
    let mut out = String::from("batch\n");
    out.push_str(&format!("    |query({})\n", quote_tick(&split.select)));
    out.push_str(&format!("        .period({})\n", spec.group_by));
    out.push_str(&format!("        .every({})\n", spec.every));
    out.push_str(&format!("        .groupBy({})\n", group.join(", ")));
    if let Some(f) = &split.fill {
        out.push_str(&format!("        .fill({f})\n"));
    }
    out.push_str(&continuation(&spec.script, Source::Batch)?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompileOptions, compile_source};

    fn compiles(script: &str) {
        if let Err(d) = compile_source(script, &CompileOptions::default()) {
            panic!("{script}\n{d:#?}");
        }
    }

    #[test]
    fn where_translation_cases() {
        let cases = [
            ("cpu = 'cpu-total'", "\"cpu\" == 'cpu-total'"),
            ("\"cpu\" == 'cpu-total'", "\"cpu\" == 'cpu-total'"),
            ("lambda: \"cpu\" == 'cpu-total'", "\"cpu\" == 'cpu-total'"),
            (
                "host <> 'a' AND value > 10",
                "\"host\" != 'a' AND \"value\" > 10",
            ),
            (
                "host != 'a' or value <= -1.5",
                "\"host\" != 'a' OR \"value\" <= -1.5",
            ),
            (
                "(a >= 1 OR b < 2) and c = 'x'",
                "(\"a\" >= 1 OR \"b\" < 2) AND \"c\" == 'x'",
            ),
            ("host =~ /^web\\/[0-9]+$/", "\"host\" =~ /^web\\/[0-9]+$/"),
            ("host !~ /db/", "\"host\" !~ /db/"),
            ("\"my tag\" = 'it\\'s'", "\"my tag\" == 'it\\'s'"),
            ("up = true", "\"up\" == TRUE"),
            ("strContains(host, 'web')", "strContains(\"host\", 'web')"),
        ];
        for (input, want) in cases {
            assert_eq!(where_to_lambda(input).unwrap(), want, "{input}");
            let script = format!("stream|from().where(lambda: {want})|httpOut('x')");
            compiles(&script);
        }
    }

    #[test]
    fn where_errors() {
        for bad in ["", "(a = 1", "a = 1)", "a = 'open", "a ; b", "lambda:"] {
            assert!(where_to_lambda(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classify() {
        assert_eq!(
            classify_script("alert(avg(window(value, 10)), <, 30)\n"),
            ScriptKind::Seed
        );
        assert_eq!(
            classify_script("// note\n  |alert().crit(lambda: TRUE)"),
            ScriptKind::Fragment
        );
        assert_eq!(
            classify_script("stream|from()|httpOut('x')"),
            ScriptKind::Whole
        );
    }

    #[test]
    fn streamer_seed_example_compiles() {
        let s = streamer_script(&StreamerSpec {
            measurement: Some("cpu".into()),
            condition: Some("cpu = 'cpu-total'".into()),
            script: "alert(avg(window(value, 10)), <, 30)\n".into(),
        })
        .unwrap();
        assert!(
            s.starts_with(
                "stream\n    |from()\n        .measurement('cpu')\n        .where(lambda: \"cpu\" == 'cpu-total')\n    |window()\n        .periodCount(10)\n        .everyCount(1)\n    |mean('value')\n"
            ),
            "{s}"
        );
        assert!(s.contains(".crit(lambda: \"mean\" < 30)"), "{s}");
        compiles(&s);
    }

    #[test]
    fn streamer_fragment_and_whole() {
        let s = streamer_script(&StreamerSpec {
            measurement: Some("mem".into()),
            condition: None,
            script: "|httpOut('m')\n".into(),
        })
        .unwrap();
        assert_eq!(
            s,
            "stream\n    |from()\n        .measurement('mem')\n    |httpOut('m')\n"
        );
        compiles(&s);
        let whole = "stream|from()|httpOut('x')";
        let spec = StreamerSpec {
            script: whole.into(),
            ..StreamerSpec::default()
        };
        assert_eq!(streamer_script(&spec).unwrap(), whole);
        let spec = StreamerSpec {
            measurement: Some("cpu".into()),
            script: whole.into(),
            ..StreamerSpec::default()
        };
        assert!(streamer_script(&spec).is_err());
    }

    #[test]
    fn split_query_moves_group_by_tags() {
        let q = split_query(
            "select mean(value) from cpu_idle where role = 'logs' group by dc, \"rack id\" fill(none)",
        )
        .unwrap();
        assert_eq!(
            q.select,
            "SELECT mean(value) FROM cpu_idle WHERE role = 'logs'"
        );
        assert_eq!(q.group_by, vec!["'dc'", "'rack id'"]);
        assert_eq!(q.fill.as_deref(), Some("'none'"));
        let q = split_query("SELECT max(v) FROM \"db\".\"rp\".m GROUP BY *").unwrap();
        assert_eq!(q.select, "SELECT max(v) FROM \"db\".\"rp\".m");
        assert_eq!(q.group_by, vec!["*"]);
        for bad in [
            "delete from x",
            "select v",
            "select v from m group by time(1m)",
            "select v from m limit 3",
            "select v from m group dc",
        ] {
            assert!(split_query(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn batcher_example_compiles() {
        let s = batcher_script(&BatcherSpec {
            query: "select mean(value) from cpu_idle where role = 'logs' group by dc".into(),
            every: "15m".into(),
            group_by: "1h".into(),
            script: "|alert()\n    .crit(lambda: \"mean\" < 30)\n".into(),
        })
        .unwrap();
        assert_eq!(
            s,
            "batch\n    |query('SELECT mean(value) FROM cpu_idle WHERE role = \\'logs\\'')\n        .period(1h)\n        .every(15m)\n        .groupBy(time(1h), 'dc')\n    |alert()\n    .crit(lambda: \"mean\" < 30)\n"
        );
        compiles(&s);
        let bad = BatcherSpec {
            every: "often".into(),
            ..BatcherSpec::default()
        };
        assert!(
            batcher_script(&BatcherSpec {
                script: "|httpOut('x')".into(),
                ..bad
            })
            .is_err()
        );
    }

    #[test]
    fn batcher_seed_form_trickles_before_window() {
        let s = batcher_script(&BatcherSpec {
            query: "select value from cpu_idle where role = 'logs' group by dc".into(),
            every: "15m".into(),
            group_by: "1h".into(),
            script: "alert(avg(window(value, 10)), <, 30)\n".into(),
        })
        .unwrap();
        assert!(
            s.starts_with(
                "batch\n    |query('SELECT value FROM cpu_idle WHERE role = \\'logs\\'')\n        .period(1h)\n        .every(15m)\n        .groupBy(time(1h), 'dc')\n    |trickle()\n    |window()\n        .periodCount(10)\n        .everyCount(1)\n    |mean('value')\n    |alert()\n"
            ),
            "{s}"
        );
        let plan = compile_source(&s, &CompileOptions::default())
            .unwrap_or_else(|d| panic!("{s}\n{d:#?}"))
            .pipeline;
        let kinds: Vec<&str> = plan
            .nodes
            .iter()
            .map(|n| n.name.trim_end_matches(|c: char| c.is_ascii_digit()))
            .collect();
        assert_eq!(
            kinds,
            ["batch", "query", "trickle", "window", "mean", "alert"]
        );
        // A chain per node: query -> trickle -> window -> mean -> alert.
        for pair in plan.nodes.windows(2) {
            assert!(
                plan.edges
                    .iter()
                    .any(|e| e.from == pair[0].id && e.to == pair[1].id),
                "{} -> {}",
                pair[0].name,
                pair[1].name
            );
        }

        // Only a window that receives batches gets a trickle (`mean` of a batch is a
        // point); no window, no trickle.
        let s = batcher_script(&BatcherSpec {
            query: "select value from m".into(),
            every: "1m".into(),
            group_by: "1m".into(),
            script: "alert(max(window(avg(window(value, 5)), 3)), >, 1)".into(),
        })
        .unwrap();
        assert_eq!(s.matches("|trickle()\n    |window()").count(), 1, "{s}");
        compiles(&s);
        let s = batcher_script(&BatcherSpec {
            query: "select value from m".into(),
            every: "1m".into(),
            group_by: "1m".into(),
            script: "alert(avg(value), >, 1)".into(),
        })
        .unwrap();
        assert!(!s.contains("trickle"), "{s}");
        assert!(s.contains("    |mean('value')\n    |alert()"), "{s}");
        compiles(&s);
        // The streamer is unchanged.
        let s = streamer_script(&StreamerSpec {
            script: "alert(avg(window(value, 10m)), <, 30)".into(),
            ..StreamerSpec::default()
        })
        .unwrap();
        assert!(!s.contains("trickle"), "{s}");
    }
}

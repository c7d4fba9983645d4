//! Go `text/template` / `html/template` behaviour tables (expected values are Go's output).

use std::collections::BTreeMap;

use kap_dataflow::template::{Data, ErrorKind, Funcs, Mode, Template, sprintf};

fn data() -> Data {
    let fields = Data::map([
        ("emitted", Data::Float(1.23456)),
        ("count", Data::Int(7)),
        ("name", Data::str("x<y")),
        ("ok", Data::Bool(true)),
        ("nothing", Data::Nil),
    ]);
    let tags: BTreeMap<String, String> = [("host", "serverA"), ("cpu", "cpu0")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Data::structure([
        ("Name", Data::str("cpu")),
        ("Group", Data::str("cpu=cpu0")),
        ("Level", Data::str("CRITICAL")),
        ("Fields", fields),
        ("Tags", Data::StringMap(tags)),
        (
            "List",
            Data::List(vec![Data::Int(1), Data::str("two"), Data::Float(3.5)]),
        ),
        ("Empty", Data::List(vec![])),
        ("Time", Data::Time(1_451_606_400_500_000_000)),
        ("Duration", Data::Duration(90_000_000_000)),
        ("Zero", Data::Int(0)),
        (
            "Inner",
            Data::structure([("A", Data::Int(1)), ("B", Data::str("b"))]),
        ),
    ])
}

fn run(text: &str) -> String {
    let t = Template::parse("t", text).unwrap_or_else(|e| panic!("parse {text:?}: {e}"));
    t.execute(&data())
        .unwrap_or_else(|e| panic!("exec {text:?}: {e}"))
}

fn run_html(text: &str) -> String {
    let t = Template::parse_html("t", text).unwrap_or_else(|e| panic!("parse {text:?}: {e}"));
    t.execute(&data())
        .unwrap_or_else(|e| panic!("exec {text:?}: {e}"))
}

fn check(cases: &[(&str, &str)]) {
    for (text, want) in cases {
        assert_eq!(run(text), *want, "template {text:?}");
    }
}

#[test]
fn text_fields_and_printing() {
    check(&[
        ("plain text", "plain text"),
        ("{{ .Name }}:{{ .Group }}", "cpu:cpu=cpu0"),
        ("{{.Inner.A}}-{{.Inner.B}}", "1-b"),
        ("{{ .Fields.count }}", "7"),
        ("{{ .Fields.emitted }}", "1.23456"),
        ("{{ .Fields.missing }}", "<no value>"),
        ("{{ .Fields.nothing }}", "<no value>"),
        ("{{ .Tags.host }}", "serverA"),
        ("{{ .Tags.missing }}", ""),
        (
            "{{ .Fields }}",
            "map[count:7 emitted:1.23456 name:x<y nothing:<nil> ok:true]",
        ),
        ("{{ .Tags }}", "map[cpu:cpu0 host:serverA]"),
        ("{{ .List }}", "[1 two 3.5]"),
        ("{{ .Inner }}", "{1 b}"),
        ("{{ .Time }}", "2016-01-01 00:00:00.5 +0000 UTC"),
        ("{{ .Duration }}", "1m30s"),
        (
            "{{ 1.0 }} {{ 1e21 }} {{ 0.000001 }} {{ 1e6 }}",
            "1 1e+21 1e-06 1e+06",
        ),
        (
            "{{ 42 }} {{ -7 }} {{ 0x1F }} {{ 'a' }} {{ 1_000 }}",
            "42 -7 31 97 1000",
        ),
        ("{{ true }} {{ false }}", "true false"),
        (r#"{{ "a\tb\u00e9\x41" }}"#, "a\tbéA"),
        ("{{ `raw\\n` }}", "raw\\n"),
        ("{{/* a comment */}}x", "x"),
        ("{{ $ }}", &data().to_go_string()),
    ]);
}

#[test]
fn trim_markers() {
    check(&[
        ("a  {{- .Name -}}  b", "acpub"),
        ("a\n\t{{- .Name }} b", "acpu b"),
        ("a {{ .Name -}}\n\n b", "a cpub"),
        ("a {{- /* c */ -}} b", "ab"),
        ("{{-3}}", "-3"),
        ("{{ 3 -}} x", "3x"),
    ]);
}

#[test]
fn control_flow() {
    check(&[
        ("{{ if .Fields.ok }}yes{{ end }}", "yes"),
        ("{{ if .Zero }}yes{{ else }}no{{ end }}", "no"),
        (
            "{{ if .Fields.missing }}a{{ else if .Zero }}b{{ else }}c{{ end }}",
            "c",
        ),
        (
            "{{ if eq .Level \"OK\" }}a{{ else if eq .Level \"CRITICAL\" }}b{{ end }}",
            "b",
        ),
        ("{{ range .List }}[{{ . }}]{{ end }}", "[1][two][3.5]"),
        (
            "{{ range $i, $v := .List }}{{ $i }}={{ $v }};{{ end }}",
            "0=1;1=two;2=3.5;",
        ),
        ("{{ range $v := .List }}{{ $v }}{{ end }}", "1two3.5"),
        (
            "{{ range $k, $v := .Tags }}{{ $k }}={{ $v }},{{ end }}",
            "cpu=cpu0,host=serverA,",
        ),
        (
            "{{ range $k, $v := .Fields }}{{ $k }} {{ end }}",
            "count emitted name nothing ok ",
        ),
        ("{{ range .Empty }}x{{ else }}empty{{ end }}", "empty"),
        (
            "{{ range .Fields.missing }}x{{ else }}none{{ end }}",
            "none",
        ),
        ("{{ range 3 }}{{ . }}{{ end }}", "012"),
        (
            "{{ range .List }}{{ if eq (print .) \"two\" }}{{ break }}{{ end }}{{ . }}{{ end }}",
            "1",
        ),
        (
            "{{ range .List }}{{ if eq (print .) \"two\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            "13.5",
        ),
        ("{{ with .Inner }}{{ .B }}{{ end }}", "b"),
        (
            "{{ with .Fields.missing }}x{{ else }}nothing{{ end }}",
            "nothing",
        ),
        (
            "{{ with .Zero }}x{{ else with .Name }}{{ . }}{{ end }}",
            "cpu",
        ),
        ("{{ $x := 1 }}{{ $x }}{{ $x = 2 }}{{ $x }}", "12"),
        ("{{ $x := .Inner }}{{ $x.B }}", "b"),
        (
            "{{ $n := .Name }}{{ with .Inner }}{{ $n }}{{ $.Name }}{{ .A }}{{ end }}",
            "cpucpu1",
        ),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 5 }}{{ end }}{{ $x }}",
            "5",
        ),
        ("{{ (.Inner).B }} {{ (index .List 1) }}", "b two"),
        ("{{ .Name | printf \"%s!\" }}", "cpu!"),
        (
            "{{ .Fields.count | printf \"%d-%s\" \"x\" }}",
            "%!d(string=x)-%!s(int64=7)",
        ),
    ]);
}

#[test]
fn functions() {
    check(&[
        (
            "{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 \"\" }} {{ or 0 3 }}",
            "0 2  3",
        ),
        ("{{ and .Zero .Fields.missing.x }}", "0"),
        ("{{ or .Name .Fields.missing.x }}", "cpu"),
        ("{{ not 0 }} {{ not .Name }}", "true false"),
        (
            "{{ len .List }} {{ len .Name }} {{ len .Fields }} {{ len .Tags }}",
            "3 3 5 2",
        ),
        ("{{ index .Fields \"count\" }}", "7"),
        ("{{ index .Fields \"nope\" }}", "<no value>"),
        (
            "{{ index .Tags \"nope\" }}|{{ index .Tags \"cpu\" }}",
            "|cpu0",
        ),
        ("{{ index .List 1 }}", "two"),
        ("{{ index . }}", &data().to_go_string()),
        (
            "{{ slice .Name 1 }} {{ slice .List 1 2 }} {{ slice .Name }}",
            "pu [two] cpu",
        ),
        ("{{ print 1 2 \"a\" 3 \"b\" \"c\" }}", "1 2a3bc"),
        ("{{ print nil }}", "<nil>"),
        ("{{ println 1 \"a\" }}", "1 a\n"),
        (
            "{{ html \"<a href='x'>&\\\"\" }}",
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;",
        ),
        (
            "{{ js \"it's <b> = \\\"x\\\"\" }}",
            "it\\'s \\u003Cb\\u003E \\u003D \\\"x\\\"",
        ),
        ("{{ urlquery \"a b&c=d/é\" }}", "a+b%26c%3Dd%2F%C3%A9"),
        (
            "{{ eq .Level \"CRITICAL\" }} {{ eq .Level \"OK\" \"CRITICAL\" }}",
            "true true",
        ),
        (
            "{{ eq 1 2 3 }} {{ ne 1 2 }} {{ ne \"a\" \"a\" }}",
            "false true false",
        ),
        (
            "{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge 2 2 }}",
            "true true false true",
        ),
        (
            "{{ lt 1.5 2.5 }} {{ lt \"a\" \"b\" }} {{ gt .Duration 0 }}",
            "true true true",
        ),
        ("{{ eq .Fields.emitted 1.23456 }}", "true"),
        ("{{ eq .Fields.missing nil }}", "true"),
        ("{{ json .Inner }}", "{\"A\":1,\"B\":\"b\"}\n"),
        (
            "{{ jsonCompact .Tags }}",
            "{\"cpu\":\"cpu0\",\"host\":\"serverA\"}",
        ),
        ("{{ json .Fields.name }}", "\"x\\u003cy\"\n"),
        (
            "{{ json .Time }}{{ json .Duration }}",
            "\"2016-01-01T00:00:00.5Z\"\n90000000000\n",
        ),
        (
            "{{ jsonCompact .Fields }}",
            r#"{"count":7,"emitted":1.23456,"name":"x\u003cy","nothing":null,"ok":true}"#,
        ),
    ]);
}

#[test]
fn printf_verbs() {
    let f = |format: &str, args: &[Data]| sprintf(format, &args.iter().collect::<Vec<_>>());
    let cases: Vec<(String, &str)> = vec![
        (f("%0.3f", &[Data::Float(1.23456)]), "1.235"),
        (f("%5.2f|", &[Data::Float(3.14259)]), " 3.14|"),
        (f("%-5s|", &[Data::str("ab")]), "ab   |"),
        (f("%5s|", &[Data::str("ab")]), "   ab|"),
        (f("%03d", &[Data::Int(7)]), "007"),
        (f("%03d", &[Data::Int(-7)]), "-07"),
        (f("%+d % d", &[Data::Int(5), Data::Int(5)]), "+5  5"),
        (f("%.3d", &[Data::Int(7)]), "007"),
        (
            f(
                "%x %X %o %b %#x",
                &[
                    Data::Int(255),
                    Data::Int(255),
                    Data::Int(8),
                    Data::Int(5),
                    Data::Int(255),
                ],
            ),
            "ff FF 10 101 0xff",
        ),
        (
            f("%c %q %U", &[Data::Int(65), Data::Int(65), Data::Int(65)]),
            "A 'A' U+0041",
        ),
        (
            f(
                "%v %v %v",
                &[Data::Int(1), Data::Float(2.5), Data::Bool(true)],
            ),
            "1 2.5 true",
        ),
        (f("%v", &[Data::Float(1e6)]), "1e+06"),
        (
            f(
                "%f %e %g",
                &[Data::Float(1.0), Data::Float(1.0), Data::Float(1.0)],
            ),
            "1.000000 1.000000e+00 1",
        ),
        (
            f(
                "%.2e %E %G",
                &[Data::Float(123456.0), Data::Float(1e-7), Data::Float(1e21)],
            ),
            "1.23e+05 1.000000E-07 1E+21",
        ),
        (
            f(
                "%.3g %g %.3g",
                &[
                    Data::Float(3.14259),
                    Data::Float(100000.0),
                    Data::Float(1234567.0),
                ],
            ),
            "3.14 100000 1.23e+06",
        ),
        (
            f(
                "%08.3f|%-8.2f|%+.1f",
                &[Data::Float(-3.14259), Data::Float(2.5), Data::Float(2.0)],
            ),
            "-003.143|2.50    |+2.0",
        ),
        (f("%06.2f", &[Data::Float(3.14259)]), "003.14"),
        (
            f(
                "%5.1f|%05f",
                &[Data::Float(f64::NAN), Data::Float(f64::INFINITY)],
            ),
            "  NaN|  Inf",
        ),
        (
            f("%s %q", &[Data::str("hi"), Data::str("a\"b")]),
            "hi \"a\\\"b\"",
        ),
        (
            f("%.2s|%x", &[Data::str("hello"), Data::str("hi")]),
            "he|6869",
        ),
        (f("%t %v", &[Data::Bool(false), Data::Nil]), "false <nil>"),
        (f("%d", &[Data::str("x")]), "%!d(string=x)"),
        (f("%d", &[Data::Float(1.5)]), "%!d(float64=1.5)"),
        (f("%f", &[Data::Int(3)]), "%!f(int64=3)"),
        (f("%s", &[Data::Int(3)]), "%!s(int64=3)"),
        (f("%f", &[Data::Nil]), "%!f(<nil>)"),
        (f("%d %d", &[Data::Int(1)]), "1 %!d(MISSING)"),
        (
            f("%d", &[Data::Int(1), Data::str("a"), Data::Nil]),
            "1%!(EXTRA string=a, <nil>)",
        ),
        (f("100%%", &[]), "100%"),
        (f("%", &[]), "%!(NOVERB)"),
        (f("%z", &[Data::Int(1)]), "%!z(int64=1)"),
        (
            f(
                "%*d|%-*d|",
                &[Data::Int(4), Data::Int(7), Data::Int(3), Data::Int(1)],
            ),
            "   7|1  |",
        ),
        (
            f("%v", &[Data::List(vec![Data::Int(1), Data::str("a")])]),
            "[1 a]",
        ),
        (
            f("%d", &[Data::List(vec![Data::Int(1), Data::Int(2)])]),
            "[1 2]",
        ),
        (
            f("%03d", &[Data::List(vec![Data::Int(1), Data::Int(2)])]),
            "[001 002]",
        ),
        (
            f(
                "%v",
                &[Data::map([("b", Data::Int(2)), ("a", Data::Int(1))])],
            ),
            "map[a:1 b:2]",
        ),
        (
            f(
                "%s|%v|%d",
                &[
                    Data::Duration(1_500_000_000),
                    Data::Time(0),
                    Data::Duration(5),
                ],
            ),
            "1.5s|1970-01-01 00:00:00 +0000 UTC|5",
        ),
        (
            f("%T %T %T", &[Data::Int(1), Data::str("s"), Data::Nil]),
            "int64 string <nil>",
        ),
        (f("%6.2f%%", &[Data::Float(99.5)]), " 99.50%"),
    ];
    for (got, want) in cases {
        assert_eq!(got, want);
    }
    check(&[
        (r#"{{ printf "%0.3f" 1.23456 }}"#, "1.235"),
        (
            r#"{{ printf "%5.2f|%-5s|%03d|%q|%v" 3.14159 "ab" 7 "hi" 1.0 }}"#,
            " 3.14|ab   |007|\"hi\"|1",
        ),
        (r#"{{ index .Fields "emitted" | printf "%0.3f" }}"#, "1.235"),
        (
            r#"{{ index .Fields "missing" | printf "%0.3f" }}"#,
            "%!f(<nil>)",
        ),
    ]);
}

#[test]
fn html_mode() {
    let cases: &[(&str, &str)] = &[
        ("<b>{{ .Fields.name }}</b>", "<b>x&lt;y</b>"),
        ("{{ \"a'b\\\"c&+\" }}", "a&#39;b&#34;c&amp;&#43;"),
        ("{{ .Fields.missing }}|", "|"),
        (
            "{{ json .Inner }}",
            "{&#34;A&#34;:1,&#34;B&#34;:&#34;b&#34;}\n",
        ),
        ("{{ jsonCompact .Fields.name }}", "&#34;x\\u003cy&#34;"),
        (
            "{{ .Fields }}",
            "map[count:7 emitted:1.23456 name:x&lt;y nothing:&lt;nil&gt; ok:true]",
        ),
        ("{{ printf \"%s\" \"\\x00\" }}", "\u{fffd}"),
        ("{{ .Time }}", "2016-01-01 00:00:00.5 &#43;0000 UTC"),
        ("{{ $x := \"<\" }}{{ if true }}{{ $x }}{{ end }}", "&lt;"),
    ];
    for (text, want) in cases {
        assert_eq!(run_html(text), *want, "template {text:?}");
    }
    let t = Template::parse_with("x", "{{ . }}", Mode::Html, Funcs::new()).unwrap();
    assert_eq!(t.mode(), Mode::Html);
}

#[test]
fn custom_funcs() {
    let mut funcs = Funcs::new();
    funcs.insert("upper", |args: &[&Data]| match args {
        [Data::String(s)] => Ok(Data::String(s.to_uppercase())),
        _ => Err("upper wants one string".into()),
    });
    funcs.insert("len", |_: &[&Data]| Ok(Data::Int(-1)));
    let t = Template::parse_with(
        "c",
        "{{ .Name | upper }} {{ len .List }}",
        Mode::Text,
        funcs.clone(),
    )
    .unwrap();
    assert_eq!(t.execute(&data()).unwrap(), "CPU -1");
    assert!(format!("{funcs:?}").contains("upper"));
    let err = Template::parse_with("c", "{{ upper 1 }}", Mode::Text, funcs)
        .unwrap()
        .execute(&data())
        .unwrap_err();
    assert_eq!(err.message, "error calling upper: upper wants one string");
    // json is a Kapacitor function, not a Go built-in.
    let err = Template::parse_with("c", "{{ json . }}", Mode::Text, Funcs::new()).unwrap_err();
    assert_eq!(err.message, "function \"json\" not defined");
}

fn parse_err(text: &str) -> (usize, usize, String) {
    let e = Template::parse("p", text).expect_err(text);
    assert_eq!(e.kind, ErrorKind::Parse);
    (e.line, e.column, e.message)
}

#[test]
fn parse_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        ("{{ foo }}", 1, 4, "function \"foo\" not defined"),
        ("a\nb {{ if .X }}", 2, 14, "unexpected EOF"),
        ("{{ end }}", 1, 4, "unexpected {{end}}"),
        ("{{ else }}", 1, 4, "unexpected {{else}}"),
        ("{{ if }}{{ end }}", 1, 7, "missing value for if"),
        ("{{ .X", 1, 1, "unclosed action"),
        ("x\n  {{ \"abc }}", 2, 6, "unterminated quoted string"),
        ("{{ $x }}", 1, 4, "undefined variable \"$x\""),
        ("{{ $x = 1 }}", 1, 4, "undefined variable \"$x\""),
        ("{{/* x }}", 1, 1, "unclosed comment"),
        ("{{ .X ) }}", 1, 7, "unexpected right paren"),
        ("{{ (.X }}", 1, 8, "unclosed left paren"),
        ("{{ break }}", 1, 4, "{{break}} outside {{range}}"),
        (
            "{{ .A | 3 }}",
            1,
            9,
            "non executable command in pipeline stage 2",
        ),
        (
            "{{ # }}",
            1,
            4,
            "unrecognized character in action: U+0023 '#'",
        ),
        (
            "{{ template \"x\" }}",
            1,
            4,
            "{{template}} is not supported by this template engine",
        ),
        (
            "{{ 99999999999999999999 }}",
            1,
            4,
            "illegal number syntax: \"99999999999999999999\"",
        ),
        ("{{ 3x }}", 1, 4, "illegal number syntax: \"3x\""),
        (
            "{{ if 1 }}{{ else }}{{ else }}{{ end }}",
            1,
            24,
            "expected end; found {{else}}",
        ),
        (
            "{{ range $a, $b, $c := . }}{{ end }}",
            1,
            16,
            "missing := in range",
        ),
        (
            "{{ $a, $b := . }}",
            1,
            6,
            "too many declarations in command",
        ),
    ];
    for (text, line, col, msg) in cases {
        let got = parse_err(text);
        assert_eq!(got, (*line, *col, (*msg).to_owned()), "template {text:?}");
    }
    let e = Template::parse("id", "{{ foo }}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: id:1: function \"foo\" not defined"
    );
}

#[test]
fn exec_errors() {
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "{{ .Nope }}",
            1,
            4,
            "can't evaluate field Nope in type struct",
        ),
        (
            "\n {{ .Name.X }}",
            2,
            5,
            "can't evaluate field X in type string",
        ),
        (
            "{{ .Fields.missing.x }}",
            1,
            4,
            "nil pointer evaluating interface {}.x",
        ),
        (
            "{{ lt 1 2.5 }}",
            1,
            4,
            "error calling lt: incompatible types for comparison",
        ),
        (
            "{{ eq 1 \"a\" }}",
            1,
            4,
            "error calling eq: incompatible types for comparison",
        ),
        (
            "{{ lt true false }}",
            1,
            4,
            "error calling lt: invalid type for comparison",
        ),
        (
            "{{ eq .List .List }}",
            1,
            4,
            "error calling eq: non-comparable types [1 two 3.5]: []interface {}, []interface {}: [1 two 3.5]",
        ),
        (
            "{{ index .List 5 }}",
            1,
            4,
            "error calling index: index out of range: 5",
        ),
        (
            "{{ index .Fields 1 }}",
            1,
            4,
            "error calling index: value has type int64; should be string",
        ),
        ("{{ len 3 }}", 1, 4, "error calling len: len of type int64"),
        (
            "{{ printf 3 }}",
            1,
            4,
            "error calling printf: wrong type for value; expected string; got int64",
        ),
        (
            "{{ .Name 1 }}",
            1,
            4,
            "can't give argument to non-function .Name 1",
        ),
        (
            "{{ 1 | .Name }}",
            1,
            8,
            "can't give argument to non-function .Name",
        ),
        ("{{ nil }}", 1, 4, "nil is not a command"),
        (
            "{{ range .Name }}{{ end }}",
            1,
            10,
            "range can't iterate over cpu",
        ),
        (
            "{{ not 1 2 }}",
            1,
            4,
            "error calling not: wrong number of args for not: want 1 got 2",
        ),
        (
            "{{ slice .Name 2 1 }}",
            1,
            4,
            "error calling slice: invalid slice index: 2 > 1",
        ),
    ];
    for (text, line, col, msg) in cases {
        let t = Template::parse("e", text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let e = t.execute(&data()).expect_err(text);
        assert_eq!(e.kind, ErrorKind::Exec);
        assert_eq!(
            (e.line, e.column, e.message.as_str()),
            (*line, *col, *msg),
            "{text:?}"
        );
    }
    let e = Template::parse("e", "{{ .Nope }}")
        .unwrap()
        .execute(&data())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "template: e:1:3: executing \"e\" at <.Nope>: can't evaluate field Nope in type struct"
    );
}

#[test]
fn reuse_and_nesting_limits() {
    let t = Template::parse("r", "{{ .Name }}").unwrap();
    for name in ["a", "b", "c"] {
        let d = Data::structure([("Name", Data::str(name))]);
        assert_eq!(t.execute(&d).unwrap(), name);
    }
    assert_eq!(t.name(), "r");
    assert_eq!(t.text(), "{{ .Name }}");
    let deep = format!(
        "{}x{}",
        "{{ if true }}".repeat(150),
        "{{ end }}".repeat(150)
    );
    let e = Template::parse("d", &deep).unwrap_err();
    assert_eq!(e.message, "template nesting too deep");
    let parens = format!("{{{{ {}1{} }}}}", "(".repeat(500), ")".repeat(500));
    assert!(Template::parse("d", &parens).is_err());
    let ok = format!("{}x{}", "{{ if true }}".repeat(50), "{{ end }}".repeat(50));
    assert_eq!(
        Template::parse("d", &ok)
            .unwrap()
            .execute(&Data::Nil)
            .unwrap(),
        "x"
    );
}

#[test]
fn never_panics_on_garbage() {
    let pieces = [
        "{{", "}}", "{{-", "-}}", " ", "if", "else", "end", "range", "with", ".", ".A", "$", "$x",
        ":=", "=", "|", "(", ")", "\"", "`", "'", "1", "-", "/*", "*/", "é", "\n", "printf",
        "\"%d\"", ",", "x", "break", "nil", "0x", "1e", "\\",
    ];
    // A deterministic pseudo-random walk over the pieces.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let d = data();
    for _ in 0..20_000 {
        let mut text = String::new();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed % 12) as usize;
        for _ in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        if let Ok(t) = Template::parse("f", &text) {
            let _ = t.execute(&d);
            let _ = t.execute(&Data::Nil);
        }
        let _ = Template::parse_html("f", &text);
    }
}

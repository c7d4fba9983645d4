//! Property tests of the Prometheus text format parser: it never panics, and samples it
//! prints back (`Display`) parse to the same samples.

use kap_ingest::prometheus::{Sample, parse};
use proptest::prelude::*;

/// Characters that stress the grammar: quotes, escapes, braces, blanks, multi-byte ones.
const NASTY: &[char] = &[
    'a', 'z', '_', ':', '0', '9', '.', '-', '+', 'e', 'N', 'I', '{', '}', '=', ',', '"', '\\', ' ',
    '\t', '\n', '#', 'é', '☃', '🦀',
];

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_:][a-zA-Z0-9_:]{0,12}"
}

fn label_name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,8}".prop_filter("reserved", |n| n != "__name__")
}

fn label_value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(NASTY), 0..12).prop_map(|v| v.into_iter().collect())
}

fn sample() -> impl Strategy<Value = Sample> {
    (
        name(),
        prop::collection::btree_map(label_name(), label_value(), 0..4),
        prop_oneof![
            any::<f64>().prop_filter("finite", |v| v.is_finite()),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
        ],
        prop::option::of(any::<i64>()),
    )
        .prop_map(|(name, labels, value, timestamp_ms)| Sample {
            name,
            labels: labels.into_iter().collect(),
            value,
            timestamp_ms,
        })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in prop::collection::vec(prop::sample::select(NASTY), 0..200)) {
        let text: String = text.into_iter().collect();
        if let Err(e) = parse(&text) {
            // The error names a real position.
            let line = text.split('\n').nth(e.line - 1);
            prop_assert!(line.is_some(), "{e}");
            prop_assert!(e.column <= line.unwrap().chars().count() + 1, "{e}");
        }
    }

    #[test]
    fn printed_samples_parse_back(samples in prop::collection::vec(sample(), 0..8)) {
        let text: String = samples.iter().map(|s| format!("{s}\n")).collect();
        prop_assert_eq!(parse(&text).unwrap(), samples);
    }
}

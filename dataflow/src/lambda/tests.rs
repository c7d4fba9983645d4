//! Unit tests of internals (the behaviour is tested in `dataflow/tests/lambda_*.rs`).

use super::functions::{human_bytes, parse_influxql_duration};

#[test]
fn human_bytes_matches_go_humanize() {
    assert_eq!(human_bytes(0), "0 B");
    assert_eq!(human_bytes(9), "9 B");
    assert_eq!(human_bytes(82_854_982), "83 MB");
    assert_eq!(human_bytes(1_200_000), "1.2 MB");
}

#[test]
fn influxql_durations_parse() {
    assert_eq!(parse_influxql_duration("5m"), Ok(300_000_000_000));
    assert_eq!(parse_influxql_duration("1h30m"), Ok(5_400_000_000_000));
    assert!(parse_influxql_duration("5").is_err());
}

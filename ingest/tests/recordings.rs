//! Every recording of the vendored conformance corpus reads, and what it holds matches the
//! corpus README's description.

use kap_ingest::line_protocol::Precision;
use kap_ingest::recording::{read_brpl, read_srpl};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dsl/tests/corpus/kapacitor/data")
}

#[test]
fn every_corpus_recording_reads() {
    let (mut streams, mut batches) = (0, 0);
    for e in std::fs::read_dir(data_dir())
        .expect("vendored corpus data")
        .flatten()
    {
        let path = e.path();
        if path.is_dir() {
            continue; // sideload sources
        }
        let bytes = std::fs::read(&path).unwrap();
        match path.extension().and_then(|x| x.to_str()) {
            Some("srpl") => {
                let recs = read_srpl(&bytes, Precision::Seconds)
                    .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                assert!(!recs.is_empty(), "{}", path.display());
                assert!(recs.iter().all(|r| r.point.timestamp.is_some()));
                streams += 1;
            }
            Some("brpl") => {
                let sources =
                    read_brpl(&bytes).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                assert_eq!(sources.len(), 1, "{}", path.display());
                assert!(!sources[0].is_empty(), "{}", path.display());
                batches += 1;
            }
            _ => {}
        }
    }
    assert!(
        streams == 58 && batches == 28,
        "{streams} stream and {batches} batch recordings"
    );
}

#[test]
fn stream_record_fields_are_typed() {
    let bytes = std::fs::read(data_dir().join("TestStream_InfluxQL_Float.srpl")).unwrap();
    let recs = read_srpl(&bytes, Precision::Seconds).unwrap();
    let first = &recs[0];
    assert_eq!((first.db.as_str(), first.rp.as_str()), ("dbname", "rpname"));
    assert_eq!(first.point.measurement, "cpu");
}

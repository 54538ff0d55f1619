//! The testkit's own transcripts (`smtp-testkit/transcripts`) are core transcripts too:
//! the core's runner must pass each of them in every feed mode, exactly as the core's own
//! transcript test does, so the adapters are held to what the core really does.

use smtp_testkit::scenario::{all_transcripts, Scenario};
use smtp_testkit::transcript::{Feed, Runner, Transcript};

fn testkit_transcripts() -> Vec<Transcript> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/transcripts");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    v.sort();
    v.iter()
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            Transcript::parse(&name, &std::fs::read_to_string(p).unwrap())
        })
        .collect()
}

#[test]
fn every_testkit_transcript_passes_the_core_in_every_feed_mode() {
    let ts = testkit_transcripts();
    assert!(ts.len() >= 6, "only {} testkit transcripts", ts.len());
    for t in &ts {
        for feed in [
            Feed::Whole,
            Feed::ByteByByte,
            Feed::Random(0x9e37_79b9),
            Feed::Random(12345),
        ] {
            let mut r = Runner::new(t.config(), feed);
            r.run(t);
        }
    }
}

#[test]
fn every_testkit_transcript_is_replayable() {
    for t in testkit_transcripts() {
        let name = t.name.clone();
        if let Err(why) = Scenario::from_transcript(t) {
            panic!("{name} is not replayable: {why}");
        }
    }
}

#[test]
fn the_core_transcripts_are_found_too() {
    let names: Vec<String> = all_transcripts().into_iter().map(|t| t.name).collect();
    assert!(
        names.iter().any(|n| n == "seed-session.txt"),
        "core transcripts not found: {names:?}"
    );
}

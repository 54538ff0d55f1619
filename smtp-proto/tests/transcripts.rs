//! Runs every transcript in `tests/transcripts/` whole, byte by byte and split at random
//! points; all three must pass and produce the same outputs.

mod common;

use common::{Feed, Runner, Transcript};

fn transcript_paths() -> Vec<std::path::PathBuf> {
    common::txt_files(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/transcripts"))
}

#[test]
fn at_least_sixty_five_transcripts() {
    let n = transcript_paths().len();
    assert!(n >= 65, "only {n} transcripts");
}

#[test]
fn every_transcript_in_every_feed_mode() {
    let names = transcript_paths();
    let only = std::env::var("TRANSCRIPT").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    // The failures are collected and reported together below; the default hook would
    // print every one of them four times, with backtraces, as it happens.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for path in &names {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        ran += 1;
        let text = std::fs::read_to_string(path).unwrap();
        let t = Transcript::parse(&name, &text);
        let mut logs = Vec::new();
        for feed in [
            Feed::Whole,
            Feed::ByteByByte,
            Feed::Random(0x9e37_79b9),
            Feed::Random(12345),
        ] {
            let result = std::panic::catch_unwind(|| {
                let mut r = Runner::new(t.config(), feed);
                r.run(&t);
                r.log
            });
            match result {
                Ok(log) => logs.push(log),
                Err(e) => {
                    let msg = e
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("[{feed:?}] {msg}"));
                }
            }
        }
        if logs.len() == 4 {
            assert!(
                logs.windows(2).all(|w| w[0] == w[1]),
                "{name}: outputs differ between feed modes"
            );
        }
    }
    std::panic::set_hook(hook);
    // A filter that matches nothing must not pass as "all transcripts passed".
    assert!(ran > 0, "TRANSCRIPT={only:?} matches no transcript");
    assert!(
        failures.is_empty(),
        "{} failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

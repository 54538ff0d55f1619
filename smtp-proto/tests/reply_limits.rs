//! Hostile sizes (security.md, "Hostile replies"): every limit fires at its boundary and
//! the reader's buffer stays bounded on the way there.

use smtp_proto::reply::{ReplyError, ReplyLimits, ReplyReader};

const LIMITS: ReplyLimits = ReplyLimits::new(2000, 200, 64 * 1024);

/// Feeds `chunk` until the reader errors; checks the buffer bound after every call.
fn feed_until_error(
    reader: &mut ReplyReader,
    mut next: impl FnMut() -> Vec<u8>,
    max_rounds: usize,
) -> ReplyError {
    let bound = LIMITS.max_line - 1 + LIMITS.max_bytes;
    for _ in 0..max_rounds {
        let chunk = next();
        let mut input = &chunk[..];
        match reader.read(&mut input) {
            Ok(Some(reply)) => panic!("unexpected reply {reply}"),
            Ok(None) => assert!(input.is_empty()),
            Err(e) => return e,
        }
        assert!(reader.buffered() <= bound, "buffered {}", reader.buffered());
    }
    panic!("no error after {max_rounds} rounds");
}

#[test]
fn megabytes_without_line_end() {
    let mut reader = ReplyReader::new(LIMITS);
    let err = feed_until_error(&mut reader, || vec![b'A'; 64 * 1024], 64);
    assert_eq!(err, ReplyError::LineTooLong { limit: 2000 });
    assert!(!reader.has_partial());
}

#[test]
fn megabytes_without_line_end_in_one_slice() {
    let mut reader = ReplyReader::new(LIMITS);
    let mut data = b"250 ".to_vec();
    data.resize(8 << 20, b'x');
    let mut input = &data[..];
    assert_eq!(
        reader.read(&mut input),
        Err(ReplyError::LineTooLong { limit: 2000 })
    );
    // Only the octets up to the limit were examined.
    assert_eq!(data.len() - input.len(), 2000);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn line_limit_is_inclusive_of_crlf() {
    let mut reader = ReplyReader::new(LIMITS);
    let mut line = b"250 ".to_vec();
    line.resize(1998, b'x');
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), 2000);
    assert!(reader.read(&mut &line[..]).unwrap().is_some());
    line.insert(5, b'y');
    assert_eq!(
        reader.read(&mut &line[..]),
        Err(ReplyError::LineTooLong { limit: 2000 })
    );
}

#[test]
fn multiline_reply_that_never_ends() {
    let mut reader = ReplyReader::new(LIMITS);
    let err = feed_until_error(&mut reader, || b"250-still going\r\n".repeat(10), 1000);
    assert_eq!(err, ReplyError::TooManyLines { limit: 200 });
}

#[test]
fn a_million_lines() {
    let mut reader = ReplyReader::new(LIMITS);
    let data = b"250-x\r\n".repeat(1_000_000);
    let mut input = &data[..];
    assert_eq!(
        reader.read(&mut input),
        Err(ReplyError::TooManyLines { limit: 200 })
    );
    // It stopped at line 201, not at the end of the data.
    assert_eq!(data.len() - input.len(), 201 * 7);
}

#[test]
fn long_lines_hit_the_byte_cap_mid_line() {
    let mut reader = ReplyReader::new(LIMITS);
    let mut line = b"250-".to_vec();
    line.resize(1998, b'z');
    line.extend_from_slice(b"\r\n");
    let err = feed_until_error(&mut reader, || line.clone(), 1000);
    assert_eq!(err, ReplyError::TooLarge { limit: 64 * 1024 });
}

#[test]
fn byte_cap_fires_before_buffering_the_excess() {
    let limits = ReplyLimits::new(1000, 1000, 1500);
    let mut reader = ReplyReader::new(limits);
    let mut first = b"250-".to_vec();
    first.resize(998, b'a');
    first.extend_from_slice(b"\r\n");
    assert_eq!(reader.read(&mut &first[..]), Ok(None));
    // 500 octets are left in the budget: the next line fails at its 500th octet.
    let mut second = b"250 ".to_vec();
    second.resize(600, b'b');
    let mut input = &second[..];
    assert_eq!(
        reader.read(&mut input),
        Err(ReplyError::TooLarge { limit: 1500 })
    );
    assert_eq!(input.len(), 100);
    assert_eq!(reader.buffered(), 0);
}

#[test]
fn auth_line_limit_can_be_raised_and_lowered() {
    let mut reader = ReplyReader::new(LIMITS);
    reader.set_max_line(12288);
    let mut challenge = b"334 ".to_vec();
    challenge.resize(12286, b'A');
    challenge.extend_from_slice(b"\r\n");
    for chunk_size in [1, 7, 4096, challenge.len()] {
        let mut got = None;
        for chunk in challenge.chunks(chunk_size) {
            let mut input = chunk;
            if let Some(r) = reader.read(&mut input).unwrap() {
                got = Some(r);
            }
            assert!(reader.buffered() < 12288);
        }
        assert_eq!(got.unwrap().first_line().len(), 12282);
    }
    challenge.insert(5, b'A');
    assert_eq!(
        reader.read(&mut &challenge[..]),
        Err(ReplyError::LineTooLong { limit: 12288 })
    );
    reader.set_max_line(2000);
    assert_eq!(
        reader.read(&mut &challenge[..12000]),
        Err(ReplyError::LineTooLong { limit: 2000 })
    );
}

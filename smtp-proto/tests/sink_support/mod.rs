//! A canned server answering a busy connection's flights as smtp-sink does, for the
//! allocation test and the pool bench.

/// Appends to `replies` the answer to each command in `written` (whole commands, each
/// BDAT with its chunk): MAIL, RCPT, RSET and BDAT of a chunk of `body_len` octets.
pub(crate) fn answer(mut written: &[u8], body_len: usize, replies: &mut Vec<u8>) {
    while let Some(end) = written.iter().position(|&b| b == b'\n') {
        let (line, rest) = written.split_at(end + 1);
        written = rest;
        match &line[..4] {
            b"MAIL" => replies.extend_from_slice(b"250 2.1.0 Sender ok\r\n"),
            b"RCPT" => replies.extend_from_slice(b"250 2.1.5 Recipient ok\r\n"),
            b"RSET" => replies.extend_from_slice(b"250 2.0.0 Ok\r\n"),
            b"BDAT" => {
                let digits = line[5..].split(|&b| b == b' ').next().unwrap();
                let size: usize = std::str::from_utf8(digits).unwrap().parse().unwrap();
                assert_eq!(size, body_len, "one chunk per message");
                written = &written[size..];
                replies.extend_from_slice(b"250 2.0.0 ");
                replies.extend_from_slice(digits);
                replies.extend_from_slice(b" octets received\r\n");
            }
            other => panic!("{other:?}"),
        }
    }
}

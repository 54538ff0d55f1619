//! The content a signature covers, made exactly as it will go on the wire (RFC 6376
//! §5.3: sign what is sent): line ends normalised to CRLF as the core's encoders send
//! them, a final CRLF, and the `Date:` and `Message-ID:` every message should have
//! (RFC 5322 §3.6) added when missing, so that they are signed too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use smtp_proto::body::{normalize_text, BodyError};

use super::date;

/// `content` as the core's text encoders send it: bare CR and bare LF become CRLF
/// (RFC 5321 §2.3.8), and a last line without a line end gets one, which DATA would add
/// anyway (RFC 5321 §4.1.1.4) and BDAT now sends too. Dot-stuffing is not part of the
/// content (it is undone by the receiver, RFC 5321 §4.5.2), so the BDAT form is the
/// content. A NUL is refused as the encoders refuse it.
pub(crate) fn normalise(content: &[u8]) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::with_capacity(content.len() + content.len() / 32 + 2);
    normalize_text(content, &mut out)?;
    Ok(out)
}

/// Where the header section ends in CRLF content: the offset just after the last
/// field's CRLF (where a new field goes), the whole content when there is no empty line.
pub(crate) fn header_end(content: &[u8]) -> usize {
    if content.starts_with(b"\r\n") {
        return 0;
    }
    memchr::memmem::find(content, b"\r\n\r\n").map_or(content.len(), |i| i + 2)
}

/// Where the body of raw content starts: after the first empty line, whichever line
/// end it has (the whole content when there is none).
pub(crate) fn binary_body_start(content: &[u8]) -> usize {
    let mut start = 0;
    for line in content.split_inclusive(|&b| b == b'\n') {
        start += line.len();
        if matches!(line, b"\n" | b"\r\n") {
            return start;
        }
    }
    content.len()
}

/// The names of the header fields (RFC 5322 §2.2: a field starts at a line that does
/// not start with white space, its name ends at the colon).
pub(crate) fn field_names(header: &[u8]) -> impl Iterator<Item = &[u8]> + Clone {
    header
        .split(|&b| b == b'\n')
        .filter(|line| !line.is_empty() && !matches!(line[0], b' ' | b'\t' | b'\r'))
        .filter_map(|line| {
            let colon = memchr::memchr(b':', line)?;
            Some(line[..colon].trim_ascii_end())
        })
}

/// Adds `Date:` and `Message-ID:` at the end of the header section if the message has
/// none, the Message-ID under `domain` (RFC 5322 §3.6.4: unique; the right side a
/// domain of the sender's).
pub(crate) fn add_missing_fields(content: &mut Vec<u8>, domain: &str, now: SystemTime) {
    let end = header_end(content);
    let names: Vec<&[u8]> = field_names(&content[..end]).collect();
    let has = |name: &str| {
        names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name.as_bytes()))
    };
    let mut fields = String::new();
    if !has("Date") {
        fields.push_str(&format!("Date: {}\r\n", date::rfc5322(now)));
    }
    if !has("Message-ID") {
        fields.push_str(&format!("Message-ID: <{}@{domain}>\r\n", unique(now)));
    }
    content.splice(end..end, fields.into_bytes());
}

/// A left side for a Message-ID that no other of this host's messages has: the time
/// in microseconds, the process, and a counter for messages made in the same tick.
fn unique(now: SystemTime) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let micros = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{micros:x}.{:x}.{n:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_become_crlf_and_the_last_line_gets_one() {
        let got = normalise(b"A: b\n\n.x\rmid\r\nend").unwrap();
        assert_eq!(got, b"A: b\r\n\r\n.x\r\nmid\r\nend\r\n");
        assert_eq!(normalise(b"").unwrap(), b"");
        assert_eq!(normalise(b"A: b\r").unwrap(), b"A: b\r\n");
        assert_eq!(
            normalise(b"A: b\r\n\r\na\0"),
            Err(BodyError::Nul { offset: 9 })
        );
    }

    #[test]
    fn the_header_ends_before_the_empty_line() {
        assert_eq!(header_end(b"A: b\r\nC: d\r\n\r\nbody\r\n"), 12);
        assert_eq!(header_end(b"\r\nbody\r\n"), 0);
        assert_eq!(header_end(b"A: b\r\n"), 6);
        let names: Vec<_> = field_names(b"From : a\r\n b\r\nTo: c\r\n\tx\r\n").collect();
        assert_eq!(names, [&b"From"[..], b"To"]);
    }

    #[test]
    fn a_binary_body_starts_after_the_first_empty_line() {
        assert_eq!(binary_body_start(b"A: b\n\n\0\n\n"), 6);
        assert_eq!(binary_body_start(b"A: b\r\n\r\nx"), 8);
        assert_eq!(binary_body_start(b"\r\nx"), 2);
        assert_eq!(binary_body_start(b"A: b\r\n"), 6);
    }

    #[test]
    fn date_and_message_id_are_added_only_when_missing() {
        let now = UNIX_EPOCH;
        let mut m = b"From: a@example.org\r\n\r\nbody\r\n".to_vec();
        add_missing_fields(&mut m, "example.org", now);
        let s = String::from_utf8(m).unwrap();
        assert!(
            s.starts_with("From: a@example.org\r\nDate: Thu, 01 Jan 1970 00:00:00 +0000\r\n"),
            "{s}"
        );
        assert!(s.contains("\r\nMessage-ID: <0."), "{s}");
        assert!(s.ends_with("@example.org>\r\n\r\nbody\r\n"), "{s}");
        let kept = b"date: x\r\nmessage-id: <y@z>\r\n\r\n".to_vec();
        let mut m = kept.clone();
        add_missing_fields(&mut m, "example.org", now);
        assert_eq!(m, kept);
        let mut a = b"\r\n".to_vec();
        let mut b = b"\r\n".to_vec();
        add_missing_fields(&mut a, "d", now);
        add_missing_fields(&mut b, "d", now);
        assert_ne!(a, b, "two messages of one tick get two Message-IDs");
    }
}

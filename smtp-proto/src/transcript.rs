//! What to log of a conversation, as values: the client's commands and the server's lines,
//! with AUTH payloads redacted and message content summarised, so that a log can neither
//! leak a secret nor print the message. Adapters print each [`Line`] (it displays as
//! `C: ...` or `S: ...`, control bytes escaped so that a line cannot forge another).
//!
//! Which written bytes are secret is not marked on the wire, so the rule is: everything
//! written from an `AUTH` command until [`Event::Authenticated`] (or the end of the
//! session, which is what a failed AUTH causes) is secret, and so is the initial response
//! on the AUTH line itself (RFC 4954 §4). A log that starts mid-exchange has not seen
//! the AUTH command: the client says that AUTH is under way.

use alloc::vec::Vec;
use core::fmt;

use crate::escape::Escaped;
use crate::output::Event;

/// A server line longer than this is logged in pieces: the buffer stays bounded whatever
/// the server sends (reply lines are at most 512 octets, RFC 5321 §4.5.3.1.5).
pub const MAX_PARTIAL: usize = 4096;

/// One thing to log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A command the client wrote, its CRLF dropped.
    Sent(&'a [u8]),
    /// An AUTH command: the mechanism is public, an initial response is not.
    Auth {
        /// The SASL mechanism name.
        mechanism: &'a [u8],
        /// Whether an initial response (withheld) followed it.
        initial_response: bool,
    },
    /// A line written during an AUTH exchange (withheld).
    Redacted,
    /// One line of message content (detail: adapters log it at a lower level).
    Content(&'a [u8]),
    /// A run of message content as written.
    ContentSummary {
        /// Line ends in it.
        lines: usize,
        /// Its length.
        octets: usize,
    },
    /// A line the server sent, its CRLF dropped (or a piece of a very long one).
    Received(&'a [u8]),
}

impl Line<'_> {
    /// Whether this is a line of message content, which adapters log only on request.
    pub fn is_content(&self) -> bool {
        matches!(self, Line::Content(_))
    }
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Line::Sent(l) | Line::Content(l) => write!(f, "C: {}", Escaped(l)),
            Line::Auth {
                mechanism,
                initial_response,
            } => {
                let hidden = if initial_response { " <redacted>" } else { "" };
                write!(f, "C: AUTH {}{hidden}", Escaped(mechanism))
            }
            Line::Redacted => f.write_str("C: <redacted>"),
            Line::ContentSummary { lines, octets } => {
                write!(f, "C: <message data: {lines} lines, {octets} octets>")
            }
            Line::Received(l) => write!(f, "S: {}", Escaped(l)),
        }
    }
}

fn trim_crlf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r\n").unwrap_or(line)
}

fn starts_with_word(line: &[u8], word: &[u8]) -> bool {
    line.len() > word.len() && line[..word.len()].eq_ignore_ascii_case(word)
}

/// The state behind the redaction: whether AUTH is under way, and the start of a server
/// line whose end has not arrived yet.
///
/// A session may log only part of a conversation (a subscriber switched on or off
/// mid-session), so what the transcript did not see comes from the client: whether AUTH
/// is under way (`in_auth` of [`sent`](Self::sent)), and how content is framed (`bdat` of
/// [`content`](Self::content)). Bytes read unlogged go to
/// [`received_unlogged`](Self::received_unlogged), which costs nothing per byte.
#[derive(Debug, Default)]
pub struct Transcript {
    /// Set by an AUTH line or by the client's word, until [`Event::Authenticated`] or
    /// the end of the session.
    in_auth: bool,
    partial: Vec<u8>,
    /// Bytes read unlogged ended mid-line: the rest of that line is not logged either,
    /// so that no line is logged from its middle.
    mid_line: bool,
}

impl Transcript {
    /// Commands the client wrote (never message content: see [`Transcript::content`]).
    /// `in_auth`: the client is in an AUTH exchange, whether or not its AUTH line went
    /// through this transcript.
    pub fn sent(&mut self, bytes: &[u8], in_auth: bool, log: &mut dyn FnMut(Line<'_>)) {
        self.in_auth |= in_auth;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            if starts_with_word(line, b"AUTH ") {
                self.in_auth = true;
                let mut words = line[5..].trim_ascii().splitn(2, |&b| b == b' ');
                log(Line::Auth {
                    mechanism: words.next().unwrap_or_default(),
                    initial_response: words.next().is_some(),
                });
            } else if self.in_auth {
                log(Line::Redacted);
            } else {
                log(Line::Sent(trim_crlf(line)));
            }
        }
    }

    /// Message content as written: dot-stuffed after DATA, or if `bdat` a BDAT chunk
    /// behind its command (RFC 3030 §2). Logs the BDAT command, each line if `lines` (a
    /// pass over the content), then a summary.
    pub fn content(&self, bytes: &[u8], bdat: bool, lines: bool, log: &mut dyn FnMut(Line<'_>)) {
        if bytes.is_empty() {
            return;
        }
        let bytes = self.bdat_command(bytes, bdat, log);
        if lines {
            for line in bytes.split_inclusive(|&b| b == b'\n') {
                log(Line::Content(trim_crlf(line)));
            }
        }
        log(Line::ContentSummary {
            lines: memchr::memchr_iter(b'\n', bytes).count(),
            octets: bytes.len(),
        });
    }

    /// The BDAT command in front of content as written if `bdat` (after DATA, content
    /// that looks like a command is content; the content itself is not looked at);
    /// returns the content after it.
    pub fn bdat_command<'a>(
        &self,
        bytes: &'a [u8],
        bdat: bool,
        log: &mut dyn FnMut(Line<'_>),
    ) -> &'a [u8] {
        if !bdat || !starts_with_word(bytes, b"BDAT ") {
            return bytes;
        }
        let end = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |i| i + 1);
        log(Line::Sent(trim_crlf(&bytes[..end])));
        &bytes[end..]
    }

    /// Bytes read from the server: one line per complete line.
    pub fn received(&mut self, mut bytes: &[u8], log: &mut dyn FnMut(Line<'_>)) {
        if self.mid_line {
            // The end of a line whose start was not logged.
            let Some(end) = memchr::memchr(b'\n', bytes) else {
                return;
            };
            bytes = &bytes[end + 1..];
            self.mid_line = false;
        }
        for mut piece in bytes.split_inclusive(|&b| b == b'\n') {
            while !piece.is_empty() {
                let (now, later) =
                    piece.split_at(piece.len().min(MAX_PARTIAL - self.partial.len()));
                self.partial.extend_from_slice(now);
                piece = later;
                if self.partial.ends_with(b"\n") || self.partial.len() >= MAX_PARTIAL {
                    self.flush(log);
                }
            }
        }
    }

    /// Bytes read from the server while nobody logs: a partial line is dropped, and
    /// whether these end mid-line is all that is kept (one look at the last byte).
    pub fn received_unlogged(&mut self, bytes: &[u8]) {
        self.partial.clear();
        if let Some(&last) = bytes.last() {
            self.mid_line = last != b'\n';
        }
    }

    fn flush(&mut self, log: &mut dyn FnMut(Line<'_>)) {
        if !self.partial.is_empty() {
            log(Line::Received(trim_crlf(&self.partial)));
            self.partial.clear();
        }
    }

    /// AUTH's final reply is in when it succeeded ...
    pub fn event(&mut self, event: &Event) {
        if matches!(event, Event::Authenticated(_)) {
            self.in_auth = false;
        }
    }

    /// ... or when the session ends (a failed AUTH ends it). Logs a partial server line.
    pub fn closed(&mut self, log: &mut dyn FnMut(Line<'_>)) {
        self.flush(log);
        self.in_auth = false;
    }

    /// The capacity of the partial line's buffer: 0 if no server byte was ever copied.
    #[cfg(test)]
    pub(crate) fn copied(&self) -> usize {
        self.partial.capacity()
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::{String, ToString};
    use alloc::vec;

    use super::*;
    use crate::command::Mechanism;

    fn collect(f: impl FnOnce(&mut dyn FnMut(Line<'_>))) -> Vec<String> {
        let mut lines = Vec::new();
        f(&mut |l| lines.push(l.to_string()));
        lines
    }

    #[test]
    fn auth_payloads_never_appear() {
        let mut t = Transcript::default();
        let log = collect(|log| {
            t.sent(b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n", false, log);
            t.sent(b"czNjcmV0\r\n", false, log);
            t.event(&Event::Authenticated(Mechanism::new("PLAIN").unwrap()));
            t.sent(b"NOOP\r\n", false, log);
        });
        assert_eq!(
            log,
            vec![
                "C: EHLO c",
                "C: AUTH PLAIN <redacted>",
                "C: <redacted>",
                "C: NOOP"
            ]
        );
        let log = collect(|log| {
            let mut t = Transcript::default();
            t.sent(b"auth login\r\nYWxpY2U=\r\n", false, log);
            t.closed(log);
            t.sent(b"QUIT\r\n", false, log);
        });
        assert_eq!(log, vec!["C: AUTH login", "C: <redacted>", "C: QUIT"]);
    }

    /// A log that starts after the AUTH line learns from the client that AUTH is under
    /// way, and keeps redacting until AUTH's final reply.
    #[test]
    fn a_transcript_that_missed_the_auth_line_redacts_on_the_clients_word() {
        let mut t = Transcript::default();
        let log = collect(|log| {
            t.sent(b"YWxpY2U=\r\n", true, log);
            t.sent(b"c2VjcmV0\r\n", false, log);
            t.event(&Event::Authenticated(Mechanism::new("LOGIN").unwrap()));
            t.sent(b"NOOP\r\n", false, log);
        });
        assert_eq!(log, vec!["C: <redacted>", "C: <redacted>", "C: NOOP"]);
    }

    #[test]
    fn content_is_summarised_and_bdat_commands_shown() {
        let mut t = Transcript::default();
        let log = collect(|log| {
            t.content(b"BDAT 9 LAST\r\nsecret\r\nx", true, false, log);
            t.sent(b"DATA\r\n", false, log);
            t.content(b"BDAT 1\r\n", false, false, log);
        });
        assert_eq!(
            log,
            vec![
                "C: BDAT 9 LAST",
                "C: <message data: 1 lines, 9 octets>",
                "C: DATA",
                // After DATA, content that looks like a command is content.
                "C: <message data: 1 lines, 8 octets>",
            ]
        );
        let detail = collect(|log| t.content(b"a\r\n\x1b\r\n", false, true, log));
        assert_eq!(
            detail,
            vec!["C: a", "C: \\x1b", "C: <message data: 2 lines, 6 octets>"]
        );
    }

    #[test]
    fn server_lines_are_escaped_joined_and_bounded() {
        let mut t = Transcript::default();
        let log = collect(|log| {
            t.received(b"250-a\r\n25", log);
            t.received(b"0 b\x1b[2J\r\n", log);
            t.received(&[b'x'; MAX_PARTIAL + 10], log);
            t.closed(log);
        });
        assert_eq!(log.len(), 4, "{log:?}");
        assert_eq!(log[..2], ["S: 250-a", "S: 250 b\\x1b[2J"]);
        assert_eq!(log[2].len(), 3 + MAX_PARTIAL);
        assert_eq!(log[3].len(), 3 + 10);
    }

    /// Reads nobody logged leave no copy behind, and the line they ended in is not
    /// logged from its middle once logging resumes.
    #[test]
    fn a_line_read_unlogged_is_not_logged_from_its_middle() {
        let mut t = Transcript::default();
        let log = collect(|log| {
            t.received(b"250-a", log);
            t.received_unlogged(b"\r\n250-b\r\n25");
            t.received(b"0-c", log);
            t.received(b" still c\r\n250 d\r\n", log);
            t.received_unlogged(b"250 e\r\n");
            t.received(b"250 f\r\n", log);
        });
        assert_eq!(log, vec!["S: 250 d", "S: 250 f"]);
    }
}

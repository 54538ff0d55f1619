//! The message of sendmail mode: read from standard input until its end, or until a
//! line of a single `.` unless `-i`/`-oi` (as sendmail reads it); line ends made CRLF;
//! `From:`, `Date:` and `Message-ID:` added only when the message has none.

use std::io::BufRead;

use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::generate_message_id_header;
use mail_builder::headers::Header;

/// Reads the message. Without `ignore_dots`, a line that is a single `.` (whatever its
/// line end) ends it and is not part of it; the rest of the input is left unread.
pub(crate) fn read(input: &mut impl BufRead, ignore_dots: bool) -> std::io::Result<Vec<u8>> {
    let mut message = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(crlf(&message));
        }
        if !ignore_dots && matches!(&line[..], b".\n" | b".\r\n" | b".") {
            return Ok(crlf(&message));
        }
        message.extend_from_slice(&line);
    }
}

/// Every line end CRLF: bare LF (PHP's bodies) and bare CR alike (RFC 5321 §2.3.8).
fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32);
    let mut bytes = text.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        match b {
            b'\r' => {
                bytes.next_if_eq(&b'\n');
                out.extend_from_slice(b"\r\n");
            }
            b'\n' => out.extend_from_slice(b"\r\n"),
            b => out.push(b),
        }
    }
    out
}

/// The header of a message: up to its first empty line (all of it when none);
/// empty when the first line is not a field (`Name:`, RFC 5322 §2.2).
fn header(message: &[u8]) -> &[u8] {
    let first = message
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let is_field = first
        .iter()
        .position(|&b| b == b':')
        .is_some_and(|colon| colon > 0 && first[..colon].iter().all(|b| b.is_ascii_graphic()));
    if !is_field {
        return &[];
    }
    // The first empty line, CRLF or (a message not yet normalised) LF.
    let end = [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|sep| {
            let at = message.windows(sep.len()).position(|w| w == *sep)?;
            // Up to and with the last field's line end.
            Some(at + sep.len() / 2)
        })
        .min()
        .unwrap_or(message.len());
    &message[..end]
}

/// The unfolded value of the first field called `name` (any case), if any.
pub(crate) fn field(message: &[u8], name: &str) -> Option<String> {
    let header = String::from_utf8_lossy(header(message));
    let mut value: Option<String> = None;
    for line in header
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
    {
        match &mut value {
            // RFC 5322 §2.2.3: a line starting with white space continues the field.
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((n, v)) = line.split_once(':') {
                    if n.trim_end().eq_ignore_ascii_case(name) {
                        value = Some(v.to_owned());
                    }
                }
            }
        }
    }
    value.map(|v| v.trim().to_owned())
}

/// The address of a `From:` value: within `<>` if there are any, else the value less
/// any comment (`root (Cron Daemon)`).
pub(crate) fn address(value: &str) -> String {
    if let Some((_, rest)) = value.rsplit_once('<') {
        return rest.split('>').next().unwrap_or_default().trim().to_owned();
    }
    value
        .split('(')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// What to add to a message that lacks it.
pub(crate) struct Missing<'a> {
    /// The sender's address, for `From:`.
    pub from: &'a str,
    /// `-F`: the sender's full name.
    pub full_name: Option<&'a str>,
    /// The host name of `Message-ID:`.
    pub host: &'a str,
}

/// `message` with `From:`, `Date:` and `Message-ID:` in front when it has none of them
/// (RFC 5322 §3.6: From and Date are required, Message-ID should be there).
pub(crate) fn complete(message: Vec<u8>, add: &Missing<'_>) -> Vec<u8> {
    let has = |name: &str| field(&message, name).is_some();
    let mut front = Vec::new();
    if !has("From") {
        front.extend_from_slice(b"From: ");
        let name = add.full_name.filter(|n| !n.is_empty());
        Address::new_address(name, add.from).write_header(&mut front, 6);
    }
    if !has("Date") {
        front.extend_from_slice(b"Date: ");
        front.extend_from_slice(Date::now().to_rfc822().as_bytes());
        front.extend_from_slice(b"\r\n");
    }
    if !has("Message-ID") {
        front.extend_from_slice(b"Message-ID: ");
        generate_message_id_header(&mut front, add.host);
        front.extend_from_slice(b"\r\n");
    }
    if front.is_empty() {
        return message;
    }
    // A message with no header at all: its first line is the body's.
    if !message.is_empty() && header(&message).is_empty() && !message.starts_with(b"\r\n") {
        front.extend_from_slice(b"\r\n");
    }
    front.extend_from_slice(&message);
    front
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8], ignore_dots: bool) -> Vec<u8> {
        read(&mut &input[..], ignore_dots).unwrap()
    }

    #[test]
    fn a_lone_dot_ends_the_input_unless_ignore_dots() {
        let input = b"To: a@x\n\nhi\n.\nmore\n";
        assert_eq!(read_all(input, false), b"To: a@x\r\n\r\nhi\r\n");
        assert_eq!(read_all(input, true), b"To: a@x\r\n\r\nhi\r\n.\r\nmore\r\n");
        assert_eq!(read_all(b"a\r\n.\r\nb", false), b"a\r\n");
        assert_eq!(read_all(b"a\n..\nb\n", false), b"a\r\n..\r\nb\r\n");
    }

    #[test]
    fn mixed_line_ends_become_crlf() {
        // PHP 8: CRLF header, LF body; and a bare CR.
        let input = b"To: a@x\r\nSubject: s\r\n\r\nline1\nline2\rline3";
        assert_eq!(
            read_all(input, true),
            b"To: a@x\r\nSubject: s\r\n\r\nline1\r\nline2\r\nline3"
        );
    }

    #[test]
    fn fields_are_found_in_the_header_only_and_unfolded() {
        let m = b"Subject: a\r\n b\r\nfrom: \"X\" <x@y>\r\n\r\nDate: body\r\n";
        assert_eq!(field(m, "subject").as_deref(), Some("a b"));
        assert_eq!(field(m, "From").as_deref(), Some("\"X\" <x@y>"));
        assert_eq!(field(m, "Date"), None);
        assert_eq!(address("\"X\" <x@y>"), "x@y");
        assert_eq!(address("root (Cron Daemon)"), "root");
    }

    #[test]
    fn from_date_and_message_id_are_added_only_when_missing() {
        let add = Missing {
            from: "me@z",
            full_name: Some("Cron Daemon"),
            host: "h.example",
        };
        let m = complete(b"To: a@x\r\n\r\nhi\r\n".to_vec(), &add);
        let from = field(&m, "From").unwrap();
        assert_eq!(from, "\"Cron Daemon\" <me@z>");
        assert!(field(&m, "Date").is_some());
        let id = field(&m, "Message-ID").unwrap();
        assert!(id.starts_with('<') && id.ends_with("@h.example>"), "{id}");
        assert!(m.ends_with(b"To: a@x\r\n\r\nhi\r\n"));

        let whole =
            b"From: a@b\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@b>\r\n\r\nx\r\n";
        assert_eq!(complete(whole.to_vec(), &add), whole);

        let bare = complete(b"just a body\r\n".to_vec(), &add);
        assert!(bare.ends_with(b"\r\n\r\njust a body\r\n"), "{bare:?}");
    }
}

//! The delivery report of a message that will not be delivered: RFC 3464's
//! `multipart/report; report-type=delivery-status` (RFC 6522), a line of text, the
//! `message/delivery-status` part (per message, then per recipient:
//! `Final-Recipient`, `Action`, `Status`, `Diagnostic-Code`), and the message
//! itself (or only its header, RFC 3461 §4.3 `RET=HDRS`).

use mail_builder::headers::date::Date;

use super::entry::Entry;
use crate::session::Plan;

/// A recipient the message failed for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failed {
    pub rcpt: String,
    /// RFC 3463's `class.subject.detail`.
    pub status: String,
    /// RFC 3464 §2.3.6: `type; text` (`smtp; 550 ...`).
    pub diagnostic: String,
}

fn date(secs: u64) -> String {
    Date::new(i64::try_from(secs).unwrap_or(i64::MAX)).to_rfc822()
}

/// The header of `message` (up to its empty line).
fn header_of(message: &[u8]) -> &[u8] {
    [&b"\r\n\r\n"[..], b"\n\n"]
        .iter()
        .filter_map(|sep| {
            message
                .windows(sep.len())
                .position(|w| w == *sep)
                .map(|at| at + sep.len())
        })
        .min()
        .map_or(message, |end| &message[..end])
}

/// Text from the spool or a server made safe for one header line: no line ends, no
/// control characters.
fn field(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The report of entry `id` for `failed`; `plan`, when an attempt was made, names the
/// server (`Remote-MTA`).
pub(crate) fn report(id: &str, entry: &Entry, failed: &[Failed], plan: Option<&Plan>) -> Vec<u8> {
    let host = crate::message::local_host();
    let now = super::now();
    let h = &entry.header;
    let boundary = format!("{id}/{host}");
    let mut out = String::new();
    let mut line = |s: &str| {
        out.push_str(s);
        out.push_str("\r\n");
    };
    line(&format!(
        "From: Mail Delivery System <MAILER-DAEMON@{host}>"
    ));
    if !h.envelope.from.is_empty() {
        line(&format!("To: <{}>", field(&h.envelope.from)));
    }
    line("Subject: Undelivered Mail Returned to Sender");
    line(&format!("Date: {}", date(now)));
    line(&format!("Message-ID: <{id}.bounce@{host}>"));
    // RFC 3834 §5: a report is automatic; nobody should answer it automatically.
    line("Auto-Submitted: auto-replied");
    line("MIME-Version: 1.0");
    line(&format!(
        "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"{boundary}\""
    ));
    line("");
    line(&format!("--{boundary}"));
    line("Content-Type: text/plain; charset=utf-8");
    line("");
    line("smtp-send could not deliver the message to these recipients:");
    line("");
    for f in failed {
        line(&format!("<{}>: {}", field(&f.rcpt), field(&f.diagnostic)));
    }
    line("");
    line(&format!("--{boundary}"));
    line("Content-Type: message/delivery-status");
    line("");
    // RFC 3464 §2.2: the per-message fields.
    line(&format!("Reporting-MTA: dns; {host}"));
    if let Some(envid) = &h.envelope.envid {
        line(&format!("Original-Envelope-Id: {}", field(envid)));
    }
    line(&format!("Arrival-Date: {}", date(h.created)));
    // RFC 3464 §2.3: a block of fields per recipient, each after an empty line.
    for f in failed {
        line("");
        line(&format!("Final-Recipient: rfc822; {}", field(&f.rcpt)));
        line("Action: failed");
        line(&format!("Status: {}", field(&f.status)));
        if let Some(plan) = plan {
            line(&format!("Remote-MTA: dns; {}", field(&plan.host())));
        }
        line(&format!("Diagnostic-Code: {}", field(&f.diagnostic)));
        line(&format!("Last-Attempt-Date: {}", date(now)));
    }
    line("");
    line(&format!("--{boundary}"));
    let headers_only = h
        .envelope
        .ret
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case("hdrs"));
    let (kind, body) = if headers_only {
        ("text/rfc822-headers", header_of(&entry.message))
    } else {
        ("message/rfc822", &entry.message[..])
    };
    line(&format!("Content-Type: {kind}"));
    line("");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    if !body.ends_with(b"\n") {
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    bytes
}

#[cfg(test)]
mod tests {
    use super::super::entry::tests::sample;
    use super::*;

    fn failed(rcpt: &str) -> Failed {
        Failed {
            rcpt: rcpt.into(),
            status: "5.1.1".into(),
            diagnostic: "smtp; 550 5.1.1 No such\r\nuser".into(),
        }
    }

    #[test]
    fn a_report_has_the_rfc_3464_fields_per_recipient_and_the_message() {
        let e = sample();
        let r = report(
            "abc",
            &e,
            &[failed("b@example.net"), failed("c@example.net")],
            None,
        );
        let text = String::from_utf8(r).unwrap();
        assert!(text.contains("report-type=delivery-status"), "{text}");
        assert!(text.contains("To: <a@example.org>\r\n"), "{text}");
        assert!(text.contains("Original-Envelope-Id: env1\r\n"), "{text}");
        for rcpt in ["b@example.net", "c@example.net"] {
            let block = format!(
                "\r\n\r\nFinal-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
                 Diagnostic-Code: smtp; 550 5.1.1 No such  user\r\n"
            );
            assert!(text.contains(&block), "{block:?} in {text}");
        }
        assert!(
            text.contains("Content-Type: message/rfc822\r\n\r\nSubject: s\r\n"),
            "{text}"
        );
        let host = crate::message::local_host();
        assert!(text.ends_with(&format!("\r\n--abc/{host}--\r\n")), "{text}");
    }

    #[test]
    fn ret_hdrs_returns_only_the_header() {
        let mut e = sample();
        e.header.envelope.ret = Some("HDRS".into());
        let text = String::from_utf8(report("abc", &e, &[failed("b@example.net")], None)).unwrap();
        assert!(
            text.contains("Content-Type: text/rfc822-headers\r\n\r\nSubject: s\r\n\r\n--"),
            "{text}"
        );
        assert!(!text.contains("quotes"), "{text}");
    }
}

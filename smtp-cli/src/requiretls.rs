//! `--requiretls` (RFC 8689), what both modes share: the options and the message
//! checked against it, and the `5.7.30` refusal a relay's session reports. Through a
//! relay (RFC 8689 §4.1, the originating client) TLS is required and verified, and the
//! core sends `REQUIRETLS` on MAIL FROM only over TLS to a server offering it; with
//! `--mx` the planner picks hosts that qualify (`crate::mx`).

use smtp_proto::{Error as SmtpError, Reply, ReplyCode, TlsRequiredError, TxnError};

use crate::args::StartTls;
use crate::exit::Failure;
use crate::spool::Settings;

/// The command line's own TLS options that ask for less than verified TLS, beside
/// REQUIRETLS (the flag's, or the account's `requiretls`): a usage error. An account's
/// TLS keys are no conflict: `--requiretls` sets TLS, as every flag fills what the
/// file would (`crate::config`).
pub(crate) fn conflicting_option(given: &Settings) -> Option<&'static str> {
    [
        (given.starttls == Some(StartTls::Never), "--starttls never"),
        (
            given.starttls == Some(StartTls::Opportunistic),
            "--starttls opportunistic",
        ),
        (given.insecure, "--insecure"),
    ]
    .into_iter()
    .find(|(given, _)| *given)
    .map(|(_, option)| option)
}

/// Whether `message` says `TLS-Required: No` (RFC 8689 §5: its delivery is not to fail
/// for DANE or MTA-STS); refused beside `requiretls`. RFC 8689 has a relay that meets
/// both ignore the header field (REQUIRETLS wins, as the MX planner does); here both
/// come from the sender at once, so the contradiction is theirs to settle, before
/// anything is looked up or sent.
pub(crate) fn tls_required_no(requiretls: bool, message: &[u8]) -> Result<bool, Failure> {
    let no = crate::sendmail::input::field(message, "TLS-Required")
        .is_some_and(|v| v.eq_ignore_ascii_case("no"));
    if requiretls && no {
        return Err(Failure::Usage(
            "--requiretls with a message saying `TLS-Required: No`: \
             the one asks for verified TLS, the other for none (RFC 8689)"
                .into(),
        ));
    }
    Ok(no)
}

/// The reply an MTA gives a message it cannot send under REQUIRETLS (RFC 8689 §5:
/// `5.7.30`), said here for the relay's session: no REQUIRETLS offered over TLS, or
/// no TLS at all. The `--mx` planner's bounce has the same code and status.
pub(crate) fn refusal(why: &str) -> Reply {
    let text = format!("5.7.30 REQUIRETLS not possible through this relay: {why} (RFC 8689)");
    Reply::new(ReplyCode::MAILBOX_UNAVAILABLE, &[text.as_bytes()])
        .expect("a one-line reply of printable text")
}

/// The refusal of a transaction the core would not begin, when it was REQUIRETLS.
pub(crate) fn refused_transaction(e: &TxnError) -> Option<Reply> {
    matches!(e, TxnError::NeedsRequireTls)
        .then(|| refusal("the session is not encrypted or the relay does not offer REQUIRETLS"))
}

/// Under REQUIRETLS, a relay that offers no STARTTLS can offer no REQUIRETLS either:
/// its session ends before MAIL as with `--starttls required`, but the message is
/// refused as one without REQUIRETLS is (5.7.30, exit 69), not as a TLS failure.
pub(crate) fn unencrypted(requiretls: bool, failure: Failure) -> Failure {
    match failure {
        Failure::Session(smtp_io::Error::Smtp(SmtpError::TlsRequired(
            TlsRequiredError::NotOffered,
        ))) if requiretls => Failure::Refused(refusal("the relay does not offer STARTTLS")),
        f => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{status, ExitStatus};

    fn not_offered() -> Failure {
        Failure::Session(smtp_io::Error::Smtp(SmtpError::TlsRequired(
            TlsRequiredError::NotOffered,
        )))
    }

    /// Only a relay offering no STARTTLS, and only under REQUIRETLS, becomes the 5.7.30
    /// refusal (69); STARTTLS refused by the relay stays a TLS failure (76).
    #[test]
    fn no_starttls_under_requiretls_is_5_7_30_and_69_else_unchanged() {
        let f = unencrypted(true, not_offered());
        assert!(f.to_string().starts_with("550 5.7.30 "), "{f}");
        assert_eq!(status(Some(&f), &[], 1), ExitStatus::Unavailable);
        let f = unencrypted(false, not_offered());
        assert_eq!(status(Some(&f), &[], 1), ExitStatus::Protocol);
        let reply = crate::exit::tests::reply(454, "4.7.0 TLS not available");
        let refused = Failure::Session(smtp_io::Error::Smtp(SmtpError::TlsRequired(
            TlsRequiredError::Refused(reply),
        )));
        let f = unencrypted(true, refused);
        assert_eq!(status(Some(&f), &[], 1), ExitStatus::Protocol);
    }

    #[test]
    fn the_refusal_of_a_requiretls_transaction_is_550_5_7_30_others_none() {
        let r = refused_transaction(&TxnError::NeedsRequireTls).expect("a reply");
        assert_eq!(u16::from(r.code()), 550);
        assert_eq!(
            r.enhanced().map(|e| e.to_string()).as_deref(),
            Some("5.7.30")
        );
        assert!(refused_transaction(&TxnError::NeedsDsn).is_none());
    }

    #[test]
    fn weaker_tls_options_of_the_command_line_are_named() {
        let mut s = Settings::default();
        assert_eq!(conflicting_option(&s), None);
        s.starttls = Some(StartTls::Required);
        assert_eq!(conflicting_option(&s), None);
        s.starttls = Some(StartTls::Opportunistic);
        assert_eq!(conflicting_option(&s), Some("--starttls opportunistic"));
        s.starttls = Some(StartTls::Never);
        assert_eq!(conflicting_option(&s), Some("--starttls never"));
        s.starttls = None;
        s.insecure = true;
        assert_eq!(conflicting_option(&s), Some("--insecure"));
    }
}

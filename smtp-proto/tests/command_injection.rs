//! Command-injection regressions: the classes of bugs listed in security.md ("Injection
//! through caller input"), replayed against every constructor. Each must refuse the value
//! with `ControlCharacter` at the offending byte, so nothing reaches `Command::encode`.

use smtp_proto::command::{
    AddressError, AddressErrorKind, Domain, EhloName, EnvId, ForwardPath, Mailbox, Mechanism,
    Orcpt, ReversePath, VrfyArg,
};

type Ctor = fn(&str) -> Result<(), AddressError>;

/// Every checking constructor, by name.
const CTORS: &[(&str, Ctor)] = &[
    ("Mailbox", |s| Mailbox::new(s).map(drop)),
    ("Domain", |s| Domain::new(s).map(drop)),
    ("EhloName", |s| EhloName::new(s).map(drop)),
    ("ReversePath", |s| ReversePath::new(s).map(drop)),
    ("ForwardPath", |s| ForwardPath::new(s).map(drop)),
    ("EnvId", |s| EnvId::new(s).map(drop)),
    ("Orcpt::rfc822", |s| Orcpt::rfc822(s).map(drop)),
    ("Orcpt::utf8", |s| Orcpt::utf8(s).map(drop)),
    ("Mechanism", |s| Mechanism::new(s).map(drop)),
    ("VrfyArg", |s| VrfyArg::new(s).map(drop)),
];

/// Asserts every constructor refuses `input` with a control character at `pos`.
fn refused_everywhere(input: &str, pos: usize) {
    for (name, ctor) in CTORS {
        let e = ctor(input).expect_err(name);
        assert_eq!(
            (e.kind(), e.position()),
            (AddressErrorKind::ControlCharacter, pos),
            "{name} on {input:?}"
        );
    }
}

/// Go issue 21159: net/smtp passed caller addresses to MAIL/RCPT unchecked, so a CRLF in
/// an address started a new command.
#[test]
fn go_issue_21159_crlf_in_address_adds_rcpt() {
    refused_everywhere("a@b\r\nRCPT TO:<evil@x>", 3);
    let e = ReversePath::new("<a@b>\r\nRCPT TO:<evil@x>").unwrap_err();
    assert_eq!(e.position(), 5);
}

/// PHPMailer CVE-2015-8476: line breaks in an address were sent within SMTP commands.
#[test]
fn phpmailer_cve_2015_8476_line_break_in_address() {
    refused_everywhere("a@b\nDATA", 3);
    refused_everywhere("a@b\rDATA", 3);
    refused_everywhere("\r\n", 0);
}

/// Python bpo-43124: smtplib let CR/LF in command arguments inject commands.
#[test]
fn python_bpo_43124_crlf_in_command_argument() {
    refused_everywhere("client.example\r\nMAIL FROM:<x@y>", 14);
    let e = VrfyArg::new("user\r\nEXPN all").unwrap_err();
    assert_eq!(e.position(), 4);
}

/// aiosmtplib GHSA-v3q9-hj7j-63hq: CRLF in caller-supplied values injected commands.
#[test]
fn aiosmtplib_ghsa_v3q9_hj7j_63hq_crlf_injection() {
    // Closing the path and opening DATA on the same line.
    refused_everywhere("a@b>\r\nDATA", 4);
    let e = ForwardPath::new("<a@b>\r\nDATA\r\n").unwrap_err();
    assert_eq!(e.position(), 5);
}

/// Nodemailer GHSA-c7w3-x93f-qmm8: SMTP command injection through envelope values.
#[test]
fn nodemailer_ghsa_c7w3_x93f_qmm8_envelope_injection() {
    refused_everywhere("x\r\n.\r\nMAIL FROM:<evil@x>", 1);
    // Into a DSN parameter value instead of the path.
    let e = EnvId::new("id\r\nRSET").unwrap_err();
    assert_eq!(e.position(), 2);
    let e = Orcpt::rfc822("x@y\r\nRCPT TO:<evil@x>").unwrap_err();
    assert_eq!(e.position(), 3);
}

/// Nodemailer GHSA-vvjj-xcjg-gr5g: further CRLF injection through caller-controlled
/// strings reaching the command stream.
#[test]
fn nodemailer_ghsa_vvjj_xcjg_gr5g_crlf_in_other_fields() {
    refused_everywhere("PLAIN\r\nAUTH LOGIN", 5);
    // A lone LF is enough for lenient servers.
    refused_everywhere("PLAIN\nQUIT", 5);
}

/// NUL truncates strings in C servers and hides what follows.
#[test]
fn nul_byte_refused() {
    refused_everywhere("a@b\0", 3);
    refused_everywhere("\0a@b", 0);
    let e = Mailbox::new("\"a\0b\"@c").unwrap_err();
    assert_eq!(e.position(), 2);
}

/// Other C0 controls, DEL and C1 controls (NEL, U+0085, is a line break to some parsers).
#[test]
fn other_controls_refused() {
    refused_everywhere("a@b\t", 3);
    refused_everywhere("a@b\x1b[2J", 3);
    refused_everywhere("a@b\x7f", 3);
    refused_everywhere("a@b\u{85}", 3);
    refused_everywhere("a@b\u{9f}x", 3);
}

/// A control byte is reported even when something earlier is also wrong, so the log
/// always names the injection.
#[test]
fn control_reported_before_grammar_errors() {
    let e = Mailbox::new("a b..c<@\r\n").unwrap_err();
    assert_eq!(
        (e.kind(), e.position()),
        (AddressErrorKind::ControlCharacter, 8)
    );
}

/// Unquoted `<`, `>` and spaces in paths would let a value close the path and add
/// parameters: `MAIL FROM:<a@b> SIZE=1` chosen by the sender's input.
#[test]
fn angle_brackets_and_spaces_in_paths() {
    for s in ["a@b> SIZE=1", "a@b>", "<a@b", "a>@b", "a @b", "a@b x"] {
        let e = Mailbox::new(s).unwrap_err();
        assert_eq!(e.kind(), AddressErrorKind::InvalidCharacter, "{s}");
    }
    let e = ReversePath::new("<a@b> SIZE=1>").unwrap_err();
    assert_eq!(
        (e.kind(), e.position()),
        (AddressErrorKind::InvalidCharacter, 4)
    );
    let e = ForwardPath::new("x@y> NOTIFY=NEVER").unwrap_err();
    assert_eq!(
        (e.kind(), e.position()),
        (AddressErrorKind::InvalidCharacter, 3)
    );
}

//! The commands a client sends and their exact wire form (RFC 5321 §4.1.1 and the
//! extensions' sections cited below).

use alloc::vec::Vec;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::domain::EhloName;
use super::itoa::write_u64;
use super::mechanism::Mechanism;
use super::params::{MailParams, RcptParams};
use super::path::{ForwardPath, ReversePath};
use super::vrfy::VrfyArg;

/// One command line, borrowing its already validated arguments.
///
/// Every argument type checks its value when it is built, so every `Command` encodes to
/// a single well-formed line: no CR, LF or NUL can reach the wire from an argument.
///
/// Public with the `unstable` feature only (no semver guarantee): the client writes
/// every command itself.
///
/// ```
/// use smtp_proto::command::{BodyType, Command, MailParams, ReversePath};
///
/// let from = ReversePath::new("alice@example.org")?;
/// let mut params = MailParams::default();
/// params.size = Some(1234);
/// params.body = Some(BodyType::EightBitMime);
/// let mut out = Vec::new();
/// Command::Mail { from: &from, params: &params }.encode(&mut out);
/// assert_eq!(out, b"MAIL FROM:<alice@example.org> SIZE=1234 BODY=8BITMIME\r\n");
/// # Ok::<(), smtp_proto::command::AddressError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// `EHLO name` (RFC 5321 §4.1.1.1).
    Ehlo(&'a EhloName),
    /// `HELO name` (RFC 5321 §4.1.1.1), the fallback when EHLO is refused.
    Helo(&'a EhloName),
    /// `LHLO name` (RFC 2033 §4.1), LMTP's EHLO.
    Lhlo(&'a EhloName),
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism.
        mechanism: &'a Mechanism,
        /// Raw bytes of the initial response, base64-encoded on the wire; `Some(&[])`
        /// is sent as `=`, the empty initial response.
        initial_response: Option<&'a [u8]>,
    },
    /// A response to a `334` challenge: raw bytes sent as one base64 line, an empty line
    /// for empty bytes (RFC 4954 §4).
    AuthResponse(&'a [u8]),
    /// `*`: abandons the exchange (RFC 4954 §4).
    AuthCancel,
    /// `MAIL FROM:<path> params` (RFC 5321 §4.1.1.2).
    Mail {
        /// The reverse path, possibly null.
        from: &'a ReversePath,
        /// The ESMTP parameters.
        params: &'a MailParams,
    },
    /// `RCPT TO:<path> params` (RFC 5321 §4.1.1.3).
    Rcpt {
        /// The forward path.
        to: &'a ForwardPath,
        /// The ESMTP parameters.
        params: &'a RcptParams,
    },
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 §2); exactly `size` octets must follow.
    Bdat {
        /// The number of octets in the chunk.
        size: u64,
        /// Whether this is the last chunk.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `NOOP` (RFC 5321 §4.1.1.9).
    Noop,
    /// `VRFY argument` (RFC 5321 §4.1.1.6), with ` SMTPUTF8` after an argument that
    /// [needs it](VrfyArg::needs_smtputf8) (RFC 6531 §3.7.4.2).
    Vrfy(&'a VrfyArg),
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
}

impl Command<'_> {
    /// Appends the command's exact wire bytes, CRLF-terminated, to `out`. Verbs are
    /// uppercase. Nothing is allocated except in `out`.
    ///
    /// Line length is not checked: RFC 5321 §4.5.3.1.4's 512 octets is raised by each
    /// extension whose parameters are used (e.g. RFC 1870 §3, RFC 3461 §4), and AUTH
    /// lines may be longer by RFC 4954 §4; the argument types bound what they can add.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Ehlo(name) => hello(out, b"EHLO ", name),
            Self::Helo(name) => hello(out, b"HELO ", name),
            Self::Lhlo(name) => hello(out, b"LHLO ", name),
            Self::StartTls => out.extend_from_slice(b"STARTTLS"),
            Self::Auth {
                mechanism,
                initial_response,
            } => {
                out.extend_from_slice(b"AUTH ");
                out.extend_from_slice(mechanism.as_str().as_bytes());
                match initial_response {
                    None => {}
                    // RFC 4954 §4: "=" is a present but empty initial response.
                    Some([]) => out.extend_from_slice(b" ="),
                    Some(bytes) => {
                        out.push(b' ');
                        base64(out, bytes);
                    }
                }
            }
            Self::AuthResponse(bytes) => base64(out, bytes),
            Self::AuthCancel => out.push(b'*'),
            Self::Mail { from, params } => {
                out.extend_from_slice(b"MAIL FROM:<");
                out.extend_from_slice(from.as_str().as_bytes());
                out.push(b'>');
                params.encode(out);
            }
            Self::Rcpt { to, params } => {
                out.extend_from_slice(b"RCPT TO:<");
                out.extend_from_slice(to.as_str().as_bytes());
                out.push(b'>');
                params.encode(out);
            }
            Self::Data => out.extend_from_slice(b"DATA"),
            Self::Bdat { size, last } => {
                out.extend_from_slice(b"BDAT ");
                write_u64(out, *size);
                if *last {
                    out.extend_from_slice(b" LAST");
                }
            }
            Self::Rset => out.extend_from_slice(b"RSET"),
            Self::Noop => out.extend_from_slice(b"NOOP"),
            Self::Vrfy(arg) => {
                out.extend_from_slice(b"VRFY ");
                out.extend_from_slice(arg.as_str().as_bytes());
                // RFC 6531 §3.7.4.2: non-ASCII text only with the parameter.
                if arg.needs_smtputf8() {
                    out.extend_from_slice(b" SMTPUTF8");
                }
            }
            Self::Quit => out.extend_from_slice(b"QUIT"),
        }
        out.extend_from_slice(b"\r\n");
    }

    /// Whether this command must be the last of a pipelined group, so the client waits
    /// for its reply before sending anything else.
    ///
    /// RFC 2920 §3.1: EHLO, DATA, VRFY, EXPN, TURN, QUIT and NOOP end a group; RSET, MAIL
    /// and RCPT may appear anywhere. HELO and LHLO are EHLO's siblings. Ours: STARTTLS
    /// and AUTH (with its responses) end a group because what follows depends on their
    /// outcome. BDAT may be pipelined (RFC 3030 §4.2).
    pub fn ends_group(&self) -> bool {
        match self {
            Self::Mail { .. } | Self::Rcpt { .. } | Self::Rset | Self::Bdat { .. } => false,
            Self::Ehlo(_)
            | Self::Helo(_)
            | Self::Lhlo(_)
            | Self::StartTls
            | Self::Auth { .. }
            | Self::AuthResponse(_)
            | Self::AuthCancel
            | Self::Data
            | Self::Noop
            | Self::Vrfy(_)
            | Self::Quit => true,
        }
    }
}

fn hello(out: &mut Vec<u8>, verb: &[u8], name: &EhloName) {
    out.extend_from_slice(verb);
    out.extend_from_slice(name.as_str().as_bytes());
}

/// Appends `bytes` in standard padded base64 (RFC 4954 §4 uses RFC 4648 §4), writing
/// into `out` in place rather than through a temporary string.
fn base64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    let Some(len) = base64::encoded_len(bytes.len(), true) else {
        // Only for inputs near usize::MAX, which cannot exist in memory.
        return;
    };
    out.resize(start + len, 0);
    let written = out
        .get_mut(start..)
        .and_then(|dst| STANDARD.encode_slice(bytes, dst).ok())
        .unwrap_or(0);
    out.truncate(start + written);
}

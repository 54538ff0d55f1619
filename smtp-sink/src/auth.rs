//! AUTH PLAIN (RFC 4616) and LOGIN against the sink's users (RFC 4954 exchanges).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// An exchange waiting for the client's next line.
#[derive(Debug)]
pub(crate) enum Pending {
    Plain,
    LoginUser,
    LoginPassword(String),
}

/// What the server says next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `334 <prompt>` and wait.
    Challenge(&'static str),
    /// 235: authenticated as this user with this mechanism.
    Success(&'static str, String),
    /// A failure reply: code and text.
    Fail(u16, &'static str),
}

const USERNAME: &str = "VXNlcm5hbWU6"; // "Username:"
const PASSWORD: &str = "UGFzc3dvcmQ6"; // "Password:"
const BAD_BASE64: Step = Step::Fail(501, "5.5.2 Cannot decode response");
const INVALID: Step = Step::Fail(535, "5.7.8 Authentication credentials invalid");

fn decode(s: &str) -> Option<Vec<u8>> {
    // RFC 4954 §4: "=" is an empty initial response.
    match s {
        "=" => Some(Vec::new()),
        s => STANDARD.decode(s).ok(),
    }
}

fn check(users: &[(String, String)], mechanism: &'static str, user: &str, pass: &str) -> Step {
    match users.iter().any(|(u, p)| u == user && p == pass) {
        true => Step::Success(mechanism, user.to_string()),
        false => INVALID,
    }
}

/// `message` = [authzid] NUL authcid NUL passwd (RFC 4616 §2).
fn plain(users: &[(String, String)], response: &str) -> Step {
    let Some(raw) = decode(response) else {
        return BAD_BASE64;
    };
    let mut parts = raw.split(|&b| b == 0);
    let (Some(_authz), Some(user), Some(pass), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return INVALID;
    };
    match (std::str::from_utf8(user), std::str::from_utf8(pass)) {
        (Ok(user), Ok(pass)) => check(users, "PLAIN", user, pass),
        _ => INVALID,
    }
}

/// AUTH `mechanism` [`initial`]: the first step, and what then waits.
pub(crate) fn start(
    users: &[(String, String)],
    mechanism: &str,
    initial: Option<&str>,
) -> (Step, Option<Pending>) {
    if mechanism.eq_ignore_ascii_case("PLAIN") {
        return match initial {
            Some(r) => (plain(users, r), None),
            None => (Step::Challenge(""), Some(Pending::Plain)),
        };
    }
    if mechanism.eq_ignore_ascii_case("LOGIN") {
        return match initial {
            Some(r) => login_user(r),
            None => (Step::Challenge(USERNAME), Some(Pending::LoginUser)),
        };
    }
    (
        Step::Fail(504, "5.5.4 Unrecognized authentication type"),
        None,
    )
}

fn login_user(response: &str) -> (Step, Option<Pending>) {
    match decode(response).map(String::from_utf8) {
        Some(Ok(user)) => (
            Step::Challenge(PASSWORD),
            Some(Pending::LoginPassword(user)),
        ),
        _ => (BAD_BASE64, None),
    }
}

/// The client's line after a 334.
pub(crate) fn respond(
    users: &[(String, String)],
    pending: Pending,
    line: &str,
) -> (Step, Option<Pending>) {
    // RFC 4954 §4: "*" cancels the exchange.
    if line == "*" {
        return (Step::Fail(501, "5.0.0 Authentication cancelled"), None);
    }
    match pending {
        Pending::Plain => (plain(users, line), None),
        Pending::LoginUser => login_user(line),
        Pending::LoginPassword(user) => match decode(line).map(String::from_utf8) {
            Some(Ok(pass)) => (check(users, "LOGIN", &user, &pass), None),
            _ => (BAD_BASE64, None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Vec<(String, String)> {
        vec![("alice".into(), "secret".into())]
    }

    #[test]
    fn plain_with_and_without_initial_response() {
        let ok = STANDARD.encode(b"\0alice\0secret");
        assert_eq!(
            start(&users(), "plain", Some(&ok)).0,
            Step::Success("PLAIN", "alice".into())
        );
        let (step, pending) = start(&users(), "PLAIN", None);
        assert_eq!(step, Step::Challenge(""));
        let bad = STANDARD.encode(b"\0alice\0wrong");
        assert_eq!(respond(&users(), pending.unwrap(), &bad).0, INVALID);
        assert_eq!(start(&users(), "PLAIN", Some("!!")).0, BAD_BASE64);
    }

    #[test]
    fn login_in_two_steps_and_cancel() {
        let (step, p) = start(&users(), "LOGIN", None);
        assert_eq!(step, Step::Challenge(USERNAME));
        let (step, p) = respond(&users(), p.unwrap(), &STANDARD.encode("alice"));
        assert_eq!(step, Step::Challenge(PASSWORD));
        let (step, p) = respond(&users(), p.unwrap(), &STANDARD.encode("secret"));
        assert_eq!(
            (step, p.is_none()),
            (Step::Success("LOGIN", "alice".into()), true)
        );
        let (_, p) = start(&users(), "LOGIN", None);
        assert_eq!(respond(&users(), p.unwrap(), "*").0.code(), 501);
        assert_eq!(start(&users(), "CRAM-MD5", None).0.code(), 504);
    }

    impl Step {
        fn code(&self) -> u16 {
            match self {
                Step::Challenge(_) => 334,
                Step::Success(..) => 235,
                Step::Fail(c, _) => *c,
            }
        }
    }
}

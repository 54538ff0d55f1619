//! AUTH PLAIN (RFC 4616), LOGIN and XOAUTH2 (Google's OAuth 2.0 bearer-token
//! mechanism) against the sink's users (RFC 4954 exchanges). For XOAUTH2 a user's
//! password is its token.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// An exchange waiting for the client's next line.
#[derive(Debug)]
pub(crate) enum Pending {
    Plain,
    XOAuth2,
    LoginUser,
    LoginPassword(String),
}

/// What the server says next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `334 <prompt>` and wait.
    Challenge(&'static str),
    /// 235: authenticated as this user with this mechanism, with the credentials at
    /// this position of the sink's users.
    Success(&'static str, String, usize),
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
    match users.iter().position(|(u, p)| u == user && p == pass) {
        Some(i) => Step::Success(mechanism, user.to_string(), i),
        None => INVALID,
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

/// XOAUTH2's `user=USER ^A auth=Bearer TOKEN ^A ^A`. A refused token gets 535 at once
/// (Google's servers first send a 334 with a JSON error; a client copes with both).
fn xoauth2(users: &[(String, String)], response: &str) -> Step {
    let Some(raw) = decode(response) else {
        return BAD_BASE64;
    };
    let Ok(text) = std::str::from_utf8(&raw) else {
        return INVALID;
    };
    let mut parts = text.split('\x01');
    let (Some(user), Some(auth), Some(""), Some(""), None) = (
        parts.next().and_then(|p| p.strip_prefix("user=")),
        parts.next().and_then(|p| p.strip_prefix("auth=Bearer ")),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return INVALID;
    };
    check(users, "XOAUTH2", user, auth)
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
    if mechanism.eq_ignore_ascii_case("XOAUTH2") {
        return match initial {
            Some(r) => (xoauth2(users, r), None),
            None => (Step::Challenge(""), Some(Pending::XOAuth2)),
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
        Pending::XOAuth2 => (xoauth2(users, line), None),
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
            Step::Success("PLAIN", "alice".into(), 0)
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
            (Step::Success("LOGIN", "alice".into(), 0), true)
        );
        let (_, p) = start(&users(), "LOGIN", None);
        assert_eq!(respond(&users(), p.unwrap(), "*").0.code(), 501);
        assert_eq!(start(&users(), "CRAM-MD5", None).0.code(), 504);
    }

    #[test]
    fn xoauth2_checks_the_token_and_names_the_credentials_used() {
        let users = vec![
            ("alice".to_string(), "token-1".to_string()),
            ("alice".to_string(), "token-2".to_string()),
        ];
        let response =
            |token: &str| STANDARD.encode(format!("user=alice\x01auth=Bearer {token}\x01\x01"));
        assert_eq!(
            start(&users, "XOAUTH2", Some(&response("token-2"))).0,
            Step::Success("XOAUTH2", "alice".into(), 1)
        );
        assert_eq!(
            start(&users, "XOAUTH2", Some(&response("token-3"))).0,
            INVALID
        );
        let (step, p) = start(&users, "xoauth2", None);
        assert_eq!(step, Step::Challenge(""));
        assert_eq!(
            respond(&users, p.unwrap(), &response("token-1")).0,
            Step::Success("XOAUTH2", "alice".into(), 0)
        );
        let truncated = STANDARD.encode("user=alice\x01auth=Bearer token-1");
        assert_eq!(start(&users, "XOAUTH2", Some(&truncated)).0, INVALID);
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

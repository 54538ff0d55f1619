//! The sink's own, simple reading of client command lines (RFC 5321 §4.1.1): the verb,
//! then the arguments left as text for the connection to check.

use crate::record::Param;

/// Which greeting command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hello {
    Ehlo,
    Helo,
    Lhlo,
}

/// One command line, split.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command<'a> {
    Hello(Hello, &'a str),
    /// The path with its angle brackets, and the parameters' text.
    Mail(&'a str, &'a str),
    Rcpt(&'a str, &'a str),
    Data,
    Bdat {
        size: u64,
        last: bool,
    },
    Rset,
    Noop,
    Quit,
    StartTls,
    Auth(&'a str, Option<&'a str>),
    Vrfy,
    Help,
    /// A known verb with arguments that do not parse.
    Syntax(&'static str),
    Unknown,
}

/// Splits `s` at its first space: (head, rest without leading spaces).
fn word(s: &str) -> (&str, &str) {
    match s.split_once(' ') {
        Some((head, rest)) => (head, rest.trim_start_matches(' ')),
        None => (s, ""),
    }
}

/// `FROM:<path> params` after the verb: (`<path>`, params). The path ends at the first
/// `>` outside a quoted string (RFC 5321 §4.1.2 `Quoted-string` may hold `>`).
fn path_arg<'a>(args: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let head = args.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    // Tolerated, as most servers do: spaces after the colon.
    let rest = args[prefix.len()..].trim_start_matches(' ');
    if !rest.starts_with('<') {
        return None;
    }
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => {
                let params = &rest[i + 1..];
                if !params.is_empty() && !params.starts_with(' ') {
                    return None;
                }
                return Some((&rest[..=i], params.trim_matches(' ')));
            }
            _ => {}
        }
    }
    None
}

/// Reads one command line (without its line end).
pub(crate) fn parse(line: &str) -> Command<'_> {
    let (verb, args) = word(line);
    let is = |v: &str| verb.eq_ignore_ascii_case(v);
    let bare = |c: Command<'static>| {
        if args.is_empty() {
            c
        } else {
            Command::Syntax("5.5.4 No parameters allowed")
        }
    };
    if is("EHLO") || is("HELO") || is("LHLO") {
        let kind = match verb.as_bytes()[0].to_ascii_uppercase() {
            b'E' => Hello::Ehlo,
            b'H' => Hello::Helo,
            _ => Hello::Lhlo,
        };
        let name = args.trim_end_matches(' ');
        return match name.is_empty() || name.contains(' ') {
            true => Command::Syntax("5.5.4 One domain name or address literal needed"),
            false => Command::Hello(kind, name),
        };
    }
    if is("MAIL") {
        return path_arg(args, "FROM:").map_or(
            Command::Syntax("5.5.4 Syntax: MAIL FROM:<address> [parameters]"),
            |(p, rest)| Command::Mail(p, rest),
        );
    }
    if is("RCPT") {
        return path_arg(args, "TO:").map_or(
            Command::Syntax("5.5.4 Syntax: RCPT TO:<address> [parameters]"),
            |(p, rest)| Command::Rcpt(p, rest),
        );
    }
    if is("BDAT") {
        let (size, rest) = word(args);
        let last = match rest.trim_end_matches(' ') {
            "" => false,
            l if l.eq_ignore_ascii_case("LAST") => true,
            _ => return Command::Syntax("5.5.4 Syntax: BDAT <size> [LAST]"),
        };
        return match size.bytes().all(|b| b.is_ascii_digit()) {
            true => size
                .parse()
                .map_or(Command::Syntax("5.5.4 BDAT size too large"), |size| {
                    Command::Bdat { size, last }
                }),
            false => Command::Syntax("5.5.4 Syntax: BDAT <size> [LAST]"),
        };
    }
    if is("AUTH") {
        let (mechanism, initial) = word(args);
        let initial = initial.trim_end_matches(' ');
        return match (mechanism.is_empty(), initial.contains(' ')) {
            (false, false) => Command::Auth(mechanism, (!initial.is_empty()).then_some(initial)),
            _ => Command::Syntax("5.5.4 Syntax: AUTH <mechanism> [initial-response]"),
        };
    }
    match () {
        _ if is("DATA") => bare(Command::Data),
        _ if is("RSET") => bare(Command::Rset),
        _ if is("QUIT") => bare(Command::Quit),
        _ if is("STARTTLS") => bare(Command::StartTls),
        // NOOP and HELP may carry a string that is ignored (RFC 5321 §4.1.1.9, §4.1.1.8).
        _ if is("NOOP") => Command::Noop,
        _ if is("HELP") => Command::Help,
        _ if is("VRFY") => Command::Vrfy,
        _ => Command::Unknown,
    }
}

/// Splits `KEY[=VALUE]` parameters separated by spaces (RFC 5321 §4.1.2
/// `Mail-parameters`); `None` if one has an empty keyword or value.
pub(crate) fn params(text: &str) -> Option<Vec<Param>> {
    text.split(' ')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (keyword, value) = match p.split_once('=') {
                Some((k, v)) if !v.is_empty() => (k, Some(v.to_string())),
                Some(_) => return None,
                None => (p, None),
            };
            let ok = !keyword.is_empty()
                && keyword
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-');
            ok.then(|| Param {
                keyword: keyword.to_ascii_uppercase(),
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_any_case_with_their_arguments() {
        assert_eq!(parse("ehlo x.test"), Command::Hello(Hello::Ehlo, "x.test"));
        assert_eq!(parse("LHLO x.test"), Command::Hello(Hello::Lhlo, "x.test"));
        assert_eq!(
            parse("MAIL FROM:<a@x.test> SIZE=10 BODY=8BITMIME"),
            Command::Mail("<a@x.test>", "SIZE=10 BODY=8BITMIME")
        );
        assert_eq!(parse("mail from: <>"), Command::Mail("<>", ""));
        assert_eq!(
            parse("RCPT TO:<\"a>b\"@x.test> NOTIFY=NEVER"),
            Command::Rcpt("<\"a>b\"@x.test>", "NOTIFY=NEVER")
        );
        assert_eq!(
            parse("BDAT 0 LAST"),
            Command::Bdat {
                size: 0,
                last: true
            }
        );
        assert_eq!(
            parse("bdat 12"),
            Command::Bdat {
                size: 12,
                last: false
            }
        );
        assert_eq!(
            parse("AUTH PLAIN AGEAYg=="),
            Command::Auth("PLAIN", Some("AGEAYg=="))
        );
        assert_eq!(parse("AUTH LOGIN"), Command::Auth("LOGIN", None));
        assert_eq!(parse("NOOP anything"), Command::Noop);
        assert_eq!(parse("XYZZY"), Command::Unknown);
    }

    #[test]
    fn malformed_arguments_are_syntax_errors() {
        for line in [
            "EHLO",
            "MAIL TO:<a@x.test>",
            "MAIL FROM:a@x.test",
            "MAIL FROM:<a@x.test>SIZE=1",
            "RCPT TO:<a@x.test",
            "BDAT x",
            "BDAT 1 FIRST",
            "BDAT 99999999999999999999999",
            "DATA now",
            "AUTH",
        ] {
            assert!(matches!(parse(line), Command::Syntax(_)), "{line}");
        }
    }

    #[test]
    fn params_split_and_upper_case_keywords() {
        let p = params("size=10 SMTPUTF8").unwrap();
        assert_eq!(p[0].keyword, "SIZE");
        assert_eq!(p[0].value.as_deref(), Some("10"));
        assert_eq!(p[1].value, None);
        assert!(params("SIZE=").is_none());
        assert!(params("=1").is_none());
        assert_eq!(params("").unwrap(), vec![]);
    }
}

//! Sendmail mode: `smtp-send` invoked as `sendmail` (a link of that name) or with
//! `--sendmail`, as cron, PHP's `mail()`, git send-email, mutt and mdadm call it. The
//! command line is sendmail's ([`args`]), the message comes on standard input
//! ([`input`]), and the rest (accounts, the session, sysexits statuses) is the normal
//! mode's. `-bp` (or a link named `mailq`) lists the spool and `-q` runs it, as
//! `--list-queue` and `--flush-queue`. `--mx` (or the account's `mx = true`) delivers
//! straight to the recipients' MX hosts, for a host without a relay.

pub(crate) mod args;
pub(crate) mod input;
mod qualify;

use std::borrow::Cow;

use clap::{CommandFactory, FromArgMatches};
use smtp_io::message::{remove_bcc, Parts};
use smtp_io::MessageError;

use crate::args::Args;
use crate::exit::Failure;
use args::{Mode, SendmailArgs};

/// The name the program was invoked by (`argv[0]`'s file name).
fn program_name(argv: &[String]) -> Option<&str> {
    argv.first()
        .map(std::path::Path::new)
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
}

/// Whether this run is sendmail mode: `argv[0]`'s name is `sendmail` or `mailq`, or
/// `--sendmail` comes before any `--`.
pub(crate) fn invoked(argv: &[String]) -> bool {
    matches!(program_name(argv), Some("sendmail" | "mailq"))
        || argv
            .iter()
            .skip(1)
            .take_while(|a| *a != "--")
            .any(|a| a == "--sendmail")
}

/// The sendmail command line: smtp-send's long options parsed by clap, and sendmail's
/// own.
pub(crate) fn command_line(argv: &[String]) -> Result<(Args, SendmailArgs), clap::Error> {
    let mut command = Args::command();
    command.build();
    let long = |name: &str| {
        command
            .get_arguments()
            .find(|a| a.get_long() == Some(name))
            .map(|a| a.get_action().takes_values())
    };
    let usage = |e: String| clap::Error::raw(clap::error::ErrorKind::ValueValidation, e + "\n");
    let mut sm = args::parse(argv.get(1..).unwrap_or_default(), &long).map_err(usage)?;
    if program_name(argv) == Some("mailq") {
        // `mailq` is `sendmail -bp`.
        if sm.mode == Mode::FlushQueue {
            return Err(usage(
                "mailq lists the spool: -q runs it as sendmail -q".into(),
            ));
        }
        sm.mode = Mode::ListQueue;
    }
    // The spool's modes are smtp-send's own options, so that clap checks what goes
    // with them (`--ignore-backoff`, `--resend-unknown`; not `--mx`, `--subject` ...).
    let queue = match sm.mode {
        Mode::Deliver => None,
        Mode::ListQueue => Some("--list-queue"),
        Mode::FlushQueue => Some("--flush-queue"),
    };
    let queue = queue.filter(|q| !sm.long.iter().any(|l| l == q));
    let own = std::iter::once("sendmail".to_owned())
        .chain(sm.long.iter().cloned())
        .chain(queue.map(str::to_owned));
    let matches = Args::command().try_get_matches_from(own)?;
    let args = Args::from_arg_matches(&matches)?;
    Ok((args, sm))
}

/// Puts what sendmail's options say into `args`, where the command line's own options
/// have not already: `-f`, `-N`, `-R`, `-V`, `-C`, and the recipients.
pub(crate) fn into_args(args: &mut Args, sm: &SendmailArgs) {
    fn fill(flag: &mut Option<String>, value: &Option<String>) {
        if flag.is_none() {
            flag.clone_from(value);
        }
    }
    fill(&mut args.from, &sm.from);
    fill(&mut args.notify, &sm.notify);
    fill(&mut args.ret, &sm.ret);
    fill(&mut args.envid, &sm.envid);
    if args.config.is_none() {
        args.config = sm.config.as_ref().map(Into::into);
    }
    args.to.extend(sm.recipients.iter().cloned());
}

/// `addr` as sendmail mode sends it: a bare name (`root`) at this host.
pub(crate) fn qualified(addr: &str) -> String {
    qualify::address(addr, &crate::message::local_host())
}

/// The message on standard input, as sendmail reads it.
pub(crate) fn read_stdin(sm: &SendmailArgs) -> Result<Vec<u8>, Failure> {
    input::read(&mut std::io::stdin().lock(), sm.ignore_dots)
        .map_err(|e| Failure::Input(format!("cannot read standard input: {e}")))
}

/// The address of the message's `From:`, which picks an account like `-f`.
pub(crate) fn header_sender(message: &[u8]) -> Option<String> {
    input::field(message, "From")
        .map(|v| input::address(&v))
        .filter(|a| !a.is_empty())
}

/// The message to send, completed, and the envelope in `args`: the sender is `-f` (or
/// the account's `from`), else the message's `From:`, else the user at this host; with
/// `-t` the header's recipients join the command line's and `Bcc` goes.
pub(crate) fn prepare(
    args: &mut Args,
    sm: &SendmailArgs,
    message: Vec<u8>,
) -> Result<Vec<u8>, Failure> {
    let host = crate::message::local_host();
    // Cron's `root`: a bare name is a local user, as sendmail takes it.
    let message = qualify::header(&message, &host);
    for to in &mut args.to {
        *to = qualify::address(to, &host);
    }
    let sender = match (&args.from, header_sender(&message)) {
        (Some(f), _) => qualify::address(f, &host),
        (None, Some(h)) => h,
        (None, None) => {
            let user = std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .unwrap_or_else(|_| "root".into());
            format!("{user}@{host}")
        }
    };
    let message = input::complete(
        message,
        &input::Missing {
            from: &sender,
            full_name: sm.full_name.as_deref(),
            host: &host,
        },
    );
    let message = if sm.extract {
        let (to, message) = extract(message)
            .map_err(|e| Failure::Data(format!("-t: the message's header: {e}")))?;
        for rcpt in to {
            if !args.to.contains(&rcpt) {
                args.to.push(rcpt);
            }
        }
        message
    } else {
        message
    };
    args.from = Some(sender);
    if args.to.is_empty() {
        return Err(Failure::Usage(
            "no recipients: none on the command line and none in the header (-t)".into(),
        ));
    }
    Ok(message)
}

/// `-t`: the header's recipients (smtp-io's derivation: To, Cc, Bcc or the latest
/// Resent-* block) and the message without its `Bcc` fields. The sender is not
/// derived here (`-f` and the account decide it), so a `From:` SMTP cannot carry
/// (`From: root`) does not stop the recipients being read.
fn extract(message: Vec<u8>) -> Result<(Vec<String>, Vec<u8>), MessageError> {
    let strings = |p: Parts<'_>| -> (Vec<String>, Vec<u8>) {
        let to = p.to.iter().map(|t| t.as_str().to_owned()).collect();
        (to, p.content.into_owned())
    };
    let no_recipients = |m: Vec<u8>| (Vec::new(), remove_bcc(Cow::Owned(m)).into_owned());
    match Parts::from_header(&message[..]) {
        Ok(parts) => Ok(strings(parts)),
        Err(MessageError::NoRecipients) => Ok(no_recipients(message)),
        Err(e) if sender_problem(&e) => {
            // A `Sender:` in front stands for the sender (it comes before `From:`),
            // and is taken off again: the cut `Bcc` fields are after it.
            const STAND_IN: &[u8] = b"Sender: stand-in@sender.invalid\r\n";
            let with = [STAND_IN, &message].concat();
            match Parts::from_header(with) {
                Ok(parts) => {
                    let (to, content) = strings(parts);
                    Ok((to, content[STAND_IN.len()..].to_vec()))
                }
                Err(MessageError::NoRecipients) => Ok(no_recipients(message)),
                Err(_) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn sender_problem(e: &MessageError) -> bool {
    match e {
        MessageError::NoSender | MessageError::SeveralSenders { .. } => true,
        MessageError::Address { field, .. } => {
            matches!(*field, "From" | "Sender" | "Resent-From" | "Resent-Sender")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoked_by_name_or_flag() {
        let v = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert!(invoked(&v("/usr/sbin/sendmail -t")));
        assert!(invoked(&v("/usr/bin/mailq")));
        assert!(invoked(&v("smtp-send -t --sendmail")));
        assert!(!invoked(&v("smtp-send --to a@b")));
        assert!(!invoked(&v("/usr/bin/smtp-send -- --sendmail")));
    }

    #[test]
    fn extract_reads_recipients_and_cuts_bcc_whatever_the_from() {
        let (to, m) = extract(b"From: root\r\nTo: a@x\r\nBcc: b@y\r\n\r\nhi\r\n".to_vec()).unwrap();
        assert_eq!(to, ["a@x", "b@y"]);
        assert_eq!(m, b"From: root\r\nTo: a@x\r\n\r\nhi\r\n");
        let (to, m) = extract(b"From: a@b\r\nBcc:\r\n\r\nhi\r\n".to_vec()).unwrap();
        assert!(to.is_empty());
        assert_eq!(m, b"From: a@b\r\n\r\nhi\r\n");
        assert!(extract(b"From: a@b\r\nTo: no domain\r\n\r\n".to_vec()).is_err());
    }
}

//! The command line of sendmail mode: sendmail's own syntax, which clap cannot parse
//! (glued values as in `-fuser` and `-oem`, grouped flags as in `-ti`, options it must
//! accept and ignore, unknown options that are only a warning). Long options (`--NAME`)
//! are smtp-send's own and go on to clap; [`parse`] only needs to know which of them
//! take a value.

/// What a sendmail command line asks to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `-bm`, the default: deliver the message on standard input.
    #[default]
    Deliver,
    /// `-bp`, or invoked as `mailq`: list the spool (`--list-queue`).
    ListQueue,
    /// `-q`, `-qTIME`: run the spool once (`--flush-queue`). sendmail's TIME asks a
    /// daemon to run it every TIME; here the caller's timer does that.
    FlushQueue,
}

/// What a sendmail command line asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SendmailArgs {
    /// What to do: deliver (the default), list or run the spool.
    pub mode: Mode,
    /// `-t`: recipients from the header too (To, Cc, Bcc, or the Resent-* block).
    pub extract: bool,
    /// `-f ADDR` / `-r ADDR`: the envelope sender.
    pub from: Option<String>,
    /// `-F NAME`: the full name of a `From:` added when the message has none.
    pub full_name: Option<String>,
    /// `-i` / `-oi`: a line of a single `.` does not end the input.
    pub ignore_dots: bool,
    /// `-N never|success,failure,delay`: DSN NOTIFY (RFC 3461 §4.1).
    pub notify: Option<String>,
    /// `-R full|hdrs`: DSN RET (RFC 3461 §4.3).
    pub ret: Option<String>,
    /// `-V ENVID`: DSN ENVID (RFC 3461 §4.4).
    pub envid: Option<String>,
    /// `-C FILE`: the configuration file (as msmtp's `-C`).
    pub config: Option<String>,
    /// The recipients of the command line, comma-separated lists split.
    pub recipients: Vec<String>,
    /// smtp-send's own long options, for clap, in order (`--account NAME` ...).
    pub long: Vec<String>,
    /// What was not understood, for standard error: never a reason to lose a message.
    pub warnings: Vec<String>,
}

/// How a long option of smtp-send's is written: `None` when there is no such option,
/// `Some(true)` when it takes a value.
pub(crate) type LongOptions<'a> = &'a dyn Fn(&str) -> Option<bool>;

/// Short options that take a value (glued or as the next argument) and are only
/// accepted: `-B` body type, `-O` option, `-h` hop count, `-L` syslog tag, `-X` log file.
const IGNORED_WITH_VALUE: &[char] = &['B', 'O', 'h', 'L', 'X'];

/// Short flags accepted and ignored: `-v` verbose, `-m` me too, `-U` initial
/// submission, `-G` gateway, `-n` no aliasing.
const IGNORED_FLAGS: &[char] = &['v', 'm', 'U', 'G', 'n'];

/// Parses `args` (without `argv[0]`). The error is a usage error (exit 64): a value
/// missing at the end of the line, a mode other than delivering a message, listing or
/// running the spool (`-bs`, `-bd`, `-bt`, `-bv`, `-bi` ...: never a reason to take
/// standard input for a message), or two modes at once.
pub(crate) fn parse(args: &[String], long: LongOptions<'_>) -> Result<SendmailArgs, String> {
    let mut out = SendmailArgs::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if arg == "--" {
            for a in rest.by_ref() {
                push_recipients(&mut out.recipients, a);
            }
            break;
        }
        if let Some(name) = arg.strip_prefix("--") {
            long_option(&mut out, arg, name, &mut rest, long)?;
        } else if arg.len() > 1 && arg.starts_with('-') {
            short_options(&mut out, &arg[1..], &mut rest)?;
        } else {
            push_recipients(&mut out.recipients, arg);
        }
    }
    Ok(out)
}

fn long_option<'a>(
    out: &mut SendmailArgs,
    arg: &str,
    name: &str,
    rest: &mut impl Iterator<Item = &'a String>,
    long: LongOptions<'_>,
) -> Result<(), String> {
    let bare = name.split_once('=').map_or(name, |(n, _)| n);
    match long(bare) {
        _ if bare == "sendmail" => {}
        None => out.warnings.push(format!("ignoring unknown option {arg}")),
        Some(true) if !name.contains('=') => {
            let value = rest.next().ok_or_else(|| format!("{arg} needs a value"))?;
            out.long.extend([arg.to_owned(), value.clone()]);
        }
        Some(_) => out.long.push(arg.to_owned()),
    }
    Ok(())
}

/// One argument of short options: `-ti`, `-fuser`, `-f user`, `-oem`, `-B 8BITMIME`.
fn short_options<'a>(
    out: &mut SendmailArgs,
    cluster: &str,
    rest: &mut impl Iterator<Item = &'a String>,
) -> Result<(), String> {
    for (i, c) in cluster.char_indices() {
        let glued = &cluster[i + c.len_utf8()..];
        let mut value = || -> Result<String, String> {
            if glued.is_empty() {
                rest.next()
                    .cloned()
                    .ok_or_else(|| format!("-{c} needs a value"))
            } else {
                Ok(glued.to_owned())
            }
        };
        match c {
            't' => out.extract = true,
            'i' => out.ignore_dots = true,
            c if IGNORED_FLAGS.contains(&c) => {}
            // `-o<anything>`: sendmail's options, glued; only `-oi` means something here.
            'o' => {
                if glued == "i" {
                    out.ignore_dots = true;
                }
                return Ok(());
            }
            // `-bm` (deliver a message) is what every other form does; `-bp` lists the
            // spool; the other modes (`-bs` SMTP on standard input, `-bd` daemon, `-bt`
            // address test, `-bv` verify, `-bi` aliases ...) are refused, as msmtp does.
            'b' => {
                let mode = value()?;
                match mode.as_str() {
                    "m" => {}
                    "p" => set_mode(out, Mode::ListQueue, "-bp")?,
                    _ => {
                        return Err(format!(
                            "-b{mode}: unsupported mode; sendmail mode delivers the \
                             message on standard input (-bm) or lists the spool (-bp)"
                        ))
                    }
                }
                return Ok(());
            }
            // `-q` and `-qTIME` (`-q30m`, `-q1h30m`): run the spool. Its value is only
            // ever glued; the selections (`-qR`, `-qS`, `-qI`, `-qp` ...) are refused
            // rather than read as "everything".
            'q' => {
                if !glued.is_empty() && !is_queue_interval(glued) {
                    return Err(format!(
                        "-q{glued}: unsupported; -q or -qTIME (e.g. -q30m) runs the \
                         spool once"
                    ));
                }
                set_mode(out, Mode::FlushQueue, &format!("-q{glued}"))?;
                return Ok(());
            }
            'f' | 'r' | 'F' | 'N' | 'R' | 'V' | 'C' => {
                let slot = match c {
                    'f' | 'r' => &mut out.from,
                    'F' => &mut out.full_name,
                    'N' => &mut out.notify,
                    'R' => &mut out.ret,
                    'V' => &mut out.envid,
                    _ => &mut out.config,
                };
                *slot = Some(value()?);
                return Ok(());
            }
            c if IGNORED_WITH_VALUE.contains(&c) => {
                value()?;
                return Ok(());
            }
            _ => {
                // The rest may be its value: nothing of it is read as options.
                out.warnings
                    .push(format!("ignoring unknown option -{c}{glued}"));
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Records `mode`, which `option` asks for: two different ones are a usage error.
fn set_mode(out: &mut SendmailArgs, mode: Mode, option: &str) -> Result<(), String> {
    if out.mode != Mode::Deliver && out.mode != mode {
        return Err(format!(
            "{option}: -bp (list the spool) and -q (run it) do not go together"
        ));
    }
    out.mode = mode;
    Ok(())
}

/// sendmail's queue interval: one or more numbers, each with an optional unit
/// (`s`, `m`, `h`, `d`, `w`), as in `30m` or `1h30m`.
fn is_queue_interval(s: &str) -> bool {
    let mut digits = false;
    for c in s.chars() {
        match c {
            '0'..='9' => digits = true,
            's' | 'm' | 'h' | 'd' | 'w' if digits => digits = false,
            _ => return false,
        }
    }
    // Every unit came after a number.
    !s.is_empty()
}

/// `a@x, b@y` is two recipients (as sendmail and msmtp take them).
fn push_recipients(to: &mut Vec<String>, arg: &str) {
    to.extend(
        arg.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// smtp-send's long options as the tests see them: `--account` takes a value,
    /// `--lmtp` does not.
    fn long(name: &str) -> Option<bool> {
        match name {
            "account" | "config" | "server" => Some(true),
            "lmtp" | "json" => Some(false),
            _ => None,
        }
    }

    fn parse_line(line: &str) -> SendmailArgs {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&args, &long).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn rcpts(a: &SendmailArgs) -> Vec<&str> {
        a.recipients.iter().map(String::as_str).collect()
    }

    #[test]
    fn debian_cron() {
        let a = parse_line("-FCronDaemon -i -B8BITMIME -oem root");
        assert_eq!(a.full_name.as_deref(), Some("CronDaemon"));
        assert!(a.ignore_dots && !a.extract);
        assert_eq!(rcpts(&a), ["root"]);
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn cronie() {
        let a = parse_line("-FCronDaemon -i -odi -oem -oi -t -f root");
        assert_eq!(a.full_name.as_deref(), Some("CronDaemon"));
        assert!(a.ignore_dots && a.extract);
        assert_eq!(a.from.as_deref(), Some("root"));
        assert!(a.recipients.is_empty());
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn systemd_cron_body_type_takes_the_next_argument() {
        let a = parse_line("-i -B 8BITMIME user");
        assert!(a.ignore_dots);
        assert_eq!(rcpts(&a), ["user"], "8BITMIME is -B's value");
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn anacron() {
        let a = parse_line("-FAnacron -odi root");
        assert_eq!(a.full_name.as_deref(), Some("Anacron"));
        assert!(!a.ignore_dots, "-odi is not -oi");
        assert_eq!(rcpts(&a), ["root"]);
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn busybox_grouped_flags() {
        let a = parse_line("-ti");
        assert!(a.extract && a.ignore_dots);
        assert!(a.recipients.is_empty() && a.warnings.is_empty());
    }

    #[test]
    fn mdadm_glued_sender() {
        let a = parse_line("-t -fraid@host");
        assert!(a.extract);
        assert_eq!(a.from.as_deref(), Some("raid@host"));
        assert!(a.recipients.is_empty());
    }

    #[test]
    fn mailx_double_dash() {
        let a = parse_line("-i -- rcpt");
        assert!(a.ignore_dots);
        assert_eq!(rcpts(&a), ["rcpt"]);
        let a = parse_line("-i -- -odd@x");
        assert_eq!(rcpts(&a), ["-odd@x"], "after --, nothing is an option");
    }

    #[test]
    fn git_send_email() {
        let a = parse_line("-f sender@x -i a@y b@z");
        assert_eq!(a.from.as_deref(), Some("sender@x"));
        assert!(a.ignore_dots);
        assert_eq!(rcpts(&a), ["a@y", "b@z"]);
    }

    #[test]
    fn php_mail() {
        let a = parse_line("-t -i");
        assert!(a.extract && a.ignore_dots);
        assert!(a.recipients.is_empty() && a.warnings.is_empty());
    }

    #[test]
    fn mutt() {
        let a = parse_line("-oem -oi -N failure,delay -R hdrs -B8BITMIME -- a@x");
        assert!(a.ignore_dots);
        assert_eq!(a.notify.as_deref(), Some("failure,delay"));
        assert_eq!(a.ret.as_deref(), Some("hdrs"));
        assert_eq!(rcpts(&a), ["a@x"]);
        assert!(a.warnings.is_empty());
        let a = parse_line("-Nnever -Rfull -Vid42 a@x");
        assert_eq!(a.notify.as_deref(), Some("never"));
        assert_eq!(a.ret.as_deref(), Some("full"));
        assert_eq!(a.envid.as_deref(), Some("id42"));
    }

    #[test]
    fn ignored_options_take_their_values() {
        let a = parse_line("-O DeliveryMode=b -h 3 -L tag -X /tmp/log -v -m -U -G -n -bm a@x");
        assert_eq!(rcpts(&a), ["a@x"]);
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        assert!(!a.extract && !a.ignore_dots);
    }

    #[test]
    fn comma_separated_recipients() {
        let a = parse_line("a@x,b@y, c@z");
        assert_eq!(rcpts(&a), ["a@x", "b@y", "c@z"]);
    }

    #[test]
    fn unknown_options_are_warnings_not_errors() {
        let a = parse_line("-Q7 -i --frobnicate a@x");
        assert!(a.ignore_dots);
        assert_eq!(rcpts(&a), ["a@x"]);
        assert_eq!(
            a.warnings,
            [
                "ignoring unknown option -Q7",
                "ignoring unknown option --frobnicate"
            ]
        );
    }

    #[test]
    fn long_options_go_to_clap_with_their_values() {
        let a = parse_line("--sendmail --account work -t --lmtp --server=mx:25 -C /etc/x.toml");
        assert_eq!(a.long, ["--account", "work", "--lmtp", "--server=mx:25"]);
        assert_eq!(a.config.as_deref(), Some("/etc/x.toml"));
        assert!(a.extract);
    }

    #[test]
    fn a_missing_value_or_another_mode_is_a_usage_error() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        assert!(parse(&args("-i -f"), &long).is_err());
        assert!(parse(&args("--account"), &long).is_err());
        for mode in ["-bs", "-bd", "-bt", "-bv", "-bi", "-bD", "-bh", "-b s"] {
            let e = parse(&args(mode), &long).unwrap_err();
            assert!(e.contains("unsupported mode"), "{mode}: {e}");
        }
    }

    #[test]
    fn bp_lists_the_spool_and_q_with_or_without_an_interval_runs_it() {
        assert_eq!(parse_line("-bp").mode, Mode::ListQueue);
        assert_eq!(parse_line("-b p").mode, Mode::ListQueue);
        assert_eq!(parse_line("-bm a@x").mode, Mode::Deliver);
        assert_eq!(parse_line("a@x").mode, Mode::Deliver);
        for q in ["-q", "-q30m", "-q1h30m", "-q15", "-q2d", "-v -q -q"] {
            let a = parse_line(q);
            assert_eq!(a.mode, Mode::FlushQueue, "{q}");
            assert!(
                a.warnings.is_empty() && a.recipients.is_empty(),
                "{q}: {a:?}"
            );
        }
        // The interval is glued only: what follows is no value of -q.
        assert_eq!(rcpts(&parse_line("-q a@x")), ["a@x"]);
    }

    #[test]
    fn q_selections_and_two_modes_at_once_are_usage_errors() {
        let args = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        for bad in [
            "-qRexample.com",
            "-qSuser",
            "-qI123",
            "-qp",
            "-q30x",
            "-qm",
            "-bp -q",
        ] {
            assert!(parse(&args(bad), &long).is_err(), "{bad}");
        }
        assert_eq!(parse_line("-bp -bp").mode, Mode::ListQueue);
    }
}

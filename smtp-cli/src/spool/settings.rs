//! The connection options a spooled message is sent again with: what the command line
//! said, taken before the account filled the rest, and put back into a fresh command
//! line at each attempt, where the account (read again) fills the rest once more.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::args::{Args, StartTls};

/// How the message was to be sent: the command line's own connection options (the
/// account's are read again from `config` at each attempt, so a password is never
/// stored, and a changed account applies). Names as the options'.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub config: Option<PathBuf>,
    pub account: Option<String>,
    pub server: Option<String>,
    pub tls: bool,
    pub starttls: Option<StartTls>,
    pub ca_file: Option<PathBuf>,
    pub insecure: bool,
    pub auth_user: Option<String>,
    /// The variable's name, never its value.
    pub auth_password_env: Option<String>,
    pub auth_password_file: Option<PathBuf>,
    /// The variable's name, never its value.
    pub xoauth2_token_env: Option<String>,
    pub auth_mech: Option<String>,
    pub allow_plaintext_auth: bool,
    pub ehlo: Option<String>,
    pub lmtp: bool,
    pub no_pipelining: bool,
    pub no_chunking: bool,
    pub timeout: Option<f64>,
    pub connect_timeout: Option<f64>,
    /// Absent from a spool file written before `--requiretls` served a relay.
    #[serde(default)]
    pub requiretls: bool,
}

/// The fields copied both ways, in one list so that saving and restoring cannot
/// disagree.
macro_rules! each_field {
    ($m:ident) => {
        $m!(
            server,
            tls,
            starttls,
            ca_file,
            insecure,
            auth_user,
            auth_password_env,
            auth_password_file,
            xoauth2_token_env,
            auth_mech,
            allow_plaintext_auth,
            ehlo,
            lmtp,
            no_pipelining,
            no_chunking,
            timeout,
            connect_timeout,
            requiretls
        )
    };
}

impl Settings {
    /// The command line's connection options, before any account filled them; the
    /// configuration file and account are set afterwards, once known.
    pub(crate) fn given(args: &Args) -> Settings {
        macro_rules! take {
            ($($f:ident),*) => { Settings { $($f: args.$f.clone(),)* config: None, account: None } };
        }
        each_field!(take)
    }

    /// A command line with these options (and defaults elsewhere); the account, if
    /// any, is applied by the caller.
    pub(crate) fn restore(&self, args: &mut Args) {
        macro_rules! put {
            ($($f:ident),*) => { $(args.$f = self.$f.clone();)* };
        }
        each_field!(put);
        args.config = self.config.clone();
        args.account = self.account.clone();
    }
}

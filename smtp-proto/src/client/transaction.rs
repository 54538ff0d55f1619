//! One mail transaction's bookkeeping: what has been sent, what came back, and whether
//! the server's capabilities allow it at all.

use alloc::vec::Vec;

use crate::body::{BdatEncoder, DataEncoder};
use crate::command::{BodyType, MailParams};
use crate::ehlo::Capabilities;
use crate::envelope::Envelope;
use crate::error::TxnError;
use crate::output::{TxnFailure, TxnId};

/// The next thing to send for a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `RSET` if owed, then `MAIL`.
    Mail,
    /// `RCPT` for recipient `n`.
    Rcpt(usize),
    /// Every RCPT is out: DATA, or the first BDAT, once allowed.
    BeforeBody,
    /// DATA is out; the body waits for 354.
    AwaitData,
    /// DATA got 354 but nothing may be delivered: send the end-of-data marker alone
    /// (RFC 2920 §3.1).
    EndOnly,
    /// The body is wanted from the caller.
    Body,
    /// Nothing more to send.
    Done,
}

/// How the content is framed.
#[derive(Debug)]
pub(crate) enum Framing {
    Data(DataEncoder),
    Bdat(BdatEncoder),
}

#[derive(Debug)]
pub(crate) struct Txn {
    pub id: TxnId,
    pub env: Envelope,
    pub step: Step,
    pub bdat: bool,
    pub framing: Option<Framing>,
    /// Recipients settled so far: RCPT replies received, and recipients reported not
    /// attempted after "too many recipients".
    pub rcpt_replies: usize,
    /// Recipients accepted so far.
    pub accepted_count: usize,
    /// Under LMTP only, whose final replies follow it: indices of accepted recipients,
    /// in RCPT order. (Plain SMTP needs the count alone, and saves an allocation per
    /// message.)
    pub accepted: Vec<usize>,
    /// LMTP final replies received so far.
    pub finals: usize,
    /// Replies still owed for this transaction.
    pub outstanding: usize,
    /// The first failure; reported when the transaction is over.
    pub failure: Option<TxnFailure>,
    /// The end of data (or `BDAT LAST`) is on the wire: a lost reply means "unknown".
    pub ended: bool,
    /// MAIL was refused: the replies to its RCPTs belong to no transaction (RFC 5321
    /// §3.3), whatever failure was recorded first.
    pub mail_refused: bool,
}

impl Txn {
    pub(super) fn new(id: TxnId, env: Envelope) -> Self {
        Txn {
            id,
            env,
            step: Step::Mail,
            bdat: false,
            framing: None,
            rcpt_replies: 0,
            accepted_count: 0,
            accepted: Vec::new(),
            finals: 0,
            outstanding: 0,
            failure: None,
            ended: false,
            mail_refused: false,
        }
    }

    /// Records the first failure only: later ones are consequences of it.
    pub(super) fn fail(&mut self, failure: TxnFailure) {
        if self.failure.is_none() {
            self.failure = Some(failure);
        }
    }

    /// Whether a reply before the final one is still owed (MAIL, RCPT, DATA, a BDAT
    /// chunk): `outstanding` counts the final reply once, from the end of data on.
    pub(super) fn prefinal_owed(&self) -> bool {
        self.outstanding > usize::from(self.ended)
    }

    /// Whether any recipient was accepted.
    pub(super) fn any_accepted(&self) -> bool {
        self.accepted_count > 0
    }

    pub(super) fn all_rcpt_replies_in(&self) -> bool {
        self.rcpt_replies >= self.env.recipients.len()
    }

    /// Final replies expected after the data: one, or under LMTP one per accepted
    /// recipient (RFC 2033 §4.2); a server with no accepted recipient answers once.
    ///
    /// A transaction already failed when its end went out answers once too: under LMTP
    /// that is a BDAT chunk refused with BDAT LAST pipelined behind it, and RFC 2033
    /// §4.3 has the server answer that LAST with a single reply. (The other failures
    /// known that early send no BDAT at all, or only DATA's end marker after a 354 with
    /// no recipient accepted, which gets one reply.)
    pub(super) fn finals_expected(&self, lmtp: bool) -> usize {
        if lmtp && self.failure.is_none() {
            self.accepted.len().max(1)
        } else {
            1
        }
    }

    /// Checks the envelope against the server (RFC 6531, 6152, 3030, 3461, 8689, 1870)
    /// and builds the MAIL parameters. Nothing is sent for a transaction refused here.
    pub(super) fn mail_params(
        &self,
        caps: &Capabilities,
        encrypted: bool,
        chunking: bool,
    ) -> Result<(MailParams, bool), TxnError> {
        let env = &self.env;
        let smtputf8 = env.needs_smtputf8();
        if smtputf8 && !caps.smtputf8() {
            return Err(TxnError::NeedsSmtpUtf8);
        }
        let use_bdat = chunking && caps.chunking();
        match env.body {
            BodyType::SevenBit => {}
            BodyType::EightBitMime => {
                if !caps.eight_bit_mime() {
                    return Err(TxnError::Needs8BitMime);
                }
            }
            BodyType::BinaryMime => {
                if !(use_bdat && caps.binary_mime()) {
                    return Err(TxnError::NeedsBinaryMime);
                }
            }
        }
        if env.uses_dsn() && !caps.dsn() {
            return Err(TxnError::NeedsDsn);
        }
        if env.requiretls && !(encrypted && caps.requiretls()) {
            return Err(TxnError::NeedsRequireTls);
        }
        if let (Some(size), Some(max)) = (env.size, caps.max_size()) {
            if size > max {
                return Err(TxnError::TooLarge { size, max });
            }
        }
        let params = MailParams {
            // RFC 1870 §6: SIZE= only to a server that advertised SIZE.
            size: if caps.size_advertised() {
                env.size
            } else {
                None
            },
            body: match env.body {
                BodyType::SevenBit => None,
                b => Some(b),
            },
            smtputf8,
            ret: env.ret,
            envid: env.envid.clone(),
            requiretls: env.requiretls,
        };
        Ok((params, use_bdat))
    }
}

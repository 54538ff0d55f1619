//! What the caller decides once for all deliveries, and what it says about each message.

use alloc::vec::Vec;
use core::time::Duration;

use super::address::Cidr;
use crate::config::Config;
use crate::envelope::Envelope;

/// Limits and choices for delivering to MX hosts.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MxConfig {
    /// The session configuration each attempt starts from (EHLO name, timeouts,
    /// pipelining ...); the planner sets its `tls` per attempt.
    pub session: Config,
    /// The most MX hosts tried (Postfix `smtp_mx_address_limit`-like, Stalwart
    /// `max_mx`). Default 5.
    pub max_hosts: usize,
    /// The most addresses tried per host (Stalwart `max_multihomed`). Default 2.
    pub max_addresses: usize,
    /// The most sessions (connections that got past the greeting) per delivery, after
    /// which transiently failed recipients are deferred (Postfix `smtp_mx_session_limit`).
    /// Default 2.
    pub session_limit: usize,
    /// The longest CNAME chain accepted for the domain (mox: 16). Default 16.
    pub max_cname: usize,
    /// Address ranges admitted although the default policy refuses them (e.g.
    /// `127.0.0.0/8` for a lab on loopback).
    pub allow: Vec<Cidr>,
    /// How long a DNS lookup may take. Default 30 s.
    pub dns_timeout: Duration,
    /// How long the MTA-STS policy fetch may take (RFC 8461 §3.3: a minute). Default 60 s.
    pub fetch_timeout: Duration,
    /// Apply DANE to hosts whose addresses and TLSA records are secure although the MX
    /// RRset is not (RFC 7672 §2.2.1; Postfix's default `smtp_tls_dane_insecure_mx_policy
    /// = dane`). Default on.
    pub dane_insecure_mx: bool,
}

impl MxConfig {
    /// The defaults, with `session` as each attempt's starting configuration.
    pub fn new(session: Config) -> Self {
        MxConfig {
            session,
            max_hosts: 5,
            max_addresses: 2,
            session_limit: 2,
            max_cname: 16,
            allow: Vec::new(),
            dns_timeout: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(60),
            dane_insecure_mx: true,
        }
    }
}

/// One message of a batch: its envelope (with `requiretls` set for REQUIRETLS, RFC
/// 8689 §4) and whether it carries `TLS-Required: No` (RFC 8689 §5).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MessageMeta {
    /// The envelope; every recipient is in the planner's domain (the caller groups
    /// recipients per domain).
    pub envelope: Envelope,
    /// The message's header has `TLS-Required: No`: DANE and MTA-STS are not applied
    /// (opportunistic TLS) when every message of the batch says so and none asks for
    /// REQUIRETLS, which wins (RFC 8689 §5). Batch such messages apart.
    pub tls_required_no: bool,
}

impl MessageMeta {
    /// A message without `TLS-Required: No`.
    pub fn new(envelope: Envelope) -> Self {
        MessageMeta {
            envelope,
            tls_required_no: false,
        }
    }
}

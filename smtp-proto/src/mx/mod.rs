//! Delivery straight to a domain's MX hosts (feature `mx`): the vocabulary the planner,
//! the TLS verifiers and the DNS backends share.
//!
//! The planner (RFC 5321 §5.1 routing, RFC 7505 null MX, MTA-STS per RFC 8461, DANE
//! per RFC 7672/7671, REQUIRETLS per RFC 8689, TLS reporting data per RFC 8460) is
//! sans-IO like [`Client`](crate::Client): DNS answers with their DNSSEC status, policy
//! fetch results and session outcomes go in; lookups, fetches, attempts and results
//! come out. Nothing here resolves a name, opens a socket or reads a clock: the DNS
//! backends and rustls verifiers live in a std crate, the I/O in the adapters.
//!
//! The parsers for what the planner reads off the network are here too, each bounded
//! and returning typed errors: the `_mta-sts` TXT record ([`parse_sts_txt`]), the
//! policy file ([`parse_sts_policy`]) and its HTTP/1.1 fetch ([`PolicyGet`]), the
//! `_smtp._tls` TXT record ([`parse_tlsrpt_txt`]) and MX host patterns ([`MxPattern`]).

mod address;
mod config;
mod dns;
mod mx_pattern;
mod planner;
mod policy_get;
mod sts_policy;
mod sts_txt;
mod tls;
mod tlsa;
mod tlsrpt;
mod txt;

pub use address::{refused_by_default, Cidr, CidrError};
pub use config::{MessageMeta, MxConfig};
pub use dns::{DnsResult, RData, RType, Rcode, Security};
pub use mx_pattern::{MxPattern, MxPatternError};
pub use planner::{
    Attempt, AttemptId, AttemptMessage, AttemptOutcome, DeferReason, DomainOutcome, FetchError,
    FetchId, MxEvent, Planner, PolicyType, QueryId, RcptResult, SentMessage, SessionOutcome,
    SkipReason, Step, StsCacheEntry, TlsReport,
};
pub use policy_get::{PolicyGet, PolicyGetError, MAX_POLICY_BODY, MAX_POLICY_HEAD, POLICY_PATH};
pub use sts_policy::{
    parse_sts_policy, PolicyError, StsMode, StsPolicy, MAX_STS_MAX_AGE, MAX_STS_MX,
};
pub use sts_txt::{parse_sts_txt, StsRecord, MAX_STS_ID_LEN};
pub use tls::{TlsInfo, TlsRequirement, TlsResultType, Verification};
pub use tlsa::{Tlsa, TlsaMatching, TlsaSelector, TlsaUsage};
pub use tlsrpt::{parse_tlsrpt_txt, TlsRptRecord, MAX_RUA};
pub use txt::TxtError;

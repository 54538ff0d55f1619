//! DNS messages for the AD-bit stub (hickory-proto's codec), and the conversion of
//! records into the planner's [`RData`] that both backends share.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData as Wire, Record, RecordType};
use smtp_proto::mx::{DnsResult, RData, RType, Rcode, Security, Tlsa};

use super::DnsError;

/// The most CNAMEs followed inside one answer (a loop or a longer chain is malformed).
const MAX_CHAIN: usize = 16;
/// RFC 6891 §6.2.5, the DNS flag day 2020 value: fits any path without fragments.
pub(crate) const UDP_PAYLOAD: u16 = 1232;

pub(crate) fn record_type(rtype: RType) -> RecordType {
    match rtype {
        RType::Mx => RecordType::MX,
        RType::Txt => RecordType::TXT,
        RType::A => RecordType::A,
        RType::Aaaa => RecordType::AAAA,
        RType::Tlsa => RecordType::TLSA,
    }
}

/// `name` as an absolute DNS name.
pub(crate) fn name(name: &str) -> Result<Name, DnsError> {
    let mut parsed = Name::from_ascii(name).map_err(|_| DnsError::InvalidName(name.to_owned()))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

/// A recursive query with DO set (RFC 3225: DNSSEC records and the AD bit wanted)
/// and AD set (RFC 6840 §5.7: the AD bit wanted without the records' bulk).
pub(crate) fn query(id: u16, name: &Name, rtype: RType) -> Message {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.metadata.authentic_data = true;
    message.add_query(Query::query(name.clone(), record_type(rtype)));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true).set_max_payload(UDP_PAYLOAD);
    message.set_edns(edns);
    message
}

/// Whether `response` answers `query` (RFC 5452 §9.1): same ID, a response, the same
/// single question.
pub(crate) fn answers(response: &Message, query: &Message) -> bool {
    response.metadata.id == query.metadata.id
        && response.metadata.message_type == MessageType::Response
        && response.queries == query.queries
}

/// A name as the planner reads it: lower-cased, without the trailing dot (the root is
/// "").
pub(crate) fn text(name: &Name) -> String {
    let ascii = name.to_ascii();
    ascii.trim_end_matches('.').to_ascii_lowercase()
}

/// A CNAME chain's links (target, status) and the records at its end.
pub(crate) type Chain<'r> = (Vec<(String, Security)>, Vec<&'r Record>);

/// The CNAME chain from `qname` through `records` (RFC 1034 §3.6.2: each CNAME at the
/// name the last one pointed to), each link with `status(cname record)`, and the
/// records of type `rtype` at its end.
///
/// # Errors
/// [`DnsError::Malformed`] for a loop or a chain longer than 16 links.
pub(crate) fn chain<'r>(
    records: &'r [Record],
    qname: &Name,
    rtype: RType,
    status: impl Fn(&Record) -> Security,
) -> Result<Chain<'r>, DnsError> {
    let mut current = qname;
    let mut aliases = Vec::new();
    while let Some((record, target)) = records.iter().find_map(|r| match &r.data {
        Wire::CNAME(c) if r.name == *current => Some((r, &c.0)),
        _ => None,
    }) {
        if aliases.len() == MAX_CHAIN {
            return Err(DnsError::Malformed("CNAME chain too long or a loop".into()));
        }
        aliases.push((text(target), status(record)));
        current = target;
    }
    let at_end = records
        .iter()
        .filter(|r| r.name == *current && r.record_type() == record_type(rtype))
        .collect();
    Ok((aliases, at_end))
}

/// A record of the type asked for, as the planner reads it.
pub(crate) fn rdata(wire: &Wire, rtype: RType) -> Option<RData> {
    Some(match (wire, rtype) {
        (Wire::MX(mx), RType::Mx) => RData::Mx {
            preference: mx.preference,
            // RFC 7505: the root name (`.`) is a null MX; it becomes "".
            exchange: text(&mx.exchange),
        },
        (Wire::TXT(txt), RType::Txt) => RData::Txt(txt.txt_data.concat()),
        (Wire::A(a), RType::A) => RData::A(a.0),
        (Wire::AAAA(aaaa), RType::Aaaa) => RData::Aaaa(aaaa.0),
        (Wire::TLSA(t), RType::Tlsa) => RData::Tlsa(Tlsa::from_fields(
            t.cert_usage.into(),
            t.selector.into(),
            t.matching.into(),
            t.cert_data.clone(),
        )),
        _ => return None,
    })
}

/// The planner's view of a validating resolver's `response` to a question for `qname`
/// and `rtype`: its rcode, the AD bit as the status when `trust_ad` (else insecure,
/// RFC 6840 §5.7: AD from a resolver not on a secure path means nothing), the CNAME
/// chain in the answer section, and the records at its end.
pub(crate) fn result(
    response: &Message,
    qname: &Name,
    rtype: RType,
    trust_ad: bool,
) -> Result<DnsResult, DnsError> {
    let security = if trust_ad && response.metadata.authentic_data {
        Security::Secure
    } else {
        Security::Insecure
    };
    let rcode = match response.metadata.response_code {
        ResponseCode::NoError => Rcode::NoError,
        ResponseCode::NXDomain => Rcode::NxDomain,
        // SERVFAIL from a validating resolver is bogus data or a failure to get any
        // (RFC 4035 §5.5): either way, no answer and no status.
        _ => {
            return Ok(DnsResult::new(
                Rcode::ServFail,
                Security::Indeterminate,
                Vec::new(),
            ))
        }
    };
    let (aliases, at_end) = chain(&response.answers, qname, rtype, |_| security)?;
    let records = at_end
        .iter()
        .filter_map(|r| rdata(&r.data, rtype))
        .collect();
    Ok(DnsResult {
        rcode,
        security,
        aliases,
        records,
    })
}

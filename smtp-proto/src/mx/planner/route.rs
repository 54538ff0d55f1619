//! From the MX answer to the ordered list of hosts (RFC 5321 §5.1, RFC 7505).

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

use super::types::{DeferReason, SkipReason};
use crate::command::Domain;
use crate::mx::dns::{DnsResult, RData, Rcode, Security};

/// One MX host to try.
#[derive(Clone, Debug)]
pub(super) struct MxHost {
    pub(super) name: Domain,
    /// Lower-case, without a trailing dot.
    pub(super) lower: String,
}

/// What the MX answer says.
#[derive(Debug)]
pub(super) enum Route {
    Hosts {
        hosts: Vec<MxHost>,
        /// The MX RRset (or its secure denial) and every CNAME to it are secure.
        secure: bool,
        /// No MX: the domain itself (its canonical name) is the host.
        implicit: bool,
        /// The domain's canonical name, when a CNAME chain led there.
        canonical: Option<String>,
    },
    /// RFC 7505 §3: a lone null MX.
    NullMx,
    /// The domain does not exist (RFC 5321 §5.1 finds no host: 5.1.2).
    NoSuchDomain,
    Defer(DeferReason),
}

fn is_failure(security: Security) -> bool {
    matches!(security, Security::Bogus | Security::Indeterminate)
}

/// The answer, or a CNAME on the way to it, failed validation: it may be forged.
pub(super) fn untrusted(answer: &DnsResult) -> bool {
    is_failure(answer.security) || answer.aliases.iter().any(|(_, s)| is_failure(*s))
}

/// No answer to rely on: untrusted, SERVFAIL or no answer in time. Never evidence that
/// the records do not exist.
pub(super) fn failed(answer: &DnsResult) -> bool {
    untrusted(answer) || matches!(answer.rcode, Rcode::ServFail | Rcode::Timeout)
}

/// Reads the MX answer for `domain` (lower-case). `skipped` collects the hosts left
/// out and why.
pub(super) fn route(
    domain: &str,
    answer: &DnsResult,
    max_cname: usize,
    max_hosts: usize,
    rng: &mut u64,
    skipped: &mut Vec<(String, SkipReason)>,
) -> Route {
    // A chain that loops or runs on is a misconfiguration or an attack: defer rather
    // than guess (mox caps it at 16).
    let mut seen: Vec<&str> = Vec::with_capacity(answer.aliases.len() + 1);
    seen.push(domain);
    for (alias, _) in &answer.aliases {
        let alias = alias.strip_suffix('.').unwrap_or(alias);
        if seen.len() > max_cname || seen.iter().any(|s| s.eq_ignore_ascii_case(alias)) {
            return Route::Defer(DeferReason::CnameChain);
        }
        seen.push(alias);
    }
    // SERVFAIL, a timeout or a bogus answer never means "no MX" (RFC 5321 §5.1 allows
    // the implicit MX only when no MX records exist).
    if failed(answer) {
        return Route::Defer(DeferReason::MxLookup);
    }
    if answer.rcode == Rcode::NxDomain {
        return Route::NoSuchDomain;
    }
    let secure = answer.security == Security::Secure
        && answer.aliases.iter().all(|(_, s)| *s == Security::Secure);
    let canonical = answer
        .aliases
        .last()
        .map(|(a, _)| a.strip_suffix('.').unwrap_or(a).to_ascii_lowercase());
    let mut mx: Vec<(u16, String)> = answer
        .records
        .iter()
        .filter_map(|r| match r {
            RData::Mx {
                preference,
                exchange,
            } => Some((*preference, normalize(exchange))),
            _ => None,
        })
        .collect();
    if mx.is_empty() {
        // RFC 5321 §5.1: no MX records, the domain itself with preference 0.
        let name = canonical.clone().unwrap_or_else(|| String::from(domain));
        return match Domain::new(&name) {
            Ok(d) => Route::Hosts {
                hosts: alloc::vec![MxHost {
                    name: d,
                    lower: name
                }],
                secure,
                implicit: true,
                canonical,
            },
            Err(_) => Route::Defer(DeferReason::NoHost),
        };
    }
    // RFC 7505 §3: a null MX alone says the domain takes no mail; among others it is
    // a misconfiguration and ignored (§4.3).
    if mx.iter().all(|(_, e)| e.is_empty()) {
        return Route::NullMx;
    }
    mx.retain(|(_, e)| !e.is_empty());
    mx.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    // The same host twice keeps its best preference.
    let mut unique: Vec<(u16, String)> = Vec::with_capacity(mx.len());
    for (p, e) in mx {
        if !unique.iter().any(|(_, u)| *u == e) {
            unique.push((p, e));
        }
    }
    shuffle_ties(&mut unique, rng);
    let mut hosts = Vec::new();
    for (_, exchange) in unique {
        // RFC 5321 §5.1: MX targets are names, never addresses.
        if exchange.parse::<IpAddr>().is_ok() || exchange.starts_with('[') {
            skipped.push((exchange, SkipReason::IpLiteral));
            continue;
        }
        let Ok(name) = Domain::new(&exchange) else {
            skipped.push((exchange, SkipReason::InvalidName));
            continue;
        };
        if hosts.len() == max_hosts {
            skipped.push((exchange, SkipReason::OverLimit));
            continue;
        }
        hosts.push(MxHost {
            name,
            lower: exchange,
        });
    }
    if hosts.is_empty() {
        return Route::Defer(DeferReason::NoHost);
    }
    Route::Hosts {
        hosts,
        secure,
        implicit: false,
        canonical,
    }
}

/// Lower-case, without the trailing dot; `.` (a null MX) becomes empty.
fn normalize(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// RFC 5321 §5.1: hosts of equal preference in random order, from the caller's seed.
fn shuffle_ties(hosts: &mut [(u16, String)], rng: &mut u64) {
    let mut start = 0;
    while start < hosts.len() {
        let pref = hosts[start].0;
        let end = start + hosts[start..].iter().take_while(|h| h.0 == pref).count();
        let group = &mut hosts[start..end];
        for i in (1..group.len()).rev() {
            let j = (next_random(rng) % (i as u64 + 1)) as usize;
            group.swap(i, j);
        }
        start = end;
    }
}

/// splitmix64: small, seedable, good enough to spread load.
pub(super) fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_are_shuffled_evenly_and_preferences_kept() {
        // 300 seeds over three tied hosts after a preferred one: the preferred stays
        // first, every order of the tie occurs, and each tied host leads about a third
        // of the time (RFC 5321 §5.1: spread the load).
        let mut orders = alloc::collections::BTreeMap::new();
        for seed in 0..300u64 {
            let mut rng = seed;
            let mut hosts: Vec<(u16, String)> = ["a", "b", "c"]
                .iter()
                .map(|h| (10, String::from(*h)))
                .collect();
            hosts.insert(0, (5, String::from("first")));
            shuffle_ties(&mut hosts, &mut rng);
            assert_eq!(hosts[0].1, "first");
            let order: String = hosts[1..].iter().map(|h| h.1.as_str()).collect();
            *orders.entry(order).or_insert(0u32) += 1;
        }
        assert_eq!(orders.len(), 6, "every order: {orders:?}");
        for lead in ["a", "b", "c"] {
            let n: u32 = orders
                .iter()
                .filter(|(o, _)| o.starts_with(lead))
                .map(|(_, n)| n)
                .sum();
            assert!(
                (70..=130).contains(&n),
                "{lead} first {n} times of 300: {orders:?}"
            );
        }
    }
}

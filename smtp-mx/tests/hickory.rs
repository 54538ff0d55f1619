//! The hickory backend validating in process, against a fake authoritative server for
//! a root zone signed here (hickory-proto's signer, ECDSA P-256): signed answers are
//! secure, altered or unsigned ones bogus, and trust anchors come from DS or DNSKEY
//! records in zone-file format.
#![cfg(feature = "hickory")]

mod common;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use common::dns::{fake, response};
use hickory_proto::dnssec::crypto::EcdsaSigningKey;
use hickory_proto::dnssec::rdata::{DNSSECRData, DNSKEY, DS, NSEC, NSEC3, RRSIG};
use hickory_proto::dnssec::{Algorithm, DigestType, DnssecSigner, Nsec3HashAlgorithm, SigningKey};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, MX, SOA};
use hickory_proto::rr::{DNSClass, Name, RData as W, Record, RecordSet, RecordType};
use smtp_mx::dns::{
    AsyncResolve, BlockingHickory, Hickory, Resolve, TrustAnchorError, TrustAnchorFile,
};
use smtp_proto::mx::{DnsResult, RData, RType, Rcode, Security};

const WAIT: Duration = Duration::from_secs(10);

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A zone key (KSK and ZSK at once) for the root.
fn root_key() -> (DnssecSigner, DNSKEY) {
    let pkcs8 = EcdsaSigningKey::generate_pkcs8(Algorithm::ECDSAP256SHA256).unwrap();
    let key = EcdsaSigningKey::from_pkcs8(&pkcs8, Algorithm::ECDSAP256SHA256).unwrap();
    let dnskey = DNSKEY::new(true, true, false, key.to_public_key().unwrap());
    let signer = DnssecSigner::new(
        dnskey.clone(),
        Box::new(key),
        Name::root(),
        Duration::from_secs(50 * 365 * 86400),
    );
    (signer, dnskey)
}

type Zone = HashMap<(Name, RecordType), Vec<Record>>;

/// Adds an RRset, signed by `signer` unless `None`; `tamper` alters it after signing.
fn add(
    zone: &mut Zone,
    signer: Option<&DnssecSigner>,
    owner: &str,
    data: Vec<W>,
    tamper: Option<W>,
) {
    let owner = name(owner);
    let rtype = data[0].record_type();
    let mut set = RecordSet::with_ttl(owner.clone(), rtype, 300);
    for d in &data {
        set.add_rdata(d.clone());
    }
    let mut records: Vec<Record> = data
        .into_iter()
        .map(|d| Record::from_rdata(owner.clone(), 300, d))
        .collect();
    if let Some(signer) = signer {
        let sig = RRSIG::from_rrset(&set, DNSClass::IN, rcgen::date_time_ymd(2020, 1, 1), signer)
            .unwrap();
        records.push(Record::from_rdata(
            owner.clone(),
            300,
            W::DNSSEC(DNSSECRData::RRSIG(sig)),
        ));
    }
    if let Some(t) = tamper {
        records[0] = Record::from_rdata(owner.clone(), 300, t);
    }
    zone.insert((owner, rtype), records);
}

fn mx(pref: u16, host: &str) -> W {
    W::MX(MX::new(pref, name(host)))
}

/// The root zone: `.` DNSKEY, a signed MX, an altered one, an unsigned one, and a
/// signed CNAME to the signed MX.
fn zone(signer: &DnssecSigner, dnskey: &DNSKEY) -> Zone {
    let mut z = Zone::new();
    add(
        &mut z,
        Some(signer),
        ".",
        vec![W::DNSSEC(DNSSECRData::DNSKEY(dnskey.clone()))],
        None,
    );
    add(
        &mut z,
        Some(signer),
        "secure.",
        vec![mx(10, "mx.secure.")],
        None,
    );
    add(
        &mut z,
        Some(signer),
        "altered.",
        vec![mx(10, "mx.altered.")],
        Some(mx(10, "evil.example.")),
    );
    add(
        &mut z,
        None,
        "unsigned.",
        vec![mx(10, "mx.unsigned.")],
        None,
    );
    add(
        &mut z,
        Some(signer),
        "alias.",
        vec![W::CNAME(CNAME(name("secure.")))],
        None,
    );
    // A signed CNAME loop.
    for (from, to) in [("loop1.", "loop2."), ("loop2.", "loop1.")] {
        add(
            &mut z,
            Some(signer),
            from,
            vec![W::CNAME(CNAME(name(to)))],
            None,
        );
    }
    // RFC 4035 §3.1.3.1: a NODATA proof at `secure.` (it holds MX only), with the SOA.
    let soa = SOA::new(name("ns."), name("admin."), 1, 3600, 600, 86400, 300);
    add(&mut z, Some(signer), ".", vec![W::SOA(soa)], None);
    let types = [RecordType::MX, RecordType::RRSIG, RecordType::NSEC];
    let nsec = W::DNSSEC(DNSSECRData::NSEC(NSEC::new(name("unsigned."), types)));
    add(&mut z, Some(signer), "secure.", vec![nsec], None);
    z
}

/// An authoritative server for `zone` on 127.0.0.1.
fn serve(zone: Zone) -> SocketAddr {
    let zone = Arc::new(zone);
    let answer = move |q: &Message| {
        let query = &q.queries[0];
        let mut m = response(q, ResponseCode::NoError, false);
        m.metadata.authoritative = true;
        let mut owner = query.name().clone();
        // The CNAMEs first, then what they point to (RFC 1034 §3.6.2); a loop, as nsd
        // answers it, is the chain round once and nothing else.
        let mut chain = Vec::new();
        while let Some(cname) = zone.get(&(owner.clone(), RecordType::CNAME)) {
            if chain.contains(&owner) {
                return m.to_vec().unwrap();
            }
            chain.push(owner.clone());
            m.add_answers(cname.clone());
            if let W::CNAME(c) = &cname[0].data {
                owner = c.0.clone();
            }
        }
        match zone.get(&(owner.clone(), query.query_type())) {
            Some(rrs) => {
                m.add_answers(rrs.clone());
            }
            // An unsigned denial (no NSEC): a forged one as far as a validator knows.
            None if zone.keys().all(|(n, _)| *n != owner) => {
                m.metadata.response_code = ResponseCode::NXDomain;
                // With an NSEC3 chain (kept under the root's name): its proof.
                if let Some(nsec3) = zone.get(&(Name::root(), RecordType::NSEC3)) {
                    m.add_authorities(zone[&(Name::root(), RecordType::SOA)].clone());
                    m.add_authorities(nsec3.clone());
                }
            }
            // NODATA: the SOA and the name's NSEC, when the zone has one.
            None => {
                for key in [(Name::root(), RecordType::SOA), (owner, RecordType::NSEC)] {
                    if let Some(rrs) = zone.get(&key) {
                        m.add_authorities(rrs.clone());
                    }
                }
            }
        }
        m.to_vec().unwrap()
    };
    let udp = answer.clone();
    let (addr, _) = fake(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        move |q| vec![udp(q)],
        answer,
    );
    addr
}

fn line(owner: &str, data: W) -> String {
    Record::from_rdata(name(owner), 300, data).to_string()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A runtime and a resolver validating from the root key of a freshly signed [`zone`],
/// asking its server.
fn validating() -> (tokio::runtime::Runtime, Hickory) {
    let (signer, dnskey) = root_key();
    let server = serve(zone(&signer, &dnskey));
    let anchors =
        TrustAnchorFile::parse(&line(".", W::DNSSEC(DNSSECRData::DNSKEY(dnskey)))).unwrap();
    let rt = runtime();
    let hickory = rt.block_on(Hickory::new(&[server], &anchors)).unwrap();
    (rt, hickory)
}

fn secure_mx() -> Vec<RData> {
    vec![RData::Mx {
        preference: 10,
        exchange: "mx.secure".into(),
    }]
}

#[test]
fn signed_answers_are_secure_altered_and_unsigned_ones_bogus() {
    let (rt, hickory) = validating();
    let lookup = |n: &'static str| rt.block_on(hickory.resolve(n, RType::Mx, WAIT)).unwrap();
    assert_eq!(
        lookup("secure"),
        DnsResult::new(Rcode::NoError, Security::Secure, secure_mx())
    );
    for hostile in ["altered", "unsigned"] {
        let answer = lookup(hostile);
        assert_eq!(answer.security, Security::Bogus, "{hostile}: {answer:?}");
        assert!(answer.records.is_empty(), "{hostile}: {answer:?}");
    }
    // A signed NODATA is a secure denial (RFC 7672 §2.2: provably no DANE); one
    // without proof under a trust anchor is bogus, never "no such name".
    let tlsa = |n| rt.block_on(hickory.resolve(n, RType::Tlsa, WAIT)).unwrap();
    assert_eq!(
        tlsa("secure"),
        DnsResult::new(Rcode::NoError, Security::Secure, vec![])
    );
    assert_eq!(
        tlsa("nowhere"),
        DnsResult::new(Rcode::ServFail, Security::Bogus, vec![])
    );
    let aliased = lookup("alias");
    assert_eq!(
        aliased.aliases,
        vec![("secure".to_string(), Security::Secure)]
    );
    assert_eq!(
        (aliased.security, aliased.records),
        (Security::Secure, secure_mx())
    );
}

#[test]
fn a_cname_loop_is_a_failed_lookup_never_a_nodata_that_would_be_an_implicit_mx() {
    let (rt, hickory) = validating();
    for rtype in [RType::Mx, RType::A] {
        let answer = rt.block_on(hickory.resolve("loop1", rtype, WAIT)).unwrap();
        // RFC 5321 §5.1: only a NODATA makes the domain its own MX.
        assert_eq!(
            (answer.rcode, answer.security, answer.records),
            (Rcode::ServFail, Security::Indeterminate, vec![]),
            "{rtype:?}"
        );
    }
}

#[test]
fn another_key_as_anchor_makes_everything_bogus() {
    let (signer, dnskey) = root_key();
    let server = serve(zone(&signer, &dnskey));
    let (_, other) = root_key();
    let anchors =
        TrustAnchorFile::parse(&line(".", W::DNSSEC(DNSSECRData::DNSKEY(other)))).unwrap();
    let blocking = BlockingHickory::new(&[server], &anchors).unwrap();
    let answer = blocking.resolve("secure", RType::Mx, WAIT).unwrap();
    assert_eq!(answer.security, Security::Bogus, "{answer:?}");
}

#[test]
fn a_blocking_resolver_can_be_dropped_inside_an_async_runtime() {
    let (signer, dnskey) = root_key();
    let server = serve(zone(&signer, &dnskey));
    let anchors =
        TrustAnchorFile::parse(&line(".", W::DNSSEC(DNSSECRData::DNSKEY(dnskey)))).unwrap();
    let blocking = BlockingHickory::new(&[server], &anchors).unwrap();
    let answer = blocking.resolve("secure", RType::Mx, WAIT).unwrap();
    assert_eq!(answer.security, Security::Secure, "{answer:?}");
    // An async caller (smtp-smol's blocking pool, a Tokio task) drops its resolver in an
    // async context; the resolver's own runtime must not panic there.
    let clone = blocking.clone();
    runtime().block_on(async move {
        drop(blocking);
        drop(clone);
    });
}

#[test]
fn ds_anchor_is_matched_to_the_served_key() {
    let (signer, dnskey) = root_key();
    let server = serve(zone(&signer, &dnskey));
    let ds = DS::from_key(dnskey.public_key(), &Name::root(), DigestType::SHA256).unwrap();
    let anchors = TrustAnchorFile::parse(&line(".", W::DNSSEC(DNSSECRData::DS(ds)))).unwrap();
    let blocking = BlockingHickory::new(&[server], &anchors).unwrap();
    let answer = blocking.resolve("secure", RType::Mx, WAIT).unwrap();
    assert_eq!(
        answer,
        DnsResult::new(Rcode::NoError, Security::Secure, secure_mx())
    );
    // A DS no served key matches is refused at start.
    let (_, other) = root_key();
    let ds = DS::from_key(other.public_key(), &Name::root(), DigestType::SHA256).unwrap();
    let anchors = TrustAnchorFile::parse(&line(".", W::DNSSEC(DNSSECRData::DS(ds)))).unwrap();
    let e = BlockingHickory::new(&[server], &anchors).unwrap_err();
    assert!(matches!(e, TrustAnchorError::NoKeyForDs(_)), "{e:?}");
}

#[test]
fn trust_anchor_files_need_ds_or_dnskey_records() {
    let e = TrustAnchorFile::parse("example. 300 IN A 192.0.2.1\n").unwrap_err();
    assert!(matches!(e, TrustAnchorError::Empty), "{e:?}");
    let e = TrustAnchorFile::parse(". IN DS not a ds record\n").unwrap_err();
    assert!(matches!(e, TrustAnchorError::Parse(_)), "{e:?}");
    let e = TrustAnchorFile::read(std::path::Path::new("/nonexistent/root.key")).unwrap_err();
    assert!(matches!(e, TrustAnchorError::Io(_)), "{e:?}");
    // unbound's format, as `unbound-anchor` writes it.
    TrustAnchorFile::parse(
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
    )
    .unwrap();
}

/// RFC 4648 §7 base32hex, lower case, no padding (RFC 5155 §3.3 owner names).
fn base32hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(DIGITS[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(DIGITS[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

#[test]
fn nsec3_denial_in_the_root_zone_is_an_answer_or_a_typed_error_not_a_panic() {
    // A signed root zone with an NSEC3 chain of one record (RFC 5155 §7.1: it covers
    // every other hash), as a lab's locally signed root has (ldns-signzone -n).
    let (signer, dnskey) = root_key();
    let mut z = zone(&signer, &dnskey);
    let hash = Nsec3HashAlgorithm::SHA1
        .hash(&[], &Name::root(), 0)
        .unwrap();
    let owner = format!("{}.", base32hex(hash.as_ref()));
    let types = [
        RecordType::SOA,
        RecordType::DNSKEY,
        RecordType::RRSIG,
        RecordType::NSEC3PARAM,
    ];
    let nsec3 = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        false,
        0,
        vec![],
        hash.as_ref().to_vec(),
        types,
    );
    add(
        &mut z,
        Some(&signer),
        &owner,
        vec![W::DNSSEC(DNSSECRData::NSEC3(nsec3))],
        None,
    );
    let chain = z.remove(&(name(&owner), RecordType::NSEC3)).unwrap();
    z.insert((Name::root(), RecordType::NSEC3), chain);
    let server = serve(z);
    let anchors =
        TrustAnchorFile::parse(&line(".", W::DNSSEC(DNSSECRData::DNSKEY(dnskey)))).unwrap();
    let blocking = BlockingHickory::new(&[server], &anchors).unwrap();
    // hickory-net 0.26.3 debug-asserts on this proof (its closest-encloser walk meets
    // the root): the lookup fails, typed, and the caller goes on.
    match blocking.resolve("nowhere", RType::Mx, WAIT) {
        Ok(answer) => assert_eq!(answer.rcode, Rcode::NxDomain, "{answer:?}"),
        Err(e) => assert!(matches!(e, smtp_mx::dns::DnsError::Resolver(_)), "{e:?}"),
    }
    let answer = blocking.resolve("secure", RType::Mx, WAIT).unwrap();
    assert_eq!(answer.security, Security::Secure);
}

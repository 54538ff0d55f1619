//! Reading the reply to EHLO the way the client does (`ReplyReader::read_ehlo`) makes a
//! handful of small allocations: the reply, the domain, and one per kept keyword line and
//! AUTH mechanism, never one per octet or per typed keyword. Counted with
//! `allocation-counter`, per thread.

use smtp_proto::ehlo::Hello;
use smtp_proto::reply::ReplyReader;

fn crlf(lf: &[u8]) -> Vec<u8> {
    lf.split_inclusive(|&b| b == b'\n')
        .flat_map(|line| [line.strip_suffix(b"\n").unwrap_or(line), b"\r\n"].concat())
        .collect()
}

/// Allocations made by reading `wire` with `read_ehlo`, which must give capabilities.
fn allocations(wire: &[u8]) -> u64 {
    let mut reader = ReplyReader::default();
    let mut caps = None;
    let info = allocation_counter::measure(|| {
        let mut input = wire;
        caps = Some(reader.read_ehlo(&mut input).unwrap().unwrap());
        assert!(input.is_empty());
    });
    assert!(matches!(caps, Some(Hello::Capabilities(_))));
    info.count_total
}

#[test]
fn reading_an_ehlo_reply_allocates_a_few_times() {
    for (recorded, bound) in [
        // Reply, domain, the list of unknown keywords and VRFY, ETRN.
        (&include_bytes!("data/ehlo/postfix-plain.txt")[..], 5),
        // Reply, domain, and the list of unknown keywords and its one line.
        (include_bytes!("data/ehlo/aiosmtpd-plain.txt"), 4),
    ] {
        let wire = crlf(recorded);
        let count = allocations(&wire);
        assert!(
            count <= bound,
            "{count} allocations for {}",
            String::from_utf8_lossy(&wire)
        );
    }
}

#[test]
fn auth_mechanisms_allocate_one_each_and_a_list() {
    let base = crlf(b"250-mx.example\n250-PIPELINING\n250 SIZE 1000\n");
    let with_auth = crlf(b"250-mx.example\n250-PIPELINING\n250-AUTH PLAIN LOGIN\n250 SIZE 1000\n");
    assert_eq!(allocations(&with_auth), allocations(&base) + 3);
}

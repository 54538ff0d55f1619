//! Reading the reply to EHLO the way the client does (`ReplyReader::read_ehlo`) makes no
//! heap allocation when what the capabilities keep fits inline, as for the recorded
//! Postfix and aiosmtpd replies; AUTH adds one (the list of where mechanisms are), and
//! kept text past the inline room one more. Counted with `allocation-counter`, per
//! thread.

use smtp_proto::ehlo::Hello;
use smtp_proto::reply::ReplyReader;

fn crlf(lf: &[u8]) -> Vec<u8> {
    lf.split_inclusive(|&b| b == b'\n')
        .flat_map(|line| [line.strip_suffix(b"\n").unwrap_or(line), b"\r\n"].concat())
        .collect()
}

/// Allocations made by reading `wire` with `read_ehlo`, and whether it gave
/// capabilities.
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
fn reading_an_ehlo_reply_allocates_nothing() {
    for recorded in [
        &include_bytes!("data/ehlo/postfix-plain.txt")[..],
        include_bytes!("data/ehlo/aiosmtpd-plain.txt"),
    ] {
        let wire = crlf(recorded);
        assert_eq!(allocations(&wire), 0, "{}", String::from_utf8_lossy(&wire));
    }
}

#[test]
fn auth_mechanisms_allocate_once() {
    // The domain and four mechanisms still fit inline.
    let wire = crlf(include_bytes!("data/ehlo/nodemailer-tls.txt"));
    assert_eq!(allocations(&wire), 1);
    // Exim's domain, three unknown keywords and three mechanisms do not.
    let wire = crlf(include_bytes!("data/ehlo/exim-plain.txt"));
    assert_eq!(allocations(&wire), 2);
}

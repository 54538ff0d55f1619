// Shared by the DKIM tests of smtp-tokio and smtp-smol (features `dkim` and `interop`):
// each includes this file after `use <adapter crate> as adapter;`, `const TAG: &str` and
// `mod common;` with `block_on`. The builder's signer signs on every send path and in
// the pool, over DATA and BDAT, and what Postfix stored verifies with mail-auth and
// dkimpy. Included, so no inner attributes or doc comments here.

use std::task::Poll;
use std::time::Duration;

use adapter::{
    Builder, DkimError, DkimSigner, Envelope, Error, Pool, PoolConfig, Timeouts, TlsPolicy,
};
use common::block_on;
use smtp_testkit::dkim::{
    assert_signed_delivery, assert_stored_verifies, awkward_message, from, rcpt, test_signer, to,
    DOMAIN, FROM,
};
use smtp_testkit::interop::{assert_bcc_not_written, ClientTap, Listener, TestServers};

const SELECTOR: &str = TAG;

fn signer(key: &str) -> DkimSigner {
    test_signer(key, SELECTOR)
}

/// A builder over STARTTLS to Postfix's `port`, signing with `signer`.
fn builder(s: &TestServers, port: u16, signer: DkimSigner) -> Builder {
    Builder::new(s.tls_name())
        .port(port)
        .tls_config(s.tls_config())
        .timeouts(Timeouts::all(Duration::from_secs(30)))
        .dkim_signer(signer)
}

/// `send_message` over DATA (the listener without CHUNKING) and over BDAT, each key:
/// Postfix stores a message that verifies, the wire used the expected command, and
/// SIZE= is the length of the signed message.
#[test]
fn data_and_bdat_deliver_verifying_messages_for_both_keys() {
    let s = TestServers::get();
    let nochunking: u16 = s.var("SMTP_TEST_POSTFIX_NOCHUNKING_PORT").parse().unwrap();
    for key in ["rsa2048.pem", "ed25519.pem"] {
        for (port, bdat) in [(nochunking, false), (s.port(Listener::Postfix), true)] {
            let signer = signer(key);
            let a = rcpt(TAG, if bdat { "bdat" } else { "data" });
            let msg = awkward_message(FROM, &a, key);
            let tap = ClientTap::start((s.addr(Listener::Postfix).ip(), port).into());
            block_on(async {
                // Cleartext, so that the tap sees the commands.
                let mut conn = builder(&s, tap.addr().port(), signer.clone())
                    .starttls(TlsPolicy::Disabled)
                    .connect()
                    .await
                    .expect("connect");
                assert_eq!(conn.capabilities().chunking(), bdat);
                let report = conn.send_message(from(), [to(&a)], &msg).await.unwrap();
                assert!(report.all_delivered(), "{report:?}");
                conn.quit().await.unwrap();
            });
            assert_signed_delivery(&s, &a, &tap.sent(), bdat, &signer);
        }
    }
}

/// `send` (a reader, read into memory once to be signed), `send_bytes`, `send_many`
/// and the pool's `send_message` and `send` all sign.
#[test]
fn every_send_path_and_the_pool_sign() {
    let s = TestServers::get();
    let signer = signer("rsa2048-pkcs1.pem");
    let record = signer.dns_record();
    let b = builder(&s, s.port(Listener::Postfix), signer);
    let rcpts: Vec<String> = ["send", "bytes", "many1", "many2", "pool-msg", "pool-send"]
        .iter()
        .map(|t| rcpt(TAG, t))
        .collect();
    let msgs: Vec<Vec<u8>> = rcpts.iter().map(|r| awkward_message(FROM, r, r)).collect();
    let env = |i: usize| Envelope::new(from(), [to(&rcpts[i])]);
    block_on(async {
        let mut conn = b.clone().connect().await.expect("connect");
        assert!(conn
            .send(env(0), &msgs[0][..])
            .await
            .unwrap()
            .all_delivered());
        assert!(conn
            .send_bytes(env(1), &msgs[1])
            .await
            .unwrap()
            .all_delivered());
        let reports = conn
            .send_many([(env(2), &msgs[2][..]), (env(3), &msgs[3][..])])
            .await
            .unwrap();
        assert!(reports.iter().all(|r| r.all_delivered()), "{reports:?}");
        conn.quit().await.unwrap();
        let pool = Pool::new(b, PoolConfig::default());
        let r = pool
            .send_message(from(), [to(&rcpts[4])], &msgs[4])
            .await
            .unwrap();
        assert!(r.report.all_delivered(), "{r:?}");
        let r = pool.send(env(5), msgs[5].clone()).await.unwrap();
        assert!(r.report.all_delivered(), "{r:?}");
        pool.close().await;
    });
    let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    for stored in s.postfix_messages(&refs) {
        assert_stored_verifies(&stored, DOMAIN, SELECTOR, &record);
    }
}

/// `send_mail` on a connection and on a pool: the envelope derived from the header (the
/// Bcc recipient included), no Bcc field on the wire, and what Postfix stored for every
/// recipient signed and verifying: the Bcc field goes before signing.
#[test]
fn send_mail_signs_what_it_derives_and_writes_no_bcc() {
    let s = TestServers::get();
    let signer = signer("ed25519.pem");
    let record = signer.dns_record();
    let rcpts: Vec<String> = ["mail-to", "mail-bcc", "pool-to", "pool-bcc"]
        .iter()
        .map(|t| rcpt(TAG, t))
        .collect();
    let with_bcc = |to: &str, bcc: &str| {
        let mut m = format!("Bcc: {bcc}\n").into_bytes();
        m.extend(awkward_message(FROM, to, "send_mail"));
        m
    };
    let postfix = s.addr(Listener::Postfix);
    let (conn_tap, pool_tap) = (ClientTap::start(postfix), ClientTap::start(postfix));
    // Cleartext, so that the taps see what was written.
    let b = |port| builder(&s, port, signer.clone()).starttls(TlsPolicy::Disabled);
    block_on(async {
        let mut conn = b(conn_tap.addr().port()).connect().await.expect("connect");
        let report = conn
            .send_mail(with_bcc(&rcpts[0], &rcpts[1]))
            .await
            .unwrap();
        assert!(report.all_delivered(), "{report:?}");
        conn.quit().await.unwrap();
        let mut config = PoolConfig::default();
        config.max_connections = 1;
        let pool = Pool::new(b(pool_tap.addr().port()), config);
        let r = pool
            .send_mail(with_bcc(&rcpts[2], &rcpts[3]))
            .await
            .unwrap();
        assert!(r.report.all_delivered(), "{r:?}");
        pool.close().await;
    });
    assert_bcc_not_written(&conn_tap.sent(), &[&rcpts[1]]);
    assert_bcc_not_written(&pool_tap.sent(), &[&rcpts[3]]);
    let refs: Vec<&str> = rcpts.iter().map(String::as_str).collect();
    for stored in s.postfix_messages(&refs) {
        assert_stored_verifies(&stored, DOMAIN, SELECTOR, &record);
    }
}

/// `stream` cannot sign (it never holds a message whole): with a signer it refuses
/// before anything is sent, rather than send unsigned.
#[test]
fn stream_refuses_with_a_signer() {
    let s = TestServers::get();
    let a = rcpt(TAG, "stream");
    let msg = awkward_message(FROM, &a, "stream");
    let got = block_on(async {
        let mut conn = builder(&s, s.port(Listener::Postfix), signer("ed25519.pem"))
            .connect()
            .await
            .expect("connect");
        let mut item = Some((Envelope::new(from(), [to(&a)]), &msg[..], ()));
        let got = conn
            .stream(
                1,
                |_| Poll::Ready(item.take()),
                |_, r| panic!("a report: {r:?}"),
            )
            .await;
        conn.quit().await.unwrap();
        got
    });
    assert!(
        matches!(got, Err(Error::Dkim(DkimError::Streamed))),
        "{got:?}"
    );
    assert!(!s.postfix_has(&a));
}

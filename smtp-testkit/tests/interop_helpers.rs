//! The byte comparison helpers of the interop tests.

use smtp_testkit::interop::{crlf_to_lf, strip_postfix_headers, unique};

const STORED: &[u8] = b"Return-Path: <a@x.test>\n\
X-Original-To: b@y.test\n\
Delivered-To: b@y.test\n\
Received: from client.example (localhost [127.0.0.1])\n\
\tby postfix.harness.test (Postfix) with ESMTPS id 1234\n\
\tfor <b@y.test>; Mon,  1 Jan 2024 00:00:00 +0000 (UTC)\n\
Received: from elsewhere\n\
Subject: hi\n\
\n\
body\n";

#[test]
fn postfix_headers_are_stripped_once_each() {
    assert_eq!(
        strip_postfix_headers(STORED),
        &b"Received: from elsewhere\nSubject: hi\n\nbody\n"[..]
    );
}

#[test]
fn crlf_becomes_lf_and_nothing_else_changes() {
    assert_eq!(crlf_to_lf(b"a\r\nb\rc\n\r\n"), b"a\nb\rc\n\n");
}

#[test]
fn unique_names_differ() {
    assert_ne!(unique("t"), unique("t"));
}

#!/usr/bin/env python3
"""Regenerates the seed corpus of every fuzz target into fuzz/corpus/<target>/seed-*.

Sources: the recorded EHLO transcripts (shared/data/ehlo-transcripts.txt, or the copy
given with --ehlo) and the session transcripts in smtp-proto/tests/transcripts/. Each
target gets its inputs in the layout its doc comment describes. Only files named seed-*
are written or removed, so inputs libFuzzer added are left alone.

Usage: python3 fuzz/seed-corpus.py [--ehlo PATH]
"""

import argparse
import hashlib
import re
import struct
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
ROOT = FUZZ.parent
TRANSCRIPTS = ROOT / "smtp-proto" / "tests" / "transcripts"
EHLO_DEFAULT = [
    ROOT.parent / "shared" / "data" / "ehlo-transcripts.txt",
    Path("/work/shared/data/ehlo-transcripts.txt"),
]


def unescape(s):
    """The escapes of the transcript format (smtp-proto/tests/common/mod.rs)."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n in "rnt\\":
                out += {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}[n]
                i += 2
                continue
            if n == "x":
                out.append(int(s[i + 2 : i + 4], 16))
                i += 4
                continue
        out += c.encode()
        i += 1
    return bytes(out)


def ehlo_flights(path):
    """Server flights of the EHLO transcripts: runs of S: lines, CRLF-terminated."""
    flights, cur = [], []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if raw.startswith("S: ") and not raw.startswith("S: ["):
            cur.append(raw[3:].encode() + b"\r\n")
        elif cur:
            flights.append(b"".join(cur))
            cur = []
    if cur:
        flights.append(b"".join(cur))
    return flights


def transcript_flights(path):
    """S: lines of a session transcript, unescaped, each one server read."""
    flights = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("S: "):
            flights.append(unescape(line[3:]))
    return flights


def is_ehlo_reply(flight):
    return flight.startswith(b"250-") or (
        flight.startswith(b"250 ") and flight.count(b"\n") == 1
    )


# ----- client_session input encoding (see fuzz_targets/client_session.rs) -----

CANNED = {
    "greeting": 0,
    "ehlo_full": 1,
    "ehlo_pipelining": 2,
    "ehlo_bare": 3,
    "ok": 4,
    "354": 5,
    "starttls_220": 6,
    "334_empty": 7,
    "334_user": 8,
    "334_pass": 9,
    "235": 10,
    "221": 11,
    "421": 12,
    "452": 13,
    "550": 14,
    "500": 15,
    "454": 16,
    "554": 17,
    "ehlo_starttls_auth": 18,
    "535": 19,
    "451": 20,
    "ehlo_chunking_auth": 22,
    "252": 23,
}


def cfg(tls="disabled", creds=None, plaintext=False, pipelining=True, chunking=True,
        lmtp=False, abort=False, short_timeouts=False, small_window=False,
        small_chunks=False, auth_rounds=3, small_limits=False):
    a = {"implicit": 0, "required": 1, "opportunistic": 2, "disabled": 3}[tls]
    a |= {None: 0, "password": 1, "oauth2": 2}[creds] << 2
    a |= 0x10 if plaintext else 0
    a |= 0x20 if pipelining else 0
    a |= 0x40 if chunking else 0
    a |= 0x80 if lmtp else 0
    b = (1 if abort else 0) | (2 if short_timeouts else 0) | (4 if small_window else 0)
    b |= 8 if small_chunks else 0
    b |= (auth_rounds & 3) << 4
    b |= 0x40 if small_limits else 0
    return bytes([a, b])


def reply(name):
    return bytes([0, CANNED[name]])


def pair(x, y):
    return bytes([2, CANNED[x], CANNED[y]])


def raw(data):
    out = bytearray()
    for i in range(0, len(data), 255):
        part = data[i : i + 255]
        out += bytes([3, len(part)]) + part
    if not data:
        out += bytes([3, 0])
    return bytes(out)


def body(data, last=True):
    out = bytearray()
    chunks = [data[i : i + 200] for i in range(0, len(data), 200)] or [b""]
    for i, c in enumerate(chunks):
        out += bytes([5, len(c), 1 if (last and i == len(chunks) - 1) else 0]) + c
    return bytes(out)


def send(shape=0x04, extra=0):
    # shape: bits 0-1 from, bits 2-3 recipient count, 4-5 body type, 6 smtputf8, 7 requiretls
    return bytes([6, shape, extra])


def clock(secs):
    return bytes([7, secs])


TLS = bytes([8, 0])
EOF = bytes([9, 0])
QUIT = bytes([10, 0])


def noop(which=0):
    return bytes([11, which])


def session_seeds():
    """Hand-written sessions that reach every phase of the client."""
    msg = b"Subject: hi\r\n\r\n.leading dot\r\nbare lf\nend"
    s = {}
    s["plain-data"] = (cfg(chunking=False) + send() + QUIT + reply("greeting")
                       + reply("ehlo_pipelining") + reply("ok") + reply("ok")
                       + reply("354") + body(msg) + reply("ok") + reply("221"))
    s["plain-nopipe"] = (cfg(pipelining=False, chunking=False) + send(0x08) + reply("greeting")
                         + reply("ehlo_bare") + reply("ok") + reply("ok") + reply("550")
                         + reply("354") + body(msg) + reply("ok") + QUIT + reply("221"))
    s["starttls-auth"] = (cfg(tls="required", creds="password") + send() + reply("greeting")
                          + reply("ehlo_starttls_auth") + reply("starttls_220") + TLS
                          + reply("ehlo_full") + reply("235") + reply("ok") + reply("ok")
                          + body(msg) + reply("ok") + QUIT + reply("221"))
    s["starttls-injected"] = (cfg(tls="required", creds="password")
                              + reply("greeting") + reply("ehlo_starttls_auth")
                              + pair("starttls_220", "ehlo_full") + TLS + reply("235"))
    s["auth-login"] = (cfg(tls="implicit", creds="password") + reply("greeting")
                       + reply("ehlo_chunking_auth") + reply("334_user") + reply("334_pass")
                       + reply("235") + noop(0) + reply("ok") + noop(2) + reply("252") + QUIT
                       + reply("221"))
    s["auth-plaintext"] = (cfg(tls="disabled", creds="password", plaintext=True)
                           + reply("greeting") + reply("ehlo_chunking_auth") + reply("535"))
    s["oauth-error"] = (cfg(tls="implicit", creds="oauth2") + reply("greeting")
                        + reply("ehlo_full") + bytes([0, 21]) + reply("535"))
    s["bdat"] = (cfg(tls="implicit", small_chunks=True) + send(0x04, 0x04) + reply("greeting")
                 + reply("ehlo_full") + body(msg, last=False) + body(b"", last=True)
                 + reply("ok") + reply("ok") + reply("ok") + reply("ok") + reply("ok") + QUIT
                 + reply("221"))
    s["bdat-binary"] = (cfg(tls="implicit") + send(0x34, 0x08) + reply("greeting")
                        + reply("ehlo_full") + body(b"\x00\xff\r\r\n.\r\n")
                        + reply("ok") + reply("ok") + reply("ok") + EOF)
    s["lmtp"] = (cfg(lmtp=True, chunking=False) + send(0x0c) + reply("greeting")
                 + reply("ehlo_pipelining") + reply("ok") + reply("ok") + reply("452")
                 + reply("ok") + reply("354") + body(msg) + reply("ok") + reply("550")
                 + QUIT + reply("221"))
    s["timeouts"] = (cfg(short_timeouts=True) + send() + reply("greeting") + clock(5)
                     + reply("ehlo_bare") + clock(11) + reply("ok"))
    s["greeting-421"] = cfg() + send() + reply("421")
    s["helo-fallback"] = (cfg(tls="opportunistic") + send() + reply("greeting") + reply("500")
                          + reply("ok") + reply("ok") + reply("ok") + reply("354") + body(msg)
                          + reply("ok") + EOF)
    s["opportunistic-refused"] = (cfg(tls="opportunistic", creds="password")
                                  + reply("greeting") + reply("ehlo_starttls_auth")
                                  + reply("454"))
    s["abort-rcpt"] = (cfg(abort=True, chunking=False) + send(0x08) + send(0x04)
                       + reply("greeting") + reply("ehlo_pipelining") + reply("ok")
                       + reply("550") + reply("ok") + reply("ok") + reply("ok") + reply("ok")
                       + reply("354") + body(msg) + reply("ok") + QUIT + reply("221"))
    s["small-limits"] = (cfg(small_limits=True, small_window=True) + send() + reply("greeting")
                         + reply("ehlo_full"))
    s["split-replies"] = (cfg() + send() + bytes([4, 0, 5]) + bytes([4, 1, 40])
                          + bytes([4, 4, 3]))
    return s


def model(x=0, y=0):
    """The modelled server answers the next thing the client wrote (tag 1)."""
    return bytes([1, x, y])


def model_session_seeds():
    """Sessions against the modelled server, whose replies the checks can trace."""
    msg = b"Subject: hi\r\n\r\n.dot\r\nbare lf\nend"
    ok = model(0, 0)
    s = {}
    # EHLO shape y: bit 0 PIPELINING, 1 CHUNKING, 2 STARTTLS, 3 AUTH, 4 8BITMIME, 5 SMTPUTF8,
    # 6 DSN, 7 SIZE. Reply shape x: 0 success, 4 450, 5 550/451, 6 452 4.5.3, 15 421.
    s["model-plain"] = (cfg(pipelining=False, chunking=False) + send(0x08) + ok + ok + ok + ok
                        + model(4) + ok + body(msg) + ok + QUIT + ok)
    s["model-pipelined"] = (cfg(chunking=False) + send(0x0c) + send(0x08) + ok + model(0, 1)
                            + ok + model(5) + ok + ok + ok + body(msg) + model(2) + ok + ok
                            + ok + ok + body(msg) + ok + QUIT + ok)
    s["model-bdat"] = (cfg(small_chunks=True) + send(0x0c) + ok + model(0, 3) + body(msg)
                       + ok + ok + model(6) + ok + ok + ok + ok + ok + QUIT + ok)
    s["model-lmtp"] = (cfg(lmtp=True, chunking=False) + send(0x0c) + ok + model(0, 1) + ok
                       + ok + ok + ok + ok + body(msg) + model(0x08) + ok + ok + QUIT + ok)
    s["model-421"] = (cfg(chunking=False) + send(0x0c) + ok + model(0, 1) + ok + ok
                      + model(15) + ok + ok)
    s["model-abort"] = (cfg(abort=True, chunking=False) + send(0x08) + send(0x04) + ok
                        + model(0, 1) + ok + ok + model(5) + ok + ok + ok + ok + body(msg)
                        + ok + QUIT + ok)
    s["model-timeout"] = (cfg(short_timeouts=True) + send(0x04) + ok + model(0, 3) + ok
                          + clock(11) + ok)
    return s


def transcript_session_seeds(flights_by_name):
    """A server's recorded flights as raw reads, under a few configurations."""
    seeds = {}
    for name, flights in flights_by_name.items():
        for label, c in [("plain", cfg(tls="disabled", creds="password", plaintext=True)),
                         ("tls", cfg(tls="opportunistic", creds="password"))]:
            data = bytearray(c) + send() + QUIT
            for f in flights:
                data += raw(f)
                if f.startswith(b"354"):
                    data += body(b"Subject: x\r\n\r\nhello\r\n")
                if f.startswith(b"220 2.0.0 Ready") or b"Ready to start TLS" in f:
                    data += TLS
            seeds[f"{name}-{label}"] = bytes(data)
    return seeds


# ----- the other targets -----

def body_seeds():
    bodies = [
        b"Subject: x\r\n\r\nhello\r\n.\r\n..\r\n.x\r\n",
        b".\n.\r.\r\n\r.\r\n.\n",
        b"a\r\n.\r\nb",
        b"line\r",
        b"\x00nul",
        b"\xff\xfe8bit\r\n",
        b"",
    ]
    seeds = {}
    for i, b in enumerate(bodies):
        for mode in range(6):
            chunks = bytearray()
            for j in range(0, len(b), 3):
                part = b[j : j + 3]
                chunks += bytes([len(part)]) + part
            seeds[f"body{i}-mode{mode}"] = bytes([mode]) + bytes(chunks)
    return seeds


def constructor_seeds():
    strings = [
        "alice@example.org", "<alice@example.org>", "", "<>", "postmaster",
        "\"quoted local\"@example.org", "user@[192.0.2.1]", "user@[IPv6:2001:db8::1]",
        "ünï@exämple.org", "mx.example", "[127.0.0.1]", "PLAIN", "XOAUTH2", "CRAM-MD5",
        "env+id=1", "a@b>\r\nDATA", "a@b\nRCPT TO:<x@y>", "x\x00y", "Postmaster@example.org",
    ]
    return {f"s{i}-{c}": bytes([c]) + s.encode() for i, s in enumerate(strings) for c in (0, 9)}


def mx_seeds():
    """TXT records (NUL-separated), policy files and policy responses (mx_parsers)."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
    policy = b"version: STSv1\nmode: enforce\nmx: mx1.example.com\nmx: *.example.net\nmax_age: 604800\n"
    chunked = b"Transfer-Encoding: chunked\r\n\r\n10;x=y\r\n" + policy[:16] + b"\r\n"
    chunked += b"%x\r\n" % (len(policy) - 16) + policy[16:] + b"\r\n0\r\nT: 1\r\n\r\n"
    return {
        "sts-txt": b"v=spf1 -all\x00v=STSv1; id=20160831085700Z;",
        "sts-txt-two": b"v=STSv1; id=a\x00v=STSv1; id=b",
        "tlsrpt-txt": b"v=TLSRPTv1; rua=mailto:tls@example.com,https://r.example/x",
        "policy-lf": policy,
        "policy-crlf": policy.replace(b"\n", b"\r\n"),
        "policy-none": b"version: STSv1\nmode: none\nmax_age: 31557600\nx-ext: y\n",
        "pattern": b"*.example.com",
        "http-length": ok + b"Content-Length: %d\r\n\r\n" % len(policy) + policy,
        "http-chunked": ok + chunked,
        "http-eof": ok + b"\r\n" + policy,
        "http-redirect": b"HTTP/1.1 301 Moved\r\nLocation: https://x/\r\n\r\n",
    }


def write(target, name, data):
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    digest = hashlib.sha1(data).hexdigest()[:8]
    (d / f"seed-{safe}-{digest}").write_bytes(data)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ehlo", type=Path, help="path of ehlo-transcripts.txt")
    args = p.parse_args()
    ehlo = args.ehlo or next((c for c in EHLO_DEFAULT if c.exists()), None)
    if ehlo is None or not ehlo.exists():
        raise SystemExit("ehlo-transcripts.txt not found; pass --ehlo PATH")

    for target in ("reply_parser", "capabilities", "client_session", "body_framing",
                   "constructors", "mx_parsers"):
        d = FUZZ / "corpus" / target
        if d.exists():
            for f in d.glob("seed-*"):
                f.unlink()

    ehlo_fl = ehlo_flights(ehlo)
    sessions = {p.stem: transcript_flights(p) for p in sorted(TRANSCRIPTS.glob("*.txt"))}
    all_flights = ehlo_fl + [f for fl in sessions.values() for f in fl]

    seen = set()
    for f in all_flights:
        for control in (0x00, 0x02, 0x11, 0x20, 0x30):
            data = bytes([control]) + f
            if data not in seen:
                seen.add(data)
                write("reply_parser", f"flight-{control:02x}", data)
    for f in all_flights:
        if is_ehlo_reply(f) and f not in seen:
            seen.add(f)
            write("capabilities", "ehlo", f)

    for name, data in session_seeds().items():
        write("client_session", name, data)
    for name, data in model_session_seeds().items():
        write("client_session", name, data)
    for name, data in transcript_session_seeds(sessions).items():
        write("client_session", "transcript-" + name, data)
    for i, f in enumerate(ehlo_fl):
        if is_ehlo_reply(f):
            data = (cfg(tls="opportunistic", creds="password") + send() + reply("greeting")
                    + raw(f) + reply("starttls_220") + TLS + raw(f) + reply("235")
                    + reply("ok") + reply("ok") + reply("354") + body(b"hi\r\n") + reply("ok"))
            write("client_session", f"ehlo{i}", data)

    for name, data in body_seeds().items():
        write("body_framing", name, data)
    for name, data in constructor_seeds().items():
        write("constructors", name, data)
    for name, data in mx_seeds().items():
        write("mx_parsers", name, data)

    for target in sorted((FUZZ / "corpus").iterdir()):
        print(f"{target.name}: {len(list(target.glob('seed-*')))} seeds")


if __name__ == "__main__":
    main()

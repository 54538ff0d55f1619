"""aiosmtpd servers for the interop tests, started by scripts/test-servers.

Three listeners in one process (one asyncio loop):
  smtp   STARTTLS, AUTH PLAIN/LOGIN alice/secret only after TLS, SMTPUTF8, 8BITMIME, SIZE
  smtps  the same over implicit TLS (AUTH allowed at once: the connection is TLS)
  lmtp   aiosmtpd.lmtp.LMTP; after DATA one reply per recipient

Recipients whose local part starts with "reject" (case-insensitive) fail with
"550 5.1.1 No such user": at RCPT on smtp/smtps, in the per-recipient DATA replies on lmtp.

Every accepted message is written to --mail-dir as <listener>-<time_ns>-<seq>.msg,
atomically (written under a dot name, then renamed), before the 250 reply is sent:
  line 1: JSON (ASCII) of the envelope, terminated by "\n":
          listener, mail_from, rcpt_tos, mail_options, rcpt_options (one list per entry of
          rcpt_tos), smtp_utf8, authenticated, delivered_to (recipients that got a 250)
  rest:   envelope.original_content, the exact message bytes as received after
          dot-unstuffing (CRLF line ends as sent, without the final ".\r\n").
"""

import argparse
import asyncio
import itertools
import json
import logging
import os
import signal
import ssl
import time

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USER, PASSWORD = b"alice", b"secret"
HOSTNAME = "aiosmtpd.harness.test"
REJECT = "550 5.1.1 No such user"

_seq = itertools.count()


def rejected(address):
    return address.split("@", 1)[0].lower().startswith("reject")


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER
        and auth_data.password == PASSWORD
    )
    return AuthResult(success=ok)


class Handler:
    def __init__(self, listener, mail_dir, lmtp=False):
        self.listener = listener
        self.mail_dir = mail_dir
        self.lmtp = lmtp

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # LMTP accepts everyone here and refuses in its per-recipient DATA replies.
        if rejected(address) and not self.lmtp:
            return REJECT
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        # aiosmtpd keeps one flat list of RCPT options; keep them per recipient too.
        if not hasattr(envelope, "rcpt_options_each"):
            envelope.rcpt_options_each = []
        envelope.rcpt_options_each.append(list(rcpt_options))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        replies = [REJECT if rejected(r) else "250 OK" for r in envelope.rcpt_tos]
        delivered = [r for r, rep in zip(envelope.rcpt_tos, replies) if rep.startswith("250")]
        name = None
        if delivered:
            name = self.store(session, envelope, delivered)
        if self.lmtp:
            # One reply line per RCPT, in order; aiosmtpd sends them as given.
            return "\r\n".join(replies)
        return "250 OK stored as %s" % name

    def store(self, session, envelope, delivered):
        meta = {
            "listener": self.listener,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "rcpt_options": getattr(envelope, "rcpt_options_each", []),
            "smtp_utf8": envelope.smtp_utf8,
            "authenticated": bool(session.authenticated),
            "delivered_to": delivered,
        }
        name = "%s-%d-%06d.msg" % (self.listener, time.time_ns(), next(_seq))
        tmp = os.path.join(self.mail_dir, "." + name)
        with open(tmp, "wb") as f:
            f.write(json.dumps(meta, ensure_ascii=True).encode("ascii") + b"\n")
            f.write(envelope.original_content)
        os.replace(tmp, os.path.join(self.mail_dir, name))
        return name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--smtp-port", type=int, required=True)
    ap.add_argument("--smtps-port", type=int, required=True)
    ap.add_argument("--lmtp-port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--mail-dir", required=True)
    ap.add_argument("--pid-file", required=True)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)

    async def serve():
        loop = asyncio.get_running_loop()
        common = dict(hostname=HOSTNAME, enable_SMTPUTF8=True, authenticator=authenticator, loop=loop)
        smtp = Handler("smtp", args.mail_dir)
        smtps = Handler("smtps", args.mail_dir)
        lmtp = Handler("lmtp", args.mail_dir, lmtp=True)
        servers = [
            await loop.create_server(
                lambda: SMTP(smtp, tls_context=tls, auth_require_tls=True, **common),
                args.host, args.smtp_port),
            # Implicit TLS: aiosmtpd only counts STARTTLS as TLS, so AUTH would never be
            # offered with auth_require_tls=True; the whole connection is TLS anyway.
            await loop.create_server(
                lambda: SMTP(smtps, auth_require_tls=False, **common),
                args.host, args.smtps_port, ssl=tls),
            await loop.create_server(
                lambda: LMTP(lmtp, hostname=HOSTNAME, enable_SMTPUTF8=True, loop=loop),
                args.host, args.lmtp_port),
        ]
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        logging.info("listening on %s ports %d %d %d", args.host, args.smtp_port,
                     args.smtps_port, args.lmtp_port)
        await stop.wait()
        for s in servers:
            s.close()
        logging.info("stopped")

    asyncio.run(serve())


if __name__ == "__main__":
    main()

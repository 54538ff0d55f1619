#!/usr/bin/env python3
"""smtp-sink's discarding mode against Nodemailer's smtp-server, in one run, as ratios.

Both servers run pinned to one CPU (taskset -c 0): the sink's example `sink-discard`
(its runtime is single-threaded) and nodemailer-discard.js (Node). The load is
smtp-bench's own client (`smtp-bench client ours-tokio`: one connection, PIPELINING,
batches of ~2 KiB messages with 3 recipients, DATA since Nodemailer has no CHUNKING),
one process per connection, pinned to the other CPUs. Rounds alternate which server
goes first. Reported per server and number of concurrent clients: messages/s (sum over
the clients) and the server's CPU time per message (from /proc, warm-up included), with
the sink/Nodemailer ratios.

    python3 smtp-sink/bench/vs_nodemailer.py [--rounds 3] [--clients 1,4] [--seconds 3]

Needs node and npm (smtp-server is installed into $SMTP_SINK_BENCH_DIR, default
/tmp/smtp-sink-bench) and taskset.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SMTP_SERVER = "smtp-server@3.21.7"
WARMUP = 5  # smtp-bench's untimed messages per client


def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def build():
    sh("cargo", "build", "-q", "--release", "-p", "smtp-bench", cwd=ROOT)
    sh("cargo", "build", "-q", "--release", "-p", "smtp-sink", "--example", "sink-discard", cwd=ROOT)
    work = Path(os.environ.get("SMTP_SINK_BENCH_DIR", "/tmp/smtp-sink-bench"))
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "node_modules" / "smtp-server").is_dir():
        sh("npm", "install", "--silent", "--no-save", "--prefix", str(work), SMTP_SERVER)
    return work


class Server:
    def __init__(self, name, cmd, env=None):
        self.name = name
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", *cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        line = self.proc.stdout.readline().decode()
        assert line.startswith("PORT "), f"{name}: {line!r}"
        self.port = int(line.split()[1])

    def cpu_seconds(self):
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def load(server, clients, seconds, tag):
    """`clients` concurrent smtp-bench clients; (messages/s summed, server CPU µs/message)."""
    bench = ROOT / "target" / "release" / "smtp-bench"
    others = f"1-{os.cpu_count() - 1}" if os.cpu_count() > 1 else "0"
    cpu0 = server.cpu_seconds()
    procs = [
        subprocess.Popen(
            ["taskset", "-c", others, str(bench), "client", "ours-tokio", str(server.port),
             f"{tag}{i}", str(seconds), "1000", "200000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for i in range(clients)
    ]
    rate, messages = 0.0, 0
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err.decode()
        result = next(l for l in out.decode().splitlines() if l.startswith("RESULT "))
        kv = dict(x.split("=", 1) for x in result.split()[1:])
        rate += int(kv["messages"]) / float(kv["seconds"])
        messages += int(kv["messages"]) + WARMUP
    time.sleep(0.2)  # the server finishes the QUITs
    cpu = server.cpu_seconds() - cpu0
    return rate, cpu * 1e6 / messages


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--clients", default="1,4")
    ap.add_argument("--seconds", type=float, default=3)
    a = ap.parse_args()
    work = build()
    env = dict(os.environ, NODE_PATH=str(work / "node_modules"))
    servers = [
        Server("smtp-sink", [str(ROOT / "target/release/examples/sink-discard"), "--no-chunking"]),
        Server("nodemailer", ["node", str(HERE / "nodemailer-discard.js")], env),
    ]
    counts = [int(c) for c in a.clients.split(",")]
    results = {(s.name, c): [] for s in servers for c in counts}
    try:
        for r in range(a.rounds):
            order = servers if r % 2 == 0 else servers[::-1]
            for c in counts:
                for s in order:
                    rate, us = load(s, c, a.seconds, f"r{r}c{c}")
                    results[(s.name, c)].append((rate, us))
                    print(f"round {r + 1} clients {c} {s.name}: {rate:,.0f} msg/s, "
                          f"{us:.1f} µs server CPU/msg", file=sys.stderr)
    finally:
        for s in servers:
            s.stop()
    med = lambda xs: statistics.median(xs)
    print(f"\n{a.rounds} rounds, medians; load {os.getloadavg()[0]:.2f}")
    print("| clients | smtp-sink msg/s | nodemailer msg/s | ratio | sink CPU µs/msg | node CPU µs/msg | ratio (node/sink) |")
    print("|---|---|---|---|---|---|---|")
    for c in counts:
        sr = med([x[0] for x in results[("smtp-sink", c)]])
        nr = med([x[0] for x in results[("nodemailer", c)]])
        su = med([x[1] for x in results[("smtp-sink", c)]])
        nu = med([x[1] for x in results[("nodemailer", c)]])
        print(f"| {c} | {sr:,.0f} | {nr:,.0f} | {sr / nr:.2f} | {su:.1f} | {nu:.1f} | {nu / su:.2f} |")


if __name__ == "__main__":
    main()

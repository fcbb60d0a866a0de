"""Jepsen-style nemesis suite for zkpg: clients, faults, history, checker.

    python3 test/nemesis/nemesis.py --minutes N [--smoke] [--seed S]
                                    [--out DIR] [--only 3|5] [--interval S]

(test/nemesis/run.sh installs what is needed and runs this as postgres.)

Two configurations run one after the other, each for its share of N
minutes: three peers, and five peers whose fifth is an observer.  For
each (ensemble.py): every peer its own initdb'd instance under DIR, on
127.0.0.1, ports 16000-16999; peer i reaches peer j through a relay
process of its own (relay.py), so a partition stops relays' process groups
and needs no root.  The zkpg settings are short (tick 100 ms, session
timeout 2 s, request timeout 3 s, init_limit 3 s, a small zkpg.log_retain so that a peer
that was down often needs a SNAP; the five-peer ensemble also has
zkpg.force_snapshot_sync).

Then, for the configuration's time:
- client processes (client.py), spread over the peers and connected to
  them directly, run a random mix of register reads, writes and CAS,
  creates, deletes, multis, sequential and ephemeral creates and lock
  cycles with fenced writes, each recording every attempt in its own
  history file (HISTORY.md's format);
- the nemesis (faults.py) injects one fault at a time: kill -9 of the
  leader or of any peer, a restart killed again while it syncs, SIGSTOP of
  a peer for longer than the session timeout, partitions (the leader
  alone, a majority and a minority, a bridge); after each it restores
  everything and waits until the ensemble serves again, within a bound
  whose passing is an availability violation.

At the end of a configuration: restore everything, stop the clients
(closing their sessions), wait until every peer has applied the same zxid
and has the same zkpg.tree_digest(), zk_sync('/') and read every register
on every peer (appended as linearizable reads), wait longer than the
session timeout plus 5 s, wait for convergence again and dump final.json
(every peer's digest and every node under the harness root, read from
zkpg.znode).  The clients' files are merged into history.jsonl, checker.py
(written against HISTORY.md) checks it, and report.py's figures go to
DIR/report.md and DIR/report.json.

Every process started here (peers, relays, clients) is stopped on exit,
on error and on SIGINT/SIGTERM, and none is left SIGSTOPped.  The last
line printed is `violations: N` (checker violations plus availability
violations and harness failures); the exit status is 1 when N > 0.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
import traceback

import ensemble
import faults
import pgconn
import report
from pgconn import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = "/nemesis"
N_REGISTERS, N_SEQ_PARENTS, N_LOCKS = 5, 3, 2
SETTINGS = {
    "zkpg.tick_ms": "100",
    "zkpg.session_timeout": "2000",
    "zkpg.request_timeout": "3000",
    "zkpg.log_retain": "300",
    # a sync must fit in init_limit ticks, as ZooKeeper's initLimit: the
    # tree grows to tens of thousands of znodes in a long run, whose SNAP
    # takes over a second on a loaded 2-core machine
    "zkpg.init_limit": "30",
}
STATEMENT_TIMEOUT_MS = 4000
CONFIGS = {
    3: {"name": "3peers", "observer": False, "clients": 8, "settings": {}},
    5: {"name": "5peers-observer", "observer": True, "clients": 10,
        "settings": {"zkpg.force_snapshot_sync": "on"}},
}


class HarnessError(Exception):
    """The harness could not go on with a configuration."""


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=None,
                    help="total fault-phase minutes, shared by the configurations "
                         "(default 30; 2 with --smoke)")
    ap.add_argument("--smoke", action="store_true",
                    help="short run: every fault kind first, then the weighted mix")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--out", default=None, help="output directory")
    ap.add_argument("--only", type=int, choices=(3, 5), default=None)
    ap.add_argument("--interval", type=float, default=8.0,
                    help="mean seconds between fault starts (default 8)")
    ap.add_argument("--min-gap", type=float, default=2.0,
                    help="least healthy seconds between two faults (default 2)")
    ap.add_argument("--recovery-timeout", type=float, default=90.0,
                    help="seconds the ensemble may take to serve again after a fault")
    ap.add_argument("--think-ms", type=float, default=5.0,
                    help="mean pause of a client between operations")
    ap.add_argument("--max-seconds-per-key", type=float, default=60.0)
    ap.add_argument("--no-force-snapshot-sync", action="store_true",
                    help="leave zkpg.force_snapshot_sync off in the five-peer ensemble")
    args = ap.parse_args()
    if args.minutes is None:
        args.minutes = 2.0 if args.smoke else 30.0
    if args.seed is None:
        args.seed = int(time.time()) % 1000000
    if args.out is None:
        args.out = "/var/tmp/zkpg-nemesis-%s" % time.strftime("%Y%m%d-%H%M%S")
    return args


class Console:
    """Progress lines on stdout and in DIR/nemesis.log."""

    def __init__(self, path):
        self.log = open(path, "a")
        self.t0 = time.monotonic()

    def say(self, msg):
        line = "[%7.1f] %s" % (time.monotonic() - self.t0, msg)
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()


# --- the tree the clients work on ----------------------------------------------

def layout():
    """The client configuration's paths."""
    return {
        "root": ROOT,
        "registers": ["%s/r/k%d" % (ROOT, i) for i in range(N_REGISTERS)],
        "seq_parents": ["%s/s%d" % (ROOT, i) for i in range(N_SEQ_PARENTS)],
        "locks": ["%s/locks/l%d" % (ROOT, i) for i in range(N_LOCKS)],
        "resources": ["%s/res/r%d" % (ROOT, i) for i in range(N_LOCKS)],
    }


def setup_tree(ens, paths):
    """Creates the harness's nodes; returns the registers' init lines."""
    conn = pgconn.connect(ens.peers[0].port, 10)
    try:
        dirs = [ROOT] + ["%s/%s" % (ROOT, d) for d in ("r", "c", "e", "m", "locks", "res")]
        for path in dirs + paths["seq_parents"] + paths["locks"] + paths["resources"]:
            pgconn.query(conn, "SELECT zk_create(%s)", (path,), timeout=10)
        inits = []
        for key in paths["registers"]:
            value = "init-" + key.rsplit("/", 1)[1]
            pgconn.query(conn, "SELECT zk_create(%s, convert_to(%s, 'UTF8'))",
                         (key, value), timeout=10)
            inits.append({"proc": -1, "session": "init", "peer": ens.peers[0].id,
                          "f": "init", "key": key, "args": {"value": value, "version": 0},
                          "start": 0, "end": 0, "outcome": "ok", "sqlstate": None,
                          "result": {}})
        return inits
    finally:
        conn.close()


# --- clients ------------------------------------------------------------------------

def start_clients(ens, n, cfg_path, seed, clientdir):
    os.makedirs(clientdir, exist_ok=True)
    clients = []
    for proc in range(1, n + 1):
        home = ens.peers[(proc - 1) % len(ens.peers)].id
        hist = os.path.join(clientdir, "p%d.jsonl" % proc)
        with open(os.path.join(clientdir, "p%d.err" % proc), "ab") as err:
            p = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "client.py"), cfg_path, str(proc),
                 str(home), str(seed * 1000 + proc), hist],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        clients.append((p, hist))
    return clients


def stop_clients(clients, timeout):
    """SIGTERM: each finishes its operation and closes its connection.
    Returns the processes that had to be killed."""
    for p, _ in clients:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    killed = []
    for p, _ in clients:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            killed.append(p.pid)
    return killed


# --- the end of a configuration ---------------------------------------------------------

def converged(ens, timeout):
    """Waits until every peer reports the same applied zxid and digest;
    returns {peer: "zxid digest"} as last seen, and whether they agreed."""
    deadline = time.monotonic() + timeout
    while True:
        seen = {}
        for p in ens.peers:
            try:
                rows = pgconn.query_once(
                    p.port, "SELECT applied_zxid || ' ' || zkpg.tree_digest() FROM zkpg.status",
                    timeout=10)
                seen[p.id] = rows[0][0]
            except (psycopg2.Error, pgconn.Timeout) as e:
                seen[p.id] = "error: %s" % str(e).strip()
        same = len(set(seen.values())) == 1 and not any(
            v.startswith("error") for v in seen.values())
        if same or time.monotonic() >= deadline:
            return seen, same
        time.sleep(0.3)


def linearizable_reads(ens, registers):
    """zk_sync('/') then a read of every register, on every peer."""
    lines = []
    for p in ens.peers:
        conn = pgconn.connect(p.port, 10)
        try:
            pgconn.query(conn, "SELECT zk_sync('/')", timeout=10)
            for key in registers:
                start = time.monotonic()
                value, version, mzxid = pgconn.query(
                    conn, "SELECT convert_from(data, 'UTF8'), version, mzxid FROM zk_get(%s)",
                    (key,), timeout=10)[0]
                lines.append({"proc": 1000 + p.id, "session": "final-peer%d" % p.id,
                              "peer": p.id, "f": "read", "key": key,
                              "args": {"consistency": "linearizable"},
                              "start": start, "end": time.monotonic(), "outcome": "ok",
                              "sqlstate": None,
                              "result": {"value": value, "version": version,
                                         "mzxid": mzxid}})
        finally:
            conn.close()
    return lines


def dump_final(ens):
    peers = {}
    for p in ens.peers:
        conn = pgconn.connect(p.port, 10)
        try:
            digest = pgconn.query(conn, "SELECT zkpg.tree_digest()", timeout=30)[0][0]
            rows = pgconn.query(
                conn, "SELECT path, version, ephemeral_owner, convert_from(data, 'UTF8') "
                      "FROM zkpg.znode WHERE path = %s OR path LIKE %s ORDER BY path",
                (ROOT, ROOT + "/%"), timeout=30)
        finally:
            conn.close()
        peers[str(p.id)] = {"digest": digest, "nodes": {
            path: {"version": v, "ephemeral_owner": owner, "data": data}
            for path, v, owner, data in rows}}
    return {"peers": peers, "live_sessions": [],
            "session_timeout_ms": int(SETTINGS["zkpg.session_timeout"])}


def sessions_left(ens):
    rows = pgconn.query_once(ens.peers[0].port,
                             "SELECT session_id, owner FROM zkpg.session ORDER BY 1", timeout=10)
    return [list(r) for r in rows]


def merge_history(path, inits, clients, finals):
    ops = []
    for _, hist in clients:
        if os.path.exists(hist):
            with open(hist) as f:
                ops += [json.loads(line) for line in f if line.strip()]
    ops.sort(key=lambda op: (op["start"], op["proc"]))
    with open(path, "w") as f:
        for op in inits + ops + finals:
            f.write(json.dumps(op) + "\n")
    return inits + ops + finals


def run_checker(hist_path, final_path, max_seconds):
    sys.path.insert(0, HERE)
    try:
        import checker
    except ImportError as e:
        raise HarnessError("test/nemesis/checker.py cannot be imported: %s" % e)
    history = checker.load_history(hist_path)
    with open(final_path) as f:
        final = json.load(f)
    result = checker.check(history, final, max_seconds_per_key=max_seconds)
    return result, checker.format_report(result)


# --- one configuration ------------------------------------------------------------------

def run_config(n, args, seconds, rng, ports, console):
    spec = CONFIGS[n]
    outdir = os.path.join(args.out, spec["name"])
    os.makedirs(outdir)
    say = lambda msg: console.say("%s: %s" % (spec["name"], msg))
    errors, cycles, history, check = [], [], [], None
    phase = (0.0, 0.0)
    settings = dict(SETTINGS, **spec["settings"])
    if args.no_force_snapshot_sync:
        settings.pop("zkpg.force_snapshot_sync", None)
    ens = clients = None
    try:
        ens = ensemble.Ensemble(outdir, n, spec["observer"], ports, settings)
        ens.start()
        if not ens.wait_serving(120):
            raise HarnessError("the new ensemble did not serve within 120 s: %s"
                               % ens.statuses())
        say("serving: %s" % {i: s["state"] for i, s in ens.statuses().items() if s})
        paths = layout()
        inits = setup_tree(ens, paths)
        cfg = dict(paths, peers={str(p.id): p.port for p in ens.peers},
                   statement_timeout_ms=STATEMENT_TIMEOUT_MS, think_ms=args.think_ms)
        cfg_path = os.path.join(outdir, "clients.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f, indent=1)
        clients = start_clients(ens, spec["clients"], cfg_path, args.seed * 10 + n,
                                os.path.join(outdir, "clients"))
        phase_start = time.monotonic()
        nem = faults.Nemesis(ens, rng, os.path.join(outdir, "faults.jsonl"), args.interval,
                             args.recovery_timeout, args.min_gap, args.smoke, say)
        try:
            nem.run(phase_start + seconds)
        finally:
            cycles = nem.cycles
        phase = (phase_start, time.monotonic())
        errors += ["fault %s at %.1f: the ensemble did not serve again within %d s"
                   % (c["kind"], c["start"], args.recovery_timeout)
                   for c in cycles if not c["recovered"]]
        say("fault phase over: %d cycles; ending" % len(cycles))
        finals, final = end_phase(ens, clients, paths, errors, say)
        clients_done = clients
        clients = None
        history = merge_history(os.path.join(outdir, "history.jsonl"), inits,
                                clients_done, finals)
        final_path = os.path.join(outdir, "final.json")
        with open(final_path, "w") as f:
            json.dump(final, f, indent=1)
        say("history: %d operations; checking" % len(history))
        check, text = run_checker(os.path.join(outdir, "history.jsonl"), final_path,
                                  args.max_seconds_per_key)
        with open(os.path.join(outdir, "checker.json"), "w") as f:
            json.dump(check, f, indent=1, default=str)
        with open(os.path.join(outdir, "checker.txt"), "w") as f:
            f.write(text + "\n")
    except HarnessError as e:
        errors.append(str(e))
        say("HARNESS ERROR: %s" % e)
    except Exception:
        errors.append("harness failure: " + traceback.format_exc())
        say("HARNESS FAILURE:\n" + traceback.format_exc())
    finally:
        if clients:
            stop_clients(clients, 10)
        if ens:
            ens.shutdown()
    fig = report.config_figures(history, cycles, phase, check, errors)
    violations = (check or {}).get("violations", 0) + len(errors)
    say("violations: %d (checker %s, availability/harness %d)"
        % (violations, (check or {}).get("violations", "n/a"), len(errors)))
    return spec["name"], fig, violations


def end_phase(ens, clients, paths, errors, say):
    """Restore, stop clients, converge, linearizable reads, wait out the
    session timeout, converge again, dump.  Returns (final reads, final)."""
    ens.restore()
    if not ens.wait_serving(120):
        errors.append("end: the ensemble did not serve within 120 s after healing: %s"
                      % ens.statuses())
    killed = stop_clients(clients, STATEMENT_TIMEOUT_MS / 1000.0 + 15)
    if killed:
        errors.append("end: clients %s did not stop and were killed" % killed)
    seen, same = converged(ens, 60)
    if not same:
        errors.append("end: peers did not converge within 60 s: %s" % seen)
    finals = linearizable_reads(ens, paths["registers"]) if same else []
    say("converged %s; waiting out the session timeout" % same)
    time.sleep(ens.session_timeout_s + 5)
    seen, same = converged(ens, 60)
    if not same:
        errors.append("end: peers did not converge after the session timeout: %s" % seen)
    left = sessions_left(ens)
    if left:
        say("sessions still open after the session timeout: %s" % left)
    return finals, dump_final(ens)


# --- main ---------------------------------------------------------------------------------

def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    console = Console(os.path.join(args.out, "nemesis.log"))
    ensemble.become_subreaper()
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda s, f: sys.exit(129))
    sizes = [args.only] if args.only else [3, 5]
    seconds = args.minutes * 60.0 / len(sizes)
    console.say("seed %d, %s, %.0f s each, faults every ~%.0f s, output %s"
                % (args.seed, " and ".join(CONFIGS[s]["name"] for s in sizes), seconds,
                   args.interval, args.out))
    rng = random.Random(args.seed)
    ports = ensemble.Ports()
    results = []
    try:
        for n in sizes:
            results.append(run_config(n, args, seconds, rng, ports, console))
    except KeyboardInterrupt:
        console.say("interrupted; every process this run started is stopped")
        return 130
    finally:
        ensemble.reap_any()
    total = report.write_report(args.out, args.seed, results)
    summary(results, args.out)
    print("violations: %d" % total, flush=True)
    return 1 if total else 0


def summary(results, outdir):
    for name, fig, violations in results:
        ops = fig["operations"]
        n_ops = sum(c["total"] for c in ops.values())
        n_ok = sum(c["ok"] for c in ops.values())
        n_unk = sum(c["unknown"] for c in ops.values())
        print("%s: fault cycles %s (%s); %d ops (%d ok, %d unknown); failover p50 %s s "
              "p99 %s s; longest write outage %s s; violations %d"
              % (name, sum(fig["fault_cycles"].values()),
                 ", ".join("%s %d" % kv for kv in sorted(fig["fault_classes"].items())),
                 n_ops, n_ok, n_unk, fig["failover_s"]["p50"], fig["failover_s"]["p99"],
                 max((o["longest_s"] for o in fig["write_outages"].values()), default=None),
                 violations))
        for e in fig["harness_errors"]:
            print("  %s" % e.strip().splitlines()[-1])
    print("report: %s" % os.path.join(outdir, "report.md"))


if __name__ == "__main__":
    sys.exit(main())

"""One nemesis client process: a random mix of zkpg operations, recorded.

    python3 client.py CONFIG.json PROC HOME_PEER SEED HISTORY_OUT.jsonl

Loops until SIGTERM over register reads, writes and CAS, unique creates and
deletes, zk_multi, sequential and ephemeral creates, and lock cycles
(zk_lock, fenced writes, zk_unlock), on one connection at a time to one
peer (directly, not through the relays).  Every attempt is one line of
HISTORY_OUT in test/nemesis/HISTORY.md's format, written when it ends:
CLOCK_MONOTONIC invoke and complete times (time.monotonic(), system-wide
on Linux), and its outcome: `ok`; `fail` only for the definite refusals
HISTORY.md lists per operation; `unknown` for anything else (ZK004, ZK007,
ZK112, statement timeout, connection lost, no answer by the client-side
deadline).  After an unknown the connection is closed and a new one (a new
session) is opened, to the home peer or at times another one, backing off
while no peer accepts a session.

A lock attempt that times out (zk_lock returns NULL) is recorded as a
`fail` with no SQLSTATE: the recipe removed its node, nothing is held.
"""

import json
import random
import signal
import sys
import time

import pgconn
from pgconn import psycopg2

OP_WEIGHTS = {
    "read": 24, "write": 12, "cas": 12, "create": 9, "delete": 6, "multi": 6,
    "persistent_sequential": 5, "ephemeral_sequential": 5, "ephemeral": 4,
    "lock_cycle": 8,
}
# SQLSTATEs that mean "definitely not applied", per operation (HISTORY.md);
# ZK112 (session expired) is left unknown, and the session is replaced.
FAIL_CODES = {
    "cas": {"ZK103"},
    "create": {"ZK110", "ZK101"},
    "delete": {"ZK101"},
    "multi": {"ZK1%02d" % i for i in range(100)} - {"ZK112"},
    "fenced_write": {"ZK101"},
}


class Client:
    def __init__(self, cfg, proc, home, seed, out):
        self.cfg, self.proc, self.home = cfg, proc, home
        self.rng = random.Random(seed)
        self.out = out
        self.stopping = False
        self.conn = None
        self.peer = None
        self.session = None
        self.n = 0
        self.created = []       # persistent paths this process created (ok)
        self.versions = {}      # register -> last version seen in this session
        self.deadline_s = cfg["statement_timeout_ms"] / 1000.0 + 2.0

    # --- connections ---------------------------------------------------

    def _pick_peer(self):
        if self.rng.random() < 0.7:
            return self.home
        return self.rng.choice(list(self.cfg["peers"]))

    def connect(self):
        """Opens a connection with a zkpg session, retrying until stopped."""
        while not self.stopping:
            peer = self._pick_peer()
            conn = None
            try:
                conn = pgconn.connect(self.cfg["peers"][peer], 2.0,
                                      self.cfg["statement_timeout_ms"])
                sid = pgconn.query(conn, "SELECT zk_session_id()",
                                   timeout=self.deadline_s)[0][0]
            except (psycopg2.Error, pgconn.Timeout):
                if conn is not None:
                    conn.close()
                time.sleep(self.rng.uniform(0.1, 0.5))
                continue
            self.conn, self.peer = conn, int(peer)
            self.session = str(sid)     # zkpg's id: unique across restarts
            self.versions = {}
            return True
        return False

    def drop(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None

    # --- one operation ---------------------------------------------------

    def value(self):
        self.n += 1
        return "p%d-%d" % (self.proc, self.n)

    def attempt(self, f, key, args, sql, params, parse):
        """Runs one operation and records it; returns (outcome, result)."""
        sqlstate, result = None, {}
        start = time.monotonic()
        try:
            rows = pgconn.query(self.conn, sql, params, timeout=self.deadline_s)
            end = time.monotonic()
            result = parse(rows)
            outcome = "ok" if result is not None else "fail"
            result = result or {}
        except psycopg2.Error as e:
            end = time.monotonic()
            sqlstate = e.pgcode
            outcome = "fail" if sqlstate in FAIL_CODES.get(f, ()) else "unknown"
        except pgconn.Timeout:
            outcome = "unknown"
        if outcome == "unknown":
            end = None
            self.drop()
        self.record(f, key, args, start, end, outcome, sqlstate, result)
        return outcome, result

    def record(self, f, key, args, start, end, outcome, sqlstate, result):
        line = {"proc": self.proc, "session": self.session, "peer": self.peer,
                "f": f, "key": key, "args": args, "start": start, "end": end,
                "outcome": outcome, "sqlstate": sqlstate, "result": result}
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()

    # --- the operations ----------------------------------------------------

    def op_read(self):
        key = self.rng.choice(self.cfg["registers"])
        outcome, res = self.attempt(
            "read", key, {"consistency": "sequential"},
            "SELECT convert_from(data, 'UTF8'), version, mzxid FROM zk_get(%s)", (key,),
            lambda r: {"value": r[0][0], "version": r[0][1], "mzxid": r[0][2]})
        if outcome == "ok":
            self.versions[key] = res["version"]

    def _set(self, f, key, version):
        value = self.value()
        args = {"value": value}
        if f == "cas":
            args["expected_version"] = version
        outcome, res = self.attempt(
            f, key, args,
            "SELECT version, mzxid FROM zk_set(%s, convert_to(%s, 'UTF8'), %s)",
            (key, value, version),
            lambda r: {"version": r[0][0], "mzxid": r[0][1]})
        if outcome == "ok":
            self.versions[key] = res["version"]

    def op_write(self):
        self._set("write", self.rng.choice(self.cfg["registers"]), -1)

    def op_cas(self):
        key = self.rng.choice(self.cfg["registers"])
        version = self.versions.get(key, 0)
        if self.rng.random() < 0.2:
            version = max(0, version + self.rng.choice((-1, 1)))
        self._set("cas", key, version)

    def _create(self, path, mode):
        outcome, res = self.attempt(
            "create", path, {"mode": mode},
            "SELECT p, (zk_exists(p)).czxid FROM "
            "zk_create(%s, convert_to(%s, 'UTF8'), %s) p",
            (path, self.value(), mode),
            lambda r: {"path": r[0][0], "czxid": r[0][1]})
        return outcome, res

    def op_create(self):
        path = "%s/c/p%d-%d" % (self.cfg["root"], self.proc, self.n + 1)
        if self._create(path, "persistent")[0] == "ok":
            self.created.append(path)

    def op_ephemeral(self):
        self._create("%s/e/p%d-%d" % (self.cfg["root"], self.proc, self.n + 1),
                     "ephemeral")

    def _sequential(self, mode, prefix):
        parent = self.rng.choice(self.cfg["seq_parents"])
        self._create("%s/%s" % (parent, prefix), mode)

    def op_persistent_sequential(self):
        self._sequential("persistent_sequential", "n-")

    def op_ephemeral_sequential(self):
        self._sequential("ephemeral_sequential", "e-")

    def _take_created(self):
        if not self.created:
            return None
        return self.created.pop(self.rng.randrange(len(self.created)))

    def op_delete(self):
        path = self._take_created()
        if path is None:
            return self.op_create()
        self.attempt("delete", path, {}, "SELECT zk_delete(%s)", (path,),
                     lambda r: {})

    def op_multi(self):
        base = "%s/m/p%d-%d" % (self.cfg["root"], self.proc, self.n + 1)
        victim = self._take_created() if self.rng.random() < 0.5 else None
        ops = [{"op": "create", "path": base + "a"}]
        if victim is None:
            ops.append({"op": "create", "path": base + "b"})
        else:
            ops.append({"op": "delete", "path": victim})
        sql_ops, params = [], []
        for op in ops:
            if op["op"] == "create":
                sql_ops.append("zk_op_create(%s, convert_to(%s, 'UTF8'))")
                params += [op["path"], self.value()]
            else:
                sql_ops.append("zk_op_delete(%s)")
                params.append(op["path"])
        outcome, _ = self.attempt(
            "multi", base, {"ops": ops},
            "SELECT max((stat).czxid) FROM zk_multi(%s)" % ", ".join(sql_ops),
            params, lambda r: {"zxid": r[0][0]})
        if outcome == "ok":
            self.created += [op["path"] for op in ops if op["op"] == "create"]
        elif outcome == "fail" and victim is not None:
            self.created.append(victim)

    def op_lock_cycle(self):
        i = self.rng.randrange(len(self.cfg["locks"]))
        lock, resource = self.cfg["locks"][i], self.cfg["resources"][i]
        outcome, res = self.attempt(
            "lock", lock, {}, "SELECT zk_lock(%s, interval '1500 ms')", (lock,),
            lambda r: {"token": r[0][0]} if r[0][0] is not None else None)
        if outcome != "ok":
            return
        for _ in range(self.rng.randint(1, 3)):
            value = self.value()
            outcome, _ = self.attempt(
                "fenced_write", resource,
                {"lock": lock, "token": res["token"], "value": value},
                "SELECT (stat).version, (stat).mzxid FROM zk_multi(zk_op_fence(%s, %s), "
                "zk_op_set(%s, convert_to(%s, 'UTF8'))) WHERE op_index = 2",
                (lock, res["token"], resource, value),
                lambda r: {"version": r[0][0], "mzxid": r[0][1]})
            if outcome == "unknown":
                return
        self.attempt("unlock", lock, {}, "SELECT zk_unlock(%s)", (lock,),
                     lambda r: {"released": r[0][0]})

    # --- the loop ------------------------------------------------------------

    def run(self):
        names = list(OP_WEIGHTS)
        weights = [OP_WEIGHTS[n] for n in names]
        think = self.cfg["think_ms"] / 1000.0
        while not self.stopping:
            if self.conn is None and not self.connect():
                break
            getattr(self, "op_" + self.rng.choices(names, weights)[0])()
            if think:
                time.sleep(self.rng.uniform(0, 2 * think))
        self.drop()


def main():
    cfg_path, proc, home, seed, out_path = sys.argv[1:6]
    with open(cfg_path) as f:
        cfg = json.load(f)
    with open(out_path, "a") as out:
        client = Client(cfg, int(proc), home, int(seed), out)

        def stop(signum, frame):
            client.stopping = True
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        client.run()


if __name__ == "__main__":
    main()

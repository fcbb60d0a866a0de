"""The nemesis: faults injected into an Ensemble, one at a time.

Every fault is a function fault(ens, rng, timing) -> dict of what it did
(targets, parameters); the Nemesis runs it, then restores everything
(heals every link, resumes and starts every peer) and waits until the
ensemble serves again (a leader, every other peer following or observing
it, zk_sync working on each), and logs the cycle to faults.jsonl with its
CLOCK_MONOTONIC times: `start` (the fault injected), `healed` (the fault
undone by the fault itself: restart, SIGCONT, links healed), `end` (serving
again, or the recovery bound passed: then `recovered` is false, an
availability violation).

Kinds and their classes (the counts a long run must reach are per class):
  kill:      kill_leader, kill_peer, restart_sync
  pause:     pause
  partition: partition_leader, partition_split, bridge
"""

import json
import time

KINDS = {
    "kill_leader": ("kill", 3),
    "kill_peer": ("kill", 2),
    "restart_sync": ("kill", 2),
    "pause": ("pause", 1),
    "partition_leader": ("partition", 2),
    "partition_split": ("partition", 1),
    "bridge": ("partition", 1),
}


def _leader_or_any(ens, rng):
    leader = ens.leader()
    return leader if leader is not None else rng.choice(ens.peers).id


def _kill_restart(ens, peer_id, rng, timing):
    peer = ens.peer(peer_id)
    stragglers = peer.kill9()
    timing["down"] = time.monotonic()
    delay = rng.uniform(0.3, 2.5)
    time.sleep(delay)
    peer.start()
    return {"restart_after_s": round(delay, 3), "stragglers": stragglers}


def kill_leader(ens, rng, timing):
    target = _leader_or_any(ens, rng)
    timing["start"] = time.monotonic()
    return dict(targets=[target], **_kill_restart(ens, target, rng, timing))


def kill_peer(ens, rng, timing):
    target = rng.choice(ens.peers).id
    timing["start"] = time.monotonic()
    return dict(targets=[target], **_kill_restart(ens, target, rng, timing))


def restart_sync(ens, rng, timing):
    """kill -9 of a follower; writes go on; restart it and kill -9 it again
    0-1.5 s later, while it syncs (DIFF, TRUNC or SNAP); start it again."""
    leader = ens.leader()
    target = rng.choice([p.id for p in ens.peers if p.id != leader])
    peer = ens.peer(target)
    timing["start"] = time.monotonic()
    peer.kill9()
    down = rng.uniform(0.5, 3.0)
    time.sleep(down)
    peer.start()
    second = rng.uniform(0.0, 1.5)
    time.sleep(second)
    peer.kill9()
    time.sleep(rng.uniform(0.2, 1.0))
    peer.start()
    return {"targets": [target], "down_s": round(down, 3),
            "second_kill_after_s": round(second, 3)}


def pause(ens, rng, timing):
    """SIGSTOP of all of a peer's processes for longer than the session
    timeout, then SIGCONT."""
    target = rng.choice(ens.peers).id
    peer = ens.peer(target)
    length = ens.session_timeout_s + rng.uniform(0.5, 2.5)
    timing["start"] = time.monotonic()
    peer.pause()
    time.sleep(length)
    peer.resume()
    return {"targets": [target], "paused_s": round(length, 3)}


def _cut_for(ens, rng, groups):
    length = rng.uniform(2.0, 5.0)
    ens.partition(*groups)
    time.sleep(length)
    ens.heal()
    return {"groups": groups, "cut_s": round(length, 3)}


def partition_leader(ens, rng, timing):
    target = _leader_or_any(ens, rng)
    rest = [p.id for p in ens.peers if p.id != target]
    timing["start"] = timing["down"] = time.monotonic()
    return dict(targets=[target], **_cut_for(ens, rng, [[target], rest]))


def partition_split(ens, rng, timing):
    """A majority and a minority of the voters; an observer on either side."""
    voters = [p.id for p in ens.peers if not p.observer]
    rng.shuffle(voters)
    minority = voters[:(len(voters) - 1) // 2]
    majority = voters[len(minority):]
    for p in ens.peers:
        if p.observer:
            rng.choice([minority, majority]).append(p.id)
    timing["start"] = time.monotonic()
    return dict(targets=sorted(minority),
                **_cut_for(ens, rng, [sorted(majority), sorted(minority)]))


def bridge(ens, rng, timing):
    """One peer sees both halves; the halves do not see each other."""
    ids = [p.id for p in ens.peers]
    rng.shuffle(ids)
    middle, rest = ids[0], ids[1:]
    half = len(rest) // 2
    groups = [sorted(rest[:half]), sorted(rest[half:])]
    timing["start"] = time.monotonic()
    length = rng.uniform(2.0, 5.0)
    ens.partition(*groups)
    time.sleep(length)
    ens.heal()
    return {"targets": [middle], "groups": groups, "cut_s": round(length, 3)}


FAULTS = {name: globals()[name] for name in KINDS}


class Nemesis:
    """Schedules faults: a shuffled deck of kinds (weighted; in smoke mode
    one of each first), a fault, recovery, then a healthy gap so that fault
    starts are `interval` seconds apart on average (at least min_gap)."""

    def __init__(self, ens, rng, log_path, interval, recovery_timeout, min_gap,
                 smoke, say):
        self.ens, self.rng = ens, rng
        self.log_path = log_path
        self.interval, self.recovery_timeout = interval, recovery_timeout
        self.min_gap = min_gap
        self.say = say
        self.deck = list(KINDS) if smoke else []
        rng.shuffle(self.deck)
        self.cycles = []

    def _next_kind(self):
        if not self.deck:
            self.deck = [k for k, (_, w) in KINDS.items() for _ in range(w)]
            self.rng.shuffle(self.deck)
        return self.deck.pop()

    def recover(self, record):
        """Restores everything; record["recovered"] says whether the
        ensemble served again within the bound."""
        try:
            self.ens.restore()
        except Exception as e:      # a peer that does not start: say so
            record["restore_error"] = "%s: %s" % (type(e).__name__, e)
        record["healed"] = time.monotonic()
        record["recovered"] = self.ens.wait_serving(self.recovery_timeout)
        record["end"] = time.monotonic()
        if not record["recovered"]:
            record["statuses"] = self.ens.statuses()

    def run_one(self, kind):
        record = {"kind": kind, "class": KINDS[kind][0]}
        timing = {}
        try:
            record.update(FAULTS[kind](self.ens, self.rng, timing))
        except Exception as e:      # a restart refused: recover() retries it
            record["error"] = "%s: %s" % (type(e).__name__, e)
        record["start"] = timing.get("start", time.monotonic())
        record["start_wall"] = time.strftime(
            "%H:%M:%S", time.localtime(time.time() - (time.monotonic() - record["start"])))
        if "down" in timing:
            record["down"] = timing["down"]
        self.recover(record)
        self.cycles.append(record)
        with open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.say("fault %-16s targets=%s %.1fs%s%s" % (
            kind, record.get("targets"), record["end"] - record["start"],
            "" if record["recovered"] else "  NOT SERVING AGAIN WITHIN %ds"
            % self.recovery_timeout,
            "  (%s)" % record["error"] if "error" in record else ""))
        return record

    def run(self, until):
        """Faults until the monotonic time `until`."""
        while time.monotonic() < until:
            record = self.run_one(self._next_kind())
            took = record["end"] - record["start"]
            gap = max(self.min_gap, self.interval - took) * self.rng.uniform(0.75, 1.25)
            time.sleep(max(0.0, min(gap, until - time.monotonic())))

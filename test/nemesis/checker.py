#!/usr/bin/env python3
"""Checker of the zkpg nemesis suite: reads history.jsonl (and final.json) as
specified in test/nemesis/HISTORY.md and reports every safety violation.

Usage:
    python3 test/nemesis/checker.py HISTORY.jsonl [FINAL.json] [--json REPORT.json]
        [--max-seconds-per-key N] [--allow-undecided]

Exit status: 0 when there is no violation, 1 when there is at least one, 2 when
the input cannot be read.  The last line printed is exactly `violations: N`.

Linearizability (per register, Wing & Gong with Lowe's memoization)
--------------------------------------------------------------------
Linearizability is P-compositional, so each register key is checked alone.
The model is a versioned register whose state is (value, version):

* ok linearizable read          -- the state must equal (value, version);
* ok write                      -- new state (value, version+1), and the
                                   result version must be that version+1;
* ok cas                        -- needs version == expected_version; new
                                   state (value, version+1) = the result;
* cas failed with ZK103         -- needs version != expected_version;
* unknown write / cas           -- may take effect at any point after its
                                   start, or never: its end is +infinity and
                                   it need not be linearized;
* other failed ops, unknown or failed reads and sequential reads are dropped.

Wing & Gong search for a total order: from the current state, any pending op
whose invocation precedes the earliest completion among the pending required
ops (real time: A precedes B iff A.end < B.start) may be linearized next if the
model accepts it; a depth-first search tries them and backtracks.  Lowe's
memoization records each (set of linearized ops, model state) already reached
so that no configuration is explored twice.  The search is iterative (an
explicit stack, "dancing links" for the pending ops sorted by invocation).

The set of linearized ops is kept compact and exact: with required ops indexed
by completion time, it is always {all ops before R} + a few ops after R that
were linearized early (never more than the clients in flight at time end(R)) +
the applied unknown ops, so the cache key is (R, frozenset, bitset of unknown
ops, state) instead of a bitset over the whole history.

The version numbers make the search nearly deterministic, and the model uses
that: an ok write or cas is accepted only at the one version it reported, and
an unknown write or cas is accepted only where it can fill a version that
nothing else explains: not a version an ok write/cas reported (that op could
then never be linearized, versions never go back), not a version that an ok
read saw with another value, and not beyond the highest version the history
mentions (past that point only ZK103 cas failures can remain, and those are
satisfied without it).  An unknown op whose value no one else writes and that
some read returned can only make the versions where it was read.  Unknown ops
whose value no read returned are interchangeable for the future (bounds only
grow along a search path, so what is available now stays available), so only
one of them is offered per fillable version: a cas if one fits (it can never
take effect later), else a write (which stays usable).  These rules only
remove configurations from which no linearization exists, or that have an
equivalent among the kept ones, so the search stays complete.  Unknown ops are
tried after the required candidates of a configuration, i.e. only when
something needs them.

One partial-order reduction keeps reads from multiplying configurations: when
a candidate that does not change the state (an ok read, a ZK103 cas) is
accepted by the current state, it is linearized next without trying the
alternatives.  If any linearization exists from the configuration, one exists
with that op first: moving it to the front changes no other op's state, and
no pending op can have to precede it (each pending op ends no earlier than the
earliest pending completion, which the candidate started before).

A key whose search exceeds --max-seconds-per-key is "undecided (timeout)",
counted separately and, unless --allow-undecided, as a violation.  A key that
is not linearizable is reported Knossos-style: the first op (in completion
order) that no explored linearization could place, how many ops had been
linearized at that furthest point, and the register states reachable there.

Other checks
------------
lost-writes        (final state) an ok create whose path no peer holds at the
                   end, unless a delete (ok or unknown, plain or in a multi)
                   could have been ordered after it; an ok delete whose path a
                   peer still holds, unless a create could have been ordered
                   after it.  Ephemeral creates are checked only when their
                   session is listed in live_sessions (others must be gone).
multi-atomicity    (final state) every create of an ok multi present (or
                   deleted later) and every delete of it absent (or recreated
                   later); no create of a failed multi present, unless some
                   ok or unknown create of that path accounts for it.
peers-agree        (final state) all peers report the same digest and nodes.
ephemerals         (final state) no node whose ephemeral_owner is not 0 and
                   not a live session.
sequential-names   sequence numbers (the last 10 digits of the created path)
                   are unique per parent, and A ended before B started
                   implies seq(A) < seq(B).
fencing            lock tokens unique per lock across sessions (a re-entrant
                   hold of one session may repeat its token); A ended before
                   B started implies token(A) < token(B); ok fenced_writes of
                   one key, sorted by mzxid, have non-decreasing tokens and
                   distinct mzxids.
session-zxids      in each session, the zxids returned by ok write, cas,
                   create, multi and fenced_write strictly increase.
sequential-reads   in each session, a sequential read of a key never returns
                   a version below one the session already saw (ok read) or
                   made (ok write/cas) of that key; and the (value, mzxid) it
                   returns for a version is the one the ok write or cas that
                   made that version reported (no phantom states).

Decisions where HISTORY.md leaves room
--------------------------------------
* Equal timestamps count as concurrent (A precedes B only if A.end < B.start).
* `init` lines are not counted in "ops".
* A history `session` is matched to final.json's live_sessions by its integer
  value (decimal or 0x-hex); a session that does not parse as one is treated
  as not live, so its ephemeral creates are not checked for loss.
* Creates inside a multi are taken as persistent, non-sequential.
* A delete in a failed multi that did take effect shows as a lost create, so
  it is reported once, by lost-writes.
* Presence at the end means "held by at least one peer"; divergence between
  peers is peers-agree's business.
"""

import argparse
import json
import math
import sys
import time
from collections import defaultdict

INF = math.inf
OUTCOMES = ("ok", "fail", "unknown")
ZXID_FIELDS = {"write": "mzxid", "cas": "mzxid", "fenced_write": "mzxid",
               "create": "czxid", "multi": "zxid"}
FINAL_CHECKS = ("lost-writes", "multi-atomicity", "peers-agree", "ephemerals")
CHECK_ORDER = ("linearizability", "lost-writes", "multi-atomicity",
               "peers-agree", "ephemerals", "sequential-names", "fencing",
               "session-zxids", "sequential-reads")
PRINTED_DETAILS = 50


# --------------------------------------------------------------------------
# Input

class Op:
    """One history line, validated; `end` is +inf when the outcome is unknown."""

    __slots__ = ("index", "proc", "session", "peer", "f", "key", "args",
                 "start", "end", "outcome", "sqlstate", "result")

    def __init__(self, index, d):
        if not isinstance(d, dict):
            raise ValueError(f"op {index + 1}: not a JSON object")
        self.index = index
        self.proc = d.get("proc")
        self.session = str(d.get("session"))
        self.peer = d.get("peer")
        self.f = d.get("f")
        self.key = d.get("key")
        self.args = d.get("args") or {}
        self.outcome = d.get("outcome")
        self.sqlstate = d.get("sqlstate")
        self.result = d.get("result") or {}
        self.start = d.get("start")
        end = d.get("end")
        if not isinstance(self.f, str):
            raise ValueError(f"op {index + 1}: missing or bad 'f'")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"op {index + 1}: bad outcome {self.outcome!r}")
        if not _is_number(self.start) or not (end is None or _is_number(end)):
            raise ValueError(f"op {index + 1}: bad start/end")
        if not isinstance(self.args, dict) or not isinstance(self.result, dict):
            raise ValueError(f"op {index + 1}: args and result must be objects")
        self.end = INF if end is None else end

    def __repr__(self):
        return describe(self)


def _is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def describe(op):
    """One-line description naming everything needed to find the op."""
    end = "inf" if op.end == INF else f"{op.end:.6f}"
    text = (f"#{op.index + 1} proc {op.proc} session {op.session} {op.f} "
            f"{op.key} [{op.start:.6f}, {end}] {op.outcome}")
    if op.sqlstate:
        text += f" {op.sqlstate}"
    if op.args:
        text += " args " + json.dumps(op.args, sort_keys=True)
    if op.result:
        text += " -> " + json.dumps(op.result, sort_keys=True)
    return text


def load_history(path):
    """Read a history.jsonl file; raises OSError or ValueError when unreadable."""
    history = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: {e}") from None
            Op(len(history), d)
            history.append(d)
    return history


def load_final(path):
    with open(path, encoding="utf-8") as fh:
        final = json.load(fh)
    if not isinstance(final, dict) or not isinstance(final.get("peers"), dict):
        raise ValueError(f"{path}: no 'peers' object")
    for peer, state in final["peers"].items():
        if not isinstance(state, dict) or not isinstance(state.get("nodes", {}), dict):
            raise ValueError(f"{path}: peer {peer}: bad 'nodes'")
    return final


def _result_int(op, field):
    value = op.result.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"op {op.index + 1}: ok {op.f} without integer result.{field}")
    return value


def _new_check():
    return {"checked": 0, "violations": 0, "details": []}


def _flag(check, text):
    check["violations"] += 1
    check["details"].append(text)


# --------------------------------------------------------------------------
# Linearizability

READ, WRITE, CAS, CAS_FAIL = range(4)


def _register_spec(op):
    """('req', spec) for ops that must be linearized, ('unk', (value, expected))
    for unknown writes/cas (expected None for a write), None for dropped ops."""
    if op.f == "read":
        if op.outcome != "ok" or op.args.get("consistency") != "linearizable":
            return None
        return "req", (READ, op.result.get("value"), _result_int(op, "version"))
    expected = op.args.get("expected_version") if op.f == "cas" else None
    if op.outcome == "unknown":
        return "unk", (op.args.get("value"), expected)
    if op.outcome == "ok":
        version = _result_int(op, "version")
        if op.f == "write":
            return "req", (WRITE, op.args.get("value"), version)
        return "req", (CAS, op.args.get("value"), expected, version)
    if op.f == "cas" and op.sqlstate == "ZK103":
        return "req", (CAS_FAIL, expected)
    return None


def _step(state, spec):
    """The versioned register: the next state, or None if the op cannot
    happen in `state`."""
    kind = spec[0]
    if kind == READ:
        return state if state[0] == spec[1] and state[1] == spec[2] else None
    if kind == WRITE:
        return (spec[1], spec[2]) if state[1] + 1 == spec[2] else None
    if kind == CAS:
        ok = state[1] == spec[2] and spec[3] == spec[2] + 1
        return (spec[1], spec[3]) if ok else None
    return state if state[1] != spec[1] else None          # CAS_FAIL


class _Fillable:
    """Where an unknown write/cas may take effect (see module docstring)."""

    def __init__(self, init_version, req_specs):
        self.claimed = set()
        self.observed = defaultdict(set)
        horizon = init_version
        for spec in req_specs:
            kind = spec[0]
            if kind == READ:
                self.observed[spec[2]].add(spec[1])
                horizon = max(horizon, spec[2])
            elif kind == CAS_FAIL:
                horizon = max(horizon, spec[1] + 1)
            else:
                self.claimed.add(spec[-1])
                horizon = max(horizon, spec[-1])
        self.horizon = horizon

    def values_for(self, version):
        """None if no unknown op may produce `version`; else the set of values
        it must write (empty set: any value)."""
        if version > self.horizon or version in self.claimed:
            return None
        seen = self.observed.get(version, set())
        return None if len(seen) > 1 else seen


class LinResult:
    __slots__ = ("status", "required", "unknown", "linearized", "stuck_op",
                 "states", "seconds", "configurations")


def check_register(init_state, ops, max_seconds=60.0):
    """Wing-Gong-Lowe search over one register's ops; returns a LinResult
    with status 'ok', 'fail' or 'timeout'."""
    t0 = time.monotonic()
    deadline = t0 + max_seconds
    req, unk = [], []
    for op in ops:
        classified = _register_spec(op)
        if classified is not None:
            (req if classified[0] == "req" else unk).append((op, classified[1]))
    req.sort(key=lambda p: (p[0].end, p[0].start, p[0].index))
    unk.sort(key=lambda p: (p[0].start, p[0].index))
    res = LinResult()
    res.required, res.unknown = len(req), len(unk)
    res.status, res.stuck_op, res.states = "ok", None, []
    res.linearized, res.configurations = len(req), 0
    if req:
        _search(init_state, req, unk, deadline, res)
    res.seconds = time.monotonic() - t0
    return res


ENTER, LIST, UNKNOWN, BACK = range(4)
FORCED = object()          # marks a frame whose op was linearized without alternatives


def _search(init_state, req, unk, deadline, res):
    n = len(req)
    specs = [spec for _, spec in req]
    preserving = [spec[0] in (READ, CAS_FAIL) for spec in specs]
    start = [op.start for op, _ in req]
    end = [op.end for op, _ in req]
    ustart = [op.start for op, _ in unk]
    uvalue = [spec[0] for _, spec in unk]
    uexpected = [spec[1] for _, spec in unk]
    fill = _Fillable(init_state[1], specs)

    # Pending required ops, doubly linked in invocation order; n is the head.
    order = sorted(range(n), key=lambda i: (start[i], i))
    nxt, prv = [0] * (n + 1), [0] * (n + 1)
    chain = [n] + order + [n]
    for a, b in zip(chain, chain[1:]):
        nxt[a], prv[b] = b, a
    applied = bytearray(len(unk))
    read_versions = defaultdict(set)
    for spec in specs:
        if spec[0] == READ:
            read_versions[spec[1]].add(spec[2])
    writers = defaultdict(int)
    for value in [init_state[0]] + uvalue + [s[1] for s in specs if s[0] in (WRITE, CAS)]:
        writers[value] += 1
    # Only some unknown ops need trying where a version can be filled:
    # - one whose value nobody else writes, if a read returned that value,
    #   can only make the version(s) at which it was read;
    # - those whose value no read returned ("anonymous") are interchangeable
    #   but for their kind: offer one, a cas rather than a write (a cas can
    #   only ever take effect at this version, a write stays usable later).
    only_at = [read_versions.get(uvalue[u]) if writers[uvalue[u]] == 1 else None
               for u in range(len(unk))]
    anonymous = [uvalue[u] not in read_versions for u in range(len(unk))]

    def unknown_candidates(state, bound):
        version = state[1] + 1
        values = fill.values_for(version)
        if values is None:
            return []
        out, anon_write, anon_cas = [], None, None
        for u, s in enumerate(ustart):
            if s > bound:
                break
            if applied[u] or (values and uvalue[u] not in values):
                continue
            if uexpected[u] is not None and uexpected[u] != state[1]:
                continue
            if only_at[u] is not None and version not in only_at[u]:
                continue
            if not anonymous[u]:
                out.append(u)
            elif uexpected[u] is None:
                anon_write = u if anon_write is None else anon_write
            else:
                anon_cas = u if anon_cas is None else anon_cas
        anon = anon_cas if anon_cas is not None else anon_write
        if anon is not None:
            out.append(anon)
        return [(u, (uvalue[u], version)) for u in out]

    def after(c):
        """(R, above) once required op c is linearized too."""
        if c != r:
            return r, above | {c}
        r2 = r + 1
        while r2 in above:
            r2 += 1
        return r2, (frozenset(x for x in above if x > r2) if above else above)

    def note_progress():
        nonlocal best_r, best_states
        if r > best_r:
            best_r, best_states = r, [state]
        elif r == best_r and len(best_states) < 4 and state not in best_states:
            best_states.append(state)

    state, r, above, ulin = init_state, 0, frozenset(), 0
    seen, stack = set(), []
    best_r, best_states = 0, [init_state]
    mode, cursor, cands, pos, steps = ENTER, n, None, 0, 0
    while True:
        steps += 1
        if steps & 4095 == 0 and time.monotonic() > deadline:
            res.status = "timeout"
            break
        if mode == ENTER:                       # a new configuration
            c, bound = nxt[n], end[r]
            while c != n and start[c] <= bound:
                if preserving[c] and _step(state, specs[c]) is not None:
                    break
                c = nxt[c]
            else:
                mode, cursor = LIST, nxt[n]
                continue
            r2, above2 = after(c)               # forced: a read or failed cas
            key = (r2, above2, ulin, state)
            if key in seen:
                mode = BACK
                continue
            seen.add(key)
            stack.append((c, state, r, above, FORCED, 0))
            nxt[prv[c]], prv[nxt[c]] = nxt[c], prv[c]
            r, above = r2, above2
            if r == n:
                break
            note_progress()
        elif mode == LIST:                      # required writes and cas
            if cursor == n or start[cursor] > end[r]:
                mode, cands, pos = UNKNOWN, unknown_candidates(state, end[r]), 0
                continue
            c, cursor = cursor, nxt[cursor]
            new = None if preserving[c] else _step(state, specs[c])
            if new is None:
                continue
            r2, above2 = after(c)
            key = (r2, above2, ulin, new)
            if key in seen:
                continue
            seen.add(key)
            stack.append((c, state, r, above, None, 0))
            nxt[prv[c]], prv[nxt[c]] = nxt[c], prv[c]
            state, r, above, mode = new, r2, above2, ENTER
            if r == n:
                break
            note_progress()
        elif mode == UNKNOWN:                   # unknown writes and cas
            if pos == len(cands):
                mode = BACK
                continue
            u, new = cands[pos]
            key = (r, above, ulin | (1 << u), new)
            if key in seen:
                pos += 1
                continue
            seen.add(key)
            stack.append((u, state, r, above, cands, pos))
            applied[u], ulin, state, mode = 1, ulin | (1 << u), new, ENTER
            note_progress()
        else:                                   # BACK: undo the last choice
            if not stack:
                res.status = "fail"
                break
            c, state, r, above, cands, pos = stack.pop()
            if cands is None or cands is FORCED:
                nxt[prv[c]] = prv[nxt[c]] = c
                if cands is None:
                    mode, cursor = LIST, nxt[c]
            else:
                applied[c], ulin = 0, ulin & ~(1 << c)
                mode, pos = UNKNOWN, pos + 1
    res.configurations = len(seen)
    if res.status != "ok":
        res.linearized = best_r
        res.stuck_op = req[best_r][0]
        res.states = best_states


def _check_linearizability(ops, max_seconds):
    check = _new_check()
    check["undecided"] = 0
    check["registers"] = {}
    inits, per_key = {}, defaultdict(list)
    for op in ops:
        if op.f == "init":
            if op.key in inits:
                _flag(check, f"{op.key}: two init lines: {describe(inits[op.key])}; {describe(op)}")
            inits[op.key] = op
        elif op.f in ("read", "write", "cas"):
            per_key[op.key].append(op)
    for key in sorted(set(per_key) - set(inits), key=str):
        _flag(check, f"{key}: register ops but no init line, e.g. {describe(per_key[key][0])}")
    for key in sorted(inits, key=str):
        init = inits[key]
        init_state = (init.args.get("value"), init.args.get("version", 0))
        res = check_register(init_state, per_key.get(key, []), max_seconds)
        check["checked"] += 1
        check["registers"][key] = {
            "status": res.status, "required": res.required, "unknown": res.unknown,
            "configurations": res.configurations, "seconds": round(res.seconds, 3)}
        if res.status == "fail":
            _flag(check, _explain_failure(key, res))
        elif res.status == "timeout":
            check["undecided"] += 1
            check["details"].append(
                f"{key}: undecided (timeout after {res.seconds:.1f} s, "
                f"{res.configurations} configurations, furthest point "
                f"{res.linearized} of {res.required} ops)")
    return check


def _explain_failure(key, res):
    stuck = res.stuck_op
    states = ", ".join(f"(value {v!r}, version {ver})" for v, ver in res.states)
    return (f"{key}: not linearizable: cannot linearize {describe(stuck)}\n"
            f"longest linearizable prefix: the {res.linearized} of {res.required} "
            f"required ops that completed first (plus {res.unknown} unknown ops "
            f"available); register states reachable there: {states}")


# --------------------------------------------------------------------------
# Final state: lost writes, multi atomicity, peers, ephemerals

def _live_sessions(final):
    return {int(s) for s in final.get("live_sessions", [])}


def _session_id(session):
    try:
        return int(session, 0)
    except ValueError:
        return None


def _present_paths(final):
    present = defaultdict(list)
    for peer, state in sorted(final["peers"].items()):
        for path in state.get("nodes", {}):
            present[path].append(peer)
    return present


def _creates_and_deletes(ops):
    """path -> [(op, persistent)] of create events, and path -> [op] of delete
    events, from plain creates/deletes and from multis."""
    creates, deletes = defaultdict(list), defaultdict(list)
    for op in ops:
        if op.f == "create":
            path = op.result.get("path", op.key) if op.outcome == "ok" else op.key
            mode = op.args.get("mode", "persistent")
            creates[path].append((op, not mode.startswith("ephemeral")))
        elif op.f == "delete":
            deletes[op.key].append(op)
        elif op.f == "multi":
            for sub in op.args.get("ops", []):
                if sub.get("op") == "create":
                    creates[sub.get("path")].append((op, True))
                elif sub.get("op") == "delete":
                    deletes[sub.get("path")].append(op)
    return creates, deletes


def _could_follow(later, earlier):
    """May `later` (ok or unknown) be ordered after `earlier`?"""
    return later.outcome != "fail" and not later.end < earlier.start


def _check_final_state(ops, final, checks):
    lost, multi = checks["lost-writes"], checks["multi-atomicity"]
    present = _present_paths(final)
    live = _live_sessions(final)
    registers = {op.key for op in ops if op.f == "init"}
    creates, deletes = _creates_and_deletes(ops)
    for path, events in creates.items():
        for op, persistent in events:
            target = multi if op.f == "multi" else lost
            if op.outcome == "ok":
                if not persistent and _session_id(op.session) not in live:
                    continue
                target["checked"] += 1
                if path in present:
                    continue
                if any(_could_follow(d, op) for d in deletes.get(path, [])):
                    continue
                _flag(target, f"{path}: ok create missing from every peer, no delete "
                              f"could have removed it: {describe(op)}")
            elif op.outcome == "fail" and op.f == "multi":
                target["checked"] += 1
                others = [c for c, _ in events if c is not op and c.outcome != "fail"]
                if path in present and not others and path not in registers:
                    _flag(target, f"{path}: create of a failed multi is present "
                                  f"(peers {', '.join(present[path])}): {describe(op)}")
    for path, events in deletes.items():
        for op in events:
            if op.outcome != "ok":
                continue
            target = multi if op.f == "multi" else lost
            target["checked"] += 1
            if path not in present:
                continue
            if any(_could_follow(c, op) for c, _ in creates.get(path, [])):
                continue
            _flag(target, f"{path}: ok delete but peers {', '.join(present[path])} still "
                          f"hold it and no create could have followed: {describe(op)}")
    _check_peers(final, checks["peers-agree"])
    _check_ephemerals(final, live, creates, checks["ephemerals"])


def _check_peers(final, check):
    peers = sorted(final["peers"].items())
    if not peers:
        return
    ref_id, ref = peers[0]
    for peer_id, state in peers[1:]:
        check["checked"] += 1
        problems = []
        if ref.get("digest") != state.get("digest"):
            problems.append(f"digest {ref.get('digest')!r} != {state.get('digest')!r}")
        a, b = ref.get("nodes", {}), state.get("nodes", {})
        diff = sorted(p for p in set(a) | set(b) if a.get(p) != b.get(p))
        if diff:
            shown = "; ".join(f"{p}: {a.get(p, 'absent')} vs {b.get(p, 'absent')}"
                              for p in diff[:3])
            more = f" (and {len(diff) - 3} more)" if len(diff) > 3 else ""
            problems.append(f"{len(diff)} nodes differ: {shown}{more}")
        if problems:
            _flag(check, f"peer {ref_id} vs peer {peer_id}: " + "\n".join(problems))


def _check_ephemerals(final, live, creates, check):
    owners = defaultdict(dict)
    for peer, state in sorted(final["peers"].items()):
        for path, node in state.get("nodes", {}).items():
            owner = (node or {}).get("ephemeral_owner", 0) or 0
            owners[path][peer] = owner
    for path in sorted(owners):
        check["checked"] += 1
        dead = {p: o for p, o in owners[path].items() if o and o not in live}
        if not dead:
            continue
        who = ", ".join(f"peer {p} owner {o}" for p, o in dead.items())
        made = [describe(op) for op, _ in creates.get(path, [])]
        origin = f"; created by {made[0]}" if made else ""
        _flag(check, f"{path}: ephemeral of a session that is not live ({who}){origin}")


# --------------------------------------------------------------------------
# Sequential names and fencing tokens

def _realtime_violations(items):
    """items: (op, number). Yields (a, b) where a ended before b started but
    a's number >= b's: b paired with the highest-numbered op ended before it."""
    by_end = sorted(items, key=lambda it: it[0].end)
    i, best = 0, None
    for op, number in sorted(items, key=lambda it: it[0].start):
        while i < len(by_end) and by_end[i][0].end < op.start:
            if best is None or by_end[i][1] > best[1]:
                best = by_end[i]
            i += 1
        if best is not None and best[1] >= number:
            yield best, (op, number)


def _check_sequential_names(ops, check):
    parents = defaultdict(list)
    for op in ops:
        if op.f != "create" or op.outcome != "ok":
            continue
        if not op.args.get("mode", "").endswith("sequential"):
            continue
        check["checked"] += 1
        path = op.result.get("path", "")
        digits = path[-10:]
        if len(digits) != 10 or not digits.isdigit():
            _flag(check, f"{path!r}: not a sequential name: {describe(op)}")
            continue
        parents[path.rsplit("/", 1)[0] or "/"].append((op, int(digits)))
    for parent, items in sorted(parents.items()):
        by_number = defaultdict(list)
        for op, number in items:
            by_number[number].append(op)
        for number, same in sorted(by_number.items()):
            if len(same) > 1:
                _flag(check, f"{parent}: sequence number {number:010d} given twice: "
                             + "; ".join(describe(op) for op in same))
        for (a, na), (b, nb) in _realtime_violations(items):
            if na != nb:
                _flag(check, f"{parent}: {na:010d} was created before {nb:010d} started: "
                             f"{describe(a)}\nthen {describe(b)}")


def _check_fencing(ops, check):
    locks = defaultdict(list)
    fenced = defaultdict(list)
    for op in ops:
        if op.outcome != "ok":
            continue
        if op.f == "lock" and op.result.get("token") is not None:   # None: timed out
            locks[op.key].append((op, _result_int(op, "token")))
        elif op.f == "fenced_write":
            fenced[op.key].append((op, _result_int(op, "mzxid"), op.args.get("token")))
    for lock, items in sorted(locks.items()):
        check["checked"] += len(items)
        by_token = defaultdict(list)
        for op, token in items:
            by_token[token].append(op)
        for token, same in sorted(by_token.items()):
            if len({op.session for op in same}) > 1:
                _flag(check, f"lock {lock}: token {token} given to several sessions: "
                             + "; ".join(describe(op) for op in same))
        for (a, ta), (b, tb) in _realtime_violations(items):
            if ta > tb:                          # equal tokens: reported above
                _flag(check, f"lock {lock}: token {ta} acquired before token {tb} was "
                         f"asked for: {describe(a)}\nthen {describe(b)}")
    for key, items in sorted(fenced.items()):
        check["checked"] += len(items)
        items.sort(key=lambda it: (it[1], it[0].index))
        for (a, za, ta), (b, zb, tb) in zip(items, items[1:]):
            if za == zb:
                _flag(check, f"{key}: two fenced writes with mzxid {za}: "
                             f"{describe(a)}; {describe(b)}")
            elif ta is None or tb is None or ta > tb:
                _flag(check, f"{key}: fenced write with token {tb} applied after token "
                             f"{ta}: {describe(a)}\nthen {describe(b)}")


# --------------------------------------------------------------------------
# Per session

def _sessions(ops):
    sessions = defaultdict(list)
    for op in ops:
        sessions[op.session].append(op)
    for session_ops in sessions.values():
        session_ops.sort(key=lambda op: (op.start, op.index))
    return sessions


def _check_session_zxids(sessions, check):
    for session, session_ops in sorted(sessions.items()):
        last = None
        for op in session_ops:
            if op.outcome != "ok" or op.f not in ZXID_FIELDS:
                continue
            check["checked"] += 1
            zxid = _result_int(op, ZXID_FIELDS[op.f])
            if last is not None and zxid <= last[1]:
                _flag(check, f"session {session}: zxid {zxid} after {last[1]}: "
                             f"{describe(last[0])}\nthen {describe(op)}")
            last = (op, zxid)


def _written_states(ops):
    """(key, version) -> (value, mzxid or None, op) for init and ok writes/cas."""
    states = {}
    for op in ops:
        if op.f == "init":
            states[(op.key, op.args.get("version", 0))] = (op.args.get("value"), None, op)
        elif op.f in ("write", "cas") and op.outcome == "ok":
            states[(op.key, _result_int(op, "version"))] = (
                op.args.get("value"), op.result.get("mzxid"), op)
    return states


def _check_sequential_reads(ops, sessions, check):
    written = _written_states(ops)
    for session, session_ops in sorted(sessions.items()):
        floor = {}
        for op in session_ops:
            if op.outcome != "ok" or op.f not in ("read", "write", "cas"):
                continue
            version = _result_int(op, "version")
            if op.f == "read" and op.args.get("consistency") != "linearizable":
                check["checked"] += 1
                _check_one_sequential_read(op, version, floor, written, check)
            if op.key not in floor or version > floor[op.key][0]:
                floor[op.key] = (version, op)


def _check_one_sequential_read(op, version, floor, written, check):
    seen = floor.get(op.key)
    if seen is not None and version < seen[0]:
        _flag(check, f"session {op.session}: {op.key} went back from version "
                     f"{seen[0]} to {version}: {describe(seen[1])}\nthen {describe(op)}")
    expected = written.get((op.key, version))
    if expected is None:
        return
    value, mzxid, maker = expected
    got_mzxid = op.result.get("mzxid")
    if op.result.get("value") != value or (mzxid is not None and got_mzxid != mzxid):
        _flag(check, f"{op.key}: read a version {version} state that was never written: "
                     f"{describe(op)}\nversion {version} was made by {describe(maker)}")


# --------------------------------------------------------------------------
# Driver

def check(history, final, max_seconds_per_key=60, allow_undecided=False):
    """Run every check; `history` is a list of dicts (load_history), `final`
    the final.json object or None.  Undecided registers count as violations
    unless allow_undecided."""
    ops = [Op(i, d) for i, d in enumerate(history)]
    checks = {name: _new_check() for name in CHECK_ORDER}
    checks["linearizability"] = _check_linearizability(ops, max_seconds_per_key)
    if final is None:
        for name in FINAL_CHECKS:
            checks[name]["skipped"] = "no final state given"
    else:
        _check_final_state(ops, final, checks)
    _check_sequential_names(ops, checks["sequential-names"])
    _check_fencing(ops, checks["fencing"])
    sessions = _sessions(ops)
    _check_session_zxids(sessions, checks["session-zxids"])
    _check_sequential_reads(ops, sessions, checks["sequential-reads"])
    undecided = checks["linearizability"]["undecided"]
    violations = sum(c["violations"] for c in checks.values())
    if not allow_undecided:
        violations += undecided
    counted = [op for op in ops if op.f != "init"]
    return {
        "violations": violations,
        "undecided": undecided,
        "checks": checks,
        "registers_checked": checks["linearizability"]["checked"],
        "final_checked": final is not None,
        "ops": {"total": len(counted),
                **{o: sum(op.outcome == o for op in counted) for o in OUTCOMES}},
    }


def format_report(report, allow_undecided=False):
    ops = report["ops"]
    lines = [f"ops: {ops['total']} ({ops['ok']} ok, {ops['fail']} fail, "
             f"{ops['unknown']} unknown)"]
    for name in CHECK_ORDER:
        c = report["checks"][name]
        if "skipped" in c:
            lines.append(f"{name}: skipped ({c['skipped']})")
            continue
        head = f"{name}: {c['checked']} checked, {c['violations']} violations"
        if name == "linearizability":
            head = (f"{name}: {c['checked']} registers checked, {c['violations']} "
                    f"not linearizable, {c['undecided']} undecided"
                    + (" (allowed)" if allow_undecided and c["undecided"] else ""))
        lines.append(head)
        for detail in c["details"][:PRINTED_DETAILS]:
            lines.append("  - " + detail.replace("\n", "\n    "))
        if len(c["details"]) > PRINTED_DETAILS:
            lines.append(f"  ... {len(c['details']) - PRINTED_DETAILS} more (see --json)")
    lines.append(f"violations: {report['violations']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("history")
    parser.add_argument("final", nargs="?")
    parser.add_argument("--json", metavar="REPORT.json")
    parser.add_argument("--max-seconds-per-key", type=float, default=60.0)
    parser.add_argument("--allow-undecided", action="store_true")
    args = parser.parse_args(argv)
    try:
        history = load_history(args.history)
        final = load_final(args.final) if args.final else None
        report = check(history, final, args.max_seconds_per_key, args.allow_undecided)
    except (OSError, ValueError) as e:
        print(f"checker: unreadable input: {e}", file=sys.stderr)
        return 2
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
    print(format_report(report, args.allow_undecided))
    return 0 if report["violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Figures of a nemesis run, from its history, fault log and checker result.

- operations: total / ok / fail / unknown per `f`;
- fault cycles per kind and class;
- write outages: the gaps between consecutive completions of ok writes
  (write, cas, create, delete, multi, fenced_write) from any client during
  the fault phase, each attributed to the fault active at the gap's start,
  else to the first fault that started inside the gap, else to `none`; the
  longest per kind;
- failover: for every leader kill and leader isolation, the time from the
  fault's start to the completion of the first ok write invoked after the
  old leader was down (all its processes gone; cut off: at once); p50 and
  p99 (nearest rank).
"""

import json
import math
import os

import faults

WRITES = {"write", "cas", "create", "delete", "multi", "fenced_write"}
FAILOVER_KINDS = ("kill_leader", "partition_leader")


def op_counts(history):
    counts = {}
    for op in history:
        if op["f"] == "init" or op["args"].get("consistency") == "linearizable":
            continue
        c = counts.setdefault(op["f"], {"total": 0, "ok": 0, "fail": 0, "unknown": 0})
        c["total"] += 1
        c[op["outcome"]] += 1
    return counts


def fault_counts(cycles):
    kinds, classes = {}, {}
    for c in cycles:
        kinds[c["kind"]] = kinds.get(c["kind"], 0) + 1
        classes[c["class"]] = classes.get(c["class"], 0) + 1
    return kinds, classes


def _ok_write_ends(history, phase):
    return sorted(op["end"] for op in history
                  if op["f"] in WRITES and op["outcome"] == "ok"
                  and phase[0] <= op["end"] <= phase[1])


def _attribute(cycles, a, b):
    for c in cycles:
        if c["start"] <= a <= c["end"]:
            return c
    for c in cycles:
        if a < c["start"] < b:
            return c
    return None


def write_outages(history, cycles, phase):
    """{kind: {"longest_s", "at"}}: the longest write gap per kind."""
    ends = [phase[0]] + _ok_write_ends(history, phase) + [phase[1]]
    out = {}
    for a, b in zip(ends, ends[1:]):
        c = _attribute(cycles, a, b)
        kind = c["kind"] if c else "none"
        if b - a > out.get(kind, {}).get("longest_s", 0):
            out[kind] = {"longest_s": round(b - a, 3), "from": a, "to": b}
    return out


def failovers(history, cycles):
    """{kind: [seconds, ...]} for the failover kinds."""
    writes = sorted((op["start"], op["end"]) for op in history
                    if op["f"] in WRITES and op["outcome"] == "ok")
    out = {k: [] for k in FAILOVER_KINDS}
    for c in cycles:
        if c["kind"] not in out:
            continue
        after = [end for start, end in writes if start >= c.get("down", c["start"])]
        if after:
            out[c["kind"]].append(round(min(after) - c["start"], 3))
    return out


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    return v[max(0, math.ceil(p / 100.0 * len(v)) - 1)]


def config_figures(history, cycles, phase, check, harness_errors):
    kinds, classes = fault_counts(cycles)
    fo = failovers(history, cycles)
    every = [s for v in fo.values() for s in v]
    return {
        "fault_cycles": kinds,
        "fault_classes": classes,
        "not_recovered": sum(1 for c in cycles if not c["recovered"]),
        "operations": op_counts(history),
        "write_outages": write_outages(history, cycles, phase),
        "failover_s": {
            "p50": percentile(every, 50), "p99": percentile(every, 99),
            "n": len(every),
            "per_kind": {k: {"p50": percentile(v, 50), "p99": percentile(v, 99),
                             "n": len(v)} for k, v in fo.items()},
        },
        "checker": check,
        "harness_errors": harness_errors,
    }


def _md_config(name, fig, violations):
    lines = ["## %s" % name, ""]
    lines.append("Violations: **%d** (checker %s, availability %d)" % (
        violations, (fig["checker"] or {}).get("violations", "n/a"),
        fig["not_recovered"] + len(fig["harness_errors"])))
    for e in fig["harness_errors"]:
        lines.append("- harness/availability: %s" % e)
    lines += ["", "| fault | class | cycles | longest write outage (s) |", "|---|---|--:|--:|"]
    for kind, n in sorted(fig["fault_cycles"].items()):
        o = fig["write_outages"].get(kind, {}).get("longest_s", "")
        lines.append("| %s | %s | %d | %s |" % (kind, faults.KINDS[kind][0], n, o))
    lines.append("| (no fault) | | | %s |" % fig["write_outages"].get("none", {}).get(
        "longest_s", ""))
    lines.append("")
    lines.append("Fault classes: " + ", ".join(
        "%s %d" % kv for kv in sorted(fig["fault_classes"].items())))
    f = fig["failover_s"]
    lines.append("Failover (leader kill / isolation -> first ok write): p50 %s s, "
                 "p99 %s s over %d" % (f["p50"], f["p99"], f["n"]))
    lines += ["", "| op | total | ok | fail | unknown |", "|---|--:|--:|--:|--:|"]
    for op, c in sorted(fig["operations"].items()):
        lines.append("| %s | %d | %d | %d | %d |" % (op, c["total"], c["ok"], c["fail"],
                                                   c["unknown"]))
    check = fig["checker"]
    if check:
        lines += ["", "| check | checked | violations |", "|---|--:|--:|"]
        for name, c in check["checks"].items():
            lines.append("| %s | %s | %s |" % (
                name, c.get("skipped", c["checked"]), c["violations"]
                + c.get("undecided", 0)))
        for name, c in check["checks"].items():
            if c["details"]:
                lines += ["", "%s:" % name, "", "```"] + [
                    d for d in c["details"][:20]] + ["```"]
    return lines + [""]


def write_report(outdir, seed, configs):
    """configs: [(name, figures, violations)]; writes report.md and report.json."""
    total = sum(v for _, _, v in configs)
    doc = {"seed": seed, "violations": total,
           "configurations": {name: dict(fig, violations=v) for name, fig, v in configs}}
    with open(os.path.join(outdir, "report.json"), "w") as f:
        json.dump(doc, f, indent=1, default=str)
    lines = ["# zkpg nemesis run", "", "Seed %s; violations: **%d**" % (seed, total), ""]
    for name, fig, v in configs:
        lines += _md_config(name, fig, v)
    with open(os.path.join(outdir, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return total

#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Writes a synthetic year (2025) of smtpgate evidence for test_ctl_report.sh:
audit.jsonl and events.jsonl with rotations (one gzip'd), approvals.json and
the usage history, as smtpgated writes them (docs/compliance.md,
docs/control-protocol.md), and expected.json: what a report over 2025 must
say, computed here from what was generated.

The year has: a hole in the logs (no events and no usage files from
2025-03-01 to 2025-03-15), an expired approval, a revoked one, a changed
one, one without a contact, two past the review age, one expiring within
30 days of the year's end, an automatic and a manual ban, two days in
monitor mode, half an hour with a hook not attached, a failed reload and
five minutes with smtpgated stopped; its January's usage files are of
version 1 (no per-source connections, bytes or drop reasons).

    report_gen.py STATE_DIR LOG_DIR
"""
import datetime as dt
import gzip
import json
import os
import sys

UTC = dt.timezone.utc
state_dir, log_dir = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(state_dir, "usage"), exist_ok=True)
os.makedirs(log_dir, exist_ok=True)


def t(s):
    return dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def ts(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def line(o):
    return json.dumps(o, separators=(",", ":")) + "\n"


# ---- audit ------------------------------------------------------------
ALICE = {"uid": 1001, "user": "alice"}
BOB = {"uid": 1002, "user": "bob"}
DAEMON = {"uid": -1, "user": "smtpgated"}


def rec(when, who, command, args=None, result="ok", gateway=None, error=None):
    r = {"time": when, "uid": who["uid"], "user": who["user"], "command": command,
         "result": result}
    if args is not None:
        r["args"] = args
        if "ticket" in args:
            r["ticket"] = args["ticket"]
    if gateway:
        r["gateway"] = gateway
    if error:
        r["error"] = error
    return r


def add(prefix, ticket, owner, contact=None, expires=None):
    a = {"prefix": prefix, "relays": ["primary"], "ticket": ticket, "owner": owner}
    if contact:
        a["contact"] = contact
    if expires:
        a["expires"] = expires
    return a


audit = [
    rec("2024-12-15T09:00:00Z", ALICE, "trust.add",
        add("198.18.10.0/24", "CHG-100", "mail-team", "mail@example.org"), gateway="gw-a"),
    rec("2025-02-01T10:00:00Z", BOB, "trust.add", add("198.18.11.5", "CHG-101", "crm")),
    rec("2025-03-10T11:00:00Z", ALICE, "trust.add",
        add("198.18.12.0/28", "CHG-102", "billing", "billing@example.org",
            "2025-06-30T00:00:00Z"), gateway="gw-b"),
    rec("2025-04-01T12:00:00Z", ALICE, "trust.add",
        add("198.18.13.7/32", "CHG-103", "legacy", "legacy@example.org")),
    rec("2025-05-15T13:00:00Z", ALICE, "trust.del",
        {"prefix": "198.18.13.7", "ticket": "CHG-104"}),
    rec("2025-05-20T08:00:00Z", BOB, "reload", None, result="failed",
        error="reload refused, the running policy (generation 7) stays:\n"
              "policy.json: trusted[2].relays: unknown group \"backup\""),
    rec("2025-05-21T08:00:00Z", BOB, "reload"),
    rec("2025-06-30T00:00:01Z", DAEMON, "expire",
        {"addr": "198.18.12.0/28", "expires": "2025-06-30T00:00:00Z"}),
    rec("2025-07-04T12:00:00Z", DAEMON, "ban.auto",
        {"addr": "198.18.10.0/24", "scope": "entry", "source": "198.18.10.66",
         "interface": "eth1", "violations": 10, "duration_sec": 600.0}),
    rec("2025-07-04T12:10:00Z", DAEMON, "ban.expire", {"addr": "198.18.10.0/24", "kind": "auto"}),
    rec("2025-08-01T09:30:00Z", ALICE, "ban.add",
        {"addr": "198.18.99.9", "reason": "scanner", "ticket": "SEC-1"}),
    rec("2025-09-01T14:00:00Z", BOB, "trust.add",
        add("198.18.14.1", "CHG-105", "newsletter", "news@example.org",
            "2026-01-20T00:00:00Z")),
    # A refused change changes nothing.
    rec("2025-09-02T14:00:00Z", BOB, "trust.add", add("198.18.15.0/24", "CHG-666", "x"),
        result="refused", error="permission denied"),
    rec("2025-10-01T15:00:00Z", BOB, "trust.add", add("198.18.11.5", "CHG-107", "crm")),
    # After the period: must not count.
    rec("2026-01-02T10:00:00Z", ALICE, "trust.del", {"prefix": "198.18.14.1", "ticket": "CHG-200"}),
]
# Rotations as logrotate leaves them: the oldest gzip'd.
with gzip.open(os.path.join(log_dir, "audit.jsonl.2.gz"), "wt") as f:
    f.writelines(line(r) for r in audit[:3])
with open(os.path.join(log_dir, "audit.jsonl.1"), "w") as f:
    f.writelines(line(r) for r in audit[3:8])
with open(os.path.join(log_dir, "audit.jsonl"), "w") as f:
    f.writelines(line(r) for r in audit[8:])

# approvals.json: what stands now, and one approval older than the audit log.
approvals = {"version": 1, "approvals": [
    {"addr": "198.18.10.0/24", "relays": ["primary"], "rate": None, "ticket": "CHG-100",
     "owner": "mail-team", "contact": "mail@example.org", "created": "2024-12-15T09:00:00Z",
     "created_by": "alice (uid 1001)"},
    {"addr": "198.18.20.0/24", "relays": ["primary"], "rate": None, "ticket": "CHG-050",
     "owner": "hr", "contact": "hr@example.org", "created": "2024-06-01T09:00:00Z",
     "created_by": "carol (uid 1003)"},
]}
with open(os.path.join(state_dir, "approvals.json"), "w") as f:
    f.write(line(approvals))

# ---- events -------------------------------------------------------------
HOOKS_OK = [{"interface": "eth1", "hook": "xdp", "attached": True},
            {"interface": "eth1", "hook": "tc_egress", "attached": True}]
HOOKS_DOWN = [{"interface": "eth1", "hook": "xdp", "attached": True},
              {"interface": "eth1", "hook": "tc_egress", "attached": False}]
HOLE = (t("2025-03-01T00:00:00Z"), t("2025-03-15T00:00:00Z"))  # no records strictly inside
MONITOR = (t("2025-08-10T00:00:00Z"), t("2025-08-12T06:00:00Z"))
UNATTACHED = (t("2025-11-05T10:00:00Z"), t("2025-11-05T10:30:00Z"))
STOPPED = (t("2025-10-10T01:00:00Z"), t("2025-10-10T01:05:00Z"))


def state(when, why):
    mode = "monitor" if MONITOR[0] <= when < MONITOR[1] else "enforce"
    hooks = HOOKS_DOWN if UNATTACHED[0] <= when < UNATTACHED[1] else HOOKS_OK
    return {"time": ts(when), "event": "state", "why": why, "mode": mode, "generation": 7,
            "hooks": hooks}


events = []
day = t("2024-12-20T00:00:00Z")
while day <= t("2025-12-31T00:00:00Z"):
    if not (HOLE[0] < day < HOLE[1]):
        events.append(state(day, "daily"))
    day += dt.timedelta(days=1)
for when in (MONITOR[1], UNATTACHED[0], UNATTACHED[1]):
    events.append(state(when, "change"))
events.append(state(STOPPED[0], "stop"))
events.append(state(STOPPED[1], "start"))
events.append({"time": "2025-02-10T10:00:00.123Z", "event": "blocked", "source": "198.18.77.7",
               "destination": "198.18.0.25", "port": 25, "interface": "eth1", "hook": "xdp",
               "verdict": "drop", "reason": "untrusted_source", "count": 40})
events.append({"time": "2025-07-04T11:59:59.000Z", "event": "blocked", "source": "198.18.10.66",
               "destination": "198.18.0.25", "port": 25, "interface": "eth1", "hook": "xdp",
               "verdict": "drop", "reason": "rate_limited", "count": 500})
events.append({"time": "2025-07-04T12:00:00.000Z", "event": "ban", "source": "198.18.10.66",
               "destination": "198.18.0.25", "port": 25, "interface": "eth1", "hook": "xdp",
               "verdict": "drop", "reason": "rate_limited", "count": 1,
               "entry": "198.18.10.0/24", "scope": "entry"})
events.sort(key=lambda e: e["time"])
cut1, cut2 = len(events) // 3, 2 * len(events) // 3
with gzip.open(os.path.join(log_dir, "events.jsonl.2.gz"), "wt") as f:
    f.writelines(line(e) for e in events[:cut1])
with open(os.path.join(log_dir, "events.jsonl.1"), "w") as f:
    f.writelines(line(e) for e in events[cut1:cut2])
with open(os.path.join(log_dir, "events.jsonl"), "w") as f:
    f.writelines(line(e) for e in events[cut2:])

# ---- usage history -----------------------------------------------------------
# Files up to 2025-01-31 are of version 1, as smtpgate wrote them before it
# kept per-source connections, bytes and drop reasons; the report must say
# that detail is missing for those days, not show zeros.
V1_UNTIL = t("2025-02-01T00:00:00Z")
BLOCK_REASONS = ("untrusted_source", "unapproved_relay", "rate_limited", "banned", "expired",
                 "fragment", "malformed")
months = {}
senders = {}
blocked = {}
src_months = {}   # (month, source) -> connections, bytes, packets passed (version 2 days)
by_reason = {}    # source -> {packets_blocked, reason: packets} (version 2 days)
V = ("pass", "drop", "reject", "monitor")
day = t("2024-12-30T00:00:00Z")
while day <= t("2026-01-01T00:00:00Z"):
    in_hole = HOLE[0] <= day < HOLE[1]
    if in_hole:
        day += dt.timedelta(days=1)
        continue
    m = day.month
    conns = 100 + m
    counters = [{"verdict": "pass", "reason": "trusted", "packets": conns * 10,
                 "bytes": conns * 1000, "connections": conns},
                {"verdict": "drop", "reason": "untrusted_source", "packets": m, "bytes": m * 60,
                 "connections": m}]
    c105 = conns * 6 // 10
    sources = [{"source": "198.18.10.5", "packets": {"pass": conns * 6},
                "connections": c105, "bytes": conns * 600, "blocked": {}},
               {"source": "198.18.11.5", "packets": {"pass": conns * 4},
                "connections": conns - c105, "bytes": conns * 400, "blocked": {}},
               {"source": "198.18.77.7", "packets": {"drop": m},
                "connections": 0, "bytes": 0, "blocked": {"untrusted_source": m}}]
    rl = banned = mon = rej = 0
    if day.month == 7:
        rl = 2
        counters.append({"verdict": "drop", "reason": "rate_limited", "packets": rl,
                         "bytes": 120, "connections": 2})
        sources.append({"source": "198.18.10.66", "packets": {"drop": rl},
                        "connections": 0, "bytes": 0, "blocked": {"rate_limited": rl}})
    if day == t("2025-07-04T00:00:00Z"):
        banned = 5
        counters.append({"verdict": "drop", "reason": "banned", "packets": banned,
                         "bytes": 300, "connections": 5})
        sources[-1]["packets"]["drop"] += banned
        sources[-1]["blocked"]["banned"] = banned
    if MONITOR[0] <= day < MONITOR[1]:
        mon = 7
        counters.append({"verdict": "monitor", "reason": "untrusted_source", "packets": mon,
                         "bytes": 420, "connections": 7})
    if day.month == 12:
        rej = 3
        counters.append({"verdict": "reject", "reason": "unapproved_relay", "packets": rej,
                         "bytes": 180, "connections": 3})
        sources.append({"source": "198.18.11.9", "packets": {"reject": rej},
                        "connections": 0, "bytes": 0, "blocked": {"unapproved_relay": rej}})
    detail = day >= V1_UNTIL
    if detail:
        doc = {"version": 2, "day": day.strftime("%Y-%m-%d"),
               "updated": ts(day + dt.timedelta(hours=23)), "counters": counters,
               "sources": sources,
               "other": {"packets": {v: 0 for v in V}, "connections": 0, "bytes": 0,
                         "blocked": {}},
               "sources_seen": len(sources), "source_detail": True,
               "baseline": [[0, 0, 0, 1, 2, 3]]}
    else:
        doc = {"version": 1, "day": day.strftime("%Y-%m-%d"),
               "updated": ts(day + dt.timedelta(hours=23)), "counters": counters,
               "sources": [{"source": x["source"], "packets": x["packets"]} for x in sources],
               "other": {v: 0 for v in V}, "sources_seen": len(sources),
               "baseline": [[0, 0, 0, 1, 2, 3]]}
    with open(os.path.join(state_dir, "usage", day.strftime("%Y-%m-%d") + ".json"), "w") as f:
        f.write(line(doc))
    if day.year == 2025:
        key = day.strftime("%Y-%m")
        mo = months.setdefault(key, {"month": key, "days": 0, "connections_passed": 0,
                                     "bytes_passed": 0, "packets_passed": 0,
                                     "packets_dropped": 0, "packets_rejected": 0,
                                     "packets_monitor": 0, "rate_limited": 0, "banned": 0,
                                     "days_with_source_detail": 0})
        mo["days"] += 1
        mo["days_with_source_detail"] += 1 if detail else 0
        mo["connections_passed"] += conns
        mo["bytes_passed"] += conns * 1000
        mo["packets_passed"] += conns * 10
        mo["packets_dropped"] += m + rl + banned
        mo["packets_rejected"] += rej
        mo["packets_monitor"] += mon
        mo["rate_limited"] += rl
        mo["banned"] += banned
        for s in sources:
            p = s["packets"]
            senders[s["source"]] = senders.get(s["source"], 0) + p.get("pass", 0)
            blocked[s["source"]] = blocked.get(s["source"], 0) + p.get("drop", 0) + p.get("reject", 0)
            if not detail:
                continue
            if p.get("pass", 0) or s["connections"] or s["bytes"]:
                sm = src_months.setdefault((key, s["source"]), {
                    "month": key, "source": s["source"], "connections": 0, "bytes": 0,
                    "packets_passed": 0})
                sm["connections"] += s["connections"]
                sm["bytes"] += s["bytes"]
                sm["packets_passed"] += p.get("pass", 0)
            if p.get("drop", 0) or p.get("reject", 0):
                br = by_reason.setdefault(s["source"], dict(
                    {"source": s["source"], "packets_blocked": 0},
                    **{r: 0 for r in BLOCK_REASONS}))
                br["packets_blocked"] += p.get("drop", 0) + p.get("reject", 0)
                for r, n in s["blocked"].items():
                    br[r] += n
    day += dt.timedelta(days=1)


def source_months():
    rows = []
    for key in sorted(months):
        mine = [v for (k, _), v in src_months.items() if k == key]
        mine.sort(key=lambda v: (-v["bytes"], -v["connections"], v["source"]))
        for v in mine[:10]:
            rows.append(dict(v, days=months[key]["days"],
                             days_with_source_detail=months[key]["days_with_source_detail"]))
    return rows


def ranked(d):
    return [{"source": k, "packets": v}
            for k, v in sorted(d.items(), key=lambda kv: (-kv[1], kv[0])) if v][:10]


expected = {
    "in_force": ["198.18.10.0/24", "198.18.11.5", "198.18.14.1", "198.18.20.0/24"],
    "changes": [["2025-02-01T10:00:00Z", "added", "198.18.11.5", "CHG-101", "bob"],
                ["2025-03-10T11:00:00Z", "added", "198.18.12.0/28", "CHG-102", "alice"],
                ["2025-04-01T12:00:00Z", "added", "198.18.13.7", "CHG-103", "alice"],
                ["2025-05-15T13:00:00Z", "revoked", "198.18.13.7", "CHG-104", "alice"],
                ["2025-06-30T00:00:01Z", "expired", "198.18.12.0/28", "CHG-102", "smtpgated"],
                ["2025-09-01T14:00:00Z", "added", "198.18.14.1", "CHG-105", "bob"],
                ["2025-10-01T15:00:00Z", "changed", "198.18.11.5", "CHG-107", "bob"]],
    "missing_contact": ["198.18.11.5"],
    "past_review_age": ["198.18.10.0/24", "198.18.20.0/24"],
    "expiring_soon": ["198.18.14.1"],
    "bans": {"automatic": 1, "manual": 1, "lifted": 0, "ended": 1},
    "top_offenders": [["198.18.10.66", 1, 500], ["198.18.99.9", 1, 0], ["198.18.77.7", 0, 40]],
    "months": [months[k] for k in sorted(months)],
    "top_senders": ranked(senders),
    "blocked_most": ranked(blocked),
    "days_missing": [{"from": "2025-03-01", "to": "2025-03-14", "days": 14}],
    "source_months": source_months(),
    "blocked_by_reason": sorted(by_reason.values(),
                                key=lambda v: (-v["packets_blocked"], v["source"]))[:10],
    "source_detail_missing": [{"from": "2025-01-01", "to": "2025-01-31", "days": 31}],
    "monitor": [{"from": ts(MONITOR[0]), "to": ts(MONITOR[1]),
                 "seconds": int((MONITOR[1] - MONITOR[0]).total_seconds())}],
    "not_attached": [{"interface": "eth1", "hook": "tc_egress", "from": ts(UNATTACHED[0]),
                      "to": ts(UNATTACHED[1]),
                      "seconds": int((UNATTACHED[1] - UNATTACHED[0]).total_seconds())}],
    "daemon_stopped": [{"from": ts(STOPPED[0]), "to": ts(STOPPED[1]),
                        "seconds": int((STOPPED[1] - STOPPED[0]).total_seconds())}],
    "reload_failures": 1,
    "events_missing": [{"from": ts(HOLE[0]), "to": ts(HOLE[1]),
                        "seconds": int((HOLE[1] - HOLE[0]).total_seconds())}],
    "findings": 9,
}
with open(os.path.join(state_dir, "..", "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Every change gets exactly one complete audit record:
#   1. the expiry of a policy.json entry is audited once, across a SIGHUP
#      reload, a `smtpgatectl reload` and a daemon restart;
#   2. a SIGHUP reload is audited like `smtpgatectl reload`, as the
#      sender's uid, and so is a refused one;
#   3. with the log directory's file system full (a small tmpfs, the
#      audit file ending 40 bytes short of a page: the next record is a
#      short write, then ENOSPC), a change is not made: exit 1, nothing
#      changed, no partial line, a log line and the failure counted; once
#      there is room again the same change makes one complete record;
#      an event that cannot be written is counted, not left torn.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_init 120
AUDIT="$CTL_LOG/audit.jsonl"

# The log dir on its own small file system, filled up later on.
mkdir -p "$CTL_LOG"
mount -t tmpfs -o size=1m,mode=0750 "sg-audit-${LAB_PREFIX}" "$CTL_LOG" || tap_bail "mount tmpfs"
lab_on_exit umount -l "$CTL_LOG"

EXPIRES=$(date -u -d "@$(($(date +%s) + 4))" +%Y-%m-%dT%H:%M:%SZ)
POLICY=$(jq --arg e "$EXPIRES" '.trusted += [{"addr": "198.18.1.201", "relays": ["internal"],
	"ticket": "POL-EXP", "owner": "expiring-app", "expires": $e}]' <<<"$CTL_POLICY_JSON")
ctl_topology
ctl_write_config "$POLICY"
ctl_start || tap_bail "smtpgated does not start"

expiries() { ctl_audit_count '.command == "expire" and .ticket == "POL-EXP"'; }

# ---- 1. a policy.json entry's expiry, once ---------------------------------

for ((i = 0; i < 100; i++)); do
	[ "$(expiries)" -ge 1 ] && break
	sleep 0.1
done
check_eq "the expiry of policy.json's 198.18.1.201 is audited" "$(expiries)" 1
check_eq "... as the daemon's, naming the file" \
	"$(jq -c 'select(.command == "expire") | [.uid, .user, .args.addr, .args.source]' "$AUDIT")" \
	'[-1,"smtpgated","198.18.1.201","policy.json"]'
check "... and remembered in the state dir" test -s "$CTL_STATE/expiries_reported.json"

# ---- 2. SIGHUP reloads are audited -------------------------------------------------

line=$(lab_daemon_hup "$CTL_NAME")
check_match "SIGHUP: the policy is reloaded" "$line" "policy reloaded:"
sleep 1.5
check_eq "... and audited as the sender's (root), with the signal" \
	"$(ctl --json audit | jq -c '[.[] | select(.command == "reload")] | last | [.uid, .user, .args.signal, (.args.pid > 0), .result]')" \
	'[0,"root","SIGHUP",true,"ok"]'
cp "$CTL_POLICY" "$CTL_DIR/policy.good"
echo '{"broken": ' >"$CTL_POLICY"
lab_daemon_hup "$CTL_NAME" >/dev/null
check_eq "a refused SIGHUP reload: audited as failed, with the reason" \
	"$(ctl --json audit | jq -c '[.[] | select(.command == "reload")] | last | [.args.signal, .result, (.error | test("reload refused|invalid|JSON"; "i"))]')" \
	'["SIGHUP","failed",true]'
cp "$CTL_DIR/policy.good" "$CTL_POLICY"
ctl reload >/dev/null
check_eq "smtpgatectl reload: audited once more" \
	"$(ctl_audit_count '.command == "reload" and .result == "ok"')" 2
sleep 1.5
check_eq "after two reloads the expiry is still audited once" "$(expiries)" 1
ctl_stop
ctl_start || tap_bail "smtpgated does not restart"
sleep 2.5
check_eq "... and after a restart" "$(expiries)" 1

# ---- 3. a full disk ----------------------------------------------------------------

out=$(ctl --json trust add 198.18.1.5 --relay internal --ticket CHG-ROOM --owner app 2>&1)
check_eq "with room: trust add works" "$(jq -r .prefix <<<"$out" 2>&1)" 198.18.1.5
# Pad the audit log with one record so that it ends 40 bytes short of a
# page: the next record's write is short, then ENOSPC.
python3 - "$AUDIT" <<'PY'
import os, sys
path = sys.argv[1]
cur = os.path.getsize(path)
head = '{"time":"2026-01-01T00:00:00Z","uid":0,"user":"pad","command":"pad","result":"ok","args":{"p":"'
tail = '"}}\n'
n = (4096 - 40 - cur) % 4096
if n < len(head) + len(tail) + 10:
    n += 4096
with open(path, "a") as f:
    f.write(head + "x" * (n - len(head) - len(tail)) + tail)
PY
# events.jsonl already holds smtpgated's state events: pad it to a whole
# page (with an event line), so that no room is left in its last page
# either and the next event finds the disk full.
python3 - "$CTL_LOG/events.jsonl" <<'PY'
import os, sys
path = sys.argv[1]
cur = os.path.getsize(path)
head, tail = '{"event":"pad","x":"', '"}\n'
n = (4096 - cur) % 4096
if n and n < len(head) + len(tail):
    n += 4096
if n:
    with open(path, "a") as f:
        f.write(head + "x" * (n - len(head) - len(tail)) + tail)
PY
dd if=/dev/zero of="$CTL_LOG/fill" bs=4096 >/dev/null 2>&1
check_eq "the log's file system is full; the audit log ends 40 bytes short of a page" \
	"$(($(stat -c %s "$AUDIT") % 4096)) $(df --output=avail -B1 "$CTL_LOG" | tail -1 | tr -d ' ')" "4056 0"
sum0=$(sha256sum <"$AUDIT")
appr0=$(ctl_approvals_doc | sha256sum)
mark=$(lab_daemon_mark "$CTL_NAME")
out=$(ctl trust add 198.18.1.6 --relay internal --ticket CHG-FULL --owner app 2>&1)
check_eq "disk full: trust add is exit 1" "$?" 1
check_match "... saying the change was not made" "$out" \
	"trust add: the audit log cannot be written \\(No space left on device\\), so the change was not made"
check_eq "... not made: not in trust list" "$(ctl --json trust list | jq -c '[.[] | select(.prefix == "198.18.1.6")] | length')" 0
check_eq "... not in approvals.json" "$(ctl_approvals_doc | sha256sum)" "$appr0"
check_eq "... and the audit log is as it was: no partial line" "$(sha256sum <"$AUDIT")" "$sum0"
ctl ban add 198.18.1.7 >/dev/null 2>&1
check_eq "disk full: ban add is exit 1" "$?" 1
check_eq "... not made" "$(ctl --json ban list | jq length)" 0
ctl reload >/dev/null 2>&1
check_eq "disk full: reload is exit 1" "$?" 1
check_cmp "... the failures are counted (status)" "$(ctl --json status | jq .audit.write_failures)" -ge 3
# An event (198.18.1.7 is not trusted: drop/untrusted_source) cannot be
# written either: counted, not a torn line, not counted as written.
ctl_try 198.18.1.7 >/dev/null
for ((i = 0; i < 30; i++)); do
	[ "$(ctl --json status | jq .events_write_failures)" -ge 1 ] && break
	sleep 0.1
done
check_cmp "disk full: an event that cannot be written is counted (status)" \
	"$(ctl --json status | jq .events_write_failures)" -ge 1
check_eq "... and events.jsonl holds only whole lines" \
	"$(jq -c 'select(.event) | 1' "$CTL_LOG/events.jsonl" 2>&1 | wc -l)" "$(wc -l <"$CTL_LOG/events.jsonl")"
check_match "... and logged" "$(lab_daemon_log_since "$CTL_NAME" "$mark")" \
	"audit log: .*No space left on device; changes are refused until it can be written"
rm -f "$CTL_LOG/fill"
out=$(ctl --json trust add 198.18.1.6 --relay internal --ticket CHG-FULL --owner app 2>&1)
check_eq "room again: the same trust add works" "$(jq -r .prefix <<<"$out" 2>&1)" 198.18.1.6
check_eq "... with exactly one record" "$(ctl_audit_count '.ticket == "CHG-FULL"')" 1
check_eq "... every line of the audit log is one complete record" \
	"$(jq -c 'select(.time and .command and .result) | 1' "$AUDIT" 2>&1 | wc -l)" "$(wc -l <"$AUDIT")"
check_eq "... and the file ends with a newline" "$(tail -c 1 "$AUDIT" | od -An -c | tr -d ' ')" '\n'

tap_done

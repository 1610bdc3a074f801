#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What a client that may only read can make the daemon write, hold or
# refuse to others (docs/control-protocol.md, "Limits"):
#   1. refused change requests: oversized arguments are recorded as their
#      size and names, and past a burst of 20 a uid's refusals are
#      counted (status, smtpgate_audit_refusals_suppressed_total), not
#      written: the audit log grows by a bounded amount;
#   2. `audit` on a 100 MB audit log keeps the daemon's memory bounded
#      (it reads from the end) and cuts a reply at 8 MiB, saying so;
#      a line that is not a record is reported, not silently skipped;
#   3. with the connection table flooded by idle read-only clients, an
#      admin's `smtpgatectl status` is answered at once, the flood gets
#      "busy", and idle readers are dropped after 2 s;
#   4. out of file descriptors, a connecting client makes the daemon
#      neither spin nor flood its log, and is served afterwards.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_init 120
ctl_make_reader
U="$CTL_READER"
U2="${LAB_PREFIX}u2"
ctl_add_reader "$U2"
UID_R=$(id -u "$U")
TEXTFILE="$CTL_DIR/metrics.prom"
AUDIT="$CTL_LOG/audit.jsonl"

ctl_topology
ctl_write_config
# The metrics as a textfile (no port to collide with parallel runs).
lab_daemon_config "$CTL_NAME" if=srv0:xdp:auto metrics=off "textfile=$TEXTFILE" \
	"admin_group=$CTL_ADMIN_GROUP" "read_group=$CTL_READ_GROUP"
ctl_start || tap_bail "smtpgated does not start"

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$SGD_PID/status"; }

# ---- 1. refused requests --------------------------------------------------

# 100 refused ban.add requests of 65000 bytes of argument each, as the
# reader, one connection each.
SPAM="$CTL_DIR/spam.py"
cat >"$SPAM" <<'PY'
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
req = (json.dumps({"command": "ban.add", "args": {"x": "A" * 65000}}) + "\n").encode()
codes = {}
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(req)
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    code = json.loads(data).get("code", "ok")
    codes[code] = codes.get(code, 0) + 1
print(json.dumps(codes, sort_keys=True))
PY
# A reader's request is at most 64 KiB (an admin's 64 MiB: trust import).
out=$(ctl_as "$U" /bin/sh -c "head -c 70000 /dev/zero | tr '\\0' x |
	timeout 10 socat -t 8 - UNIX-CONNECT:$CTL_SOCK" 2>/dev/null)
check_eq "a reader's 70000 bytes without a newline: too large" "$(jq -r .error <<<"$out")" \
	"the request is larger than 65536 bytes"
size0=$(size_of "$AUDIT")
out=$(ctl_as "$U" /usr/bin/python3 "$SPAM" "$CTL_SOCK" 100 2>&1)
check_eq "100 oversized ban.add from the reader: all refused" "$out" '{"permission_denied": 100}'
grown=$(($(size_of "$AUDIT") - size0))
check_cmp "... the audit log grew by a bounded amount (<= 20 records of < 2 KiB)" "$grown" -le 40960
check_eq "... 20 refusals recorded (the burst)" \
	"$(ctl_audit_count ".uid == $UID_R and .command == \"ban.add\" and .result == \"refused\"")" 20
check_eq "... their arguments cut: size and names kept" \
	"$(jq -c "select(.uid == $UID_R) | .args" "$AUDIT" | sort -u | cut -c1-200)" \
	'{"truncated":true,"bytes":65008,"keys":["x"]}'
check_eq "... the other 80 counted (status)" \
	"$(ctl --json status | jq -c .audit)" '{"write_failures":0,"refusals_suppressed":80}'
logged=$(lab_daemon_log "$CTL_NAME" --run | grep -c "ban.add by $U (uid $UID_R) refused")
check_eq "... and not logged one by one either (20 lines)" "$logged" 20
# The textfile is rewritten every 5 s.
for ((i = 0; i < 70; i++)); do
	grep -q '^smtpgate_audit_refusals_suppressed_total 80$' "$TEXTFILE" 2>/dev/null && break
	sleep 0.1
done
check_match "smtpgate_audit_refusals_suppressed_total counts them" \
	"$(grep '^smtpgate_audit_' "$TEXTFILE" 2>&1)" \
	$'^smtpgate_audit_write_failures_total 0\nsmtpgate_audit_refusals_suppressed_total 80$'
if command -v promtool >/dev/null; then
	check "... and the text passes promtool check metrics" promtool check metrics <"$TEXTFILE"
fi
# An admin's refusals are never suppressed: nothing is taken from them.
for ((i = 0; i < 25; i++)); do
	ctl ban add 198.18.1.300 >/dev/null 2>&1
done
check_eq "an admin's 25 refused requests are all recorded" \
	"$(ctl_audit_count '.uid == 0 and .command == "ban.add" and .result == "refused"')" 25

# ---- 2. audit on a large file ------------------------------------------------

REC='{"time":"2026-01-01T00:00:00Z","uid":0,"user":"root","command":"ban.add","args":{"addr":"198.18.1.9","note":"a filler record of the audit log, long enough to weigh about two hundred bytes in all"},"result":"ok"}'
yes "$REC" | head -c 100000000 | head -n -1 >>"$AUDIT" # whole lines only
# A line that is not a record, 2 MB long (longer than any record).
{
	head -c 2000000 /dev/zero | tr '\0' x
	printf '\n%s\n' '{"time":"2026-12-06T00:00:00Z","uid":0,"user":"root","command":"reload","result":"ok"}'
} >>"$AUDIT"
check_cmp "the audit log is now over 95 MB" "$(size_of "$AUDIT")" -gt 95000000
hwm0=$(hwm_kb)
t0=$(lab_now_ms)
ctl_as "$U" "$CTL" --socket "$CTL_SOCK" --json audit --limit 1 >"$CTL_DIR/a1.json" 2>"$CTL_DIR/a1.err"
check_eq "audit --limit 1: the newest record" "$(jq -c '[.[].command]' "$CTL_DIR/a1.json")" '["reload"]'
check_eq "audit --limit 2: the record before it is found past it" \
	"$(ctl_as "$U" "$CTL" --socket "$CTL_SOCK" --json audit --limit 2 2>/dev/null | jq -c '[.[].command]')" \
	'["ban.add","reload"]'
# (Reading all of it took 13 s on the test machine; the margin is for a
# loaded machine and smtpgatectl's own start.)
check_cmp "... at once (ms)" "$(($(lab_now_ms) - t0))" -lt 3000
check_eq "audit --limit 2: the 2 MB line that is not a record is reported" \
	"$(ctl_as "$U" "$CTL" --socket "$CTL_SOCK" --json audit --limit 2 2>&1 >/dev/null)" \
	"smtpgatectl: audit: warning: $AUDIT: 1 line(s) among those read are not audit records (torn or damaged) and were skipped"
t0=$(lab_now_ms)
ctl_as "$U" "$CTL" --socket "$CTL_SOCK" --json audit --limit 1000000 >"$CTL_DIR/all.json" 2>"$CTL_DIR/all.err"
check_eq "audit --limit 1000000 on 100 MB: answered (exit 0)" "$?" 0
tap_diag "audit --limit 1000000: $(($(lab_now_ms) - t0)) ms, smtpgatectl's parsing and printing included"
t0=$(lab_now_ms)
bytes=$(printf '{"command":"audit","args":{"limit":1000000}}\n' |
	timeout 20 socat -t 10 - "UNIX-CONNECT:$CTL_SOCK" | wc -c)
tap_diag "... the daemon's part: $bytes bytes in $(($(lab_now_ms) - t0)) ms"
n=$(jq length "$CTL_DIR/all.json")
check_cmp "... cut to what fits in 8 MiB (records)" "$n" -lt 60000
check_cmp "... still many records" "$n" -gt 30000
check_match "... and smtpgatectl says it was cut" "$(cat "$CTL_DIR/all.err")" \
	"warning: the reply is cut at 8 MiB: only the newest $n records are shown"
check_eq "... the newest record is last" "$(jq -r '.[-1].command' "$CTL_DIR/all.json")" reload
grown=$(($(hwm_kb) - hwm0))
tap_diag "audit: $n records in the reply; the daemon's peak memory grew by $grown KiB"
check_cmp "... the daemon's peak memory grew by less than 64 MiB (KiB)" "$grown" -lt 65536
check_eq "... and it still answers" "$(ctl --json status | jq -r .mode)" enforce
# Reading takes the loop's time: a reader may read 64 MiB of the audit
# log at once, then 2 MiB a second.
READS="$CTL_DIR/reads.py"
cat >"$READS" <<'PY'
import json, socket, sys
path, n = sys.argv[1], int(sys.argv[2])
req = (json.dumps({"command": "audit", "args": {"limit": 1000000}}) + "\n").encode()
kinds = {}
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(req)
    data = bytearray()
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        data += b
    s.close()
    head = bytes(data[:300])
    kind = ("rate" if b"has read more than 64 MiB" in head
            else "result" if head.startswith(b'{"ok":true') else head.decode())
    kinds[kind] = kinds.get(kind, 0) + 1
print(json.dumps(kinds, sort_keys=True))
PY
out=$(ctl_as "$U" /usr/bin/python3 "$READS" "$CTL_SOCK" 14 2>&1)
tap_diag "14 audits of 8 MiB in a row by one reader: $out"
check_match "14 audits of 8 MiB in a row by one reader: some are told to wait" "$out" \
	'^\{"rate": ([2-9]|1[0-2]), "result": ([2-9]|1[0-2])\}$'
check_eq "... while root reads as much as it likes" \
	"$(ctl --json audit --limit 1000000 2>/dev/null | jq 'length > 30000')" true
# Readers that ask for 8 MiB replies and do not read them: the daemon
# holds at most 64 MiB of such replies, the rest are told it is busy.
HOARD="$CTL_DIR/hoard.py"
cat >"$HOARD" <<'PY'
import json, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
req = (json.dumps({"command": "audit", "args": {"limit": 1000000}}) + "\n").encode()
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(req)
    socks.append(s)
    time.sleep(0.3)  # one at a time: each is answered before the next
kinds = {}
for s in socks:
    s.settimeout(5)
    head = s.recv(200)
    kind = ("busy" if b"replies wait" in head else "rate" if b"has read more than" in head
            else "result" if head.startswith(b'{"ok":true') else head.decode())
    kinds[kind] = kinds.get(kind, 0) + 1
print(json.dumps(kinds, sort_keys=True))
PY
# (Another reader: the first one has spent its audit reading budget.)
out=$(ctl_as "$U2" /usr/bin/python3 "$HOARD" "$CTL_SOCK" 12 2>&1)
tap_diag "12 unread audit replies: $out"
check_match "12 unread 8 MiB replies: 7 (64 MiB) are held, the others told busy" "$out" \
	'^\{"busy": [1-5], ("rate": [0-4], )?"result": 7\}$'

# ---- 3. a connection flood ------------------------------------------------------

FLOOD="$CTL_DIR/flood.py"
cat >"$FLOOD" <<'PY'
import json, socket, sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    socks.append(s)
print("connected", flush=True)
deadline = time.time() + hold
replies = {}
for s in socks:
    s.settimeout(max(0.01, deadline - time.time()))
    try:
        data = s.recv(4096)
    except (socket.timeout, ConnectionResetError):
        data = b""
    err = json.loads(data).get("error", "") if data else "none"
    key = "busy" if err.startswith("smtpgated is busy") else err
    replies[key] = replies.get(key, 0) + 1
print(json.dumps(replies, sort_keys=True), flush=True)
PY
ctl_as "$U" /usr/bin/python3 "$FLOOD" "$CTL_SOCK" 300 4 >"$CTL_DIR/flood.out" 2>&1 &
FLOOD_PID=$!
for ((i = 0; i < 50; i++)); do
	grep -q connected "$CTL_DIR/flood.out" && break
	sleep 0.1
done
sleep 0.3
t0=$(lab_now_ms)
st=$(ctl --json status 2>&1)
ms=$(($(lab_now_ms) - t0))
tap_diag "status under the flood: $ms ms"
check_eq "300 idle reader connections: an admin's status succeeds" "$(jq -r .mode <<<"$st" 2>&1)" enforce
check_cmp "... at once (ms; it waited 5 s for a slot before)" "$ms" -lt 2500
wait "$FLOOD_PID"
check_eq "... the flood: 268 told busy at once, 32 (one uid's share) dropped after 2 s idle" \
	"$(tail -1 "$CTL_DIR/flood.out")" '{"busy": 268, "no request within 2 seconds of connecting": 32}'
check_eq "... and a reader is served again afterwards" \
	"$(ctl_as "$U" "$CTL" --socket "$CTL_SOCK" --json status | jq -r .mode)" enforce

# ---- 4. out of file descriptors ----------------------------------------------

# The daemon may open no more descriptors (its limit is its lowest free
# one): a client that connects then must neither make it spin nor flood
# its log, and is served once descriptors are back.
lowest_free() {
	local n=0

	while [ -e "/proc/$SGD_PID/fd/$n" ]; do
		n=$((n + 1))
	done
	echo "$n"
}
hard=$(prlimit --pid "$SGD_PID" --nofile --noheadings --output HARD --raw)
prlimit --pid "$SGD_PID" --nofile="$(lowest_free):$hard" || tap_bail "prlimit"
mark=$(lab_daemon_mark "$CTL_NAME")
cpu0=$(awk '{print $14 + $15}' "/proc/$SGD_PID/stat")
(timeout 10 "$CTL" --socket "$CTL_SOCK" --json status >"$CTL_DIR/starved.json" 2>&1) &
STARVED=$!
sleep 1.5
cpu=$(( $(awk '{print $14 + $15}' "/proc/$SGD_PID/stat") - cpu0 ))
tap_diag "out of descriptors for 1.5 s: $cpu ticks of CPU"
check_cmp "out of descriptors: the daemon does not spin (CPU ticks in 1.5 s)" "$cpu" -lt 30
check_eq "... and says so once" \
	"$(lab_daemon_log_since "$CTL_NAME" "$mark" | grep -c 'out of file descriptors')" 1
prlimit --pid "$SGD_PID" --nofile="1024:$hard"
wait "$STARVED"
check_eq "... the waiting client is served once descriptors are back" \
	"$(jq -r .mode "$CTL_DIR/starved.json" 2>&1)" enforce

tap_done

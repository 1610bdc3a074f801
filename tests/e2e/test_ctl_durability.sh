#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Approvals are durable: an approval reported done survives kill -9 right
# after the command returns (in the kernel while the daemon is away, on
# disk for the next one), and so does a removal; kill -9 in the middle of
# a stream of changes loses none that was acknowledged; a failed write of
# the journal line (SG_TEST_FAIL_JOURNAL_WRITE) undoes the map change,
# for add and for del; a crash in the middle of writing the line
# (SG_TEST_CRASH_JOURNAL_WRITE: half a line, then exit) leaves
# approvals.json intact and a restarted daemon with the old set (the torn
# line is ignored and cut off).
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_up 60
APPROVALS="$CTL_STATE/approvals.json"

# Trusted entries in the kernel, read from the pins (daemon up or down).
pinned_trusted() {
	lab_exec gw "$CTL" --json stats --pin-dir "$CTL_PIN" | jq .data_plane.trusted_entries
}

# ---- kill -9 right after trust add returns ----------------------------

check "trust add 198.18.1.5" ctl trust add 198.18.1.5 --relay internal --ticket CHG-A --owner a
ctl_kill9
check_eq "daemon killed: the approval is on disk" "$(ctl_approvals_doc | jq -c '[.approvals[].addr]')" '["198.18.1.5"]'
check_eq "daemon killed: the kernel still holds it (and the policy entry)" "$(pinned_trusted)" 2
check_match "daemon killed: 198.18.1.5 still reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '
check_match "daemon killed: 198.18.1.6 still does not" "$(ctl_try 198.18.1.6)" '^failed '
ctl_start || tap_bail "smtpgated does not restart after kill -9"
check_eq "restarted: trust list has the approval" "$(ctl_prefixes)" "198.18.1.5 198.18.1.200"
check_eq "restarted: the data plane has both entries" "$(ctl --json status | jq .trusted_entries)" 2
check_match "restarted: 198.18.1.5 reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '

# ---- kill -9 right after trust del returns ------------------------------

check "trust del 198.18.1.5" ctl trust del 198.18.1.5 --ticket CHG-A-END
ctl_kill9
check_eq "daemon killed: the removal is on disk" "$(ctl_approvals_doc | jq '.approvals | length')" 0
check_eq "daemon killed: the kernel no longer holds it" "$(pinned_trusted)" 1
check_match "daemon killed: 198.18.1.5 is blocked" "$(ctl_try 198.18.1.5)" '^failed '
ctl_start || tap_bail "smtpgated does not restart after kill -9"
check_eq "restarted: only the policy entry" "$(ctl_prefixes)" "198.18.1.200"

# ---- kill -9 in the middle of a stream of changes ---------------------------

# Up to STREAM adds one after another; each records its exit code.  The
# daemon is killed once a few have been acknowledged, in the middle of
# the stream whatever the machine's speed (a fixed sleep let a fast one
# finish all of them first); the stream stops at the first add that
# cannot reach the daemon.
STREAM=200
mkdir -p "$CTL_DIR/stream"
(
	for i in $(seq 1 "$STREAM"); do
		ctl trust add "198.18.2.$i" --relay internal --ticket "CHG-S$i" --owner s \
			>/dev/null 2>"$CTL_DIR/stream/$i.err"
		rc=$?
		echo "$rc" >"$CTL_DIR/stream/$i"
		[ "$rc" = 3 ] && grep -q "cannot reach" "$CTL_DIR/stream/$i.err" && break
	done
) &
stream=$!
lab_poll 10 ls "$CTL_DIR/stream/5" >/dev/null
sleep 0.0$((RANDOM % 5))
ctl_kill9
wait "$stream"
acked=""
tried=""
# "tried": acknowledged, or in flight when the daemon died (the client
# saw the connection close without a reply: the change may or may not
# have been saved).  An add that could not connect was never made.
for i in $(seq 1 "$STREAM"); do
	[ -e "$CTL_DIR/stream/$i" ] || break
	rc=$(cat "$CTL_DIR/stream/$i")
	[ "$rc" = 0 ] && acked+=" 198.18.2.$i"
	[ "$rc" = 3 ] && grep -q "cannot reach" "$CTL_DIR/stream/$i.err" && continue
	tried+=" 198.18.2.$i"
done
tap_diag "killed after $(wc -w <<<"$acked") acknowledged adds"
check_cmp "some adds were acknowledged before the kill" "$(wc -w <<<"$acked")" -ge 1
check_cmp "... and some were cut off by it" "$(wc -w <<<"$acked")" -lt "$STREAM"
ctl_start || tap_bail "smtpgated does not restart after kill -9 mid-stream"
listed=" $(ctl --json trust list | jq -r '[.[] | select(.source == "approval") | .prefix] | join(" ")')"
missing=""
for p in $acked; do
	[[ "$listed " == *" $p "* ]] || missing+=" $p"
done
check_eq "every acknowledged approval survived the kill" "$missing" ""
extra=""
for p in $listed; do
	[[ "$tried " == *" $p "* ]] || extra+=" $p"
done
check_eq "nothing appeared that was not asked for" "$extra" ""
check_eq "the kernel holds exactly the listed entries" "$(ctl --json status | jq .trusted_entries)" \
	"$(ctl --json trust list | jq length)"
for p in $listed; do
	ctl trust del "$p" --ticket CLEAN >/dev/null
done
check_eq "stream cleaned up" "$(ctl_prefixes)" "198.18.1.200"

# ---- a failed disk write is rolled back ---------------------------------------

check "trust add 198.18.1.7 (kept)" ctl trust add 198.18.1.7 --relay internal --ticket CHG-C --owner c
ctl_stop
ctl_start SG_TEST_FAIL_JOURNAL_WRITE=1 || tap_bail "smtpgated does not start with the failure hook"
cp "$APPROVALS" "$CTL_DIR/approvals.before"
ctl_approvals_doc >"$CTL_DIR/doc.before"
out=$(ctl trust add 198.18.1.6 --relay internal --ticket CHG-B --owner b 2>&1)
check_eq "disk write fails: trust add is exit 1" "$?" 1
check_match "... saying why" "$out" 'cannot save the approval, so it was not made: .*injected failure'
check_eq "... trust list unchanged" "$(ctl_prefixes)" "198.18.1.7 198.18.1.200"
check_eq "... the map change rolled back" "$(ctl --json status | jq .trusted_entries)" 2
check_match "... 198.18.1.6 is blocked" "$(ctl_try 198.18.1.6)" '^failed '
check "... approvals.json unchanged" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
check_eq "... and so is the journal" "$(ctl_approvals_doc)" "$(cat "$CTL_DIR/doc.before")"
check_eq "... audited as failed" "$(ctl_audit_count '.command == "trust.add" and .ticket == "CHG-B" and .result == "failed"')" 1
out=$(ctl trust del 198.18.1.7 --ticket CHG-C-END 2>&1)
check_eq "disk write fails: trust del is exit 1" "$?" 1
check_eq "... the approval stays listed" "$(ctl_prefixes)" "198.18.1.7 198.18.1.200"
check_match "... and in force" "$(ctl_try 198.18.1.7)" '^connected '
check "... approvals.json unchanged" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
check_eq "... and so is the journal" "$(ctl_approvals_doc)" "$(cat "$CTL_DIR/doc.before")"
ctl_stop

# ---- a crash in the middle of writing the journal line ---------------------------

ctl_start SG_TEST_CRASH_JOURNAL_WRITE=1 || tap_bail "smtpgated does not start with the crash hook"
out=$(ctl trust add 198.18.1.6 --relay internal --ticket CHG-D --owner d 2>&1)
check_eq "crash before rename: the client says the daemon is gone (exit 3)" "$?" 3
check_match "... with a message" "$out" 'closed the connection without a reply'
check_eq "... the daemon died in the hook (exit 99)" "$(ctl_wait_exit 5)" 99
check "... approvals.json is the old one, byte for byte" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
check_match "... the journal ends in half a line" "$(tail -c 200 "$CTL_STATE/approvals.journal")" '198\.18\.1\.6|CHG-D|"op"'
check_eq "... no temporary file is left" \
	"$(ls -A "$CTL_STATE" | grep -v -e '^approvals\.json$' -e '^approvals\.journal$' -e '^smtpgated\.lock$' -e '^usage$')" ""
ctl_start || tap_bail "smtpgated does not restart after the crash"
check_eq "restarted: the old set" "$(ctl_prefixes)" "198.18.1.7 198.18.1.200"
check_eq "restarted: the kernel holds the old set only" "$(ctl --json status | jq .trusted_entries)" 2
check_match "restarted: 198.18.1.6 (never saved) is blocked" "$(ctl_try 198.18.1.6)" '^failed '
check_match "restarted: 198.18.1.7 passes" "$(ctl_try 198.18.1.7)" '^connected '

# ---- and an orderly restart keeps everything -----------------------------------

ctl_stop
ctl_start || tap_bail "smtpgated does not restart"
check_eq "SIGTERM and start: the approval is still there" \
	"$(ctl --json trust list | jq -c '[.[] | select(.source == "approval") | [.prefix, .ticket, .owner, .created_by]]')" \
	'[["198.18.1.7","CHG-C","c","root (uid 0)"]]'

tap_done

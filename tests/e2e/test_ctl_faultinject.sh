#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Approvals stay consistent when the disk fails: whatever the failing
# step of saving a change (one line appended to approvals.journal), the
# reply of trust add / trust del, the kernel's trusted table, the disk
# (approvals.json with the journal applied) and what a restarted daemon
# loads all agree.  Faults are injected with an LD_PRELOAD shim
# (tests/preload/faultinject.c) into smtpgated only:
#
#   - the journal's fdatasync fails (EIO) and so does cutting the line
#     back off (ftruncate): the file holds the change, so it is kept and
#     reported done (exit 0) with a warning on stderr, in the audit
#     record and in smtpgate_approvals_not_durable_total; it is in force,
#     and a restart finds it (a delete stays deleted);
#   - the write fails (ENOSPC), or the fdatasync fails (EIO) and the line
#     is cut back off: the change is not made (exit 1 saying why), the
#     kernel and the disk are unchanged, no other file is left, and a
#     restart finds the old set;
#   - the write fails and so does the map operation undoing the kernel
#     change (bpf(2) fails with ENOMEM): the daemon rebuilds the data
#     plane from memory, so the kernel still matches the reply.
#
# Each scenario checks the shim's log, so a fault that was never hit
# cannot pass for a handled one.
set -uo pipefail

# shellcheck source=tests/e2e/ctl_lib.sh
. "$(dirname "$0")/ctl_lib.sh"

FI="$BUILD/tests/preload/faultinject.so"
SGSTATE="$BUILD/tests/tools/sgstate"
METRICS=127.0.0.1:9725  # inside gw's namespace: private to this test

ctl_init 150
[ -f "$FI" ] || tap_bail "$FI is missing (make BUILD=${BUILD##*/})"
[ -x "$SGSTATE" ] || tap_bail "$SGSTATE is missing (make BUILD=${BUILD##*/})"
command -v curl >/dev/null || tap_bail "curl is missing"
ctl_topology
ctl_write_config "$CTL_POLICY_JSON"
lab_daemon_config "$CTL_NAME" if=srv0:xdp:auto "metrics=$METRICS" \
	"admin_group=$CTL_ADMIN_GROUP" "read_group=$CTL_READ_GROUP"
APPROVALS="$CTL_STATE/approvals.json"
JOURNAL="$CTL_STATE/approvals.journal"
FILOG="$CTL_DIR/faultinject.log"

# fi_start CALL PATTERN ERRNO [MORE ENV]: smtpgated under the shim,
# failing every CALL whose path matches PATTERN with ERRNO.
fi_start() {
	local call="$1" pattern="$2" errno="$3"

	shift 3
	ctl_stop
	: >"$FILOG"
	ctl_start LD_PRELOAD="$FI" SG_FI_CALL="$call" SG_FI_PATH="$pattern" SG_FI_ERRNO="$errno" \
		SG_FI_COUNT=0 SG_FI_LOG="$FILOG" "$@" ||
		tap_bail "smtpgated does not start under the shim ($call $pattern)"
}

# in_kernel PFX: "yes" if the pinned trusted table holds PFX, else "no".
in_kernel() {
	if lab_exec gw "$SGSTATE" --pin-dir "$CTL_PIN" --bucket "$1" >/dev/null 2>&1; then
		echo yes
	else
		echo no
	fi
}

# on_disk: the approvals on disk (approvals.json + journal), one line.
on_disk() {
	ctl_approvals_doc | jq -r '[.approvals[].addr] | join(" ")'
}

# disk_state: both files, to compare before and after.
disk_state() {
	cat "$APPROVALS" "$JOURNAL" 2>/dev/null | sha256sum
}

approvals_listed() {
	ctl --json trust list | jq -r '[.[] | select(.source == "approval") | .prefix] | join(" ")'
}

metric_now() {
	lab_exec gw curl -sf "http://$METRICS/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# metric NAME WANT: NAME's value once it is WANT (the daemon reuses a
# rendering for up to a second), else its last value after 3 s.
metric() {
	local v i

	for ((i = 0; i < 30; i++)); do
		v=$(metric_now "$1")
		[ "$v" = "$2" ] && break
		sleep 0.1
	done
	echo "$v"
}

# state_extra: files in the state dir other than approvals.json, its
# journal and the lock.
state_extra() {
	local f extra=""

	for f in "$CTL_STATE"/* "$CTL_STATE"/.[!.]*; do
		[ -e "$f" ] || continue
		case "${f##*/}" in
		approvals.json | approvals.journal | smtpgated.lock | usage) ;; # usage/: the usage history's dir
		*) extra+="${extra:+ }${f##*/}" ;;
		esac
	done
	echo "$extra"
}

fault_hit() {
	grep -c -- "$1" "$FILOG"
}

# restart_agrees LABEL WANT: after a restart without the shim, trust
# list, approvals.json and the kernel all hold exactly the approvals WANT.
restart_agrees() {
	local label="$1" want="$2" p

	ctl_stop
	ctl_start || tap_bail "smtpgated does not restart without the shim"
	check_eq "$label: restarted, trust list" "$(approvals_listed)" "$want"
	check_eq "$label: restarted, on disk" "$(on_disk)" "$want"
	for p in 198.18.1.5 198.18.1.6 198.18.1.7; do
		if [[ " $want " == *" $p "* ]]; then
			check_eq "$label: restarted, $p in the kernel" "$(in_kernel "$p")" yes
		else
			check_eq "$label: restarted, $p not in the kernel" "$(in_kernel "$p")" no
		fi
	done
}

# ---- the fdatasync fails, and so does cutting the line back off ----------------

# A first start without the shim creates the journal.
ctl_start || tap_bail "smtpgated does not start"
fi_start fsync "$JOURNAL" EIO SG_FI2_CALL=truncate SG_FI2_PATH="$JOURNAL" SG_FI2_COUNT=0
out=$(ctl trust add 198.18.1.5 --relay internal --ticket CHG-F1 --owner a 2>&1)
check_eq "journal sync and cut fail: trust add is done (exit 0)" "$?" 0
check_eq "... the fault was hit" "$(fault_hit "fdatasync $JOURNAL EIO")" 1
check_eq "... and the cut failed" "$(fault_hit "ftruncate $JOURNAL EIO")" 1
check_match "... with a warning saying what is uncertain" "$out" \
	'warning: the approval is made and in approvals.json, but may not survive a power loss: .*approvals.journal: fdatasync: Input/output error'
check_eq "... trust list has it" "$(approvals_listed)" "198.18.1.5"
check_eq "... the kernel has it" "$(in_kernel 198.18.1.5)" yes
check_eq "... the disk has it" "$(on_disk)" "198.18.1.5"
check_match "... 198.18.1.5 reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '
check_eq "... audited as ok, with the warning" \
	"$(ctl_audit_count '.command == "trust.add" and .ticket == "CHG-F1" and .result == "ok" and (.warnings // [] | any(test("power loss")))')" 1
check_eq "... counted in smtpgate_approvals_not_durable_total" "$(metric smtpgate_approvals_not_durable_total 1)" 1

check "trust add 198.18.1.6 (journal sync failing still)" \
	ctl trust add 198.18.1.6 --relay internal --ticket CHG-F2 --owner b
out=$(ctl trust del 198.18.1.6 --ticket CHG-F2-END 2>&1)
check_eq "journal sync and cut fail: trust del is done (exit 0)" "$?" 0
check_match "... with a warning" "$out" 'warning: the approval is removed, also from approvals.json, but a power loss may bring it back'
check_eq "... the fault was hit three times in all" "$(fault_hit "fdatasync $JOURNAL EIO")" 3
check_eq "... trust list no longer has it" "$(approvals_listed)" "198.18.1.5"
check_eq "... nor the kernel" "$(in_kernel 198.18.1.6)" no
check_eq "... nor the disk" "$(on_disk)" "198.18.1.5"
check_eq "... counted" "$(metric smtpgate_approvals_not_durable_total 3)" 3
restart_agrees "journal sync" "198.18.1.5"
check_match "restarted: 198.18.1.5 reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '

# ---- failures before the commit: nothing changes -------------------------------

# scenario LABEL CALL PATTERN ERRNO MESSAGE_REGEX
scenario() {
	local label="$1" call="$2" pattern="$3" errno="$4" re="$5" out rc

	fi_start "$call" "$pattern" "$errno"
	before=$(disk_state)
	out=$(ctl trust add 198.18.1.7 --relay internal --ticket "CHG-$call" --owner c 2>&1)
	rc=$?
	check_eq "$label: trust add fails (exit 1)" "$rc" 1
	check_cmp "... the fault was hit" "$(fault_hit "$errno")" -ge 1
	check_match "... saying why" "$out" "cannot save the approval, so it was not made: .*approvals.journal: $re"
	check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
	check_eq "... the kernel does not have it" "$(in_kernel 198.18.1.7)" no
	check_eq "... the disk unchanged" "$(disk_state)" "$before"
	check_eq "... audited as failed" \
		"$(ctl_audit_count ".command == \"trust.add\" and .ticket == \"CHG-$call\" and .result == \"failed\"")" 1
	out=$(ctl trust del 198.18.1.5 --ticket "CHG-$call-END" 2>&1)
	rc=$?
	check_eq "$label: trust del fails (exit 1)" "$rc" 1
	check_match "... saying why" "$out" "cannot save approvals.json, so the approval stays: .*approvals.journal: $re"
	check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
	check_eq "... the kernel still has it" "$(in_kernel 198.18.1.5)" yes
	check_eq "... the disk unchanged" "$(disk_state)" "$before"
	check_eq "... no temporary file is left" "$(state_extra)" ""
	check_eq "... nothing counted as not durable" "$(metric smtpgate_approvals_not_durable_total 0)" 0
	restart_agrees "$label" "198.18.1.5"
}

scenario "write fails (disk full)" write "$JOURNAL" ENOSPC 'write: No space left on device'
scenario "fdatasync fails" fsync "$JOURNAL" EIO 'fdatasync: Input/output error'

# ---- the save fails, and so does undoing the kernel change --------------------

# rollback_start BPF_CMD [NTH]: the journal write fails, and so does the NTH
# (default first) bpf(2) BPF_CMD once $ARM exists (the start makes map
# updates and deletes of its own).  A trust add makes one delete before
# the journal write (the new slot's automatic-ban record), so its rollback's
# delete is the second.  (The shim is armed after the start, whose
# compaction writes the journal's state to approvals.json.)
ARM="$CTL_DIR/armed"
rollback_start() {
	ctl_stop
	rm -f "$ARM"
	: >"$FILOG"
	ctl_start LD_PRELOAD="$FI" SG_FI_ARMED="$ARM" SG_FI_LOG="$FILOG" \
		SG_FI_CALL=write SG_FI_PATH="$JOURNAL" SG_FI_ERRNO=ENOSPC SG_FI_COUNT=0 \
		SG_FI2_CALL=bpf SG_FI2_PATH="$1" SG_FI2_ERRNO=ENOMEM SG_FI2_NTH="${2:-1}" \
		SG_FI2_COUNT=1 ||
		tap_bail "smtpgated does not start under the shim (rollback $1)"
	touch "$ARM"
}

rollback_start BPF_MAP_DELETE_ELEM 2
before=$(disk_state)
mark=$(lab_daemon_mark "$CTL_NAME")
out=$(ctl trust add 198.18.1.7 --relay internal --ticket CHG-RB1 --owner c 2>&1)
rc=$?
rm -f "$ARM"
check_eq "rollback of add fails: trust add fails (exit 1)" "$rc" 1
check_eq "... the journal write failed" "$(fault_hit "write $JOURNAL ENOSPC")" 1
check_eq "... and so did the map delete undoing the add" "$(fault_hit "bpf BPF_MAP_DELETE_ELEM ENOMEM")" 1
check "... the daemon rebuilt the data plane from memory instead" \
	lab_daemon_wait_log "$CTL_NAME" "trust.add: undoing the data-plane change failed; the data plane was rebuilt" 2 "$mark"
check_match "... the reply says it was not made" "$out" "cannot save the approval, so it was not made"
check_eq "... the kernel does not have it" "$(in_kernel 198.18.1.7)" no
check_match "... 198.18.1.7 is blocked" "$(ctl_try 198.18.1.7)" '^failed '
check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
check_eq "... the disk unchanged" "$(disk_state)" "$before"
restart_agrees "rollback of add" "198.18.1.5"

rollback_start BPF_MAP_UPDATE_ELEM
before=$(disk_state)
mark=$(lab_daemon_mark "$CTL_NAME")
out=$(ctl trust del 198.18.1.5 --ticket CHG-RB2 2>&1)
rc=$?
rm -f "$ARM"
check_eq "rollback of del fails: trust del fails (exit 1)" "$rc" 1
check_eq "... the map update putting it back failed" "$(fault_hit "bpf BPF_MAP_UPDATE_ELEM ENOMEM")" 1
check "... the daemon rebuilt the data plane from memory instead" \
	lab_daemon_wait_log "$CTL_NAME" "trust.del: undoing the data-plane change failed; the data plane was rebuilt" 2 "$mark"
check_match "... the reply says the approval stays" "$out" "cannot save approvals.json, so the approval stays"
check_eq "... the kernel has it" "$(in_kernel 198.18.1.5)" yes
check_match "... 198.18.1.5 reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '
check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
check_eq "... the disk unchanged" "$(disk_state)" "$before"
restart_agrees "rollback of del" "198.18.1.5"

tap_done

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Approvals stay consistent when the disk fails: whatever the failing
# step of saving approvals.json, the reply of trust add / trust del, the
# kernel's trusted table, approvals.json and what a restarted daemon
# loads all agree.  Faults are injected with an LD_PRELOAD shim
# (tests/preload/faultinject.c) into smtpgated only:
#
#   - the directory's fsync fails after the rename (EIO): the file already
#     holds the change, so it is kept and reported done (exit 0) with a
#     warning on stderr, in the audit record and in
#     smtpgate_approvals_not_durable_total; it is in force, and a restart
#     finds it (a delete stays deleted);
#   - the rename fails (EIO), a write fails (ENOSPC), the new file's
#     fsync fails (EIO): nothing is renamed, so the change is not made
#     (exit 1 saying why), the kernel and the file are unchanged, no
#     temporary file is left, and a restart finds the old set;
#   - the rename fails and so does the map operation undoing the kernel
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
FILOG="$CTL_DIR/faultinject.log"

# fi_start CALL PATTERN ERRNO: smtpgated under the shim, failing every
# CALL whose path matches PATTERN with ERRNO.
fi_start() {
	ctl_stop
	: >"$FILOG"
	ctl_start LD_PRELOAD="$FI" SG_FI_CALL="$1" SG_FI_PATH="$2" SG_FI_ERRNO="$3" \
		SG_FI_COUNT=0 SG_FI_LOG="$FILOG" || tap_bail "smtpgated does not start under the shim ($1 $2)"
}

# in_kernel PFX: "yes" if the pinned trusted table holds PFX, else "no".
in_kernel() {
	if lab_exec gw "$SGSTATE" --pin-dir "$CTL_PIN" --bucket "$1" >/dev/null 2>&1; then
		echo yes
	else
		echo no
	fi
}

# on_disk: the approvals in approvals.json, one line.
on_disk() {
	[ -f "$APPROVALS" ] || { echo; return; }
	jq -r '[.approvals[].addr] | join(" ")' "$APPROVALS"
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

# state_extra: files in the state dir other than approvals.json and the lock.
state_extra() {
	local f extra=""

	for f in "$CTL_STATE"/* "$CTL_STATE"/.[!.]*; do
		[ -e "$f" ] || continue
		case "${f##*/}" in
		approvals.json | smtpgated.lock | usage) ;; # usage/: the usage history's dir
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
	check_eq "$label: restarted, approvals.json" "$(on_disk)" "$want"
	for p in 198.18.1.5 198.18.1.6 198.18.1.7; do
		if [[ " $want " == *" $p "* ]]; then
			check_eq "$label: restarted, $p in the kernel" "$(in_kernel "$p")" yes
		else
			check_eq "$label: restarted, $p not in the kernel" "$(in_kernel "$p")" no
		fi
	done
}

# ---- the directory's fsync fails after the rename ----------------------------

fi_start fsync "$CTL_STATE" EIO
out=$(ctl trust add 198.18.1.5 --relay internal --ticket CHG-F1 --owner a 2>&1)
check_eq "dir fsync fails: trust add is done (exit 0)" "$?" 0
check_eq "... the fault was hit" "$(fault_hit "fsync $CTL_STATE EIO")" 1
check_match "... with a warning saying what is uncertain" "$out" \
	'warning: the approval is made and in approvals.json, but may not survive a power loss: .*fsync of its directory failed \(Input/output error\)'
check_eq "... trust list has it" "$(approvals_listed)" "198.18.1.5"
check_eq "... the kernel has it" "$(in_kernel 198.18.1.5)" yes
check_eq "... approvals.json has it" "$(on_disk)" "198.18.1.5"
check_match "... 198.18.1.5 reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '
check_eq "... audited as ok, with the warning" \
	"$(ctl_audit_count '.command == "trust.add" and .ticket == "CHG-F1" and .result == "ok" and (.warnings // [] | any(test("power loss")))')" 1
check_eq "... counted in smtpgate_approvals_not_durable_total" "$(metric smtpgate_approvals_not_durable_total 1)" 1

check "trust add 198.18.1.6 (dir fsync failing still)" \
	ctl trust add 198.18.1.6 --relay internal --ticket CHG-F2 --owner b
out=$(ctl trust del 198.18.1.6 --ticket CHG-F2-END 2>&1)
check_eq "dir fsync fails: trust del is done (exit 0)" "$?" 0
check_match "... with a warning" "$out" 'warning: the approval is removed, also from approvals.json, but a power loss may bring it back'
check_eq "... the fault was hit three times in all" "$(fault_hit "fsync $CTL_STATE EIO")" 3
check_eq "... trust list no longer has it" "$(approvals_listed)" "198.18.1.5"
check_eq "... nor the kernel" "$(in_kernel 198.18.1.6)" no
check_eq "... nor approvals.json" "$(on_disk)" "198.18.1.5"
check_eq "... counted" "$(metric smtpgate_approvals_not_durable_total 3)" 3
restart_agrees "dir fsync" "198.18.1.5"
check_match "restarted: 198.18.1.5 reaches the relay" "$(ctl_try 198.18.1.5)" '^connected '

# ---- failures before the rename: nothing changes -------------------------------

# scenario LABEL CALL PATTERN ERRNO MESSAGE_REGEX
scenario() {
	local label="$1" call="$2" pattern="$3" errno="$4" re="$5" out rc

	cp "$APPROVALS" "$CTL_DIR/approvals.before"
	fi_start "$call" "$pattern" "$errno"
	out=$(ctl trust add 198.18.1.7 --relay internal --ticket "CHG-$call" --owner c 2>&1)
	rc=$?
	check_eq "$label: trust add fails (exit 1)" "$rc" 1
	check_cmp "... the fault was hit" "$(fault_hit "$errno")" -ge 1
	check_match "... saying why" "$out" "cannot save the approval, so it was not made: .*approvals.json: $re"
	check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
	check_eq "... the kernel does not have it" "$(in_kernel 198.18.1.7)" no
	check "... approvals.json unchanged" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
	check_eq "... audited as failed" \
		"$(ctl_audit_count ".command == \"trust.add\" and .ticket == \"CHG-$call\" and .result == \"failed\"")" 1
	out=$(ctl trust del 198.18.1.5 --ticket "CHG-$call-END" 2>&1)
	rc=$?
	check_eq "$label: trust del fails (exit 1)" "$rc" 1
	check_match "... saying why" "$out" "cannot save approvals.json, so the approval stays: .*approvals.json: $re"
	check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
	check_eq "... the kernel still has it" "$(in_kernel 198.18.1.5)" yes
	check "... approvals.json unchanged" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
	check_eq "... no temporary file is left" "$(state_extra)" ""
	check_eq "... nothing counted as not durable" "$(metric smtpgate_approvals_not_durable_total 0)" 0
	restart_agrees "$label" "198.18.1.5"
}

scenario "rename fails" rename "$CTL_STATE/approvals.json" EIO 'rename: Input/output error'
scenario "write fails (disk full)" write "$CTL_STATE/*" ENOSPC 'write: No space left on device'
scenario "file fsync fails" fsync "$CTL_STATE/#*" EIO 'fsync: Input/output error'

# ---- the save fails, and so does undoing the kernel change --------------------

# rollback_start BPF_CMD [NTH]: the rename fails, and so does the NTH
# (default first) bpf(2) BPF_CMD once $ARM exists (the start makes map
# updates and deletes of its own).  A trust add makes one delete before
# the rename (the new slot's automatic-ban record), so its rollback's
# delete is the second.
ARM="$CTL_DIR/armed"
rollback_start() {
	ctl_stop
	rm -f "$ARM"
	: >"$FILOG"
	ctl_start LD_PRELOAD="$FI" SG_FI_ARMED="$ARM" SG_FI_LOG="$FILOG" \
		SG_FI_CALL=rename SG_FI_PATH="$CTL_STATE/approvals.json" SG_FI_COUNT=0 \
		SG_FI2_CALL=bpf SG_FI2_PATH="$1" SG_FI2_ERRNO=ENOMEM SG_FI2_NTH="${2:-1}" \
		SG_FI2_COUNT=1 ||
		tap_bail "smtpgated does not start under the shim (rollback $1)"
	touch "$ARM"
}

rollback_start BPF_MAP_DELETE_ELEM 2
cp "$APPROVALS" "$CTL_DIR/approvals.before"
mark=$(lab_daemon_mark "$CTL_NAME")
out=$(ctl trust add 198.18.1.7 --relay internal --ticket CHG-RB1 --owner c 2>&1)
rc=$?
rm -f "$ARM"
check_eq "rollback of add fails: trust add fails (exit 1)" "$rc" 1
check_eq "... the rename failed" "$(fault_hit "rename.* EIO")" 1
check_eq "... and so did the map delete undoing the add" "$(fault_hit "bpf BPF_MAP_DELETE_ELEM ENOMEM")" 1
check "... the daemon rebuilt the data plane from memory instead" \
	lab_daemon_wait_log "$CTL_NAME" "trust.add: undoing the data-plane change failed; the data plane was rebuilt" 2 "$mark"
check_match "... the reply says it was not made" "$out" "cannot save the approval, so it was not made"
check_eq "... the kernel does not have it" "$(in_kernel 198.18.1.7)" no
check_match "... 198.18.1.7 is blocked" "$(ctl_try 198.18.1.7)" '^failed '
check_eq "... trust list unchanged" "$(approvals_listed)" "198.18.1.5"
check "... approvals.json unchanged" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
restart_agrees "rollback of add" "198.18.1.5"

rollback_start BPF_MAP_UPDATE_ELEM
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
check "... approvals.json unchanged" cmp "$APPROVALS" "$CTL_DIR/approvals.before"
restart_agrees "rollback of del" "198.18.1.5"

tap_done

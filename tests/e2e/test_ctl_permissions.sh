#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Who may do what on the control socket.  Throwaway groups (admin, read)
# and users (one per role, one with the read group as primary group, one
# in neither) are created with unique names and removed at exit; the
# daemon's config names the groups.
#   - the socket's directory is 0750 and the socket 0660, group admin,
#     with an ACL that lets the read group in, also when the directory
#     was made root:root 0750 before the daemon started (systemd's
#     RuntimeDirectory=);
#   - an admin member changes things, audited with its uid and name;
#   - a read member may status/stats/list/audit, and is refused (exit 1)
#     and audited when it tries a change;
#   - someone in neither group cannot even connect; with the socket
#     opened up, the daemon refuses them before reading the request
#     (garbage and oversized requests get permission_denied, not a
#     parse error), and audits the attempt.
set -uo pipefail

. "$(dirname "$0")/ctl_lib.sh"

ctl_init 60
ADMIN_G="$CTL_ADMIN_GROUP"
READ_G="$CTL_READ_GROUP"
U_ADMIN="${LAB_PREFIX}ua"
U_READ="${LAB_PREFIX}ur"
U_PRIM="${LAB_PREFIX}up"
U_NONE="${LAB_PREFIX}un"

# Retries: concurrent runs contend for the lock of /etc/passwd.
retry() {
	local i

	for ((i = 0; i < 20; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.$((RANDOM % 5 + 1))
	done
	"$@"
}

for g in "$ADMIN_G" "$READ_G"; do
	lab_on_exit retry groupdel "$g"
	retry groupadd -r "$g" || tap_bail "groupadd $g"
done
for u in "$U_ADMIN" "$U_READ" "$U_PRIM" "$U_NONE"; do
	lab_on_exit retry userdel "$u"
done
retry useradd -r -M -N -s /usr/sbin/nologin -G "$ADMIN_G" "$U_ADMIN" || tap_bail "useradd $U_ADMIN"
retry useradd -r -M -N -s /usr/sbin/nologin -G "$READ_G" "$U_READ" || tap_bail "useradd $U_READ"
retry useradd -r -M -s /usr/sbin/nologin -g "$READ_G" "$U_PRIM" || tap_bail "useradd $U_PRIM"
retry useradd -r -M -N -s /usr/sbin/nologin "$U_NONE" || tap_bail "useradd $U_NONE"

# as USER CMD...: runs CMD with USER's uid, primary gid and groups.
as() {
	local u="$1"

	shift
	setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups -- "$@"
}

# actl USER ARGS...: smtpgatectl as USER on our socket.
actl() {
	local u="$1"

	shift
	as "$u" "$CTL" --socket "$CTL_SOCK" "$@"
}

ctl_topology
ctl_write_config
ctl_start || tap_bail "smtpgated does not start"

# ---- the socket ------------------------------------------------------------

RUN_DIR="${CTL_SOCK%/*}"
check_eq "socket directory: 0750, group admin" "$(stat -c '%a %G' "$RUN_DIR")" "750 $ADMIN_G"
check_eq "socket: 0660, group admin" "$(stat -c '%a %G' "$CTL_SOCK")" "660 $ADMIN_G"
acl=$(python3 -c 'import os, struct, sys
d = os.getxattr(sys.argv[1], "system.posix_acl_access")
print(" ".join("%x:%o:%d" % struct.unpack("<HHI", d[4 + 8 * i:12 + 8 * i]) for i in range((len(d) - 4) // 8)))' \
	"$CTL_SOCK" 2>&1)
check_eq "socket ACL: the read group may read and write" "$acl" \
	"1:6:4294967295 4:6:4294967295 8:6:$(getent group "$READ_G" | cut -d: -f3) 10:6:4294967295 20:0:4294967295"

# ---- an admin -----------------------------------------------------------------

out=$(actl "$U_ADMIN" --json trust add 198.18.1.5 --relay internal --ticket CHG-ADM --owner adm)
check_eq "admin member: trust add is exit 0" "$?" 0
check_eq "admin member: created_by names them" "$(jq -r .created_by <<<"$out")" \
	"$U_ADMIN (uid $(id -u "$U_ADMIN"))"
check_eq "admin member: audited with uid and name" \
	"$(jq -c 'select(.command == "trust.add" and .result == "ok") | [.uid, .user, .ticket]' "$CTL_LOG/audit.jsonl")" \
	"[$(id -u "$U_ADMIN"),\"$U_ADMIN\",\"CHG-ADM\"]"
actl "$U_ADMIN" trust add 198.18.1.6 --relay nope --ticket CHG-BAD --owner adm >/dev/null 2>&1
check_eq "admin member: an invalid change is exit 2" "$?" 2
check_eq "admin member: ... audited as refused with their uid" \
	"$(ctl_audit_count ".ticket == \"CHG-BAD\" and .result == \"refused\" and .uid == $(id -u "$U_ADMIN")")" 1

# ---- a reader -----------------------------------------------------------------

for cmd in "status" "stats --sources" "trust list" "relay list" "ban list" "audit"; do
	# shellcheck disable=SC2086
	actl "$U_READ" --json $cmd >/dev/null 2>&1
	check_eq "read member: $cmd is allowed" "$?" 0
done
check_eq "read member: status shows the real state" \
	"$(actl "$U_READ" --json status | jq -c '[.mode, .approvals]')" '["enforce",1]'
check_eq "read group as primary group: status is allowed" \
	"$(actl "$U_PRIM" --json status | jq -r .mode)" enforce
list0=$(ctl_prefixes)
out=$(actl "$U_READ" trust add 198.18.1.7 --relay internal --ticket CHG-RD --owner rd 2>&1)
check_eq "read member: trust add is refused (exit 1)" "$?" 1
check_match "... saying why" "$out" \
	"^smtpgatectl: trust add: trust.add changes the policy: only root and members of control.admin_group \"$ADMIN_G\" may; $U_READ \\(uid [0-9]+\\) may only read\$"
check_eq "... nothing changed" "$(ctl_prefixes)" "$list0"
check_eq "... the refusal is audited with their uid, name and ticket" \
	"$(jq -c 'select(.ticket == "CHG-RD") | [.uid, .user, .command, .result, .args.prefix]' "$CTL_LOG/audit.jsonl")" \
	"[$(id -u "$U_READ"),\"$U_READ\",\"trust.add\",\"refused\",\"198.18.1.7\"]"
actl "$U_READ" trust del 198.18.1.5 --ticket CHG-RD2 >/dev/null 2>&1
check_eq "read member: trust del is refused (exit 1)" "$?" 1
actl "$U_READ" reload >/dev/null 2>&1
check_eq "read member: reload is refused (exit 1)" "$?" 1
actl "$U_READ" ban add 198.18.1.9 >/dev/null 2>&1
check_eq "read member: ban add is refused (exit 1)" "$?" 1
check_eq "... each refusal audited" \
	"$(ctl_audit_count ".uid == $(id -u "$U_READ") and .result == \"refused\"")" 4
check_eq "... and nothing changed" "$(ctl_prefixes) | $(ctl --json ban list | jq length)" "$list0 | 0"

has_acl() {
	python3 -c 'import os, sys
print("acl" if "system.posix_acl_access" in os.listxattr(sys.argv[1]) else "no-acl")' "$1"
}

# ---- a runtime directory someone else made (systemd, tmpfiles) ----------------
# systemd's RuntimeDirectory= makes the socket's directory root:root 0750
# before the daemon starts; the daemon must still let both groups in.

ctl_stop
rm -rf "$RUN_DIR"
install -d -o root -g root -m 0750 "$RUN_DIR"
check_eq "pre-made runtime dir: root:root 0750 without an ACL" \
	"$(stat -c '%a %U:%G' "$RUN_DIR") $(has_acl "$RUN_DIR")" "750 root:root no-acl"
ctl_start || tap_bail "smtpgated does not start on a pre-made runtime dir"
check_eq "... the daemon gives it group admin, 0750" "$(stat -c '%a %G' "$RUN_DIR")" "750 $ADMIN_G"
check_eq "... an admin member reaches the socket: status is exit 0" \
	"$(actl "$U_ADMIN" --json status >/dev/null 2>&1; echo $?)" 0
check_eq "... and may change things (ban add, ban del)" \
	"$(actl "$U_ADMIN" ban add 198.18.1.99 >/dev/null 2>&1; echo -n $?; actl "$U_ADMIN" ban del 198.18.1.99 >/dev/null 2>&1; echo $?)" 00
check_eq "... a read member reaches it: status is exit 0" \
	"$(actl "$U_READ" --json status >/dev/null 2>&1; echo $?)" 0
check_eq "... and is still refused changes (exit 1)" \
	"$(actl "$U_READ" ban add 198.18.1.99 >/dev/null 2>&1; echo $?)" 1
check_eq "... the read group as primary group: status is exit 0" \
	"$(actl "$U_PRIM" --json status >/dev/null 2>&1; echo $?)" 0
# A directory that is not the daemon's own (another entry in it) is left
# as it is, with a warning: the daemon never opens up a shared directory.
ctl_stop
chown root:root "$RUN_DIR"
python3 -c 'import os, sys; os.removexattr(sys.argv[1], "system.posix_acl_access")' "$RUN_DIR"
touch "$RUN_DIR/someone-elses-file"
ctl_start || tap_bail "smtpgated does not restart"
check_eq "a shared socket directory keeps its owner, mode and ACL" \
	"$(stat -c '%a %U:%G' "$RUN_DIR") $(has_acl "$RUN_DIR")" "750 root:root no-acl"
check_match "... and the daemon says why the groups may not get in" \
	"$(cat "$LAB_DAEMON_LOGFILE" 2>/dev/null)" "is not smtpgated's own directory"
ctl_stop
rm -f "$RUN_DIR/someone-elses-file"
ctl_start || tap_bail "smtpgated does not restart"
check_eq "... its own again: group admin" "$(stat -c '%a %G' "$RUN_DIR")" "750 $ADMIN_G"

# ---- someone in neither group ------------------------------------------------------

out=$(actl "$U_NONE" status 2>&1)
check_eq "neither group: cannot even connect (exit 1)" "$?" 1
check_match "... permission denied by the file system" "$out" \
	"^smtpgatectl: status: cannot reach smtpgated at $CTL_SOCK: Permission denied"
# With the socket opened up (a mistake an operator could make), the
# daemon itself refuses them.
chmod 0755 "$RUN_DIR"
chmod 0666 "$CTL_SOCK"
audit0=$(ctl_audit_count ".command == \"connect\" and .uid == $(id -u "$U_NONE")")
out=$(actl "$U_NONE" status 2>&1)
check_eq "neither group, socket open: refused by the daemon (exit 1)" "$?" 1
check_match "... naming them and the groups" "$out" \
	"permission denied: $U_NONE \\(uid [0-9]+\\) is neither root nor in control.admin_group \"$ADMIN_G\" or control.read_group \"$READ_G\""
reply=$(printf 'this is not JSON\n' | as "$U_NONE" timeout 10 socat -t 5 - "UNIX-CONNECT:$CTL_SOCK" 2>/dev/null)
check_eq "... before the request is parsed: garbage gets permission_denied" \
	"$(jq -r .code <<<"$reply")" permission_denied
out=$(actl "$U_NONE" trust add 198.18.1.8 --relay internal --ticket CHG-BIG --owner x \
	--note "$(head -c 70000 /dev/zero | tr '\0' n)" 2>&1)
check_eq "... and so does an oversized request (exit 1, not 2)" "$?" 1
check_match "... with permission denied, not \"too large\"" "$out" 'permission denied: '
check_eq "... every attempt audited (connect, refused)" \
	"$(ctl_audit_count ".command == \"connect\" and .result == \"refused\" and .uid == $(id -u "$U_NONE")")" \
	$((audit0 + 3))
check_eq "... and nothing changed" "$(ctl_prefixes)" "$list0"
check_eq "root may do everything" "$(ctl --json trust del 198.18.1.5 --ticket CHG-END | jq -r .prefix)" 198.18.1.5

tap_done

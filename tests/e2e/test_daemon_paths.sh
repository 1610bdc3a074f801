#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgated runs as root and writes in its state, log and socket dirs:
# it must never be made to write through a link someone planted there,
# and refuses to start in a directory others may write.
#
#   - a symbolic link planted as audit.jsonl, events.jsonl or
#     smtpgated.lock: the daemon refuses to start, says which file and
#     what to do, and the link's target is neither written, truncated nor
#     created;
#   - a world-writable state dir, a group-writable log dir, a
#     group-writable socket dir: refused, naming the config key, the mode
#     and the chmod that fixes it;
#   - with all of that fixed the daemon starts, the control socket is a
#     socket of mode 0660 (from the umask at bind, no chmod through the
#     path) and the socket dir 0750.
#
# Lab: one namespace, no interfaces (nothing is enforced: only paths).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

e2e_init 90
[ -x "$SMTPGATED" ] || tap_bail "$SMTPGATED is missing (make BUILD=${BUILD##*/})"
lab_ns gw >/dev/null
NAME=paths
lab_daemon_config "$NAME"
lab_daemon_paths "$NAME" >/dev/null
STATE="$LAB_DAEMON_STATE_DIR"
LOGD="$LAB_DAEMON_LOG_DIR"
RUND="$(dirname "$LAB_DAEMON_SOCKET")"
VICTIM="$LAB_DAEMON_DIR/victim"
mkdir -m 0750 -p "$STATE" "$LOGD" || tap_bail "cannot make $STATE and $LOGD"

# refused NAME REGEX: the daemon must not start, and its log must match.
refused() {
	local out

	if lab_daemon_start gw "$NAME" 2>/dev/null; then
		not_ok "$1: refused to start" "it started; its log: $(lab_daemon_log "$NAME" --run)"
		lab_daemon_stop "$NAME"
		return 1
	fi
	out=$(lab_daemon_log "$NAME" --run)
	check_match "$1: refused to start, saying why" "$out" "$2"
}

# planted FILE: FILE in the log or state dir is a link to $VICTIM.
planted() {
	local file="$1" dangling="$VICTIM-dangling-${1##*/}"

	printf 'precious\n' >"$VICTIM"
	ln -s "$VICTIM" "$file"
	refused "symlink as ${file##*/}" \
		"error: $file: is a symbolic link; refusing to follow it \\(remove it: smtpgated creates the file itself\\)"
	check_eq "... its target is untouched" "$(cat "$VICTIM")" precious
	rm -f "$file"
	ln -s "$dangling" "$file"
	refused "dangling symlink as ${file##*/}" "error: $file: is a symbolic link"
	check "... and its target was not created" test ! -e "$dangling"
	rm -f "$file"
}

planted "$LOGD/audit.jsonl"
planted "$LOGD/events.jsonl"
planted "$STATE/smtpgated.lock"
check "no pins were made by the refused starts" test ! -e "$LAB_DAEMON_PIN_DIR"

chmod 0777 "$STATE"
refused "world-writable state dir" \
	"error: paths.state_dir $STATE: is group- and world-writable \\(mode 0777\\), so others could plant links where smtpgated writes as root; fix with: chmod go-w $STATE"
chmod 0750 "$STATE"
chmod 1777 "$STATE"
refused "world-writable state dir, sticky bit or not" "error: paths.state_dir $STATE: is group- and world-writable \\(mode 1777\\)"
chmod 0750 "$STATE"
chmod 0770 "$LOGD"
refused "group-writable log dir" \
	"error: paths.log_dir $LOGD: is group-writable \\(mode 0770\\), .*fix with: chmod go-w $LOGD"
chmod 0750 "$LOGD"
mkdir -m 0770 -p "$RUND" && chmod 0770 "$RUND"
refused "group-writable socket dir" \
	"error: control: the directory of control.socket $RUND: is group-writable \\(mode 0770\\), .*fix with: chmod go-w $RUND"
chmod 0750 "$RUND"

if lab_daemon_start gw "$NAME" 2>/dev/null; then
	ok "all fixed: the daemon starts"
	check_eq "the control socket is a socket of mode 660" \
		"$(stat -c '%F %a' "$LAB_DAEMON_SOCKET")" "socket 660"
	check_match "audit.jsonl and events.jsonl are regular files it made" \
		"$(stat -c '%F' "$LOGD/audit.jsonl" "$LOGD/events.jsonl" | tr '\n' ,)" \
		'^regular (empty )?file,regular (empty )?file,$'
	check "smtpgatectl reaches it" lab_daemon_ctl "$NAME" status
	lab_daemon_stop "$NAME"
	check_eq "it stops cleanly" "$LAB_DAEMON_RC" 0
else
	not_ok "all fixed: the daemon starts" "$(lab_daemon_log "$NAME" --run)"
fi

tap_done

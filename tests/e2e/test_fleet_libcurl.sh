#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# libcurl is loaded only with a fleet store (userspace/lib/store/curl_dl.c):
#   - smtpgated does not link it (no libcurl among what ld.so loads);
#   - without a store, a running daemon has not mapped it, and starts
#     even where libcurl.so.4 cannot be loaded at all;
#   - with a store, where it cannot be loaded, the daemon refuses to
#     start, naming libcurl.so.4 and what dlerror() said, as it refuses
#     for any other store set-up error (same exit status, same
#     "fleet store: " error line, no pins left behind).
# libcurl is made unloadable for the daemon alone: in a mount namespace
# of its own (unshare -m), /dev/null is bind-mounted over the file, so
# dlopen finds it and fails ("file too short").  The store mapped when
# it is used: test_fleet_gateways.sh.
#
# Lab: one namespace, no interfaces (nothing is enforced).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

e2e_init 90
[ -x "$SMTPGATED" ] || tap_bail "$SMTPGATED is missing (make BUILD=${BUILD##*/})"
command -v unshare >/dev/null || tap_bail "unshare is missing (util-linux)"
command -v jq >/dev/null || tap_bail "jq is missing"
LIBCURL=$(ldconfig -p | awk '$1 == "libcurl.so.4" { print $NF; exit }')
[ -n "$LIBCURL" ] || tap_bail "libcurl.so.4 is not installed (libcurl4): nothing to compare with"
LIBCURL=$(readlink -f "$LIBCURL")

lab_ns gw >/dev/null
NAME=curl
lab_daemon_config "$NAME"
lab_daemon_paths "$NAME" >/dev/null
CONFIG="$LAB_DAEMON_CONFIG"
PIN="$LAB_DAEMON_PIN_DIR"
cp "$CONFIG" "$CONFIG.nostore"

# nocurl: the daemon runs with libcurl.so.4 unloadable.
NOCURL=(unshare -m --propagation private sh -c 'mount --bind /dev/null "$0" && exec "$@"' "$LIBCURL")

# with_store [PASSWORD_FILE]: the config with a store (etcd need not
# answer: both failures come before any request).
with_store() {
	jq --arg pw "${1:-}" '.store = {gateway: "gw1", etcd: {
		endpoints: ["https://127.0.0.1:9"], prefix: "/smtpgate/t/"}}
		| if $pw != "" then .store.etcd.username = "u" | .store.etcd.password_file = $pw
		  else . end' "$CONFIG.nostore" >"$CONFIG"
}

check_eq "smtpgated does not link libcurl (ldd)" \
	"$(ldd "$SMTPGATED" | grep -cE 'libcurl|libssh2|libldap|libkrb5|libnghttp2|librtmp')" 0

# ---- no store -------------------------------------------------------------

cp "$CONFIG.nostore" "$CONFIG"
if lab_daemon_start gw "$NAME"; then
	ok "without a store: smtpgated starts"
	check_eq "... and has not mapped libcurl" \
		"$(grep -c libcurl "/proc/$(lab_daemon_pid "$NAME")/maps")" 0
	lab_daemon_stop "$NAME" 5 >/dev/null 2>&1
else
	not_ok "without a store: smtpgated starts" "$(lab_daemon_log "$NAME" --run | tail -5)"
fi

LAB_DAEMON_WRAPPER=("${NOCURL[@]}")
if lab_daemon_start gw "$NAME"; then
	ok "without a store, libcurl.so.4 unloadable: smtpgated starts all the same"
	lab_daemon_stop "$NAME" 5 >/dev/null 2>&1
else
	not_ok "without a store, libcurl.so.4 unloadable: smtpgated starts all the same" \
		"$(lab_daemon_log "$NAME" --run | tail -5)"
fi
LAB_DAEMON_WRAPPER=()
lab_daemon_detach gw "$NAME" >/dev/null 2>&1
rm -rf "$PIN"

# ---- a store, libcurl unloadable ------------------------------------------

# refused WHAT REGEX: the daemon must not start; its log must match;
# sets RC to its exit status.
refused() {
	local out

	RC=""
	if lab_daemon_start gw "$NAME" 2>/dev/null; then
		not_ok "$1: refused to start" "it started; its log: $(lab_daemon_log "$NAME" --run)"
		lab_daemon_stop "$NAME" 5 >/dev/null 2>&1
		return 1
	fi
	RC=$LAB_DAEMON_RC
	out=$(lab_daemon_log "$NAME" --run)
	tap_diag "$(grep 'error:' <<<"$out")"
	check_match "$1: refused to start, saying why" "$out" "$2"
}

# Another store set-up error, for comparison: a password file missing.
with_store "$LAB_DAEMON_DIR/no-such-password"
refused "a store whose password file is missing" \
	"error: fleet store: store\\.etcd\\.password_file: $LAB_DAEMON_DIR/no-such-password: No such file"
rc_password=$RC
check "... no pins were left" test ! -e "$PIN/maps"

with_store
LAB_DAEMON_WRAPPER=("${NOCURL[@]}")
refused "a store, libcurl.so.4 unloadable" \
	"error: fleet store: cannot load libcurl\\.so\\.4, which the fleet store's etcd client needs \\(Debian: install libcurl4\\): [^ ]*libcurl\\.so\\.4: file too short"
LAB_DAEMON_WRAPPER=()
check_eq "... with the exit status of any store set-up error ($rc_password)" "$RC" "$rc_password"
check "... no pins were left" test ! -e "$PIN/maps"

tap_done

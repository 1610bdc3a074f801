# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash disable=SC2034 # the CTL_* variables are for the suites
#
# Helpers for the smtpgatectl suites (tests/e2e/test_ctl_*.sh): a lab with
# a gateway, and an smtpgated of the test's own in it, run through the
# lab's daemon library (scripts/lab/daemon.sh): its own config, policy,
# state, log and pin dirs and control socket, unique per run, all
# removed at exit (lab trap).  Sources tests/e2e/lib.sh (TAP, lab).
#
#   . "$(dirname "$0")/ctl_lib.sh"
#   ctl_init 60                 # e2e_init + binaries + the daemon's paths
#   ctl_topology                # app --- gw (XDP on srv0) --- relay:25
#   ctl_write_config            # config + policy ($CTL_POLICY_JSON)
#   ctl_start                   # daemon in gw, waits until it answers
#   ctl trust list              # smtpgatectl --socket <ours> ...
#   ctl_stop | ctl_kill9
#
#   app   eth0 198.18.1.5/24 (also .6 .7)  default via 198.18.1.1
#   gw    srv0 198.18.1.1/24 (XDP)  up0 198.18.0.1/24  forwarding
#   relay eth0 198.18.0.25/24  listens on 25  default via 198.18.0.1

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

SGD="$SMTPGATED"
CTL="$SMTPGATECTL"
CTL_NAME=ctl     # the daemon's name in daemon.sh
CTL_DIR=""       # its scratch dir (config, policy, state/, log/, run/); free for the test's files too
CTL_CONFIG=""
CTL_POLICY=""
CTL_SOCK=""
CTL_PIN=""
CTL_STATE=""
CTL_LOG=""
SGD_PID=""
CTL_ADMIN_GROUP=""
CTL_READ_GROUP=""

# The default test policy: the server subnet governed, one relay group,
# two rate classes, one static entry (198.18.1.200).
CTL_POLICY_JSON='{
  "scope": ["198.18.1.0/24", "2001:db8:1::/64"],
  "relays": {
    "internal": [{"addr": "198.18.0.25", "ports": [25]}],
    "backup": [{"addr": "198.18.0.26"}]
  },
  "rate_classes": {
    "default": {"conn_per_sec": 1000, "conn_burst": 1000},
    "bulk": {"conn_per_sec": 5000, "conn_burst": 5000}
  },
  "unregistered": {"action": "drop"},
  "trusted": [
    {"addr": "198.18.1.200", "relays": ["internal"], "ticket": "POL-1",
     "owner": "static-app"}
  ]
}'

# ctl_init [DEADLINE_S]
ctl_init() {
	e2e_init "${1:-60}"
	local b

	for b in "$SGD" "$CTL"; do
		[ -x "$b" ] || tap_bail "$b is missing (make BUILD=${BUILD##*/})"
	done
	command -v jq >/dev/null || tap_bail "jq is missing"
	# Group names nobody has: the permission suite makes real ones.
	CTL_ADMIN_GROUP="${CTL_ADMIN_GROUP:-${LAB_PREFIX}a}"
	CTL_READ_GROUP="${CTL_READ_GROUP:-${LAB_PREFIX}r}"
	# daemon.sh makes the scratch dirs traversable, not listable: other
	# users (the permission suite) reach the socket.
	ctl_config
	lab_daemon_paths "$CTL_NAME" >/dev/null
	CTL_DIR="$LAB_DAEMON_DIR"
	CTL_CONFIG="$LAB_DAEMON_CONFIG"
	CTL_POLICY="$LAB_DAEMON_POLICY"
	CTL_STATE="$LAB_DAEMON_STATE_DIR"
	CTL_LOG="$LAB_DAEMON_LOG_DIR"
	CTL_SOCK="$LAB_DAEMON_SOCKET"
	CTL_PIN="$LAB_DAEMON_PIN_DIR"
}

# The host config: XDP on srv0, no metrics, our groups.
ctl_config() {
	lab_daemon_config "$CTL_NAME" if=srv0:xdp:auto metrics=off \
		"admin_group=$CTL_ADMIN_GROUP" "read_group=$CTL_READ_GROUP"
}

# ctl_topology: app --- gw --- relay, as drawn above.
ctl_topology() {
	local h

	for h in app gw relay; do
		lab_ns "$h" >/dev/null
	done
	lab_link gw srv0 app eth0
	lab_link gw up0 relay eth0
	# XDP on srv0 may send frames back to its peer: give it NAPI.
	lab_napi app eth0
	lab_addr gw srv0 198.18.1.1/24
	lab_addr gw up0 198.18.0.1/24
	lab_forwarding gw
	for h in 5 6 7; do
		lab_addr app eth0 "198.18.1.$h/24"
	done
	lab_addr relay eth0 198.18.0.25/24
	lab_route app default 198.18.1.1
	lab_route relay default 198.18.0.1
	lab_tcp_listen relay 198.18.0.25 25 "220 relay" || tap_bail "relay does not listen"
}

# ctl_try SRC: a TCP connection from app (source address SRC) to the
# relay's port 25; prints lab_tcp_try-style "connected ..." / "timeout ...".
ctl_try() {
	local t0 out rc

	t0=$(lab_now_ms)
	out=$(lab_exec app timeout -k 1 4 socat -u -T 1 \
		"TCP4:198.18.0.25:25,bind=$1,connect-timeout=1" STDOUT 2>&1 </dev/null)
	rc=$?
	out="${out//$'\r'/}"
	if [ "$rc" -eq 0 ] && [[ "$out" == "220 relay"* ]]; then
		echo "connected $(($(lab_now_ms) - t0)) $out"
		return 0
	fi
	echo "failed $(($(lab_now_ms) - t0)) rc=$rc ${out//$'\n'/ }"
	return 1
}

# ctl_write_config [POLICY_JSON]: host config and policy for our daemon.
ctl_write_config() {
	lab_daemon_policy "$CTL_NAME" - <<<"${1:-$CTL_POLICY_JSON}"
	ctl_config
}

# ctl CMD...: smtpgatectl on our daemon's socket.
ctl() {
	"$CTL" --socket "$CTL_SOCK" "$@"
}

# ctl_up DEADLINE_S: what most ctl tests start with: the lab, the
# topology, the daemon's config, and the daemon running (or bail).
ctl_up() {
	ctl_init "$1"
	ctl_topology
	ctl_write_config
	ctl_start || tap_bail "smtpgated does not start"
}

# ctl_start [VAR=VALUE...]: starts smtpgated in gw (with the environment
# given) and waits (10 s at most) until it runs and answers `status`.
# Sets SGD_PID.
ctl_start() {
	local i rc=0

	LAB_DAEMON_WRAPPER=()
	[ $# -gt 0 ] && LAB_DAEMON_WRAPPER=(env "$@")
	lab_daemon_start gw "$CTL_NAME" || rc=1
	LAB_DAEMON_WRAPPER=()
	SGD_PID=$(lab_daemon_pid "$CTL_NAME")
	if [ "$rc" = 0 ]; then
		# "running:" is logged once the socket listens; a bounded check.
		for ((i = 0; i < 100; i++)); do
			ctl status >/dev/null 2>&1 && return 0
			lab_daemon_running "$CTL_NAME" || break
			sleep 0.05
		done
	fi
	tap_diag "smtpgated did not come up; its log:" "$(lab_daemon_log "$CTL_NAME" --run | tail -20)"
	return 1
}

# ctl_wait_exit SECONDS: waits for our daemon to exit; prints its status
# (or "running" if it did not exit in time).  Works in $(...) too: the
# status is the one bash already collected for its child.
ctl_wait_exit() {
	if ! lab_daemon_reap "$CTL_NAME" "$1"; then
		echo running
		return 1
	fi
	echo "$LAB_DAEMON_RC"
} 2>/dev/null

# ctl_stop: SIGTERM, as systemd stops it (SIGKILL after 5 s).
ctl_stop() {
	lab_daemon_stop "$CTL_NAME" 5 >/dev/null 2>&1
	return 0
}

# ctl_kill9: no goodbye.
ctl_kill9() {
	lab_daemon_kill9 "$CTL_NAME" >/dev/null 2>&1
	return 0
}

# ctl_audit_count JQ_FILTER: audit.jsonl records matching a jq select().
ctl_audit_count() {
	[ -f "$CTL_LOG/audit.jsonl" ] || { echo 0; return; }
	jq -c "select($1)" "$CTL_LOG/audit.jsonl" | wc -l
}

# ctl_approvals_doc: the approvals on disk, as one approvals.json
# document: approvals.json with approvals.journal applied in order (an
# "add" replaces the approval of its prefix, a "del" removes it).
ctl_approvals_doc() {
	local a="$CTL_STATE/approvals.json" j="$CTL_STATE/approvals.journal"

	{
		if [ -f "$a" ]; then cat "$a"; else echo '{"version": 1, "approvals": []}'; fi
		if [ -f "$j" ]; then cat "$j"; fi
	} | jq -cs 'reduce .[1:][] as $r (.[0];
		.approvals |= (map(select(.addr != ($r.approval.addr // $r.addr)))
			+ (if $r.op == "add" then [$r.approval] else [] end)))'
}

# ctl_prefixes: the prefixes `trust list` shows, one line, space-separated.
ctl_prefixes() {
	ctl --json trust list | jq -r '[.[].prefix] | join(" ")'
}

# ctl_make_reader: real groups for the daemon's admin and read groups
# (throwaway names) and one user in the read group, CTL_READER; all
# removed at exit.  Call after ctl_init, before ctl_write_config.
CTL_READER=""
ctl_make_reader() {
	CTL_READER="${LAB_PREFIX}ur"
	local g

	for g in "$CTL_ADMIN_GROUP" "$CTL_READ_GROUP"; do
		lab_on_exit ctl_retry groupdel "$g"
		ctl_retry groupadd -r "$g" || tap_bail "groupadd $g"
	done
	ctl_add_reader "$CTL_READER"
}

# ctl_add_reader NAME: one more user in the read group (after
# ctl_make_reader), removed at exit.
ctl_add_reader() {
	lab_on_exit ctl_retry userdel "$1"
	ctl_retry useradd -r -M -N -s /usr/sbin/nologin -G "$CTL_READ_GROUP" "$1" ||
		tap_bail "useradd $1"
}

# ctl_retry CMD...: concurrent runs contend for the lock of /etc/passwd.
ctl_retry() {
	local i

	for ((i = 0; i < 20; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.$((RANDOM % 5 + 1))
	done
	"$@"
}

# ctl_as USER CMD...: CMD with USER's uid, primary gid and groups.
ctl_as() {
	local u="$1"

	shift
	setpriv --reuid "$u" --regid "$(id -g "$u")" --init-groups -- "$@"
}

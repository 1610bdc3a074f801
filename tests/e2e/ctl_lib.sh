# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Helpers for the smtpgatectl suites (tests/e2e/test_ctl_*.sh): a lab with
# a gateway, and an smtpgated of the test's own in it: its own config,
# policy, state, log and pin dirs and control socket, unique per run, all
# removed at exit (lab trap).  Sources tests/e2e/lib.sh (TAP, lab).
#
#   . "$(dirname "$0")/ctl_lib.sh"
#   ctl_init 60                 # e2e_init + binaries + scratch dirs
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

SGD="$BUILD/smtpgated"
CTL="$BUILD/smtpgatectl"
CTL_DIR=""       # scratch root: etc/ state/ log/ run/
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
	# Other users (the permission suite) must reach the socket's
	# directory: the scratch dir is traversable, not listable.
	chmod 0711 "$LAB_DIR"
	CTL_DIR="$LAB_DIR/ctl"
	mkdir -p "$CTL_DIR/etc" && chmod 0755 "$CTL_DIR" "$CTL_DIR/etc" ||
		tap_bail "cannot make $CTL_DIR"
	CTL_CONFIG="$CTL_DIR/etc/smtpgate.json"
	CTL_POLICY="$CTL_DIR/etc/policy.json"
	CTL_STATE="$CTL_DIR/state"
	CTL_LOG="$CTL_DIR/log"
	CTL_SOCK="$CTL_DIR/run/control.sock"
	CTL_PIN=$(lab_pin_dir ctl)
	# Group names nobody has: the permission suite makes real ones.
	CTL_ADMIN_GROUP="${CTL_ADMIN_GROUP:-${LAB_PREFIX}a}"
	CTL_READ_GROUP="${CTL_READ_GROUP:-${LAB_PREFIX}r}"
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
	printf '%s\n' "${1:-$CTL_POLICY_JSON}" >"$CTL_POLICY"
	cat >"$CTL_CONFIG" <<-EOF
	{
	  "policy": "$CTL_POLICY",
	  "interfaces": [{"name": "srv0", "hook": "xdp", "xdp_mode": "auto"}],
	  "metrics": {"listen": "off"},
	  "control": {"socket": "$CTL_SOCK", "admin_group": "$CTL_ADMIN_GROUP",
	              "read_group": "$CTL_READ_GROUP"},
	  "paths": {"pin_dir": "$CTL_PIN", "state_dir": "$CTL_STATE", "log_dir": "$CTL_LOG"}
	}
	EOF
	chmod 0644 "$CTL_POLICY" "$CTL_CONFIG"
}

# ctl CMD...: smtpgatectl on our daemon's socket.
ctl() {
	"$CTL" --socket "$CTL_SOCK" "$@"
}

# ctl_start [VAR=VALUE...]: starts smtpgated in gw (with the environment
# given) and waits (10 s at most) until it answers `status`.  Sets SGD_PID.
ctl_start() {
	local i

	lab_bg gw env "$@" "$SGD" --config "$CTL_CONFIG" --test-mode >/dev/null
	SGD_PID="$LAB_LAST_PGID"
	for ((i = 0; i < 200; i++)); do
		ctl status >/dev/null 2>&1 && return 0
		kill -0 "$SGD_PID" 2>/dev/null || break
		sleep 0.05
	done
	tap_diag "smtpgated did not come up; its log:" "$(tail -20 "$LAB_DIR/bg.log")"
	return 1
}

# ctl_wait_exit SECONDS: waits for our daemon to exit; prints its status.
# (stderr is silenced: bash reports a killed background job there.)
ctl_wait_exit() {
	local i

	for ((i = 0; i < $1 * 20; i++)); do
		kill -0 "$SGD_PID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$SGD_PID"
	echo $?
} 2>/dev/null

# ctl_stop: SIGTERM, as systemd stops it.
ctl_stop() {
	kill -TERM "$SGD_PID" 2>/dev/null
	ctl_wait_exit 5 >/dev/null
}

# ctl_kill9: no goodbye.
ctl_kill9() {
	kill -KILL "$SGD_PID" 2>/dev/null
	ctl_wait_exit 5 >/dev/null
}

# ctl_audit_count JQ_FILTER: audit.jsonl records matching a jq select().
ctl_audit_count() {
	[ -f "$CTL_LOG/audit.jsonl" ] || { echo 0; return; }
	jq -c "select($1)" "$CTL_LOG/audit.jsonl" | wc -l
}

# ctl_prefixes: the prefixes `trust list` shows, one line, space-separated.
ctl_prefixes() {
	ctl --json trust list | jq -r '[.[].prefix] | join(" ")'
}

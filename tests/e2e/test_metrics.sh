#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgated's /metrics, textfile output, alert rules and dashboard.
#
#   app  eth0 198.18.1.5 (trusted), 198.18.1.6 (not), 198.18.1.7 (approved later)
#    |
#   gw   srv0 198.18.1.1 2001:db8:1::1  <- XDP; smtpgated, /metrics on 198.18.1.1:9725
#    |   up0  198.18.0.1
#   relay eth0 198.18.0.25, listens on 25
#
# The daemon runs in gw with its own config, state, log and pin dir
# (--test-mode), started and stopped through the lab's daemon library
# (scripts/lab/daemon.sh); everything is scraped from inside gw with curl.
#   1. the scrape passes `promtool check metrics`, every stable metric (docs/metrics.md) has
#      HELP and TYPE, labelled series start at 0 for exactly the
#      combinations that can occur, label values are escaped;
#   2. known traffic gives exact counts: 3 single-SYN attempts from an
#      untrusted source -> drop/untrusted_source 3; one trusted connection
#      -> pass/trusted 1; the source shows in the top sources;
#   3. an approval made over the control socket shows (approvals, expiry);
#      a refused reload counts, a good one moves generation and timestamp;
#   4. abuse: 404, 405 with Allow, a 1 MiB header, 200 slow connections;
#      meanwhile /metrics, enforcement and the control socket answer,
#      the per-IP limit holds and idle connections are timed out;
#   5. the textfile is valid and replaced atomically (rename: new inode,
#      never a partial file);
#   6. a restart (listening on IPv6 now) continues the counters;
#      "off" serves nothing while the textfile is still written;
#   7. docs/monitoring: promtool check/test rules, the dashboard is JSON.
#
# Runs as root; BUILD selects the build dir.
set -uo pipefail

. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

SGD="$SMTPGATED"
SGCTL="$SMTPGATECTL"
NAME=metrics    # the daemon's name in daemon.sh
MON="$E2E_REPO/docs/monitoring"
URL4="http://198.18.1.1:9725"
URL6="http://[2001:db8:1::1]:9725"
PER_IP_LIMIT=8          # HTTP_MAX_PER_IP in userspace/daemon/metrics.c
IDLE_TIMEOUT=10         # HTTP_IDLE_TIMEOUT_S
TEXTFILE_INTERVAL=5     # TEXTFILE_INTERVAL_S
EXPIRES_POLICY=2208988800   # 2040-01-01T00:00:00Z: after the approval's
EXPIRES_APPROVAL=1927857906 # 2031-02-03T04:05:06Z
STABLE_METRICS=(
	"smtpgate_packets_total counter"
	"smtpgate_bytes_total counter"
	"smtpgate_connections_total counter"
	"smtpgate_source_packets_total counter"
	"smtpgate_trusted_prefixes gauge"
	"smtpgate_bans_active gauge"
	"smtpgate_policy_generation gauge"
	"smtpgate_policy_reload_failures_total counter"
	"smtpgate_policy_last_reload_success_timestamp_seconds gauge"
	"smtpgate_policy_reload_in_progress gauge"
	"smtpgate_policy_last_reload_duration_seconds gauge"
	"smtpgate_approval_expiry_timestamp_seconds gauge"
	"smtpgate_events_lost_total counter"
	"smtpgate_attached gauge"
	"smtpgate_build_info gauge"
)
# Every (verdict, reason) the data plane can count; nothing else may show.
EXPECTED_COMBOS="drop/banned drop/expired drop/fragment drop/malformed drop/rate_limited
drop/unapproved_relay drop/untrusted_source monitor/banned monitor/expired monitor/fragment
monitor/malformed monitor/rate_limited monitor/unapproved_relay monitor/untrusted_source
pass/throttle_allowance pass/trusted reject/untrusted_source"
SRV='interface="srv0",hook="xdp"'

DAEMON=""       # pid of the running smtpgated
STOPPED=""      # exit status of the last stop_daemon

for tool in curl promtool jq socat ss; do
	command -v "$tool" >/dev/null || {
		echo "not ok 1 - set-up: $tool is missing"
		echo "1..1"
		exit 1
	}
done
[ -x "$SGD" ] || {
	echo "not ok 1 - set-up: $SGD is missing (make BUILD=${BUILD##*/})"
	echo "1..1"
	exit 1
}

e2e_init 100

# The daemon's dir: config, policy.json (written by write_policy), state,
# log, socket; the test's own files go there too.
lab_daemon_config "$NAME"
lab_daemon_paths "$NAME" >/dev/null
D="$LAB_DAEMON_DIR"
SOCK="$LAB_DAEMON_SOCKET"
TEXTFILE="$D/textfile/smtpgate.prom"
mkdir -p "$D/textfile"

# ---- the lab ------------------------------------------------------------

build_lab() {
	lab_ns gw >/dev/null
	lab_ns app >/dev/null
	lab_ns relay >/dev/null
	lab_link gw srv0 app eth0
	lab_link gw up0 relay eth0
	lab_addr gw srv0 198.18.1.1/24
	lab_addr gw srv0 2001:db8:1::1/64
	lab_addr gw up0 198.18.0.1/24
	lab_forwarding gw
	lab_addr app eth0 198.18.1.6/24   # primary: the slow clients come from here
	lab_addr app eth0 198.18.1.5/24
	lab_addr app eth0 198.18.1.7/24
	lab_addr relay eth0 198.18.0.25/24
	lab_route app default 198.18.1.1
	lab_route relay default 198.18.0.1
	lab_tcp_serve relay 198.18.0.25 25 "220 relay"
	lab_wait_port relay 198.18.0.25 25 5
}

write_policy() {
	# The ticket holds a quote and a backslash: label escaping.
	lab_daemon_policy "$NAME" - <<-'EOF'
	{
	  "ports": [25],
	  "scope": ["198.18.1.0/24"],
	  "relays": {"internal": [{"addr": "198.18.0.25"}]},
	  "unregistered": {"action": "drop"},
	  "trusted": [
	    {"addr": "198.18.1.5", "relays": ["internal"], "ticket": "CHG-\"7\"\\x",
	     "owner": "tests", "expires": "2040-01-01T00:00:00Z"}
	  ]
	}
	EOF
}

# write_config LISTEN: srv0 (XDP) and a configured interface that does
# not exist, its name needing escapes (up"0\x); top 5 sources; one entry
# listed with its expiry; the textfile.
write_config() {
	lab_daemon_config "$NAME" if=srv0:xdp:auto 'if=up"0\x:tc-egress' "metrics=$1" \
		top_sources=5 expiry_series=1 "textfile=$TEXTFILE"
}

# start_daemon LISTEN: starts smtpgated and waits until it runs.
start_daemon() {
	write_config "$1"
	if ! lab_daemon_start gw "$NAME" 2>/dev/null; then
		tap_diag "$(lab_daemon_log "$NAME" --run | tail -20)"
		return 1
	fi
	DAEMON=$(lab_daemon_pid "$NAME")
}

daemon_alive() {
	lab_daemon_running "$NAME"
}

# stop_daemon: SIGTERM; sets STOPPED to the exit status (or "hung" if it
# had to be killed after 5 s).  Not in $(...): only this shell can wait
# for its child.
stop_daemon() {
	if ! daemon_alive; then
		STOPPED="not running"
		return
	fi
	lab_daemon_stop "$NAME" 5 2>/dev/null
	STOPPED=$LAB_DAEMON_RC
	[ "$STOPPED" = 124 ] && STOPPED=hung
}

# ---- scraping -----------------------------------------------------------

# scrape [BASE_URL]: the /metrics text (curl's exit status).
scrape() {
	lab_exec gw curl -sS --max-time 5 "${1:-$URL4}/metrics"
}

# value TEXT SERIES: the value of exactly SERIES (name{labels}), or "absent".
value() {
	# Through the environment: awk -v would interpret the backslashes.
	SERIES="$2" awk '$1 == ENVIRON["SERIES"] { v = $2; found = 1 }
		END { print found ? v : "absent" }' <<<"$1"
}

# wait_value SERIES WANT [BASE_URL]: scrapes until SERIES is WANT (at most
# 3 s: a rendering is reused for up to a second).  GOT holds the last value.
wait_value() {
	local i text

	for ((i = 0; i < 30; i++)); do
		text=$(scrape "${3:-$URL4}")
		GOT=$(value "$text" "$1")
		[ "$GOT" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

check_value() {
	if wait_value "$2" "$3" "${4:-$URL4}"; then
		ok "$1"
	else
		not_ok "$1" "$2: got '$GOT', want '$3'"
	fi
}

# http_code ARGS...: curl's status code for a request to gw (000: none).
http_code() {
	lab_exec gw curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"
}

# ---- traffic ------------------------------------------------------------

# syn_once SRC: one connection attempt to the relay from SRC that sends
# exactly one SYN: it gives up after 0.5 s, before the first retransmit
# (1 s), and closing a socket in SYN-SENT sends nothing.
syn_once() {
	lab_exec app timeout 3 socat -u OPEN:/dev/null \
		"TCP4:198.18.0.25:25,bind=$1,connect-timeout=0.5" >/dev/null 2>&1
}

# connect_from SRC: a full connection; prints the relay's banner.
connect_from() {
	lab_exec app timeout 5 socat -u -T 2 \
		"TCP4:198.18.0.25:25,bind=$1,connect-timeout=2" STDOUT 2>&1 | tr -d '\r'
}

# control REQUEST_JSON: the daemon's reply on the control socket.
control() {
	printf '%s\n' "$1" | timeout 5 socat -t 5 - "UNIX-CONNECT:$SOCK" 2>&1
}

# ---- 1. format -----------------------------------------------------------

check_format() {
	local text combos expected missing="" entry name type hdr

	hdr=$(lab_exec gw curl -sS -D - -o /dev/null --max-time 5 "$URL4/metrics" | tr -d '\r')
	check_match "GET /metrics: 200 with the text format's content type" "$hdr" \
		"^HTTP/1.1 200 .*Content-Type: text/plain; version=0.0.4"
	text=$(scrape)
	printf '%s\n' "$text" >"$D/scrape1.txt"
	check "promtool check metrics accepts the scrape" \
		promtool check metrics <"$D/scrape1.txt"
	for entry in "${STABLE_METRICS[@]}"; do
		read -r name type <<<"$entry"
		grep -q "^# HELP $name " <<<"$text" && grep -qx "# TYPE $name $type" <<<"$text" ||
			missing+=" $name"
	done
	check_eq "every stable metric (docs/metrics.md) has HELP and TYPE (right type)" "${missing# }" ""
	# shellcheck disable=SC2086 # one word per combination
	expected=$(printf '%s\n' $EXPECTED_COMBOS | sort | paste -sd ' ')
	for name in smtpgate_packets_total smtpgate_bytes_total smtpgate_connections_total; do
		combos=$(grep "^$name{$SRV," <<<"$text" |
			sed -E 's/.*verdict="([a-z_]+)",reason="([a-z_]+)".*/\1\/\2/' | sort |
			paste -sd ' ')
		check_eq "$name: a series per possible verdict/reason, no other" "$combos" "$expected"
	done
	check_eq "zero-initialised: reject/untrusted_source connections 0" \
		"$(value "$text" "smtpgate_connections_total{$SRV,verdict=\"reject\",reason=\"untrusted_source\"}")" 0
	check_eq "zero-initialised: monitor/malformed packets 0" \
		"$(value "$text" "smtpgate_packets_total{$SRV,verdict=\"monitor\",reason=\"malformed\"}")" 0
	check_match "smtpgate_attached: srv0 xdp native or generic, 1" \
		"$(grep '^smtpgate_attached{interface="srv0"' <<<"$text")" \
		'^smtpgate_attached\{interface="srv0",hook="xdp",mode="(native|generic)"\} 1$'
	# A configured interface that does not exist: listed, not attached,
	# its name escaped, TC's mode empty; no counters (it has no slot).
	check_eq "a configured but absent interface: smtpgate_attached 0, name escaped" \
		"$(value "$text" 'smtpgate_attached{interface="up\"0\\x",hook="tc-egress",mode=""}')" 0
	check_eq "... and no counters for it" "$(grep -c '^smtpgate_[a-z]*_total{interface="up' <<<"$text")" 0
	check_eq "smtpgate_trusted_prefixes 1" "$(value "$text" smtpgate_trusted_prefixes)" 1
	check_eq "smtpgate_policy_generation 1 on a fresh pin dir" \
		"$(value "$text" smtpgate_policy_generation)" 1
	check_eq "smtpgate_policy_mode{mode=\"enforce\"} 1" \
		"$(value "$text" 'smtpgate_policy_mode{mode="enforce"}')" 1
	check_eq "expiry of the policy entry, ticket label escaped" \
		"$(value "$text" 'smtpgate_approval_expiry_timestamp_seconds{prefix="198.18.1.5",ticket="CHG-\"7\"\\x"}')" \
		"$EXPIRES_POLICY"
	check_eq "smtpgate_expiring_entries 1" "$(value "$text" smtpgate_expiring_entries)" 1
	check_cmp "last reload success is a recent unix time" \
		"$(value "$text" smtpgate_policy_last_reload_success_timestamp_seconds)" -ge \
		"$(($(date +%s) - 60))"
	check_match "smtpgate_build_info carries version and libbpf" \
		"$(grep '^smtpgate_build_info' <<<"$text")" \
		'^smtpgate_build_info\{version="[^"]+",libbpf="[^"]+"\} 1$'
	check_eq "GET / is a page linking /metrics" \
		"$(lab_exec gw curl -sS --max-time 5 "$URL4/" | grep -c 'href="/metrics"')" 1
}

# ---- 2. exact counts -----------------------------------------------------

check_counts() {
	local banner

	for _ in 1 2 3; do
		syn_once 198.18.1.6
	done
	check_value "3 single-SYN attempts from an untrusted source: drop/untrusted_source connections 3" \
		"smtpgate_connections_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}" 3
	check_value "... and exactly 3 packets" \
		"smtpgate_packets_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}" 3
	check_value "... bytes: 3 SYNs of 60 IP bytes" \
		"smtpgate_bytes_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}" 180
	banner=$(connect_from 198.18.1.5)
	check_eq "the trusted source reaches the relay" "$banner" "220 relay"
	check_value "one trusted connection: pass/trusted connections 1" \
		"smtpgate_connections_total{$SRV,verdict=\"pass\",reason=\"trusted\"}" 1
	check_value "top sources: 198.18.1.6 with 3 dropped packets" \
		'smtpgate_source_packets_total{source="198.18.1.6",verdict="drop"}' 3
	check_value "top sources: 198.18.1.6 with 0 passed (every verdict shown)" \
		'smtpgate_source_packets_total{source="198.18.1.6",verdict="pass"}' 0
	check_value "top sources: 198.18.1.6's 3 drops, all untrusted_source" \
		'smtpgate_source_blocked_packets_total{source="198.18.1.6",reason="untrusted_source"}' 3
	check_value "top sources: 198.18.1.5 passed one connection" \
		'smtpgate_source_connections_total{source="198.18.1.5"}' 1
	check_value "top sources: 198.18.1.6 passed no connection" \
		'smtpgate_source_connections_total{source="198.18.1.6"}' 0
	check_value "top sources: 198.18.1.6 passed no byte" \
		'smtpgate_source_bytes_total{source="198.18.1.6"}' 0
	check_value "smtpgate_sources_tracked 2" smtpgate_sources_tracked 2
}

# ---- 3. approvals --------------------------------------------------------

check_approval() {
	local reply

	reply=$(control '{"command": "trust.add", "args": {"prefix": "198.18.1.7", "relays": ["internal"], "ticket": "CHG-9", "owner": "tests", "expires": "2031-02-03T04:05:06Z"}}')
	check_match "control socket: trust.add 198.18.1.7 succeeds" "$reply" '"ok": ?true'
	check_value "the approval's expiry shows with its ticket" \
		'smtpgate_approval_expiry_timestamp_seconds{prefix="198.18.1.7",ticket="CHG-9"}' \
		"$EXPIRES_APPROVAL"
	check_value "smtpgate_expiring_entries 2" smtpgate_expiring_entries 2
	# metrics.expiry_series 1: the sooner of the two only.
	check_eq "expiry_series 1: the policy entry, which expires later, is no longer listed" \
		"$(grep -c '^smtpgate_approval_expiry_timestamp_seconds{' <<<"$(scrape)")" 1
	check_value "smtpgate_approvals 1" smtpgate_approvals 1
	check_value "smtpgate_trusted_prefixes 2" smtpgate_trusted_prefixes 2
	# An approval that never expires changes the counts only (the list
	# of expiries is kept, not rebuilt): added, then removed.
	reply=$(control '{"command": "trust.add", "args": {"prefix": "198.18.1.8", "relays": ["internal"], "ticket": "CHG-10", "owner": "tests"}}')
	check_match "control socket: trust.add 198.18.1.8 (no expiry) succeeds" "$reply" '"ok": ?true'
	check_value "... smtpgate_approvals 2" smtpgate_approvals 2
	check_value "... smtpgate_trusted_prefixes 3" smtpgate_trusted_prefixes 3
	check_value "... smtpgate_expiring_entries still 2" smtpgate_expiring_entries 2
	check_value "... the approval's expiry still shows" \
		'smtpgate_approval_expiry_timestamp_seconds{prefix="198.18.1.7",ticket="CHG-9"}' \
		"$EXPIRES_APPROVAL"
	reply=$(control '{"command": "trust.del", "args": {"prefix": "198.18.1.8", "ticket": "CHG-10-END"}}')
	check_match "control socket: trust.del 198.18.1.8 succeeds" "$reply" '"ok": ?true'
	check_value "... smtpgate_approvals 1 again" smtpgate_approvals 1
	check_value "... smtpgate_trusted_prefixes 2 again" smtpgate_trusted_prefixes 2
	# One that expires sooner takes the single listed place without a
	# pass over the policy; removed, a pass lists the one after it.
	reply=$(control '{"command": "trust.add", "args": {"prefix": "198.18.1.9", "relays": ["internal"], "ticket": "CHG-11", "owner": "tests", "expires": "2030-01-01T00:00:00Z"}}')
	check_match "control socket: trust.add 198.18.1.9 (expires 2030) succeeds" "$reply" '"ok": ?true'
	check_value "... it is the one listed" \
		'smtpgate_approval_expiry_timestamp_seconds{prefix="198.18.1.9",ticket="CHG-11"}' \
		"$(date -u -d 2030-01-01T00:00:00Z +%s)"
	check_eq "... alone" "$(grep -c '^smtpgate_approval_expiry_timestamp_seconds{' <<<"$(scrape)")" 1
	check_value "... smtpgate_expiring_entries 3" smtpgate_expiring_entries 3
	reply=$(control '{"command": "trust.del", "args": {"prefix": "198.18.1.9", "ticket": "CHG-11-END"}}')
	check_match "control socket: trust.del 198.18.1.9 succeeds" "$reply" '"ok": ?true'
	check_value "... 198.18.1.7 is listed again" \
		'smtpgate_approval_expiry_timestamp_seconds{prefix="198.18.1.7",ticket="CHG-9"}' \
		"$EXPIRES_APPROVAL"
	check_eq "... alone" "$(grep -c '^smtpgate_approval_expiry_timestamp_seconds{' <<<"$(scrape)")" 1
	check_value "... smtpgate_expiring_entries 2 again" smtpgate_expiring_entries 2
}

check_reload() {
	local gen text

	text=$(scrape)
	gen=$(value "$text" smtpgate_policy_generation)
	cp "$D/policy.json" "$D/policy.good"
	echo '{"ports": [25], "trusted": [{"addr": "10.0.0.300"}]}' >"$D/policy.json"
	kill -HUP "$DAEMON"
	check_value "a refused reload (SIGHUP, invalid policy): reload failures 1" \
		smtpgate_policy_reload_failures_total 1
	check_eq "... the generation stays $gen" \
		"$(value "$(scrape)" smtpgate_policy_generation)" "$gen"
	mv "$D/policy.good" "$D/policy.json"
	sleep 1 # so that the success timestamp moves
	kill -HUP "$DAEMON"
	check_value "a good reload: generation $((gen + 1))" smtpgate_policy_generation $((gen + 1))
	check_cmp "... and a later last-success timestamp" \
		"$(value "$(scrape)" smtpgate_policy_last_reload_success_timestamp_seconds)" -gt \
		"$(value "$text" smtpgate_policy_last_reload_success_timestamp_seconds)"
}

# ---- 4. abuse ------------------------------------------------------------

check_bad_requests() {
	local hdr code

	check_eq "unknown path: 404" "$(http_code "$URL4/nope")" 404
	check_eq "POST /metrics: 405" "$(http_code -X POST -d x=1 "$URL4/metrics")" 405
	hdr=$(lab_exec gw curl -sS -X DELETE -D - -o /dev/null --max-time 5 "$URL4/metrics" |
		tr -d '\r')
	check_match "405 names the allowed methods" "$hdr" $'\nAllow: GET, HEAD'
	check_eq "HEAD /metrics: 200" "$(http_code -I "$URL4/metrics")" 200
	{
		printf 'X-Big: '
		head -c $((17 * 1024)) /dev/zero | tr '\0' a
		printf '\n'
	} >"$D/big-header"
	check_eq "a 17 KiB header: 431" "$(http_code -H "@$D/big-header" "$URL4/metrics")" 431
	# curl will not send a 1 MiB header; bash will.  Same request with a
	# 1 KiB header first, to show the method works.
	check_match "raw request with a 1 KiB header: 200" "$(raw_request 1024)" \
		$'^connected\nHTTP/1.1 200 '
	code=$(raw_request $((1024 * 1024)))
	tap_diag "answer to the 1 MiB header: ${code//$'\n'/ | }"
	check_match "raw request with a 1 MiB header: refused (431, or closed without an answer)" \
		"$code" $'^connected(\nHTTP/1.1 431 [^\n]*)?$'
	check "the daemon is alive after the bad requests" daemon_alive
	check_eq "and /metrics still answers" "$(http_code "$URL4/metrics")" 200
}

# raw_request BYTES: GET /metrics with an X-Big header of BYTES, written
# by bash; prints "connected" and the status line (none if the server
# closed without answering).
raw_request() {
	lab_exec gw timeout 10 bash -c "trap '' PIPE
		exec 3<>/dev/tcp/198.18.1.1/9725 || exit 1
		echo connected
		{
			printf 'GET /metrics HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nX-Big: '
			head -c $1 /dev/zero | tr '\\0' a
			printf '\r\n\r\n'
		} >&3 2>/dev/null
		head -n 1 <&3 2>/dev/null" | tr -d '\r'
}

held_connections() {
	lab_exec gw ss -Htn state established '( sport = :9725 )' | wc -l
}

check_slow_clients() {
	local i n=0 t0 ms reply before after banner

	# 200 connections from app, each sends half a request and stays.
	lab_bg app bash -c "trap '' PIPE; fds=()
		for i in \$(seq 200); do
			exec {fd}<>/dev/tcp/198.18.1.1/9725 || continue
			printf 'GET /metrics HTTP/1.1\r\nHost: gw\r\n' >&\$fd
			fds+=(\$fd)
		done
		echo \"opened \${#fds[@]}\" >'$D/slow.out'
		sleep 30" >/dev/null
	SLOW=$LAB_LAST_PGID
	for ((i = 0; i < 50; i++)); do
		[ -s "$D/slow.out" ] && break
		sleep 0.1
	done
	check_eq "200 slow clients connected" "$(cat "$D/slow.out" 2>/dev/null)" "opened 200"
	sleep 0.3
	n=$(held_connections)
	check_cmp "the server holds at most the per-IP limit ($PER_IP_LIMIT) of them" "$n" -le \
		"$PER_IP_LIMIT"
	check_cmp "... and does hold some (they are real connections)" "$n" -ge 1

	t0=$(lab_now_ms)
	check_eq "meanwhile /metrics answers another client" "$(http_code "$URL4/metrics")" 200
	ms=$(($(lab_now_ms) - t0))
	check_cmp "... within 2 s (${ms} ms)" "$ms" -lt 2000
	before=$(value "$(scrape)" "smtpgate_connections_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}")
	syn_once 198.18.1.6
	check_value "meanwhile enforcement counts a new blocked attempt" \
		"smtpgate_connections_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}" \
		$((before + 1))
	banner=$(connect_from 198.18.1.5)
	check_eq "meanwhile the trusted source still reaches the relay" "$banner" "220 relay"
	reply=$(control '{"command": "status"}')
	check_match "meanwhile the control socket answers status" "$reply" '"ok": ?true'
	if [ -x "$SGCTL" ]; then
		check "meanwhile smtpgatectl status works" \
			timeout 5 "$SGCTL" --socket "$SOCK" status
	else
		ok "meanwhile smtpgatectl status works # SKIP $SGCTL not built yet"
	fi
	check "the daemon is alive" daemon_alive

	# Idle connections are closed after the timeout; nothing is left.
	for ((i = 0; i < 10 * (IDLE_TIMEOUT + 6); i++)); do
		after=$(held_connections)
		[ "$after" -eq 0 ] && break
		sleep 0.1
	done
	check_eq "idle connections are closed after ${IDLE_TIMEOUT}s (none left)" "$after" 0
	lab_stop_group "$SLOW"
	check_eq "after the slow clients /metrics answers" "$(http_code "$URL4/metrics")" 200
}

# ---- 5. textfile ---------------------------------------------------------

check_textfile() {
	local i ino1 ino2="" reads=0 partial=0 content first second

	for ((i = 0; i < 20; i++)); do
		[ -s "$TEXTFILE" ] && break
		sleep 0.1
	done
	check "the textfile exists and passes promtool check metrics" \
		promtool check metrics <"$TEXTFILE"
	check_eq "the textfile is world-readable (0644)" "$(stat -c %a "$TEXTFILE")" 644
	check_match "the textfile has the same metrics" "$(cat "$TEXTFILE")" \
		"smtpgate_connections_total\{$SRV,verdict=\"drop\",reason=\"untrusted_source\"\} [0-9]+"
	ino1=$(stat -c %i "$TEXTFILE")
	# Read it continually until it has been replaced: every read must be
	# a whole file (its last family present), and the inode must change.
	for ((i = 0; i < 40 * (TEXTFILE_INTERVAL + 3); i++)); do
		content=$(<"$TEXTFILE")
		reads=$((reads + 1))
		[[ "$content" == *$'\nsmtpgate_collect_duration_seconds '* ]] || partial=$((partial + 1))
		ino2=$(stat -c %i "$TEXTFILE")
		[ "$ino2" != "$ino1" ] && break
		sleep 0.025
	done
	check_cmp "the textfile is replaced by rename (new inode within $((TEXTFILE_INTERVAL + 3)) s)" \
		"$ino2" -ne "$ino1"
	check_eq "no partial file seen in $reads reads" "$partial" 0
	check "the replacement passes promtool check metrics" promtool check metrics <"$TEXTFILE"
	# A temporary file lives for microseconds: one seen twice was left over.
	first=$(cd "$(dirname "$TEXTFILE")" && ls -1 -- *.tmp.* 2>/dev/null)
	sleep 0.2
	second=$(cd "$(dirname "$TEXTFILE")" && ls -1 -- *.tmp.* 2>/dev/null)
	check_eq "no temporary files left next to it" \
		"$(comm -12 <(echo "$first") <(echo "$second") | sed '/^$/d' | wc -l)" 0
}

# ---- 6. restart, IPv6, off -----------------------------------------------

check_restart() {
	local drops passes text mtime i ino1

	drops=$(value "$(scrape)" "smtpgate_connections_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}")
	passes=$(value "$(scrape)" "smtpgate_connections_total{$SRV,verdict=\"pass\",reason=\"trusted\"}")
	stop_daemon
	check_eq "SIGTERM stops the daemon cleanly (exit 0)" "$STOPPED" 0
	if ! start_daemon "[2001:db8:1::1]:9725"; then
		tap_bail "the daemon did not restart with metrics.listen [2001:db8:1::1]:9725"
	fi
	ok "restarted with metrics.listen on IPv6 [2001:db8:1::1]:9725"
	lab_wait_port gw 2001:db8:1::1 9725 5
	text=$(scrape "$URL6")
	check_eq "after the restart, over IPv6: drop/untrusted_source connections still $drops" \
		"$(value "$text" "smtpgate_connections_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}")" \
		"$drops"
	check_eq "... pass/trusted connections still $passes" \
		"$(value "$text" "smtpgate_connections_total{$SRV,verdict=\"pass\",reason=\"trusted\"}")" \
		"$passes"
	check_eq "... the approval is still listed" \
		"$(value "$text" 'smtpgate_approval_expiry_timestamp_seconds{prefix="198.18.1.7",ticket="CHG-9"}')" \
		"$EXPIRES_APPROVAL"
	syn_once 198.18.1.6
	check_value "... and they keep counting: $((drops + 1))" \
		"smtpgate_connections_total{$SRV,verdict=\"drop\",reason=\"untrusted_source\"}" \
		$((drops + 1)) "$URL6"

	stop_daemon
	check_eq "SIGTERM stops the daemon cleanly again" "$STOPPED" 0
	if ! start_daemon off; then
		tap_bail "the daemon did not start with metrics.listen off"
	fi
	ok "started with metrics.listen off"
	check_eq "nothing listens on 9725" \
		"$(lab_exec gw ss -Hltn '( sport = :9725 )' | wc -l)" 0
	mtime=$(stat -c %Y "$TEXTFILE")
	sleep 1.1
	touch -d "@$mtime" "$TEXTFILE"      # so that the rewrite is visible
	ino1=$(stat -c %i "$TEXTFILE")
	for ((i = 0; i < 10 * (TEXTFILE_INTERVAL + 3); i++)); do
		[ "$(stat -c %i "$TEXTFILE")" != "$ino1" ] && break
		sleep 0.1
	done
	check_cmp "with listen off the textfile is still written" "$(stat -c %i "$TEXTFILE")" \
		-ne "$ino1"
	check "the daemon runs" daemon_alive
}

# ---- 7. alert rules and dashboard ---------------------------------------

check_monitoring_docs() {
	check "promtool check rules docs/monitoring/alerts.yml" \
		promtool check rules "$MON/alerts.yml"
	check "promtool test rules docs/monitoring/alerts_test.yml" \
		promtool test rules "$MON/alerts_test.yml"
	check "promtool check config docs/monitoring/prometheus-fleet.yml" \
		promtool check config "$MON/prometheus-fleet.yml"
	check "docs/monitoring/grafana-dashboard.json is valid JSON" \
		jq -e '.panels | length > 0' "$MON/grafana-dashboard.json"
	check "the dashboard's datasource is a variable" \
		jq -e '[.templating.list[] | select(.type == "datasource")] | length == 1' \
		"$MON/grafana-dashboard.json"
}

# ---- main -----------------------------------------------------------------

check_monitoring_docs
build_lab
write_policy
if ! start_daemon 198.18.1.1:9725; then
	tap_bail "smtpgated did not start (log above)"
fi
lab_wait_port gw 198.18.1.1 9725 5 || tap_bail "nothing listens on 198.18.1.1:9725"
ok "smtpgated runs in gw with /metrics on 198.18.1.1:9725"
check_format
check_counts
check_approval
check_reload
check_bad_requests
check_slow_clients
check_textfile
check_restart
stop_daemon
check_eq "the daemon stops cleanly at the end" "$STOPPED" 0
tap_done

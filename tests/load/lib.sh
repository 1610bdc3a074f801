# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Helpers for the load tests (tests/load/test_*.sh): the e2e TAP helpers
# and namespace lab (tests/e2e/lib.sh), smtpgated in the lab
# (scripts/lab/daemon.sh), and what every load test measures with:
#
#   CONNRATE  real TCP connections at a steady rate, and a deep-backlog
#             listener ($BUILD/tests/load/connrate)
#   FLOODGEN  flood generator: live frames where the kernel allows them,
#             else AF_PACKET ($BUILD/tests/tools/floodgen)
#   SGSTATE   kernel state behind a pin dir: buckets, stats, map sizes,
#             per-CPU split of counters ($BUILD/tests/tools/sgstate)
#
#   . "$(dirname "$0")/lib.sh"
#   load_init 60                  # lab + deadline + binaries present
#   load_gw_build                 # lab_gw_build + a connrate listener on relay:25
#   lab_daemon_config gw if=srv0:xdp:native policy=- <<<"$POLICY"
#   lab_daemon_start gw gw
#   load_connrate app1 198.18.0.25 25 100 5    # sets CR_* (attempted, connected...)
#   check_within "accepted ~ class" "$CR_CONNECTED" 105 10
#   tap_done
#
# All load is bounded: every generator and client takes a duration, and
# the whole test a deadline (load_init).

# Counter snapshots are called before/after here as in tests/e2e, whose
# sg_moved uses local arrays of those names: not the same variables.
# shellcheck disable=SC2178,SC2128

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"
# shellcheck source=tests/lib/floodgen.sh
. "$E2E_REPO/tests/lib/floodgen.sh"

CONNRATE="$BUILD/tests/load/connrate"
FLOODGEN="$BUILD/tests/tools/floodgen"
SGSTATE="$BUILD/tests/tools/sgstate"

# load_init [DEADLINE_S]: e2e_init, after checking every binary is built.
load_init() {
	local b

	for b in "$CONNRATE" "$FLOODGEN" "$SGSTATE" "$SGLOAD" "$SMTPGATED"; do
		if [ ! -x "$b" ]; then
			echo "not ok 1 - set-up: $b is missing (make BUILD=${BUILD##*/})"
			echo "1..1"
			exit 1
		fi
	done
	e2e_init "${1:-100}"
}

# load_gw_build: the standard gateway lab (scripts/lab/gw.sh,
# lab_gw_build: app1, app2 on a bridge behind gw:srv0; relay 198.18.0.25
# and "outside" 198.18.0.99 behind gw:up0) with socat banners on 443
# only, and a connrate listener on port 25 of both relay addresses: it
# accepts with a 4096-deep backlog, so the relay never limits a rate
# test (socat's backlog is 5 and it forks per connection).
load_gw_build() {
	lab_gw_build 443 || return 1
	load_listen relay "${LAB_GW[relay_4]}" 25 || return 1
	load_listen relay "${LAB_GW[outside_4]}" 25
}

# load_listen NS ADDR PORT: a connrate listener, waited for.
load_listen() {
	local port="$3" ep="$2:$3"

	[[ "$2" == *:* ]] && ep="[$2]:$3"
	lab_bg "$1" "$CONNRATE" --listen "$ep" >/dev/null
	lab_wait_port "$1" "$2" "$port" 5
}

# ---- connections ----------------------------------------------------

# load_connrate NS DST PORT RATE DURATION [--bind ADDR] [--cpu N] [--timeout MS]
# Runs connrate in NS and sets CR_ATTEMPTED CR_CONNECTED CR_REFUSED
# CR_TIMEOUT CR_ERROR CR_SECS and CR_PER_SECOND from its output; CR_OUT
# is the whole output.
load_connrate() {
	local ns="$1" dst="$2" port="$3" rate="$4" dur="$5" args=() on_cpu=()

	shift 5
	while [ $# -gt 0 ]; do
		case "$1" in
		--bind) args+=(--bind "$2"); shift 2 ;;
		--timeout) args+=(--timeout "$2"); shift 2 ;;
		--cpu) on_cpu=(taskset -c "$2"); shift 2 ;;
		*) lab_die "load_connrate: unknown option $1" ;;
		esac
	done
	CR_OUT=$(lab_exec "$ns" "${on_cpu[@]}" "$CONNRATE" --connect "$dst:$port" --rate "$rate" \
		--duration "$dur" "${args[@]}" 2>&1)
	load_parse_connrate "$CR_OUT"
}

# load_parse_connrate OUTPUT: sets the CR_* variables from connrate's output.
# shellcheck disable=SC2034 # CR_* are for the callers
load_parse_connrate() {
	CR_OUT="$1"
	local re='attempted ([0-9]+) connected ([0-9]+) refused ([0-9]+) timeout ([0-9]+) error ([0-9]+) in ([0-9.]+) s'

	CR_ATTEMPTED=0 CR_CONNECTED=0 CR_REFUSED=0 CR_TIMEOUT=0 CR_ERROR=0 CR_SECS=0
	CR_PER_SECOND=""
	if [[ "$1" =~ $re ]]; then
		CR_ATTEMPTED=${BASH_REMATCH[1]} CR_CONNECTED=${BASH_REMATCH[2]}
		CR_REFUSED=${BASH_REMATCH[3]} CR_TIMEOUT=${BASH_REMATCH[4]}
		CR_ERROR=${BASH_REMATCH[5]} CR_SECS=${BASH_REMATCH[6]}
	fi
	CR_PER_SECOND=$(sed -n 's/^connrate: per second: *//p' <<<"$1")
}

# ---- checks -----------------------------------------------------------

# check_within NAME GOT WANT PCT: |GOT - WANT| <= PCT % of WANT.
check_within() {
	local name="$1" got="$2" want="$3" pct="$4" diff

	diff=$((got > want ? got - want : want - got))
	if [ $((diff * 100)) -le $((want * pct)) ]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "got $got, want $want +/- $pct %"
	return 1
}

# ---- counters, interfaces, state ------------------------------------

# load_counters NS PIN IF:HOOK: sg_counters (tests/e2e/lib.sh).
load_counters() {
	sg_counters "$1" "$2" "$3"
}

# load_total COUNTERS FIELD: FIELD (packets|bytes|conns) summed over every
# verdict and reason of one sg_counters output.
load_total() {
	local v r p b c sum=0

	while read -r v r p b c; do
		[ -n "$v" ] || continue
		case "$2" in
		packets) sum=$((sum + p)) ;;
		bytes) sum=$((sum + b)) ;;
		*) sum=$((sum + c)) ;;
		esac
	done <<<"$1"
	echo "$sum"
}

# load_if_stat NS IF rx|tx packets|dropped|bytes: an interface counter.
load_if_stat() {
	lab_exec "$1" ip -j -s link show dev "$2" | jq -r ".[0].stats64.$3.$4"
}

# load_mac NS IF: IF's MAC address.
load_mac() {
	lab_exec "$1" ip -j link show dev "$2" | jq -r '.[0].address'
}

# load_sgstate PIN ARGS...: sgstate on a pin dir (no namespace needed).
load_sgstate() {
	local pin="$1"

	shift
	"$SGSTATE" --pin-dir "$pin" "$@"
}

# load_stat PIN NAME: one data-plane statistic (events_lost, ...).
load_stat() {
	load_sgstate "$1" --stats | awk -v n="$2" '$1 == n { print $2 }'
}

# load_rss_kb PID: resident memory of a process, in KiB.
load_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# load_no_ipv6 NS: no IPv6 on interfaces created in NS from now on (and
# none on those already there), so no neighbour discovery or MLD
# packet ever shows up in an exact packet count.
load_no_ipv6() {
	lab_exec "$1" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.all.disable_ipv6=1
}

# The ms since the epoch an events.jsonl "time" (RFC 3339, UTC, ms) is.
load_event_ms() {
	local s

	s=$(date -u -d "$1" +%s%3N 2>/dev/null)
	echo "${s:-0}"
}

# load_moved_except BEFORE AFTER VERDICT/REASON...: the counters (of two
# sg_counters outputs) whose packets grew, other than the ones listed;
# empty when nothing else moved.
load_moved_except() {
	local before="$1" after="$2" item out=""

	shift 2
	for item in $(sg_moved "$before" "$after"); do
		local allowed=0 want

		for want in "$@"; do
			[[ "$item" == "$want+"* ]] && allowed=1
		done
		[ "$allowed" = 1 ] || out+="${out:+ }$item"
	done
	echo "$out"
}

# load_cpu_delta BEFORE AFTER: per-CPU growth between two lines of
# `sgstate --cpu-split` for the same counter ("VERDICT REASON cpu0 N
# cpu1 M ..."); prints "N0 N1 ...".
load_cpu_delta() {
	local -a b a
	local i out=""

	read -r -a b <<<"$1"
	read -r -a a <<<"$2"
	for ((i = 3; i < ${#a[@]}; i += 2)); do
		out+="${out:+ }$((a[i] - ${b[i]:-0}))"
	done
	echo "$out"
}

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Network-namespace lab plumbing for smtpgate's e2e tests, load tests and
# demo.  Source it, call lab_init, build a topology, and everything made
# through these functions (namespaces, the processes started in them, pin
# dirs, extra cleanup commands) is torn down when the script exits or is
# interrupted.
#
#   . scripts/lab/netns.sh
#   lab_init                          # prefix "sg<pid>", cleanup trap
#   lab_ns gw                         # netns "<prefix>-gw", lo up
#   lab_ns app
#   lab_link gw srv0 app eth0         # veth pair gw:srv0 <-> app:eth0
#   lab_addr gw srv0 198.18.1.1/24
#   lab_addr app eth0 198.18.1.5/24
#   lab_route app default 198.18.1.1
#   lab_exec gw ip -br addr           # runs in gw's netns (host mounts)
#
# Namespace arguments are short names (gw) or full names (<prefix>-gw).
# Functions that register something for teardown (lab_ns, lab_bg,
# lab_pin_dir, lab_on_exit) are best called directly, not inside $(...):
# a subshell's registration is lost.  Teardown does not depend on it,
# though: it also sweeps every namespace and pin dir named with this
# run's prefix, and kills every process still inside those namespaces.
# Interface names are per namespace: veths are created directly inside
# their namespaces, so two labs running at once never collide.
#
# Rules kept here so callers need not think about them:
#  - Only 198.18.0.0/15 and 2001:db8::/32 may be configured (lab_addr,
#    lab_route refuse anything else).
#  - Commands run through `nsenter --net=/run/netns/NAME`, never
#    `ip netns exec`: the latter remounts /sys, which hides the host's
#    bpffs, so pins made inside it vanish (docs/lab.md, "Pitfalls").
#  - Every wait is bounded.
#  - Nothing is killed by name: only the process groups lab_bg started.

# ---- state ----------------------------------------------------------

LAB_PREFIX=""          # namespace name prefix of this run
LAB_DIR=""             # scratch dir: logs of background processes
LAB_NAMESPACES=()      # full netns names, in creation order
LAB_PGIDS=()           # process groups started by lab_bg
# shellcheck disable=SC2034 # for callers
LAB_LAST_PGID=""       # the one lab_bg started last
LAB_PIN_DIRS=()        # bpffs dirs removed at exit
LAB_CLEANUP_WORDS=()   # lab_on_exit commands, word after word ...
LAB_CLEANUP_LENS=()    # ... and how many words each has, in order
LAB_TORN_DOWN=0
LAB_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAB_DEBUG="${LAB_DEBUG:-0}"

lab_die() {
	echo "lab: $*" >&2
	exit 1
}

lab_log() {
	[ "$LAB_DEBUG" = 1 ] && echo "lab: $*" >&2
	return 0
}

# Milliseconds since the epoch (for measuring how long something took).
# Uses bash's clock: no process is started (forks cost ~17 ms here).
lab_now_ms() {
	local t="${EPOCHREALTIME/[.,]/}"

	echo $((t / 1000))
}

# lab_ms SECONDS: milliseconds of a (possibly fractional) number of seconds.
lab_ms() {
	local s="$1" int frac

	int="${s%%.*}"
	frac="${s#"$int"}"
	frac="${frac#.}000"
	echo $((10#${int:-0} * 1000 + 10#${frac:0:3}))
}

# lab_poll TIMEOUT_S CMD [ARGS...]
# Runs CMD every 50 ms until it prints something, then prints its first
# line.  TIMEOUT_S may be fractional; 0 looks once.  Returns 1 if CMD
# printed nothing by the deadline.  (The one polling loop of the lab:
# waiting for a log line, a message in a mailbox, an event.)
lab_poll() {
	local deadline out

	deadline=$(($(lab_now_ms) + $(lab_ms "$1")))
	shift
	while :; do
		out=$("$@" 2>/dev/null | head -1)
		if [ -n "$out" ]; then
			echo "$out"
			return 0
		fi
		[ "$(lab_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# ---- lifecycle ------------------------------------------------------

# lab_init [PREFIX]
# Starts a lab: picks a unique prefix (default "sg<pid>", with a random
# suffix if a namespace or pin dir of that name is already there), makes a scratch
# dir, and installs an EXIT/INT/TERM trap that calls lab_teardown.
# Callers that need their own EXIT work register it with lab_on_exit
# instead of replacing the trap.
lab_init() {
	local want="${1:-sg$$}"

	[ "$(id -u)" -eq 0 ] || lab_die "needs root (namespaces, BPF)"
	command -v nsenter >/dev/null || lab_die "nsenter (util-linux) is missing"
	command -v socat >/dev/null || lab_die "socat is missing (apt-get install socat)"
	mkdir -p /run/netns
	LAB_PREFIX="$want"
	while compgen -G "/run/netns/${LAB_PREFIX}-*" >/dev/null ||
		compgen -G "/sys/fs/bpf/${LAB_PREFIX}-*" >/dev/null; do
		LAB_PREFIX="${want}r$RANDOM"
	done
	LAB_DIR=$(mktemp -d "/tmp/smtpgate-lab-${LAB_PREFIX}.XXXXXX") ||
		lab_die "cannot make a scratch dir"
	trap 'lab_teardown' EXIT
	trap 'lab_teardown; trap - INT; kill -INT $$' INT
	trap 'lab_teardown; trap - TERM; kill -TERM $$' TERM
	lab_log "prefix $LAB_PREFIX, scratch $LAB_DIR"
}

# lab_on_exit CMD [ARGS...]
# Runs CMD with its ARGS at teardown, before processes are stopped and
# namespaces deleted; most recent first.  For example a data-plane detach
# that must run while the interfaces still exist:
#   lab_on_exit lab_exec gw "$SGLOAD" --pin-dir "$PIN" --detach
# The words are kept as given and run as a command (a function or a
# program), never through eval: a path with spaces or quotes stays one
# argument.  One argument holding blanks is refused (that was the old,
# eval'd form).
lab_on_exit() {
	[ $# -gt 0 ] || lab_die "lab_on_exit: no command"
	[ $# -gt 1 ] || [[ "$1" != *[[:space:]]* ]] ||
		lab_die "lab_on_exit \"$1\": give the command and its arguments as words, not one string"
	LAB_CLEANUP_LENS+=("$#")
	LAB_CLEANUP_WORDS+=("$@")
}

# Runs the lab_on_exit commands, the most recent first.
lab_run_cleanup() {
	local i len end=${#LAB_CLEANUP_WORDS[@]}

	for ((i = ${#LAB_CLEANUP_LENS[@]} - 1; i >= 0; i--)); do
		len=${LAB_CLEANUP_LENS[$i]}
		end=$((end - len))
		"${LAB_CLEANUP_WORDS[@]:end:len}" >/dev/null 2>&1
	done
}

# lab_build_dir REPO: the build directory, $BUILD (default "build") as an
# absolute path; a relative one is taken from REPO, as make's BUILD= is.
lab_build_dir() {
	case "${BUILD:-build}" in
	/*) echo "${BUILD:-build}" ;;
	*) echo "$1/${BUILD:-build}" ;;
	esac
}

# lab_sglab: the lab's helper program (userspace/lab/: sglab xdp-pass,
# xdp-watch), $SGLAB or <build dir>/sglab.
lab_sglab() {
	echo "${SGLAB:-$(lab_build_dir "$LAB_REPO")/sglab}"
}

# lab_pin_dir NAME
# Prints a bpffs directory path unique to this run
# (/sys/fs/bpf/<prefix>-NAME), removed with everything in it at teardown
# (every /sys/fs/bpf/<prefix>-* is).  Not created: the loader makes it.
lab_pin_dir() {
	local dir="/sys/fs/bpf/${LAB_PREFIX}-$1"

	LAB_PIN_DIRS+=("$dir")
	echo "$dir"
}

# Stops one process group started by lab_bg: TERM, up to 2 s, then KILL.
lab_stop_group() {
	local pgid="$1" i

	kill -TERM -- "-$pgid" 2>/dev/null || return 0
	for ((i = 0; i < 40; i++)); do
		kill -0 -- "-$pgid" 2>/dev/null || return 0
		sleep 0.05
	done
	kill -KILL -- "-$pgid" 2>/dev/null
	return 0
}

# Every namespace of this run: registered ones and any named with the
# prefix (registrations made in a subshell are lost).
lab_all_namespaces() {
	local ns path

	for ns in "${LAB_NAMESPACES[@]}"; do
		echo "$ns"
	done
	[ -n "$LAB_PREFIX" ] || return 0
	for path in /run/netns/"$LAB_PREFIX"-*; do
		[ -e "$path" ] && echo "${path#/run/netns/}"
	done
}

# lab_teardown
# Undoes everything this lab made.  Idempotent; called by the trap.
lab_teardown() {
	local rc=$? pgid ns dir pid

	[ "$LAB_TORN_DOWN" = 1 ] && return "$rc"
	LAB_TORN_DOWN=1
	lab_run_cleanup
	for pgid in "${LAB_PGIDS[@]}"; do
		lab_stop_group "$pgid"
	done
	for ns in $(lab_all_namespaces | sort -u); do
		# Anything still running inside (started some other way): by pid.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		# Deleting a namespace deletes its veths, and with them any XDP
		# program or TC filter on them.
		ip netns del "$ns" 2>/dev/null
	done
	for dir in "${LAB_PIN_DIRS[@]}" ${LAB_PREFIX:+/sys/fs/bpf/"$LAB_PREFIX"-*}; do
		case "$dir" in
		/sys/fs/bpf/?*) [ -e "$dir" ] && rm -rf -- "$dir" ;;
		esac
	done
	[ -n "$LAB_DIR" ] && [ "${LAB_KEEP_LOGS:-0}" != 1 ] && rm -rf -- "$LAB_DIR"
	return "$rc"
}

# ---- namespaces and links -------------------------------------------

# Full netns name of NAME (accepts a full name too).
lab_nsname() {
	case "$1" in
	"$LAB_PREFIX"-*) echo "$1" ;;
	*) echo "${LAB_PREFIX}-$1" ;;
	esac
}

# lab_ns NAME
# Creates netns <prefix>-NAME with lo up; prints the full name.
lab_ns() {
	local ns

	[ -n "$LAB_PREFIX" ] || lab_die "call lab_init first"
	ns=$(lab_nsname "$1")
	ip netns add "$ns" || lab_die "cannot create netns $ns"
	LAB_NAMESPACES+=("$ns")
	ip -n "$ns" link set lo up || lab_die "$ns: lo up failed"
	# No duplicate address detection on the interfaces made here: the lab
	# assigns every address itself.  lab_addr's nodad covers the global
	# addresses, but a link-local stays tentative for 1-2 s, and kernels
	# of 6.18.44's build leave a neighbour solicitation for a nodad
	# global address unanswered until then: the first IPv6 connections
	# of a fresh lab time out.
	nsenter --net="/run/netns/$ns" -- sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_dad=0 || lab_die "$ns: turning DAD off failed"
	echo "$ns"
}

# lab_link NS1 IF1 NS2 IF2
# A veth pair, IF1 in NS1 and IF2 in NS2, both up.
lab_link() {
	local n1 n2

	n1=$(lab_nsname "$1")
	n2=$(lab_nsname "$3")
	ip -n "$n1" link add "$2" type veth peer name "$4" netns "$n2" ||
		lab_die "veth $n1:$2 <-> $n2:$4 failed"
	if ! ip -n "$n1" link set "$2" up || ! ip -n "$n2" link set "$4" up; then
		lab_die "veth $n1:$2 <-> $n2:$4: link up failed"
	fi
}

# lab_bridge NS BR [IF...]
# A bridge in NS (no STP, no forwarding delay) with IFs as its ports.
# Handy for an L2 segment with several hosts: put the bridge in a
# "switch" namespace and lab_link each host to it.
lab_bridge() {
	local ns br="$2" ifc

	ns=$(lab_nsname "$1")
	shift 2
	if ! ip -n "$ns" link show "$br" >/dev/null 2>&1; then
		ip -n "$ns" link add "$br" type bridge stp_state 0 forward_delay 0 ||
			lab_die "$ns: bridge $br failed"
		ip -n "$ns" link set "$br" up
	fi
	for ifc in "$@"; do
		ip -n "$ns" link set "$ifc" master "$br" || lab_die "$ns: $ifc -> $br failed"
	done
}

# Refuses addresses outside the lab ranges (198.18.0.0/15, 2001:db8::/32).
lab_check_addr() {
	local a="${1%/*}" o1 o2

	case "$a" in
	default) return 0 ;;
	*:*)
		case "${a,,}" in
		2001:db8:* | 2001:0db8:*) return 0 ;;
		esac
		;;
	*.*.*.*)
		o1=${a%%.*}
		o2=${a#*.}
		o2=${o2%%.*}
		[ "$o1" = 198 ] && { [ "$o2" = 18 ] || [ "$o2" = 19 ]; } && return 0
		;;
	esac
	lab_die "address $1 is outside the lab ranges 198.18.0.0/15 and 2001:db8::/32"
}

# lab_addr NS IF ADDR/LEN
# Adds an IPv4 or IPv6 address (IPv6 with nodad: usable at once).
lab_addr() {
	local ns

	ns=$(lab_nsname "$1")
	lab_check_addr "$3"
	case "$3" in
	*:*) ip -n "$ns" -6 addr add "$3" dev "$2" nodad ;;
	*) ip -n "$ns" addr add "$3" dev "$2" ;;
	esac || lab_die "$ns: address $3 on $2 failed"
}

# lab_route NS DEST VIA
# DEST is a prefix or "default" (the family follows VIA).
lab_route() {
	local ns fam=-4

	ns=$(lab_nsname "$1")
	lab_check_addr "$2"
	lab_check_addr "$3"
	case "$3" in *:*) fam=-6 ;; esac
	ip -n "$ns" "$fam" route add "$2" via "$3" || lab_die "$ns: route $2 via $3 failed"
}

# lab_forwarding NS
# IPv4 and IPv6 forwarding on: NS becomes a router.
lab_forwarding() {
	lab_exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		lab_die "$1: enabling forwarding failed"
}

# lab_napi NS IF
# Gives a veth NAPI, so that frames its peer sends with XDP_TX (a
# `reject` RST from XDP on the peer) or XDP redirect are received instead
# of silently lost (docs/lab.md, "Pitfalls").  Measured on 6.18: GRO on the veth is
# NOT enough for XDP_TX from the peer (the frame vanishes, no counter
# moves); a no-op XDP program is.  So this attaches one with
# `sglab xdp-pass` (lab_sglab) and turns GRO on as well.  Without sglab
# (not built) it falls back to GRO and says so.
lab_napi() {
	local sglab

	sglab=$(lab_sglab)
	if [ -x "$sglab" ]; then
		lab_exec "$1" "$sglab" xdp-pass "$2" >/dev/null ||
			lab_die "$1: no-op XDP program on $2 failed"
	else
		echo "lab: no $sglab (make): $1:$2 gets GRO only; XDP_TX from its peer" \
			"may be lost" >&2
	fi
	lab_exec "$1" ethtool -K "$2" gro on >/dev/null || lab_die "$1: gro on $2 failed"
}

# ---- running things -------------------------------------------------

# lab_exec NS CMD...
# Runs CMD in NS's network namespace, keeping the host's mounts (bpffs).
lab_exec() {
	local ns

	ns=$(lab_nsname "$1")
	shift
	nsenter --net="/run/netns/$ns" -- "$@"
}

# lab_bg NS CMD...
# Starts CMD in NS in the background, in its own process group, logging
# to $LAB_DIR/bg.log; stopped at teardown.  Sets LAB_LAST_PGID and
# prints it.  Call it directly, not in $(...): the process would be the
# subshell's child (teardown still finds it through its namespace).
lab_bg() {
	local ns pid log

	ns=$(lab_nsname "$1")
	shift
	log="$LAB_DIR/bg.log"
	# In a non-interactive shell a background job is not a group leader,
	# so setsid makes it one without forking: $! is the group id.
	setsid nsenter --net="/run/netns/$ns" -- "$@" >>"$log" 2>&1 </dev/null &
	pid=$!
	LAB_PGIDS+=("$pid")
	# shellcheck disable=SC2034 # for callers
	LAB_LAST_PGID="$pid"
	echo "$pid"
}

# Sets LAB_FAM (4 or 6) and LAB_HOST (ADDR, bracketed for IPv6) for
# socat's TCP<fam>:<host>:<port> forms, without a subshell.
lab_socat_addr() {
	case "$1" in
	*:*) LAB_FAM=6 LAB_HOST="[$1]" ;;
	*) LAB_FAM=4 LAB_HOST="$1" ;;
	esac
}

# lab_tcp_serve NS ADDR PORT [BANNER]
# Starts a TCP listener on ADDR:PORT in NS that answers every connection
# with one line, BANNER (default "220 <ADDR> ok"), then closes.  Does not
# wait: start several, then lab_wait_port each (or use lab_tcp_listen).
# lab_tcp_try's output includes the banner, so a test can tell which
# host answered.
lab_tcp_serve() {
	local ns="$1" addr="$2" port="$3" banner="${4:-220 $2 ok}" file

	lab_check_addr "$addr"
	lab_socat_addr "$addr"
	file="$LAB_DIR/banner.$(lab_nsname "$ns").$port.${addr//:/_}"
	printf '%s\r\n' "$banner" >"$file"
	# -U: only from the file to the client; each connection (fork) gets
	# the banner, then the end of the stream.  No shell per connection.
	lab_bg "$ns" socat -U "TCP$LAB_FAM-LISTEN:$port,bind=$LAB_HOST,fork,reuseaddr" \
		"OPEN:$file,rdonly" >/dev/null
}

# lab_tcp_sink NS ADDR PORT FILE
# Starts a TCP listener on ADDR:PORT in NS that appends everything every
# connection sends to FILE (a bulk-transfer receiver).  Does not wait.
lab_tcp_sink() {
	lab_check_addr "$2"
	lab_socat_addr "$2"
	: >>"$4"
	lab_bg "$1" socat -u "TCP$LAB_FAM-LISTEN:$3,bind=$LAB_HOST,fork,reuseaddr" \
		"OPEN:$4,wronly,append" >/dev/null
}

# lab_tcp_listen NS ADDR PORT [BANNER]
# lab_tcp_serve, then waits until the port listens (fails after 5 s).
lab_tcp_listen() {
	lab_tcp_serve "$@" && lab_wait_port "$1" "$2" "$3" 5
}

# lab_wait_port NS ADDR PORT [TIMEOUT_S]
# Waits (at most TIMEOUT_S, default 5) until something listens on
# ADDR:PORT in NS.  Returns 1 on timeout.
lab_wait_port() {
	local ns="$1" addr="$2" port="$3" timeout="${4:-5}" deadline listening

	lab_socat_addr "$addr"
	deadline=$(($(lab_now_ms) + timeout * 1000))
	while :; do
		listening=$(lab_exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null)
		[[ "$listening" == *" $LAB_HOST:$port "* ]] && return 0
		[ "$(lab_now_ms)" -lt "$deadline" ] || break
		sleep 0.05
	done
	echo "lab: nothing listens on $addr:$port in $ns after ${timeout}s" >&2
	return 1
}

# lab_tcp_try NS DST PORT [TIMEOUT_S]
# Opens a TCP connection from NS to DST:PORT and reads what the server
# says.  Prints one line:
#   connected <ms> <banner>    the handshake completed (exit 0)
#   refused <ms>               a RST answered the SYN (exit 1)
#   timeout <ms>               nothing answered within TIMEOUT_S (exit 1)
#   error <ms> <message>       anything else, e.g. unreachable (exit 1)
# <ms> is how long it took, so a reject (RST: fast) is distinguishable
# from a drop (timeout).  TIMEOUT_S defaults to 2 and may be fractional.
lab_tcp_try() {
	local ns="$1" dst="$2" port="$3" timeout="${4:-2}" t0 out rc ms

	lab_socat_addr "$dst"
	t0=$(lab_now_ms)
	# -u: only read from the server; connect-timeout bounds the
	# handshake, -T the wait for data, timeout(1) everything.  socat's
	# messages ("... E connect(...): Connection refused") share the
	# stream with the banner; rc tells them apart.
	out=$(lab_exec "$ns" timeout -k 1 $((${timeout%.*} + 3)) \
		socat -u -T "$timeout" \
		"TCP$LAB_FAM:$LAB_HOST:$port,connect-timeout=$timeout" STDOUT 2>&1 </dev/null)
	rc=$?
	ms=$(($(lab_now_ms) - t0))
	out="${out//$'\r'/}"
	if [ "$rc" -eq 0 ] && [[ "$out" != *" socat["*"] E "* ]]; then
		echo "connected $ms ${out%%$'\n'*}"
		return 0
	fi
	lab_tcp_classify "$rc" "$ms" "$out"
}

# Prints the failure line of lab_tcp_try/lab_tcp_send from socat's exit
# status RC, the time MS and its messages OUT; returns 1.
lab_tcp_classify() {
	local rc="$1" ms="$2" out="$3"

	case "${out,,}" in
	*refused* | *"reset by peer"*) echo "refused $ms" ;;
	*"timed out"* | *"in progress"*) echo "timeout $ms" ;;
	*)
		if [ "$rc" -eq 124 ]; then
			echo "timeout $ms"
		else
			echo "error $ms rc=$rc ${out//$'\n'/ }"
		fi
		;;
	esac
	return 1
}

# lab_tcp_send NS DST PORT BYTES [TIMEOUT_S]
# Connects from NS to DST:PORT, sends BYTES zero bytes and closes.
# Prints "sent <ms>" (exit 0) once everything was written and the
# connection closed cleanly, else a lab_tcp_try failure line (exit 1).
# The receiver (lab_tcp_sink) is the judge of what arrived.
lab_tcp_send() {
	local ns="$1" dst="$2" port="$3" bytes="$4" timeout="${5:-10}" t0 out rc ms

	lab_socat_addr "$dst"
	t0=$(lab_now_ms)
	out=$(head -c "$bytes" /dev/zero | lab_exec "$ns" timeout -k 1 "$timeout" \
		socat -u -T "$timeout" STDIN \
		"TCP$LAB_FAM:$LAB_HOST:$port,connect-timeout=$timeout" 2>&1)
	rc=$?
	ms=$(($(lab_now_ms) - t0))
	if [ "$rc" -eq 0 ] && [[ "$out" != *" socat["*"] E "* ]]; then
		echo "sent $ms"
		return 0
	fi
	lab_tcp_classify "$rc" "$ms" "$out"
}

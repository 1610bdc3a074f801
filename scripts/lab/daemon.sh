# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Running smtpgated in the namespace lab.  Source it (it sources
# scripts/lab/netns.sh itself if that is not loaded yet); use it after
# lab_init (or e2e_init).  Every daemon gets its own config, policy,
# state dir, log dir, control socket and pin dir, unique per run; at
# teardown (the lab trap) every daemon still running is stopped and
# `smtpgated --detach` runs for each one ever started, so no program,
# TC filter or pin survives the test.
#
#   . scripts/lab/daemon.sh
#   lab_init
#   ... build a topology with netns.sh (or lab_gw_build, gw.sh) ...
#   lab_daemon_config gw1 if=srv0:xdp if=up0:tc-egress policy=- <<'EOF'
#   {"relays": {"internal": [{"addr": "198.18.0.25"}]}, "trusted": [...]}
#   EOF
#   lab_daemon_start gw gw1            # waits until it logged "running:"
#   lab_daemon_paths gw1 >/dev/null    # sets LAB_DAEMON_PIN_DIR etc.
#   lab_daemon_hup gw1                 # reload; prints the outcome line
#   lab_daemon_stop gw1                # SIGTERM; returns its exit status
#   lab_daemon_detach gw gw1           # remove enforcement now
#
# The library is in four files by concern; this one sources the other
# three, so sourcing it gives all of them:
#   daemon.sh         running daemons: lab_daemon_start, lab_daemon_stop,
#                     lab_daemon_kill9, lab_daemon_hup, lab_daemon_signal,
#                     lab_daemon_running, lab_daemon_pid, lab_daemon_cmd
#                     (e.g. --check), lab_daemon_detach, lab_daemon_ctl
#                     (smtpgatectl on its socket), lab_daemon_adopt (a
#                     daemon of an earlier run, for teardown); its log:
#                     lab_daemon_log, lab_daemon_mark, lab_daemon_log_since,
#                     lab_daemon_wait_log
#   daemon_config.sh  its files: lab_daemon_config, lab_daemon_policy,
#                     lab_daemon_paths
#   gw.sh             the standard gateway lab: lab_gw_build, LAB_GW (its
#                     addresses), lab_gw_address_srv0, lab_gw_policy
#   probe.sh          what the lab sees: lab_tcp_try_many, lab_tcp_expect
#                     (TAP checks; needs tests/e2e/lib.sh),
#                     lab_tcp_result_is, lab_xdp_watch, lab_xdp_prog_id
#
# NAME is the daemon's name inside the test (any [A-Za-z0-9_.-]); NS a
# namespace as netns.sh takes it.  Call lab_daemon_config directly, not
# inside $(...) (its bookkeeping would be lost), and lab_daemon_start
# directly too if you want the exit status from lab_daemon_stop: only the
# shell that started the daemon can collect it (elsewhere it reads 127).
#
# Binaries: $SMTPGATED (default $BUILD/smtpgated), $SMTPGATECTL (default
# $BUILD/smtpgatectl); BUILD defaults to "build", relative to the repo.
#
# Knobs (set by the caller before lab_daemon_start):
#   LAB_DAEMON_WRAPPER=(...)   a command the daemon runs under, e.g.
#                              (valgrind --leak-check=full ...) or
#                              (env SG_TEST_FAIL_BEFORE_RENAME=1)
#   LAB_DAEMON_TIMEOUT=S       how long lab_daemon_start waits for
#                              "running:" (default 10 s)
#   LAB_DAEMON_STOP_TIMEOUT=S  how long a stop waits before SIGKILL
#                              (default 10 s)

if ! declare -F lab_init >/dev/null; then
	# shellcheck source=scripts/lab/netns.sh
	. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
fi
LAB_DAEMON_DIR_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

LAB_DAEMON_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LAB_DAEMON_BUILD="$(lab_build_dir "$LAB_DAEMON_REPO")"
SMTPGATED="${SMTPGATED:-$LAB_DAEMON_BUILD/smtpgated}"
SMTPGATECTL="${SMTPGATECTL:-$LAB_DAEMON_BUILD/smtpgatectl}"

LAB_DAEMON_WRAPPER=()
LAB_DAEMON_TIMEOUT="${LAB_DAEMON_TIMEOUT:-10}"
LAB_DAEMON_STOP_TIMEOUT="${LAB_DAEMON_STOP_TIMEOUT:-10}"

# Per daemon, by NAME.
declare -A LAB_D_DIR=()     # its scratch dir (config, policy, log, state, ...)
declare -A LAB_D_PIN=()     # pin dir
declare -A LAB_D_STATE=()   # state dir
declare -A LAB_D_LOGDIR=()  # log dir (audit.jsonl, events.jsonl)
declare -A LAB_D_SOCK=()    # control socket
declare -A LAB_D_POLICY=()  # policy file
# Run state lives in files in the daemon's dir (lab_d_get/lab_d_set), so
# it survives a lab_daemon_start/stop made in a subshell: "ns" (the
# namespace it last ran in), "pid" (while running), "off" (the log's size
# when the current run started).
LAB_DAEMON_NAMES=()
LAB_DAEMON_HOOKED=0
# shellcheck disable=SC2034 # for callers
LAB_DAEMON_RC=""            # exit status of the last stopped daemon

# lab_d_get NAME KEY / lab_d_set NAME KEY VALUE: NAME's run state.
lab_d_get() {
	local v=""

	[ -n "${LAB_D_DIR[$1]:-}" ] && v=$(cat -- "${LAB_D_DIR[$1]}/.lab-$2" 2>/dev/null)
	echo "$v"
}

lab_d_set() {
	printf '%s\n' "$3" >"${LAB_D_DIR[$1]}/.lab-$2"
}

lab_daemon_known() {
	[ -n "${LAB_D_DIR[$1]:-}" ] || lab_die "daemon $1: call lab_daemon_config $1 first"
}

# shellcheck source=scripts/lab/daemon_config.sh
. "$LAB_DAEMON_DIR_LIB/daemon_config.sh"
# shellcheck source=scripts/lab/gw.sh
. "$LAB_DAEMON_DIR_LIB/gw.sh"
# shellcheck source=scripts/lab/probe.sh
. "$LAB_DAEMON_DIR_LIB/probe.sh"

# ---- the daemon's log ------------------------------------------------

lab_daemon_logfile() {
	echo "${LAB_D_DIR[$1]}/smtpgated.log"
}

# lab_daemon_log NAME [--run]
# Prints NAME's log (stdout and stderr of every run, appended); with
# --run only what the current (or last) run wrote.
lab_daemon_log() {
	local name="$1" file

	lab_daemon_known "$name"
	file=$(lab_daemon_logfile "$name")
	if [ "${2:-}" = --run ]; then
		tail -c +$(($(lab_d_get "$name" off) + 1)) -- "$file"
	else
		cat -- "$file"
	fi
}

# lab_daemon_mark NAME: prints the log's size, a position for
# lab_daemon_wait_log and lab_daemon_log_since.
lab_daemon_mark() {
	local s

	s=$(stat -c %s -- "$(lab_daemon_logfile "$1")" 2>/dev/null)
	echo "${s:-0}"
}

# lab_daemon_log_since NAME MARK: what NAME logged after MARK.
lab_daemon_log_since() {
	tail -c +$(($2 + 1)) -- "$(lab_daemon_logfile "$1")"
}

# lab_daemon_wait_log NAME REGEX [TIMEOUT_S] [MARK]
# Waits (at most TIMEOUT_S, default 5, fractions allowed) until a line
# matching the extended REGEX appears in NAME's log after MARK (default:
# the start of the current run); prints the first such line.  Returns 1
# on timeout.
lab_daemon_wait_log() {
	local name="$1" re="$2" timeout="${3:-5}" mark="${4:-}"

	lab_daemon_known "$name"
	[ -n "$mark" ] || mark=$(lab_d_get "$name" off)
	lab_poll "$timeout" lab_daemon_grep_since "$name" "$mark" "$re"
}

# lab_daemon_grep_since NAME MARK REGEX: NAME's log lines after MARK
# that match the extended REGEX.
lab_daemon_grep_since() {
	lab_daemon_log_since "$1" "$2" | grep -E -- "$3"
}

# ---- running ---------------------------------------------------------

# Is this process alive (a zombie is not)?
lab_daemon_alive() {
	local pid="$1" stat

	[ -n "$pid" ] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat="${stat##*) }"
	[ "${stat%% *}" != Z ] || return 1
	# Not some other process that got the number later.
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q smtpgated
}

# lab_daemon_running NAME: 0 if NAME's daemon is running.
lab_daemon_running() {
	lab_daemon_alive "$(lab_d_get "$1" pid)"
}

# lab_daemon_pid NAME: prints NAME's pid (empty if not running).
lab_daemon_pid() {
	lab_d_get "$1" pid
}

# lab_daemon_start NS NAME [ARGS...]
# Starts `smtpgated --config <NAME's config> --test-mode ARGS...` in NS
# (through nsenter --net, so the host's bpffs is visible), in its own
# process group, output appended to NAME's log, under
# ${LAB_DAEMON_WRAPPER[@]} if set.  Waits (LAB_DAEMON_TIMEOUT, default
# 10 s) until it logged "running:".  Returns 0 then; else 1, with the
# end of its log on stderr (a daemon that is still up is left running:
# teardown stops it).
lab_daemon_start() {
	local ns name="$2" log pid

	ns=$(lab_nsname "$1")
	shift 2
	lab_daemon_known "$name"
	[ -x "$SMTPGATED" ] || lab_die "$SMTPGATED is missing (make BUILD=...)"
	if lab_daemon_running "$name"; then
		echo "lab: daemon $name already runs (pid $(lab_d_get "$name" pid))" >&2
		return 1
	fi
	log=$(lab_daemon_logfile "$name")
	lab_d_set "$name" off "$(lab_daemon_mark "$name")"
	lab_d_set "$name" ns "$ns"
	# setsid makes it a group leader without forking, nsenter (no
	# --fork) execs: $! is the daemon (or its wrapper) itself.
	setsid nsenter --net="/run/netns/$ns" -- "${LAB_DAEMON_WRAPPER[@]}" \
		"$SMTPGATED" --config "${LAB_D_DIR[$name]}/smtpgate.json" --test-mode "$@" \
		>>"$log" 2>&1 </dev/null &
	pid=$!
	lab_d_set "$name" pid "$pid"
	lab_log "daemon $name: pid $pid in $ns"
	lab_d_wait_running "$log" "$(lab_d_get "$name" off)" "$pid" "$LAB_DAEMON_TIMEOUT" && return 0
	if ! lab_daemon_alive "$pid"; then
		wait "$pid" 2>/dev/null
		LAB_DAEMON_RC=$?
		lab_d_set "$name" pid ""
		echo "lab: daemon $name exited with status $LAB_DAEMON_RC before running; its log:" >&2
		lab_daemon_log "$name" --run | tail -20 >&2
		return 1
	fi
	echo "lab: daemon $name did not log \"running:\" within ${LAB_DAEMON_TIMEOUT}s; its log:" >&2
	lab_daemon_log "$name" --run | tail -20 >&2
	return 1
}

# lab_d_wait_running LOG OFFSET PID TIMEOUT_S: 0 once LOG, from byte
# OFFSET, has "notice: running:"; 1 if PID exits first or TIMEOUT_S
# passes.  tail follows the file through inotify and stops with PID, so
# the wait costs no CPU: a loop of greps and sleeps forked about ten
# processes every 50 ms, a good part of a CPU taken from the daemon
# whose start it waited for.
lab_d_wait_running() {
	local rc tail_pid fd

	exec {fd}< <(exec tail -c +$(($2 + 1)) --pid="$3" -s 0.1 -f -- "$1" 2>/dev/null)
	tail_pid=$!
	timeout "$4" grep -q -m1 "notice: running:" <&"$fd"
	rc=$?
	exec {fd}<&-
	kill "$tail_pid" 2>/dev/null
	return $((rc != 0))
}

# Waits (at most TIMEOUT_S) for pid to exit and reaps it; sets
# LAB_DAEMON_RC.  Returns 1 if it is still alive.
lab_daemon_reap() {
	local name="$1" timeout="$2" pid deadline

	pid="$(lab_d_get "$name" pid)"
	deadline=$(($(lab_now_ms) + $(lab_ms "$timeout")))
	while lab_daemon_alive "$pid"; do
		[ "$(lab_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
	# Our child (lab_daemon_start ran in this shell): its real status.
	# Otherwise wait fails with 127 and that is what is reported.
	wait "$pid" 2>/dev/null
	LAB_DAEMON_RC=$?
	lab_d_set "$name" pid ""
	return 0
}

# lab_daemon_signal NAME SIG: sends SIG to NAME's daemon (1 if not running).
lab_daemon_signal() {
	lab_daemon_running "$1" || {
		echo "lab: daemon $1 is not running" >&2
		return 1
	}
	kill -s "$2" "$(lab_d_get "$1" pid)"
}

# lab_daemon_stop NAME [TIMEOUT_S]
# SIGTERM, then waits (default LAB_DAEMON_STOP_TIMEOUT) for the daemon to
# exit.  Returns (and sets LAB_DAEMON_RC to) its exit status; if it does
# not exit in time it is killed with SIGKILL and 124 is returned.
lab_daemon_stop() {
	local name="$1" timeout="${2:-$LAB_DAEMON_STOP_TIMEOUT}"

	lab_daemon_known "$name"
	lab_daemon_signal "$name" TERM || return 1
	if ! lab_daemon_reap "$name" "$timeout"; then
		echo "lab: daemon $name did not stop within ${timeout}s: SIGKILL" >&2
		{
			kill -KILL "$(lab_d_get "$name" pid)"
			lab_daemon_reap "$name" 5
		} 2>/dev/null
		LAB_DAEMON_RC=124
	fi
	return "$LAB_DAEMON_RC"
}

# lab_daemon_kill9 NAME: SIGKILL and reap (a crash).  Returns 0 once it
# is gone.
lab_daemon_kill9() {
	local name="$1"

	lab_daemon_known "$name"
	lab_daemon_running "$name" || {
		echo "lab: daemon $name is not running" >&2
		return 1
	}
	# stderr off from the kill on: bash reports a child killed by a
	# signal ("Killed") at the next command, and that is what we wanted.
	{
		kill -KILL "$(lab_d_get "$name" pid)"
		lab_daemon_reap "$name" 5
	} 2>/dev/null
}

# lab_daemon_hup NAME [TIMEOUT_S]
# SIGHUP (reload), then waits (default 5 s) for the outcome in the log
# and prints that line.  Returns 0 if the policy was reloaded, 1 if the
# reload was refused, 2 if neither was logged in time.
lab_daemon_hup() {
	local name="$1" timeout="${2:-5}" mark line

	lab_daemon_known "$name"
	mark=$(lab_daemon_mark "$name")
	lab_daemon_signal "$name" HUP || return 2
	line=$(lab_daemon_wait_log "$name" "policy reloaded:|reload refused" "$timeout" "$mark") || {
		echo "lab: daemon $name logged no reload outcome within ${timeout}s" >&2
		return 2
	}
	echo "$line"
	[[ "$line" == *"policy reloaded:"* ]]
}

# lab_daemon_cmd NS NAME ARGS...
# Runs `smtpgated --config <NAME's config> --test-mode ARGS...` in NS in
# the foreground (e.g. --check); returns its exit status, output as is.
lab_daemon_cmd() {
	local ns="$1" name="$2"

	shift 2
	lab_daemon_known "$name"
	lab_exec "$ns" "$SMTPGATED" --config "${LAB_D_DIR[$name]}/smtpgate.json" --test-mode "$@"
}

# lab_daemon_detach NS NAME: `smtpgated --detach` with NAME's config in NS.
lab_daemon_detach() {
	lab_daemon_cmd "$1" "$2" --detach
}

# lab_daemon_ctl NAME ARGS...: smtpgatectl on NAME's control socket.
lab_daemon_ctl() {
	local name="$1"

	shift
	lab_daemon_known "$name"
	"$SMTPGATECTL" --socket "${LAB_D_SOCK[$name]}" "$@"
}

# ---- teardown --------------------------------------------------------

# Stops every daemon and detaches every one that ever ran (while its
# namespace and interfaces still exist).  Registered with lab_on_exit.
lab_daemon_teardown() {
	local name ns

	for name in "${LAB_DAEMON_NAMES[@]}"; do
		if lab_daemon_running "$name"; then
			kill -TERM "$(lab_d_get "$name" pid)" 2>/dev/null
			if ! lab_daemon_reap "$name" "$LAB_DAEMON_STOP_TIMEOUT"; then
				kill -KILL "$(lab_d_get "$name" pid)" 2>/dev/null
				lab_daemon_reap "$name" 5
			fi
		fi
	done
	for name in "${LAB_DAEMON_NAMES[@]}"; do
		ns=$(lab_d_get "$name" ns)
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		timeout -k 1 10 nsenter --net="/run/netns/$ns" -- "$SMTPGATED" \
			--config "${LAB_D_DIR[$name]}/smtpgate.json" --test-mode --detach
	done
}

# lab_daemon_adopt NAME
# Registers the daemon NAME of an earlier run whose scratch dir is this
# run's ($LAB_DIR/daemon-NAME: scripts/lab.sh --teardown sets LAB_DIR to
# the kept lab's), reading its paths from its smtpgate.json, so that
# teardown stops it (if it still runs), detaches it and removes its pins.
lab_daemon_adopt() {
	local name="$1" dir cfg

	dir="$LAB_DIR/daemon-$name"
	cfg="$dir/smtpgate.json"
	[ -f "$cfg" ] || lab_die "lab_daemon_adopt: no $cfg"
	command -v jq >/dev/null || lab_die "lab_daemon_adopt needs jq"
	LAB_D_DIR[$name]="$dir"
	LAB_D_PIN[$name]=$(jq -r .paths.pin_dir "$cfg")
	LAB_D_STATE[$name]=$(jq -r .paths.state_dir "$cfg")
	LAB_D_LOGDIR[$name]=$(jq -r .paths.log_dir "$cfg")
	LAB_D_SOCK[$name]=$(jq -r .control.socket "$cfg")
	LAB_D_POLICY[$name]=$(jq -r .policy "$cfg")
	case "${LAB_D_PIN[$name]}" in
	/sys/fs/bpf/?*) LAB_PIN_DIRS+=("${LAB_D_PIN[$name]}") ;;
	esac
	LAB_DAEMON_NAMES+=("$name")
	lab_daemon_hook_teardown
}

lab_daemon_hook_teardown() {
	[ "$LAB_DAEMON_HOOKED" = 1 ] && return 0
	LAB_DAEMON_HOOKED=1
	lab_on_exit lab_daemon_teardown
}

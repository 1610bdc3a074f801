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
#   ... build a topology with netns.sh (or lab_gw_build, below) ...
#   lab_daemon_config gw1 if=srv0:xdp if=up0:tc-egress policy=- <<'EOF'
#   {"relays": {"internal": [{"addr": "198.18.0.25"}]}, "trusted": [...]}
#   EOF
#   lab_daemon_start gw gw1            # waits until it logged "running:"
#   lab_daemon_paths gw1 >/dev/null    # sets LAB_DAEMON_PIN_DIR etc.
#   lab_daemon_hup gw1                 # reload; prints the outcome line
#   lab_daemon_stop gw1                # SIGTERM; returns its exit status
#   lab_daemon_detach gw gw1           # remove enforcement now
#
# Functions (each documented where it is defined):
#   daemons   lab_daemon_config, lab_daemon_policy, lab_daemon_paths,
#             lab_daemon_start, lab_daemon_stop, lab_daemon_kill9,
#             lab_daemon_hup, lab_daemon_signal, lab_daemon_running,
#             lab_daemon_pid, lab_daemon_cmd (e.g. --check),
#             lab_daemon_detach, lab_daemon_ctl (smtpgatectl on its socket),
#             lab_daemon_adopt (a daemon of an earlier run, for teardown)
#   its log   lab_daemon_log, lab_daemon_mark, lab_daemon_log_since,
#             lab_daemon_wait_log
#   the lab   lab_gw_build (the standard gateway topology), LAB_GW
#             (its addresses), lab_gw_address_srv0, lab_gw_policy,
#             lab_tcp_try_many, lab_tcp_expect (TAP checks; needs
#             tests/e2e/lib.sh), lab_xdp_watch, lab_xdp_prog_id
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

# ---- configuration ---------------------------------------------------

# A JSON string literal of $1 (quotes and backslashes escaped).
lab_json_str() {
	local s="${1//\\/\\\\}"

	s="${s//\"/\\\"}"
	printf '"%s"' "$s"
}

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

# lab_daemon_config NAME [KEY=VALUE...]
# Writes NAME's smtpgate.json and policy.json (mode 0644) in a scratch dir
# of its own.  Called again for the same NAME it rewrites the config,
# keeping the paths (and so the pins, state and logs) unless told
# otherwise.  Keys:
#   if=IFNAME:HOOK[:MODE]   an interface (repeatable); HOOK xdp|tc-ingress|
#                           tc-egress, MODE auto|native|generic (xdp only)
#   policy=FILE             the policy: a copy of FILE; "-" reads stdin
#                           (a heredoc).  Default: kept, or {} the first time
#   policy_path=PATH        use PATH itself as the policy (no copy)
#   metrics=LISTEN          metrics.listen (default "off")
#   top_sources=N  textfile=PATH
#   socket=PATH             control socket (default <dir>/run/control.sock)
#   admin_group=G  read_group=G
#   pin_dir=DIR  state_dir=DIR  log_dir=DIR
# Prints nothing; dies on a bad key.
lab_daemon_config() {
	local name="$1" kv key val dir ifs=() policy_src="" f hook mode json="" i nl=$'\n'

	[ -n "$LAB_PREFIX" ] || lab_die "call lab_init first"
	[[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || lab_die "daemon name \"$name\": use [A-Za-z0-9_.-]"
	shift
	dir="${LAB_D_DIR[$name]:-$LAB_DIR/daemon-$name}"
	if [ -z "${LAB_D_DIR[$name]:-}" ]; then
		# Traversable (not listable) for other users: permission tests
		# reach the socket as non-root.
		chmod 0711 "$LAB_DIR"
		mkdir -p "$dir" && chmod 0755 "$dir" || lab_die "cannot make $dir"
		LAB_D_DIR[$name]="$dir"
		LAB_D_PIN[$name]=$(lab_pin_dir "d-$name")
		LAB_PIN_DIRS+=("${LAB_D_PIN[$name]}") # the subshell's registration was lost
		LAB_D_STATE[$name]="$dir/state"
		LAB_D_LOGDIR[$name]="$dir/log"
		LAB_D_SOCK[$name]="$dir/run/control.sock"
		LAB_D_POLICY[$name]="$dir/policy.json"
		lab_d_set "$name" ns ""
		lab_d_set "$name" pid ""
		lab_d_set "$name" off 0
		LAB_DAEMON_NAMES+=("$name")
		: >>"$dir/smtpgated.log"
		lab_daemon_hook_teardown
	fi
	local metrics="off" top="" textfile="" admin="" readg=""
	for kv in "$@"; do
		key="${kv%%=*}"
		val="${kv#*=}"
		[ "$key" != "$kv" ] || lab_die "lab_daemon_config $name: \"$kv\" is not KEY=VALUE"
		case "$key" in
		if) ifs+=("$val") ;;
		policy) policy_src="file:$val" ;;
		policy_path) LAB_D_POLICY[$name]="$val" ;;
		metrics) metrics="$val" ;;
		top_sources) top="$val" ;;
		textfile) textfile="$val" ;;
		socket) LAB_D_SOCK[$name]="$val" ;;
		admin_group) admin="$val" ;;
		read_group) readg="$val" ;;
		pin_dir) LAB_D_PIN[$name]="$val" ;;
		state_dir) LAB_D_STATE[$name]="$val" ;;
		log_dir) LAB_D_LOGDIR[$name]="$val" ;;
		*) lab_die "lab_daemon_config $name: unknown key \"$key\"" ;;
		esac
	done
	if [ -n "$policy_src" ]; then
		lab_daemon_policy "$name" "${policy_src#file:}"
	elif [ "${LAB_D_POLICY[$name]}" = "$dir/policy.json" ] && [ ! -e "$dir/policy.json" ]; then
		lab_daemon_policy "$name" - <<<"{}"
	fi

	json+="{${nl}  \"policy\": $(lab_json_str "${LAB_D_POLICY[$name]}"),${nl}  \"interfaces\": ["
	for ((i = 0; i < ${#ifs[@]}; i++)); do
		IFS=: read -r f hook mode <<<"${ifs[$i]}"
		[ -n "$f" ] && [ -n "$hook" ] || lab_die "lab_daemon_config $name: if=${ifs[$i]}: want IF:HOOK[:MODE]"
		json+="$([ "$i" -gt 0 ] && echo ,)${nl}    {\"name\": $(lab_json_str "$f"), \"hook\": $(lab_json_str "$hook")"
		[ -n "$mode" ] && json+=", \"xdp_mode\": $(lab_json_str "$mode")"
		json+="}"
	done
	json+="${nl}  ],${nl}  \"metrics\": {\"listen\": $(lab_json_str "$metrics")"
	[ -n "$top" ] && json+=", \"top_sources\": $top"
	[ -n "$textfile" ] && json+=", \"textfile\": $(lab_json_str "$textfile")"
	json+="},${nl}  \"control\": {\"socket\": $(lab_json_str "${LAB_D_SOCK[$name]}")"
	[ -n "$admin" ] && json+=", \"admin_group\": $(lab_json_str "$admin")"
	[ -n "$readg" ] && json+=", \"read_group\": $(lab_json_str "$readg")"
	json+="},${nl}  \"paths\": {\"pin_dir\": $(lab_json_str "${LAB_D_PIN[$name]}"),"
	json+=" \"state_dir\": $(lab_json_str "${LAB_D_STATE[$name]}"),"
	json+=" \"log_dir\": $(lab_json_str "${LAB_D_LOGDIR[$name]}")}${nl}}${nl}"
	printf '%s' "$json" >"$dir/smtpgate.json.tmp" && chmod 0644 "$dir/smtpgate.json.tmp" &&
		mv -f "$dir/smtpgate.json.tmp" "$dir/smtpgate.json" ||
		lab_die "cannot write $dir/smtpgate.json"
}

# lab_daemon_policy NAME FILE|-
# Replaces NAME's policy file with a copy of FILE (or stdin), mode 0644,
# by rename: whatever was there (a symlink, a file with other modes) is
# replaced, and a daemon never reads half a file.
lab_daemon_policy() {
	local name="$1" src="$2" path tmp

	lab_daemon_known "$name"
	path="${LAB_D_POLICY[$name]}"
	tmp="$(dirname "$path")/.policy.$$.tmp"
	if [ "$src" = - ]; then
		cat >"$tmp"
	else
		cat -- "$src" >"$tmp"
	fi || lab_die "cannot write $tmp"
	chmod 0644 "$tmp" && mv -f -T "$tmp" "$path" || lab_die "cannot replace $path"
}

# lab_daemon_paths NAME
# Sets (and prints, KEY=VALUE) NAME's paths:
#   LAB_DAEMON_DIR (its scratch dir: config, policy, logs, state, ...)
#   LAB_DAEMON_CONFIG  LAB_DAEMON_POLICY  LAB_DAEMON_PIN_DIR
#   LAB_DAEMON_STATE_DIR  LAB_DAEMON_LOG_DIR  LAB_DAEMON_SOCKET
#   LAB_DAEMON_LOGFILE (its stdout/stderr)  LAB_DAEMON_PID ("" if not running)
# Call it directly to get the variables; in $(...) only the printout.
lab_daemon_paths() {
	local name="$1"

	lab_daemon_known "$name"
	LAB_DAEMON_DIR="${LAB_D_DIR[$name]}"
	LAB_DAEMON_CONFIG="${LAB_D_DIR[$name]}/smtpgate.json"
	LAB_DAEMON_POLICY="${LAB_D_POLICY[$name]}"
	LAB_DAEMON_PIN_DIR="${LAB_D_PIN[$name]}"
	LAB_DAEMON_STATE_DIR="${LAB_D_STATE[$name]}"
	LAB_DAEMON_LOG_DIR="${LAB_D_LOGDIR[$name]}"
	LAB_DAEMON_SOCKET="${LAB_D_SOCK[$name]}"
	LAB_DAEMON_LOGFILE="${LAB_D_DIR[$name]}/smtpgated.log"
	LAB_DAEMON_PID="$(lab_d_get "$name" pid)"
	export LAB_DAEMON_DIR LAB_DAEMON_CONFIG LAB_DAEMON_POLICY LAB_DAEMON_PIN_DIR LAB_DAEMON_STATE_DIR \
		LAB_DAEMON_LOG_DIR LAB_DAEMON_SOCKET LAB_DAEMON_LOGFILE LAB_DAEMON_PID
	printf '%s\n' "config=$LAB_DAEMON_CONFIG" "policy=$LAB_DAEMON_POLICY" \
		"pin_dir=$LAB_DAEMON_PIN_DIR" "state_dir=$LAB_DAEMON_STATE_DIR" \
		"log_dir=$LAB_DAEMON_LOG_DIR" "socket=$LAB_DAEMON_SOCKET" \
		"logfile=$LAB_DAEMON_LOGFILE" "pid=$LAB_DAEMON_PID" "dir=$LAB_DAEMON_DIR"
}

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
	local ns name="$2" log deadline pid

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
	deadline=$(($(lab_now_ms) + $(lab_ms "$LAB_DAEMON_TIMEOUT")))
	while :; do
		if lab_daemon_log_since "$name" "$(lab_d_get "$name" off)" | grep -q "notice: running:"; then
			return 0
		fi
		if ! lab_daemon_alive "$pid"; then
			wait "$pid" 2>/dev/null
			LAB_DAEMON_RC=$?
			lab_d_set "$name" pid ""
			echo "lab: daemon $name exited with status $LAB_DAEMON_RC before running; its log:" >&2
			lab_daemon_log "$name" --run | tail -20 >&2
			return 1
		fi
		if [ "$(lab_now_ms)" -ge "$deadline" ]; then
			echo "lab: daemon $name did not log \"running:\" within ${LAB_DAEMON_TIMEOUT}s; its log:" >&2
			lab_daemon_log "$name" --run | tail -20 >&2
			return 1
		fi
		sleep 0.05
	done
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

# ---- a standard gateway lab ------------------------------------------
#
# lab_gw_build [PORTS...]
# The topology most daemon tests use (ports: what relay and outside
# answer on, default 25 443):
#
#   app1 198.18.1.5 2001:db8:1::5 (meant to be trusted) -+
#   app2 198.18.1.6 2001:db8:1::6 (not trusted) ---------+- lan (bridge br0)
#                                                        |  p-gw
#                                        srv0 198.18.1.1 2001:db8:1::1  (XDP here)
#                                        gw (router)
#                                        up0  198.18.0.1 2001:db8::1    (TC egress here)
#                                                        |
#   relay: eth0 198.18.0.25 2001:db8::25 (the approved relay) and
#               198.18.0.99 2001:db8::99 (an unapproved mail host)
#
# Every listener answers each connection with a banner naming the host
# ("220 relay", "220 outside" on 25; "<port> relay" elsewhere), then
# closes.  srv0's peer has NAPI (lab_napi) so an XDP reject's RST arrives.
# Addresses are in LAB_GW[app1_4], LAB_GW[relay_6], ... (host_family).
declare -A LAB_GW=(
	[app1_4]=198.18.1.5 [app1_6]=2001:db8:1::5
	[app2_4]=198.18.1.6 [app2_6]=2001:db8:1::6
	[relay_4]=198.18.0.25 [relay_6]=2001:db8::25
	[outside_4]=198.18.0.99 [outside_6]=2001:db8::99
	[gw_srv_4]=198.18.1.1 [gw_srv_6]=2001:db8:1::1
	[gw_up_4]=198.18.0.1 [gw_up_6]=2001:db8::1
)

# shellcheck disable=SC2120 # the ports are optional
lab_gw_build() {
	local ports=("$@") h fam port banner

	[ ${#ports[@]} -gt 0 ] || ports=(25 443)
	for h in gw app1 app2 relay lan; do
		lab_ns "$h" >/dev/null
	done
	lab_link gw srv0 lan p-gw
	lab_link app1 eth0 lan p-app1
	lab_link app2 eth0 lan p-app2
	lab_bridge lan br0 p-gw p-app1 p-app2
	lab_link gw up0 relay eth0
	lab_napi lan p-gw
	lab_gw_address_srv0
	lab_addr gw up0 "${LAB_GW[gw_up_4]}/24"
	lab_addr gw up0 "${LAB_GW[gw_up_6]}/64"
	lab_forwarding gw
	for h in app1 app2; do
		lab_addr "$h" eth0 "${LAB_GW[${h}_4]}/24"
		lab_addr "$h" eth0 "${LAB_GW[${h}_6]}/64"
		lab_route "$h" default "${LAB_GW[gw_srv_4]}"
		lab_route "$h" default "${LAB_GW[gw_srv_6]}"
	done
	for h in relay outside; do
		lab_addr relay eth0 "${LAB_GW[${h}_4]}/24"
		lab_addr relay eth0 "${LAB_GW[${h}_6]}/64"
	done
	lab_route relay default "${LAB_GW[gw_up_4]}"
	lab_route relay default "${LAB_GW[gw_up_6]}"
	for h in relay outside; do
		for fam in 4 6; do
			for port in "${ports[@]}"; do
				banner="$port $h"
				[ "$port" = 25 ] && banner="220 $h"
				lab_tcp_serve relay "${LAB_GW[${h}_$fam]}" "$port" "$banner"
			done
		done
	done
	for h in relay outside; do
		for fam in 4 6; do
			for port in "${ports[@]}"; do
				lab_wait_port relay "${LAB_GW[${h}_$fam]}" "$port" 5 || return 1
			done
		done
	done
}

# lab_gw_address_srv0: gw's addresses on srv0 (again, after re-creating it).
lab_gw_address_srv0() {
	lab_addr gw srv0 "${LAB_GW[gw_srv_4]}/24"
	lab_addr gw srv0 "${LAB_GW[gw_srv_6]}/64"
}

# lab_tcp_try_many TIMEOUT_S "NS DST PORT" ...
# lab_tcp_try for each spec, all at once; prints one line per spec, in
# order: "NS DST PORT: <lab_tcp_try line>".  For several drops this costs
# one timeout, not one each.
lab_tcp_try_many() {
	local timeout="$1" spec i dir pids=()

	shift
	dir=$(mktemp -d "$LAB_DIR/try.XXXXXX") || return 1
	i=0
	for spec in "$@"; do
		# shellcheck disable=SC2086 # spec is "NS DST PORT"
		lab_tcp_try $spec "$timeout" >"$dir/$i" &
		pids+=($!)
		i=$((i + 1))
	done
	wait "${pids[@]}"
	i=0
	for spec in "$@"; do
		echo "$spec: $(<"$dir/$i")"
		i=$((i + 1))
	done
	rm -rf -- "$dir"
}

# lab_xdp_watch NS IF DURATION_MS [PERIOD_MS] [--until-attached] [--stop-file FILE]
# Samples IF's XDP program in NS every PERIOD_MS (default 50) for
# DURATION_MS, from one process asking the kernel directly (netlink
# RTM_GETLINK), so samples stay on time on a busy machine where a fork
# per sample would not.  Prints one line per sample, as it goes:
#   <ms since the epoch> <prog id>     0: no XDP program, -: no such IF
# With --until-attached it stops at the first sample with a program
# (exit 0) and exits 1 if none came within DURATION_MS.  With
# --stop-file it stops (exit 0) once FILE exists: run it in the
# background with a generous DURATION_MS, touch FILE when done.
lab_xdp_watch() {
	local ns="$1"

	shift
	lab_exec "$ns" python3 -u -c "$LAB_XDP_WATCH_PY" "$@"
}

LAB_XDP_WATCH_PY='
import os, socket, struct, sys, time
ifname, duration_ms = sys.argv[1], int(sys.argv[2])
period_ms = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3][0] != "-" else 50
until = "--until-attached" in sys.argv[3:]
stop_file = sys.argv[sys.argv.index("--stop-file") + 1] if "--stop-file" in sys.argv else None
RTM_GETLINK, NLM_F_REQUEST, NLMSG_ERROR = 18, 1, 2
IFLA_IFNAME, IFLA_XDP, IFLA_XDP_PROG_ID = 3, 43, 4
sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
sock.bind((0, 0))
name = ifname.encode() + b"\0"
attr = struct.pack("HH", 4 + len(name), IFLA_IFNAME) + name
attr += b"\0" * (-len(attr) % 4)
body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0) + attr

def attrs(data, off, end):
    while off + 4 <= end:
        alen, atype = struct.unpack_from("HH", data, off)
        if alen < 4:
            return
        yield atype & 0x3fff, off + 4, off + alen
        off += (alen + 3) & ~3

def prog_id(seq):
    sock.send(struct.pack("IHHII", 16 + len(body), RTM_GETLINK, NLM_F_REQUEST, seq, 0) + body)
    data = sock.recv(65536)
    length, kind = struct.unpack_from("IH", data, 0)
    if kind == NLMSG_ERROR:
        return "-"
    for t, a, e in attrs(data, 32, length):
        if t == IFLA_XDP:
            for t2, a2, e2 in attrs(data, a, e):
                if t2 == IFLA_XDP_PROG_ID:
                    return str(struct.unpack_from("I", data, a2)[0])
            return "0"
    return "0"

end = time.time() + duration_ms / 1000.0
seq = 0
while True:
    seq += 1
    now = time.time()
    pid = prog_id(seq)
    print("%d %s" % (now * 1000, pid), flush=True)
    if until and pid not in ("0", "-"):
        sys.exit(0)
    if stop_file and os.path.exists(stop_file):
        sys.exit(0)
    if now >= end:
        sys.exit(1 if until else 0)
    time.sleep(max(0.0, period_ms / 1000.0 - (time.time() - now)))
'

# lab_xdp_prog_id NS IF: the id of the XDP program on IF ("" if none).
lab_xdp_prog_id() {
	local out

	out=$(lab_exec "$1" ip -d link show dev "$2" 2>/dev/null)
	[[ "$out" =~ prog/xdp[a-z]*\ id\ ([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
	return 0
}

# lab_gw_policy [trust=HOST[,HOST...]] [action=drop|reject] [scope=PFX[,PFX...]]
# Prints the standard policy for the lab_gw_build lab: port 25 governed,
# scope the server subnet (v4 and v6) plus PFXs, relay group "internal"
# = relay (v4 and v6), HOSTs (default app1) trusted for it, unregistered
# sources get ACTION (default drop).
lab_gw_policy() {
	local kv trust="app1" action="drop" h fam sep="" entries="" pfx
	local scope='"198.18.1.0/24", "2001:db8:1::/64"'

	for kv in "$@"; do
		case "$kv" in
		trust=*) trust="${kv#trust=}" ;;
		action=*) action="${kv#action=}" ;;
		scope=*)
			kv="${kv#scope=}"
			for pfx in ${kv//,/ }; do
				scope+=", \"$pfx\""
			done
			;;
		*) lab_die "lab_gw_policy: unknown \"$kv\"" ;;
		esac
	done
	for h in ${trust//,/ }; do
		for fam in 4 6; do
			[ -n "${LAB_GW[${h}_$fam]:-}" ] || lab_die "lab_gw_policy: no host $h"
			entries+="$sep"$'\n'"    {\"addr\": \"${LAB_GW[${h}_$fam]}\", \"relays\": [\"internal\"],"
			entries+=" \"ticket\": \"LAB-$h-$fam\", \"owner\": \"lab\"}"
			sep=","
		done
	done
	cat <<-JSON
	{
	  "mode": "enforce",
	  "ports": [25],
	  "scope": [$scope],
	  "relays": {"internal": [{"addr": "${LAB_GW[relay_4]}"}, {"addr": "${LAB_GW[relay_6]}"}]},
	  "unregistered": {"action": "$action"},
	  "trusted": [$entries
	  ]
	}
	JSON
}

# lab_tcp_result_is LINE WANT: does a lab_tcp_try LINE meet WANT (as in
# lab_tcp_expect)?
lab_tcp_result_is() {
	local got="$1" want="$2"

	case "$want" in
	connected) [[ "$got" =~ ^connected\ [0-9]+ ]] ;;
	connected:*) [[ "$got" =~ ^connected\ [0-9]+\ (.*)$ ]] &&
		[ "${BASH_REMATCH[1]}" = "${want#connected:}" ] ;;
	blocked) [[ "$got" =~ ^(timeout|refused)\ [0-9]+ ]] ;;
	*) [[ "$got" =~ ^$want\ [0-9]+ ]] ;;
	esac
}

# lab_tcp_expect TIMEOUT_S LABEL "NS DST PORT WANT"...
# Tries every connection at once (lab_tcp_try_many) and reports each as a
# TAP check (ok / not_ok of tests/e2e/lib.sh) named
# "LABEL: NS -> DST:PORT WANT".  WANT (the rest of the spec, spaces
# allowed): connected (any banner),
# connected:BANNER, timeout, refused, or blocked (timeout or refused).
# Returns 0 iff every expectation was met.
lab_tcp_expect() {
	local timeout="$1" label="$2" spec specs=() wants=() i=0 line got want rc=0 ns dst port

	shift 2
	for spec in "$@"; do
		read -r ns dst port want <<<"$spec"
		specs+=("$ns $dst $port")
		wants+=("$want")
	done
	while IFS= read -r line; do
		got="${line#*: }"
		want="${wants[$i]}"
		read -r ns dst port <<<"${specs[$i]}"
		i=$((i + 1))
		if lab_tcp_result_is "$got" "$want"; then
			ok "$label: $ns -> $dst:$port $want"
		else
			not_ok "$label: $ns -> $dst:$port $want" "got: $got"
			rc=1
		fi
	done < <(lab_tcp_try_many "$timeout" "${specs[@]}")
	return "$rc"
}

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
# shellcheck disable=SC2004 # LAB_D_* are associative arrays (declared in daemon.sh)
#
# A lab daemon's files: its smtpgate.json (built with jq, so every path
# and name is escaped as JSON requires), its policy, and where
# everything it writes lives.  Sourced by scripts/lab/daemon.sh, which
# holds the bookkeeping (LAB_D_*, lab_d_get/lab_d_set) these use; see
# there for the whole library.

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
#   top_sources=N  expiry_series=N  textfile=PATH
#   socket=PATH             control socket (default <dir>/run/control.sock)
#   admin_group=G  read_group=G
#   pin_dir=DIR  state_dir=DIR  log_dir=DIR
# Prints nothing; dies on a bad key.
lab_daemon_config() {
	local name="$1" kv key val dir ifs=() policy_src="" ifaces

	[ -n "$LAB_PREFIX" ] || lab_die "call lab_init first"
	command -v jq >/dev/null || lab_die "lab_daemon_config needs jq (scripts/install-deps.sh)"
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
	local metrics="off" top="" expiry_series="" textfile="" admin="" readg=""
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
		expiry_series) expiry_series="$val" ;;
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

	ifaces=$(lab_daemon_ifaces_json "$name" "${ifs[@]}") || exit 1
	# jq writes every string, escaped as JSON requires; numbers go in
	# as numbers (a bad one is jq's error, and a dead test).
	jq -n --arg policy "${LAB_D_POLICY[$name]}" --argjson interfaces "$ifaces" \
		--arg listen "$metrics" --arg top "$top" --arg expiry_series "$expiry_series" \
		--arg textfile "$textfile" \
		--arg socket "${LAB_D_SOCK[$name]}" --arg admin "$admin" --arg readg "$readg" \
		--arg pin "${LAB_D_PIN[$name]}" --arg state "${LAB_D_STATE[$name]}" \
		--arg logdir "${LAB_D_LOGDIR[$name]}" '
		def opt(k; v): if v == "" then {} else {(k): v} end;
		{
		  policy: $policy,
		  interfaces: $interfaces,
		  metrics: ({listen: $listen} + opt("top_sources"; $top | if . == "" then . else tonumber end)
			    + opt("expiry_series"; $expiry_series | if . == "" then . else tonumber end)
			    + opt("textfile"; $textfile)),
		  control: ({socket: $socket} + opt("admin_group"; $admin) + opt("read_group"; $readg)),
		  paths: {pin_dir: $pin, state_dir: $state, log_dir: $logdir}
		}' >"$dir/smtpgate.json.tmp" || lab_die "lab_daemon_config $name: cannot build smtpgate.json"
	chmod 0644 "$dir/smtpgate.json.tmp" &&
		mv -f "$dir/smtpgate.json.tmp" "$dir/smtpgate.json" ||
		lab_die "cannot write $dir/smtpgate.json"
}

# lab_daemon_ifaces_json NAME IF:HOOK[:MODE]...: the "interfaces" array.
lab_daemon_ifaces_json() {
	local name="$1" spec f hook mode

	shift
	for spec in "$@"; do
		IFS=: read -r f hook mode <<<"$spec"
		[ -n "$f" ] && [ -n "$hook" ] || lab_die "lab_daemon_config $name: if=$spec: want IF:HOOK[:MODE]"
		jq -n --arg name "$f" --arg hook "$hook" --arg mode "$mode" \
			'{name: $name, hook: $hook} + (if $mode == "" then {} else {xdp_mode: $mode} end)'
	done | jq -s . || lab_die "lab_daemon_config $name: cannot build the interfaces"
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

# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# Real mail software in the namespace lab: a lab-only Postfix (an
# approved relay that accepts mail for a lab domain into Maildirs),
# Postfix's smtp-sink (any other mail host: accepts everything, keeps a
# copy of each message) and swaks (the mail client of the app servers).
# Source it (it sources scripts/lab/netns.sh if that is not loaded yet);
# use it after lab_init.
#
#   . scripts/lab/mail.sh
#   lab_init
#   ... namespaces and addresses (netns.sh) ...
#   lab_postfix_start relay relay domain=lab.example mailbox=ops \
#           addr=198.18.0.25 addr=2001:db8::25
#   lab_smtp_sink_start outside sink 198.18.2.25 2001:db8:2::25
#   lab_swaks app1 198.18.0.25 ops@lab.example --header "X-Lab-Id: m1"
#           # prints "delivered 180 3F2A1C04E1"; exit status swaks's
#   lab_postfix_wait relay ops 1 5         # 1 message in ops' Maildir
#   lab_postfix_find relay ops 'X-Lab-Id: m1'   # prints its file
#   lab_smtp_sink_count sink               # messages the sink received
#
# Everything lives under the lab's scratch dir ($LAB_DIR): a Postfix
# instance has its own config dir, queue, data dir, Maildirs and log
# (postfix-NAME/{etc,queue,data,mail,maillog}), started with
# `postfix -c DIR` inside its namespace: smtpd on port 25 of exactly the
# addresses given (IPv4 and IPv6), nothing else, no DNS, nothing sent
# out.  The system's Postfix (/etc/postfix, /var/spool/postfix) is never
# read for configuration, written or started; at teardown (the lab trap)
# every instance is stopped (`postfix stop`, then SIGKILL to whatever of
# its process group is left) before its namespace and files go.
#
# Functions (each documented where it is defined):
#   Postfix    lab_postfix_start, lab_postfix_stop, lab_postfix_running,
#              lab_postfix_paths, lab_postfix_count, lab_postfix_wait,
#              lab_postfix_find, lab_postfix_log, lab_postfix_adopt
#   smtp-sink  lab_smtp_sink_start, lab_smtp_sink_count, lab_smtp_sink_files
#   swaks      lab_swaks (LAB_SWAKS_RC, LAB_SWAKS_LOG, LAB_SWAKS_TIMEOUT)
#
# Call the *_start functions directly, not inside $(...): their
# teardown registration would be lost with the subshell (the instance
# would still die with its namespace, but without `postfix stop`).

if ! declare -F lab_init >/dev/null; then
	# shellcheck source=scripts/lab/netns.sh
	. "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
fi

LAB_MAIL_POSTFIXES=()        # names of the Postfix instances started
LAB_MAIL_HOOKED=0
LAB_SWAKS_TIMEOUT="${LAB_SWAKS_TIMEOUT:-5}"
# shellcheck disable=SC2034 # for callers
LAB_SWAKS_RC=""              # exit status of the last lab_swaks
# shellcheck disable=SC2034 # for callers
LAB_SWAKS_LOG=""             # its transcript
# The unprivileged user that owns delivered mail (Postfix's virtual
# delivery agent and smtp-sink run as it).
LAB_MAIL_USER="${LAB_MAIL_USER:-nobody}"

# ---- Postfix ---------------------------------------------------------

lab_postfix_dir() {
	echo "$LAB_DIR/postfix-$1"
}

# lab_postfix_paths NAME
# Sets (and prints, KEY=VALUE) NAME's paths:
#   LAB_POSTFIX_DIR    everything of this instance
#   LAB_POSTFIX_ETC    its config dir (main.cf, master.cf): postfix -c
#   LAB_POSTFIX_QUEUE  its queue_directory
#   LAB_POSTFIX_MAIL   its Maildirs (one per mailbox: MAIL/<box>/new/...)
#   LAB_POSTFIX_LOG    its log (maillog_file)
#   LAB_POSTFIX_NS     the namespace it runs in
lab_postfix_paths() {
	local d

	d=$(lab_postfix_dir "$1")
	[ -d "$d/etc" ] || lab_die "no Postfix instance $1 (lab_postfix_start first)"
	LAB_POSTFIX_DIR="$d"
	LAB_POSTFIX_ETC="$d/etc"
	LAB_POSTFIX_QUEUE="$d/queue"
	LAB_POSTFIX_MAIL="$d/mail"
	LAB_POSTFIX_LOG="$d/maillog"
	LAB_POSTFIX_NS="$(cat "$d/.lab-ns" 2>/dev/null)"
	printf '%s\n' "dir=$LAB_POSTFIX_DIR" "etc=$LAB_POSTFIX_ETC" "queue=$LAB_POSTFIX_QUEUE" \
		"mail=$LAB_POSTFIX_MAIL" "log=$LAB_POSTFIX_LOG" "ns=$LAB_POSTFIX_NS"
}

# Writes main.cf, master.cf and the mailbox table of an instance.
# DIR DOMAIN HOSTNAME "ADDR..." "MAILBOX..."
lab_postfix_write_config() {
	local d="$1" domain="$2" host="$3" addrs="$4" boxes="$5" a b ifaces="" uid gid

	for a in $addrs; do
		case "$a" in
		*:*) ifaces+="${ifaces:+, }[$a]" ;;
		*) ifaces+="${ifaces:+, }$a" ;;
		esac
	done
	uid=$(id -u "$LAB_MAIL_USER") && gid=$(id -g "$LAB_MAIL_USER") ||
		lab_die "no user $LAB_MAIL_USER"
	# Every path is this instance's; every lookup local.  Mail for
	# DOMAIN goes to Maildirs, anything else is refused at RCPT time
	# (no relaying), and nothing is ever sent out (error transports).
	cat >"$d/etc/main.cf" <<-EOF
	# A Postfix instance of the smtpgate lab (scripts/lab/mail.sh).
	# It shares nothing with the system's Postfix but the binaries.
	compatibility_level = 3.6
	queue_directory = $d/queue
	data_directory = $d/data
	maillog_file = $d/maillog
	maillog_file_prefixes = $d
	syslog_name = postfix-lab
	myhostname = $host
	mydomain = $domain
	myorigin = \$myhostname
	mydestination =
	mynetworks =
	inet_interfaces = $ifaces
	inet_protocols = all
	smtpd_banner = \$myhostname ESMTP Postfix (smtpgate lab relay)
	smtpd_peername_lookup = no
	smtp_dns_support_level = disabled
	smtp_host_lookup = native
	alias_maps =
	alias_database =
	local_recipient_maps =
	biff = no
	append_dot_mydomain = no
	virtual_mailbox_domains = $domain
	virtual_mailbox_base = $d/mail
	virtual_mailbox_maps = texthash:$d/etc/mailboxes
	virtual_uid_maps = static:$uid
	virtual_gid_maps = static:$gid
	virtual_minimum_uid = 1
	default_transport = error:the smtpgate lab relay sends nothing out
	relay_transport = error:the smtpgate lab relay sends nothing out
	notify_classes =
	bounce_queue_lifetime = 0
	EOF
	# chroot off: the instance's queue is not where a chroot expects it.
	cat >"$d/etc/master.cf" <<-'EOF'
	# service type  private unpriv  chroot  wakeup  maxproc command
	smtp      inet  n       -       n       -       -       smtpd
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	virtual   unix  -       n       n       -       -       virtual
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	: >"$d/etc/mailboxes"
	for b in $boxes; do
		# A trailing slash: Maildir (one file per message).
		printf '%s@%s %s/\n' "$b" "$domain" "$b" >>"$d/etc/mailboxes"
	done
}

# lab_postfix_start NS NAME KEY=VALUE...
# Starts a lab-only Postfix named NAME in NS and waits (at most 30 s)
# until smtpd listens on port 25 of every address.  Keys:
#   addr=ADDR        an address of NS to listen on (repeatable, required;
#                    IPv4 and IPv6)
#   domain=DOMAIN    the mail domain it accepts mail for (lab.example)
#   mailbox=NAME     a mailbox NAME@DOMAIN (repeatable; default "inbox");
#                    other recipients are refused (550)
#   hostname=HOST    its name in the banner (default NAME.DOMAIN)
# Returns 0 when it listens; else 1 with the end of its log on stderr.
lab_postfix_start() {
	local ns name="$2" kv key val d addrs="" boxes="" domain=lab.example host="" a out

	ns=$(lab_nsname "$1")
	shift 2
	[ -n "$LAB_PREFIX" ] || lab_die "call lab_init first"
	[[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || lab_die "Postfix name \"$name\": use [A-Za-z0-9_.-]"
	command -v postfix >/dev/null || lab_die "postfix is missing (scripts/install-deps.sh)"
	for kv in "$@"; do
		key="${kv%%=*}"
		val="${kv#*=}"
		case "$key" in
		addr) lab_check_addr "$val" && addrs+=" $val" ;;
		domain) domain="$val" ;;
		mailbox) boxes+=" $val" ;;
		hostname) host="$val" ;;
		*) lab_die "lab_postfix_start $name: unknown key \"$kv\"" ;;
		esac
	done
	[ -n "$addrs" ] || lab_die "lab_postfix_start $name: no addr="
	[ -n "$boxes" ] || boxes=inbox
	[ -n "$host" ] || host="$name.$domain"
	d=$(lab_postfix_dir "$name")
	[ ! -e "$d" ] || lab_die "Postfix instance $name exists already"
	# The lab dir is traversable (not listable) so that Postfix's
	# unprivileged processes reach their queue and the Maildirs.
	chmod 0711 "$LAB_DIR"
	mkdir -p "$d/etc" "$d/queue" "$d/data" "$d/mail" && chmod 0755 "$d" ||
		lab_die "cannot make $d"
	chown postfix "$d/data" && chown "$LAB_MAIL_USER" "$d/mail" ||
		lab_die "cannot hand $d/data to postfix or $d/mail to $LAB_MAIL_USER"
	echo "$ns" >"$d/.lab-ns"
	lab_postfix_write_config "$d" "$domain" "$host" "$addrs" "$boxes"
	LAB_MAIL_POSTFIXES+=("$name")
	lab_mail_hook_teardown
	# `postfix start` checks the instance (creating its queue dirs),
	# then waits until the master daemon is initialised: listening.
	if ! out=$(lab_exec "$ns" timeout -k 2 30 postfix -c "$d/etc" start 2>&1); then
		echo "lab: Postfix $name did not start: $out" >&2
		tail -20 "$d/maillog" >&2 2>/dev/null
		return 1
	fi
	for a in $addrs; do
		lab_wait_port "$ns" "$a" 25 10 || {
			tail -20 "$d/maillog" >&2 2>/dev/null
			return 1
		}
	done
	lab_log "Postfix $name in $ns on$addrs, mail for $domain"
}

# The pid of NAME's master daemon if it runs ("" otherwise).  Checked:
# a Postfix master whose environment names this instance's config.
lab_postfix_master_pid() {
	local d pid

	d=$(lab_postfix_dir "$1")
	pid=$(awk 'NR == 1 { print $1 }' "$d/queue/pid/master.pid" 2>/dev/null)
	[[ "$pid" =~ ^[0-9]+$ ]] || return 0
	tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$d/etc" &&
		echo "$pid"
	return 0
}

# lab_postfix_running NAME: 0 if NAME's master daemon runs.
lab_postfix_running() {
	[ -n "$(lab_postfix_master_pid "$1")" ]
}

# lab_postfix_stop NAME
# `postfix stop` (waits up to 5 s for the master to finish), then
# SIGKILL to whatever is left of its process group.  Returns 0 once
# nothing of it runs.
lab_postfix_stop() {
	local name="$1" d ns pid i

	d=$(lab_postfix_dir "$name")
	[ -d "$d/etc" ] || return 0
	ns=$(cat "$d/.lab-ns" 2>/dev/null)
	pid=$(lab_postfix_master_pid "$name")
	[ -n "$pid" ] || return 0
	if [ -n "$ns" ] && [ -e "/run/netns/$ns" ]; then
		timeout -k 2 10 nsenter --net="/run/netns/$ns" -- postfix -c "$d/etc" stop \
			>/dev/null 2>&1
	fi
	# The master leads its own process group; its children are in it.
	for ((i = 0; i < 100; i++)); do
		kill -0 -- "-$pid" 2>/dev/null || return 0
		[ "$i" = 60 ] && kill -KILL -- "-$pid" 2>/dev/null
		sleep 0.05
	done
	echo "lab: Postfix $name (master $pid) would not stop" >&2
	return 1
}

# lab_postfix_log NAME: prints NAME's log.
lab_postfix_log() {
	cat -- "$(lab_postfix_dir "$1")/maillog" 2>/dev/null
}

# lab_postfix_files NAME MAILBOX: the messages delivered to MAILBOX, one
# file name a line, oldest first.
lab_postfix_files() {
	local box

	box="$(lab_postfix_dir "$1")/mail/$2"
	[ -d "$box" ] || return 0
	find "$box/new" "$box/cur" -maxdepth 1 -type f 2>/dev/null | sort
}

# lab_postfix_count NAME MAILBOX: how many messages MAILBOX holds.
lab_postfix_count() {
	lab_postfix_files "$1" "$2" | grep -c .
}

# lab_postfix_wait NAME MAILBOX N [TIMEOUT_S]
# Waits (default 10 s) until MAILBOX holds at least N messages; returns
# 1 on timeout.  Delivery follows acceptance within milliseconds, but
# it is a separate process: a message swaks saw accepted may not be in
# the Maildir yet.
lab_postfix_wait() {
	local deadline

	deadline=$(($(lab_now_ms) + ${4:-10} * 1000))
	while [ "$(lab_postfix_count "$1" "$2")" -lt "$3" ]; do
		[ "$(lab_now_ms)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# lab_postfix_find NAME MAILBOX REGEX [TIMEOUT_S]
# Prints the file of the first message in MAILBOX with a line matching
# the extended REGEX, waiting for it up to TIMEOUT_S (default 0: look
# once).  Returns 1 if there is none.
lab_postfix_find() {
	lab_poll "${4:-0}" lab_postfix_grep "$1" "$2" "$3"
}

# lab_postfix_grep NAME MAILBOX REGEX: the files of MAILBOX's messages
# with a line matching REGEX.
lab_postfix_grep() {
	lab_postfix_files "$1" "$2" | xargs -r -d '\n' grep -lE -- "$3" 2>/dev/null
}

# lab_postfix_adopt NAME: registers an instance started by an earlier
# run (scripts/lab.sh --keep) for teardown by this one.
lab_postfix_adopt() {
	LAB_MAIL_POSTFIXES+=("$1")
	lab_mail_hook_teardown
}

# ---- smtp-sink --------------------------------------------------------

# lab_smtp_sink_start NS NAME ADDR...
# Postfix's smtp-sink on port 25 of each ADDR in NS (one per address:
# `smtp-sink :25` would bind IPv4 only), accepting every message and
# keeping each one as a file under $LAB_DIR/sink-NAME.  Stopped at
# teardown (lab_bg).  Waits until all listen (5 s); returns 1 if not.
lab_smtp_sink_start() {
	local ns="$1" name="$2" dir a

	shift 2
	command -v smtp-sink >/dev/null || lab_die "smtp-sink (postfix) is missing"
	dir="$LAB_DIR/sink-$name"
	chmod 0711 "$LAB_DIR"
	mkdir -p "$dir" && chown "$LAB_MAIL_USER" "$dir" || lab_die "cannot make $dir"
	for a in "$@"; do
		lab_check_addr "$a"
		lab_socat_addr "$a"
		# -u: as root it must drop privileges; -d: a file per message
		# (strftime name plus a random suffix).
		lab_bg "$ns" smtp-sink -u "$LAB_MAIL_USER" -h "$name" \
			-d "$dir/%Y%m%d%H%M%S." "$LAB_HOST:25" 64 >/dev/null
	done
	for a in "$@"; do
		lab_wait_port "$ns" "$a" 25 5 || return 1
	done
}

# lab_smtp_sink_files NAME: the messages NAME received, one file a line.
lab_smtp_sink_files() {
	find "$LAB_DIR/sink-$1" -maxdepth 1 -type f 2>/dev/null | sort
}

# lab_smtp_sink_count NAME: how many messages NAME received.
lab_smtp_sink_count() {
	lab_smtp_sink_files "$1" | grep -c .
}

# ---- swaks -----------------------------------------------------------

# lab_swaks NS SERVER TO [SWAKS_ARGS...]
# Sends one message from NS to SERVER:25 (an IPv4 or IPv6 address) for
# TO with swaks, giving up after LAB_SWAKS_TIMEOUT seconds (default 5)
# per step.  The sender defaults to <host>@servers.lab.example; SWAKS_ARGS
# may add --from, --header, --body, ...  Prints one line:
#   delivered <ms> <queue id>   the server accepted the message (exit 0)
#   refused <ms>                a RST answered the SYN (a reject)
#   timeout <ms>                nothing answered (a drop)
#   rejected <ms> <reply>       the server said no (its last reply)
#   error <ms> rc=<N> <text>    anything else
# Returns swaks's exit status (also in LAB_SWAKS_RC: 0 sent, 2 could not
# connect, 2x refused at some SMTP step); its transcript is kept in
# LAB_SWAKS_LOG.
lab_swaks() {
	local ns="$1" server="$2" to="$3" t0 ms rc log from host qid reply text

	shift 3
	command -v swaks >/dev/null || lab_die "swaks is missing (scripts/install-deps.sh)"
	mkdir -p "$LAB_DIR/swaks"
	log=$(mktemp "$LAB_DIR/swaks/$(lab_nsname "$ns").XXXXXX")
	# shellcheck disable=SC2034 # for callers
	LAB_SWAKS_LOG="$log"
	host=$(lab_nsname "$ns")
	host="${host#"$LAB_PREFIX"-}"
	from="$host@servers.lab.example"
	t0=$(lab_now_ms)
	# --timeout bounds the connect and each SMTP step; timeout(1) the
	# whole.  --helo: no lookup of our own name.
	lab_exec "$ns" timeout -k 1 $((LAB_SWAKS_TIMEOUT * 3 + 5)) \
		swaks --server "$server" --port 25 --to "$to" --from "$from" \
		--helo "$host.servers.lab.example" --timeout "$LAB_SWAKS_TIMEOUT" "$@" \
		>"$log" 2>&1 </dev/null
	rc=$?
	ms=$(($(lab_now_ms) - t0))
	# shellcheck disable=SC2034 # for callers
	LAB_SWAKS_RC="$rc"
	if [ "$rc" -eq 0 ]; then
		qid=$(sed -n 's/^<-  250 .*queued as \([0-9A-Za-z]*\).*/\1/p' "$log" | tail -1)
		echo "delivered $ms ${qid:-?}"
		return 0
	fi
	reply=$(grep -E '^<\*\* ' "$log" | tail -1 | tr -d '\r')
	if [ "$rc" -eq 2 ] || [ "$rc" -eq 124 ]; then
		text=$(<"$log")
		case "${text,,}" in
		*refused* | *"reset by peer"*) echo "refused $ms" ;;
		*timeout* | *"timed out"*) echo "timeout $ms" ;;
		*)
			if [ "$rc" -eq 124 ]; then
				echo "timeout $ms"
			else
				echo "error $ms rc=$rc $(grep '^\*\*\*' "$log" | tr -d '\r' | tr '\n' ' ')"
			fi
			;;
		esac
	elif [ -n "$reply" ]; then
		echo "rejected $ms ${reply#<\*\* }"
	else
		echo "error $ms rc=$rc $(tail -2 "$log" | tr -d '\r' | tr '\n' ' ')"
	fi
	return "$rc"
}

# ---- teardown --------------------------------------------------------

# Stops every Postfix instance (while its namespace still exists).
# Registered with lab_on_exit.
lab_mail_teardown() {
	local name

	for name in "${LAB_MAIL_POSTFIXES[@]}"; do
		lab_postfix_stop "$name"
	done
}

lab_mail_hook_teardown() {
	[ "$LAB_MAIL_HOOKED" = 1 ] && return 0
	LAB_MAIL_HOOKED=1
	lab_on_exit lab_mail_teardown
}

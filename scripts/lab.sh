#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The smtpgate lab: a site in network namespaces, with real mail software,
# and the demo that walks through it (`make demo`).
#
#   scripts/lab.sh --demo [--ci | --step] [--keep] [--prefix P]
#   scripts/lab.sh --up [--prefix P]          build the site, leave it running
#   scripts/lab.sh --fleet [--keep] [--prefix P]  two gateways sharing approvals
#                                             through etcd (docs/fleet.md)
#   scripts/lab.sh --teardown P               remove a lab left by --keep / --up
#   scripts/lab.sh --help
#
# The site (every address in 198.18.0.0/15 and 2001:db8::/32):
#
#   app1 198.18.1.11 2001:db8:1::11  registered (ticket CHG-1001)
#   app2 198.18.1.12 2001:db8:1::12  not registered
#   app3 198.18.1.13 2001:db8:1::13  registered, rate class "newsletter"
#     |                              (1 connection/s, burst 3)
#   srvnet: the server subnet 198.18.1.0/24, 2001:db8:1::/64 (a bridge)
#     |
#   srv0 .1 ::1  <- XDP: smtpgated
#   [gw] a router
#   core0 198.18.0.1 2001:db8::1          wan0 198.19.0.1 2001:db8:f::1
#     |                                     |
#   relay 198.18.0.25 2001:db8::25        outside 198.19.0.25 2001:db8:f::25
#   Postfix: mail for lab.example         an unapproved mail host (smtp-sink)
#
# gw routes between them and runs smtpgated with XDP on srv0 (policy:
# unregistered sources are rejected, everything else not allowed is
# dropped, a registered source that keeps exceeding its rate class is
# banned).  The app servers send mail with swaks.
#
# Sourced (tests/e2e/test_demo.sh does), it only defines the site's
# building blocks (site_*, in scripts/lab/site.sh) and the demo, and runs
# nothing.  The plumbing is shared with the e2e tests:
# scripts/lab/netns.sh (namespaces), scripts/lab/daemon.sh (smtpgated),
# scripts/lab/mail.sh (Postfix, smtp-sink, swaks).

LAB_SH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_SH_REPO="$(cd "$LAB_SH_DIR/.." && pwd)"
# shellcheck source=scripts/lab/netns.sh
. "$LAB_SH_DIR/lab/netns.sh"
BUILD="$(lab_build_dir "$LAB_SH_REPO")"

# shellcheck source=scripts/lab/daemon.sh
. "$LAB_SH_DIR/lab/daemon.sh"
# shellcheck source=scripts/lab/mail.sh
. "$LAB_SH_DIR/lab/mail.sh"
# shellcheck source=scripts/lab/counters.sh
. "$LAB_SH_DIR/lab/counters.sh"

# shellcheck source=scripts/lab/site.sh
. "$LAB_SH_DIR/lab/site.sh"
# shellcheck source=scripts/lab/etcd.sh
. "$LAB_SH_DIR/lab/etcd.sh"
# shellcheck source=scripts/lab/fleet.sh
. "$LAB_SH_DIR/lab/fleet.sh"
# shellcheck source=scripts/lab/fleet_demo.sh
. "$LAB_SH_DIR/lab/fleet_demo.sh"

# ---- the demo's output ------------------------------------------------

DEMO_STEP_MODE=0     # 1: pause between steps (--step, on a TTY)
DEMO_T0=0
DEMO_ROWS=()         # "step|what|expected|got"

say() {
	printf '%s\n' "$*"
}

# A command as the reader would type it, then its output indented.
show_cmd() {
	printf '  %s$ %s\n' "$1" "$2"
}

indent() {
	sed 's/^./      &/'
}

step_header() {
	local n="$1"

	shift
	if [ "$DEMO_STEP_MODE" = 1 ] && [ "$n" != 1 ]; then
		printf '\n[press Enter for step %s] ' "$n"
		read -r _ </dev/tty || true
	fi
	printf '\n== %s. %s ==\n' "$n" "$*"
}

# record STEP WHAT EXPECTED GOT: a row of the summary.
record() {
	DEMO_ROWS+=("$1|$2|$3|$4")
	local mark="as expected"

	[ "$3" = "$4" ] || mark="NOT AS EXPECTED (wanted: $3)"
	printf '  -> %s: %s (%s)\n' "$2" "$4" "$mark"
}

# The outcome of one lab_swaks line in words, for the reader.
describe_send() {
	local line="$1" kind ms rest

	read -r kind ms rest <<<"$line"
	case "$kind" in
	delivered) echo "swaks: accepted in $ms ms, queued as $rest" ;;
	refused) echo "swaks: connection refused after $ms ms (a RST from the gateway)" ;;
	timeout) echo "swaks: no answer, gave up after $ms ms (the SYN was dropped)" ;;
	*) echo "swaks: $line" ;;
	esac
}

# Prints the header lines of a delivered message that show its path.
show_message() {
	local f="$1"

	say "  the message arrived: relay:${f#"$LAB_DIR"/}"
	awk '/^$/ { exit } /^(Received|Subject|X-Lab-Id):/ { hdr = 1; print; next }
		/^[ \t]/ && hdr { print; next } { hdr = 0 }' "$f" | head -8 | indent
}

# One message per family from HOST to DEST, at once; records a row per
# family.  STEP WHAT EXPECTED HOST DEST
send_both() {
	local step="$1" what="$2" want="$3" host="$4" dest="$5" fam i=0 id ids=() specs=() got f

	for fam in 4 6; do
		id="$LAB_PREFIX-s$step-$host-$dest-v$fam"
		ids+=("$id")
		specs+=("$host $fam $dest $id")
		show_cmd "$host" "swaks --server ${SITE[${dest}_$fam]} --to $(
			[ "$dest" = relay ] && echo "$SITE_MAILBOX@$SITE_DOMAIN" || echo "$SITE_OUTSIDE_RCPT"
		) --header 'X-Lab-Id: $id' --timeout $LAB_SWAKS_TIMEOUT"
	done
	site_send_batch "${specs[@]}"
	for fam in 4 6; do
		say "  IPv$fam: $(describe_send "${BATCH_LINE[$i]}")"
		[ "${BATCH_RC[$i]}" = 0 ] || grep '^\*\*\*' "${BATCH_LOG[$i]}" | head -2 | indent
		got=$(site_outcome "${BATCH_LINE[$i]}" "$dest" "${ids[$i]}")
		if [ "$got" = delivered ] && [ "$dest" = relay ]; then
			f=$(lab_postfix_find relay "$SITE_MAILBOX" "^X-Lab-Id: ${ids[$i]}\$")
			show_message "$f"
		fi
		record "$step" "$what, IPv$fam" "$want" "$got"
		i=$((i + 1))
	done
}

# ---- the demo's story -------------------------------------------------

demo_intro() {
	cat <<-EOF
	smtpgate demo: lab $LAB_PREFIX, IPv4 and IPv6

	  app1 ${SITE[app1_4]} ${SITE[app1_6]}  registered (ticket CHG-1001)
	  app2 ${SITE[app2_4]} ${SITE[app2_6]}  not registered
	  app3 ${SITE[app3_4]} ${SITE[app3_6]}  registered, rate class "newsletter" ($SITE_BURST_CLASS)
	    |  the server subnet 198.18.1.0/24, 2001:db8:1::/64
	  srv0  <- XDP: smtpgated
	  [gw]  a router
	  core0                                wan0
	    |                                    |
	  relay ${SITE[relay_4]} ${SITE[relay_6]}      outside ${SITE[outside_4]} ${SITE[outside_6]}
	  Postfix: mail for $SITE_DOMAIN          an unapproved mail host (smtp-sink)

	  The policy: from the server subnet, port 25 (and 465, 587) may only reach the
	  relay, and only from registered servers. Unregistered servers are rejected (a
	  RST), anything else is dropped; $SITE_BAN_VIOLATIONS rate-limit violations within 10 s ban a
	  registered server for 5 minutes.
	EOF
}

demo_setup() {
	local t0

	t0=$(lab_now_ms)
	say ""
	say "== 0. Building the lab =="
	site_build || return 1
	say "  namespaces: $(lab_all_namespaces | sort -u | sed "s/^$LAB_PREFIX-//" | tr '\n' ' ')"
	site_start_mail || return 1
	say "  relay: Postfix $(postconf -dh mail_version 2>/dev/null) listening on ${SITE[relay_4]}:25 and [${SITE[relay_6]}]:25 (config, queue and mailbox in its own dir)"
	say "  outside: smtp-sink on ${SITE[outside_4]}:25 and [${SITE[outside_6]}]:25"
	site_start_gateway || return 1
	lab_daemon_paths "$SITE_DAEMON" >/dev/null
	say "  gw: $(lab_daemon_wait_log "$SITE_DAEMON" 'srv0: xdp attached' 1 | sed 's/^.*notice: //')"
	say "  gw: $(lab_daemon_wait_log "$SITE_DAEMON" 'running:' 1 | sed 's/^.*notice: //')"
	say "  ready in $(($(lab_now_ms) - t0)) ms"
}

demo_registered() {
	step_header 1 "A registered server sends mail through the approved relay"
	say "  app1 is in the policy: trusted for relay group \"internal\" (ticket CHG-1001)."
	send_both 1 "app1 (registered) -> relay" delivered app1 relay
}

demo_unregistered() {
	step_header 2 "An unregistered server tries the relay"
	say "  app2 is not in the policy. The policy says \"unregistered\": reject, so the gateway"
	say "  answers its SYN with a RST from XDP and the application fails at once."
	send_both 2 "app2 (unregistered) -> relay" rejected app2 relay
	say "  Postfix never saw app2: $(lab_postfix_log relay | grep -c "\[${SITE[app2_4]}\]\|\[${SITE[app2_6]}\]") log lines mention it."
}

demo_outside() {
	step_header 3 "A registered server tries to reach an outside mail host directly"
	say "  app1 may use the relay, nothing else: its SYN to the outside host is dropped."
	send_both 3 "app1 -> outside host (unapproved)" dropped app1 outside
	say "  the outside host received $(lab_smtp_sink_count outside) messages."
}

demo_approve() {
	local out rc fam

	step_header 4 "The firewall team approves app2"
	for fam in 4 6; do
		show_cmd "firewall-team" "smtpgatectl trust add ${SITE[app2_$fam]} --relay internal --ticket $SITE_TICKET --owner crm-app --contact crm-oncall@lab.example --expires +90d"
		out=$(site_ctl trust add "${SITE[app2_$fam]}" --relay internal --ticket "$SITE_TICKET" \
			--owner crm-app --contact crm-oncall@lab.example --expires +90d 2>&1)
		rc=$?
		printf '%s\n' "$out" | indent
		record 4 "trust add app2 (IPv$fam, $SITE_TICKET)" "exit 0" "exit $rc"
	done
	show_cmd "firewall-team" "smtpgatectl trust list"
	site_ctl trust list 2>&1 | indent
	say "  The approval is in the kernel's maps before the command returns; app2 tries again:"
	send_both 4 "app2 (approved) -> relay" delivered app2 relay
}

demo_burst() {
	local specs=() i id ok=0 blocked=0 admitted limited banned before after banned_line got

	step_header 5 "A registered server sends too fast"
	say "  app3 is registered with rate class \"newsletter\" ($SITE_BURST_CLASS). It fires $SITE_BURST messages at once."
	before=$(site_counters)
	for ((i = 1; i <= SITE_BURST; i++)); do
		id="$LAB_PREFIX-s5-app3-burst-$i"
		specs+=("app3 4 relay $id")
	done
	show_cmd app3 "for i in \$(seq $SITE_BURST); do swaks --server ${SITE[relay_4]} --to $SITE_MAILBOX@$SITE_DOMAIN ... & done"
	site_send_batch "${specs[@]}"
	for ((i = 0; i < SITE_BURST; i++)); do
		if [ "${BATCH_RC[$i]}" = 0 ]; then
			ok=$((ok + 1))
		else
			blocked=$((blocked + 1))
		fi
	done
	after=$(site_counters)
	admitted=$(sg_delta "$before" "$after" pass trusted)
	limited=$(sg_delta "$before" "$after" drop rate_limited)
	banned=$(sg_delta "$before" "$after" drop banned)
	say "  $ok delivered, $blocked not. The gateway counted (new connections):"
	say "    pass/trusted +$admitted, drop/rate_limited +$limited, drop/banned +$banned"
	[ "$ok" -lt "$admitted" ] &&
		say "  The ban drops every packet from app3: $((admitted - ok)) admitted conversation(s) still running when it struck were cut."
	got="limited"
	[ "$admitted" -ge 1 ] && [ $((limited + banned)) -ge 1 ] ||
		got="$admitted admitted, $((limited + banned)) refused"
	record 5 "app3 bursts $SITE_BURST messages -> relay" limited "$got"
	banned_line=$(lab_daemon_wait_log "$SITE_DAEMON" "banned ${SITE[app3_4]} " 3)
	say "  smtpgated: ${banned_line#*warning: }"
	show_cmd "firewall-team" "smtpgatectl ban list"
	site_ctl ban list 2>&1 | indent
	got=$(site_ctl --json ban list | jq -r --arg a "${SITE[app3_4]}" \
		'[.[] | select(.addr == $a and .kind == "auto" and .active)] | if length > 0 then "banned" else "not banned" end')
	record 5 "app3 is banned automatically" banned "$got"
	say "  app3 tries once more:"
	send_one 5 "app3 (banned) -> relay, IPv4" dropped app3 4 relay
}

# send_one STEP WHAT EXPECTED HOST FAM DEST
send_one() {
	local id="$LAB_PREFIX-s$1-$4-$6-v$5-again" line

	show_cmd "$4" "swaks --server ${SITE[${6}_$5]} --to $SITE_MAILBOX@$SITE_DOMAIN --timeout $LAB_SWAKS_TIMEOUT"
	line=$(site_send "$4" "$5" "$6" "$id")
	say "  $(describe_send "$line")"
	record "$1" "$2" "$3" "$(site_outcome "$line" "$6" "$id")"
}

demo_counters() {
	local text

	step_header 6 "The counters"
	show_cmd "firewall-team" "smtpgatectl stats"
	site_ctl stats 2>&1 | indent
	show_cmd gw "curl -s http://$SITE_METRICS/metrics | grep '^smtpgate_connections_total' | grep -v ' 0\$'"
	text=$(site_metrics)
	grep '^smtpgate_connections_total' <<<"$text" | grep -v ' 0$' | indent
	record 6 "smtpgatectl stats = /metrics" match "$(site_compare_counters)"
}

demo_audit() {
	local got

	step_header 7 "The audit log"
	show_cmd "firewall-team" "smtpgatectl audit | grep trust.add"
	site_ctl audit 2>&1 | grep 'trust\.add' | indent
	got=$(site_ctl --json audit | jq -r --arg t "$SITE_TICKET" --arg a "${SITE[app2_4]}" \
		'[.[] | select(.command == "trust.add" and .ticket == $t and .result == "ok"
			and .args.prefix == $a)] | if length > 0 then "recorded" else "missing" end')
	record 7 "audit log has the approval ($SITE_TICKET)" recorded "$got"
}

demo_summary() {
	local row step what want got n=0 good=0 mark

	printf '\n== Summary ==\n'
	printf '  %-4s %-44s %-10s %s\n' step what expected got
	for row in "${DEMO_ROWS[@]}"; do
		IFS='|' read -r step what want got <<<"$row"
		n=$((n + 1))
		mark=ok
		if [ "$want" = "$got" ]; then
			good=$((good + 1))
		else
			mark=FAIL
		fi
		printf '  %-4s %-44s %-10s %-10s %s\n' "$step" "$what" "$want" "$got" "$mark"
	done
	printf '\ndemo: %d of %d steps as expected, in %d s\n' "$good" "$n" \
		$((($(lab_now_ms) - DEMO_T0 + 500) / 1000))
	[ "$good" -eq "$n" ] && [ "$n" -gt 0 ]
}

demo_explore_help() {
	lab_daemon_paths "$SITE_DAEMON" >/dev/null 2>&1
	lab_postfix_paths relay >/dev/null 2>&1
	cat <<-EOF

	The lab stays up (prefix $LAB_PREFIX). To explore:
	  ip netns list | grep $LAB_PREFIX
	  nsenter --net=/run/netns/$LAB_PREFIX-app2 -- swaks --server ${SITE[relay_4]} --to $SITE_MAILBOX@$SITE_DOMAIN
	  $SMTPGATECTL --socket $LAB_DAEMON_SOCKET status
	  $SMTPGATECTL --socket $LAB_DAEMON_SOCKET stats --sources
	  nsenter --net=/run/netns/$LAB_PREFIX-gw -- curl -s http://$SITE_METRICS/metrics
	  tail -f $LAB_DAEMON_LOG_DIR/events.jsonl $LAB_DAEMON_LOGFILE
	  ls $LAB_POSTFIX_MAIL/$SITE_MAILBOX/new; less $LAB_POSTFIX_LOG
	  nsenter --net=/run/netns/$LAB_PREFIX-gw -- ip -d link show srv0
	To tear it down:
	  $LAB_SH_REPO/scripts/lab.sh --teardown $LAB_PREFIX
	EOF
}

# ---- entry points ------------------------------------------------------

usage() {
	cat <<-'EOF'
	The smtpgate lab: a site in network namespaces with Postfix, swaks and
	smtpgated, and the demo that walks through it.

	  scripts/lab.sh --demo [--ci | --step] [--keep] [--prefix P]
	  scripts/lab.sh --up [--prefix P]
	  scripts/lab.sh --fleet [--keep] [--prefix P]
	  scripts/lab.sh --teardown P

	  --demo        walk through the story: delivery, blocks, an approval, a ban,
	                counters, audit; ends with a summary table (exit 0 iff every
	                step went as expected)
	  --ci          no pauses (the default when stdin is not a terminal)
	  --step        pause before each step (needs a terminal)
	  --keep        leave the lab running afterwards; prints how to explore it
	  --up          build the lab and leave it running, without the story
	  --fleet       another lab: two gateways sharing their approvals through a
	                3-member etcd cluster; an approval made on one reaches the
	                app behind the other, a revoke on the other; ends with a
	                summary (exit 0 iff every step went as expected)
	  --prefix P    namespace prefix (default sgdemo<pid>)
	  --teardown P  remove everything of the lab with prefix P

	Needs root, bpffs, and the packages of scripts/install-deps.sh; BUILD
	selects the build dir (default build).
	EOF
}

lab_sh_preflight() {
	local t missing=""

	[ "$(id -u)" -eq 0 ] || lab_die "needs root (namespaces, BPF): run it as root"
	for t in swaks postfix smtp-sink jq curl socat nsenter ethtool; do
		command -v "$t" >/dev/null || missing+=" $t"
	done
	[ -z "$missing" ] || lab_die "missing:$missing (run scripts/install-deps.sh)"
	for t in "$SMTPGATED" "$SMTPGATECTL" "$(lab_sglab)"; do
		[ -x "$t" ] || lab_die "$t is missing: build first (make, or make demo)"
	done
	if ! grep -q '^bpf /sys/fs/bpf bpf ' /proc/mounts; then
		mount -t bpf bpf /sys/fs/bpf || lab_die "cannot mount bpffs on /sys/fs/bpf"
	fi
}

# Re-attaches to a lab left by --keep/--up and removes it.
lab_sh_teardown() {
	local prefix="$1" d n=0

	[[ "$prefix" =~ ^[A-Za-z0-9_.]+$ ]] || lab_die "--teardown: give the lab's prefix (e.g. sgdemo1234)"
	LAB_PREFIX="$prefix"
	LAB_DIR=""
	for d in /tmp/smtpgate-lab-"$prefix".*; do
		[ -d "$d" ] && LAB_DIR="$d"
	done
	trap 'lab_teardown' EXIT
	trap 'lab_teardown; trap - INT; kill -INT $$' INT
	trap 'lab_teardown; trap - TERM; kill -TERM $$' TERM
	if [ -n "$LAB_DIR" ]; then
		for d in "$LAB_DIR"/daemon-*/; do
			[ -f "$d/smtpgate.json" ] && lab_daemon_adopt "$(basename "$d" | sed 's/^daemon-//')"
		done
		for d in "$LAB_DIR"/postfix-*/; do
			[ -d "$d/etc" ] && lab_postfix_adopt "$(basename "$d" | sed 's/^postfix-//')"
		done
	fi
	n=$(lab_all_namespaces | sort -u | grep -c .)
	lab_teardown
	trap - EXIT INT TERM
	echo "lab $prefix: removed $n namespaces${LAB_DIR:+ and $LAB_DIR}"
}

lab_sh_main() {
	local demo=0 keep=0 up=0 ci=0 step=0 fleet=0 prefix="sgdemo$$" rc=0

	while [ $# -gt 0 ]; do
		case "$1" in
		--demo) demo=1 ;;
		--ci) ci=1 ;;
		--step) step=1 ;;
		--keep) keep=1 ;;
		--up) up=1 keep=1 ;;
		--fleet) fleet=1 ;;
		--prefix)
			prefix="${2:-}"
			shift
			;;
		--teardown)
			lab_sh_teardown "${2:-}"
			return
			;;
		-h | --help)
			usage
			return 0
			;;
		*)
			echo "lab.sh: unknown argument \"$1\" (see --help)" >&2
			return 2
			;;
		esac
		shift
	done
	[ "$demo" = 1 ] || [ "$up" = 1 ] || [ "$fleet" = 1 ] || {
		usage >&2
		return 2
	}
	[[ "$prefix" =~ ^[A-Za-z0-9_.]+$ ]] || lab_die "--prefix: use [A-Za-z0-9_.]"
	[ "$step" = 1 ] && [ "$ci" = 0 ] && [ -t 0 ] && DEMO_STEP_MODE=1
	lab_sh_preflight
	DEMO_T0=$(lab_now_ms)
	LAB_SWAKS_TIMEOUT=3
	lab_init "$prefix"
	if [ "$keep" = 1 ]; then
		# Whatever happens from here on, the lab stays up; the exit says
		# how to explore it and how to remove it.
		trap 'demo_explore_help' EXIT
		trap 'exit 130' INT TERM
	fi
	if [ "$fleet" = 1 ]; then
		[ "$keep" = 1 ] && trap 'echo "lab $LAB_PREFIX stays up; remove it: $LAB_SH_REPO/scripts/lab.sh --teardown $LAB_PREFIX"' EXIT
		fleet_demo
		return $?
	fi
	if [ "$demo" = 1 ]; then
		demo_intro
	fi
	if ! demo_setup; then
		echo "lab.sh: building the lab failed" >&2
		return 1
	fi
	[ "$demo" = 1 ] || return 0
	demo_registered
	demo_unregistered
	demo_outside
	demo_approve
	demo_burst
	demo_counters
	demo_audit
	demo_summary || rc=1
	return "$rc"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -uo pipefail
	lab_sh_main "$@"
	exit $?
fi

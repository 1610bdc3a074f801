#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Enforcement survives the daemon: smtpgated (XDP on srv0) is killed with
# SIGKILL while the untrusted server keeps trying to send mail and the
# trusted one keeps sending; then it is started again.
#
#   - during the downtime no untrusted connection succeeds and every
#     trusted one does;
#   - srv0 has an XDP program at every sample (every 50 ms, netlink) from before
#     the kill to after the restart; the restarted daemon reuses the pins
#     ("reusing pinned maps") and replaces the program in place: its id
#     changes from the old one straight to the new one;
#   - the counters continue (after >= before, and everything tried
#     during the downtime is counted), the policy generation goes on;
#   - a clean SIGTERM exits 0 and leaves enforcement (v4 and v6) in force.
#
# Lab: tests/e2e/test_daemon_enforce.sh's (lab_gw_build).
set -uo pipefail

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/lab/daemon.sh
. "$E2E_REPO/scripts/lab/daemon.sh"

NAME=rs
ATT=srv0:xdp
UNTRUSTED_TRIES=30      # app2 -> relay:25, one every 100 ms
TRUSTED_TRIES=15        # app1 -> relay:25, one every 200 ms

counters() {
	sg_counters gw "$LAB_DAEMON_PIN_DIR" "$ATT"
}

# sender APP N GAP_S TIMEOUT_S DIR: N connection attempts to relay:25,
# GAP_S apart, each into DIR/APP.<i>.  Runs in the background.
sender() {
	local app="$1" n="$2" gap="$3" timeout="$4" dir="$5" i pids=()

	for ((i = 0; i < n; i++)); do
		lab_tcp_try "$app" "${LAB_GW[relay_4]}" 25 "$timeout" >"$dir/$app.$i" &
		pids+=($!)
		sleep "$gap"
	done
	wait "${pids[@]}"
}

# results DIR APP: the lab_tcp_try outcomes of one sender, counted:
# "<connected> <timeout> <other>".
results() {
	local f c=0 t=0 o=0

	for f in "$1/$2".*; do
		case "$(<"$f")" in
		connected*) c=$((c + 1)) ;;
		timeout*) t=$((t + 1)) ;;
		*) o=$((o + 1)) ;;
		esac
	done
	echo "$c $t $o"
}

# counters_not_reset BEFORE AFTER: every counter of BEFORE is <= in AFTER.
counters_not_reset() {
	local v r p b c bad=""

	while read -r v r p b c; do
		[ -n "$v" ] || continue
		[ "$(sg_field "$2" "$v" "$r" packets)" -ge "$p" ] || bad+="$v/$r packets; "
		[ "$(sg_field "$2" "$v" "$r" bytes)" -ge "$b" ] || bad+="$v/$r bytes; "
		[ "$(sg_field "$2" "$v" "$r" conns)" -ge "$c" ] || bad+="$v/$r conns; "
	done <<<"$1"
	[ -z "$bad" ] || echo "went down: $bad"
	[ -z "$bad" ]
}

kill_and_restart() {
	local dir="$LAB_DIR/restart" id1 id2 before after s_pid u_pid t_pid ids samples holes
	local out rc c t o i gaps span pid="$LAB_DAEMON_PID"

	mkdir -p "$dir"
	id1=$(lab_xdp_prog_id gw srv0)
	check_match "before: srv0 has smtpgate's XDP program" "$id1" "^[0-9]+$"
	before=$(counters)
	check_cmp "before: counters are readable and non-zero" "$(sg_field "$before" pass trusted conns)" -ge 1

	# One sampler process (netlink): on time even on a busy machine.
	lab_xdp_watch gw srv0 60000 50 --stop-file "$dir/stop" >"$dir/samples" &
	s_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -s "$dir/samples" ] && break
		sleep 0.05
	done
	sender app2 "$UNTRUSTED_TRIES" 0.1 0.3 "$dir" &
	u_pid=$!
	sender app1 "$TRUSTED_TRIES" 0.2 2 "$dir" &
	t_pid=$!

	sleep 0.5
	lab_daemon_kill9 "$NAME"
	check "kill -9: the daemon (pid $pid) is gone" bash -c "! kill -0 $pid 2>/dev/null"
	sleep 1
	check_eq "downtime: srv0 keeps the same XDP program" "$(lab_xdp_prog_id gw srv0)" "$id1"
	check_match "downtime: the pins are still there" "$(ls "$LAB_DAEMON_PIN_DIR")" "link_xdp_srv0"

	if lab_daemon_start gw "$NAME"; then
		ok "restart: smtpgated starts again on the same config"
	else
		not_ok "restart: smtpgated starts again on the same config" "$(lab_daemon_log "$NAME" --run)"
	fi
	lab_daemon_paths "$NAME" >/dev/null
	check "restart: the log says it reuses the pinned maps (generation 1)" \
		lab_daemon_wait_log "$NAME" "reusing pinned maps in $LAB_DAEMON_PIN_DIR \(generation 1\)" 1
	check "restart: the policy is applied again as generation 2" \
		lab_daemon_wait_log "$NAME" "policy .* applied: generation 2," 1

	wait "$u_pid" "$t_pid"
	# A few more samples with the new program, then stop the sampler.
	sleep 0.3
	touch "$dir/stop"
	wait "$s_pid"
	id2=$(lab_xdp_prog_id gw srv0)
	check_match "restart: srv0 has an XDP program after the restart" "$id2" "^[0-9]+$"
	check_cmp "restart: its id changed (replaced: $id1 -> $id2)" "${id2:-0}" -ne "${id1:-0}"

	samples=$(wc -l <"$dir/samples")
	holes=$(awk '$2 !~ /^[1-9][0-9]*$/' "$dir/samples" | wc -l)
	# Samples more than 500 ms apart (a stalled sampler proves nothing;
	# a loaded machine delays a 50 ms sleep somewhat).
	gaps=$(awk 'NR > 1 && $1 - t > 500 { n++ } { t = $1 } END { print n + 0 }' "$dir/samples")
	span=$(awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }' "$dir/samples")
	check_cmp "samples: from before the kill to after the restart ($samples in $span ms)" \
		"$samples" -ge $((span / 100))
	check_eq "samples: none more than 500 ms after the previous one" "$gaps" 0
	check_eq "samples: srv0 had an XDP program at every sample" "$holes" 0 ||
		tap_diag "$(cat "$dir/samples")"
	# Only the old id, then only the new one: replaced in place, once.
	ids=$(awk '{print $2}' "$dir/samples" | uniq | tr '\n' ' ')
	check_eq "samples: the program id went straight from old to new" "$ids" "$id1 $id2 "

	read -r c t o <<<"$(results "$dir" app2)"
	check_eq "untrusted: no connection succeeded around the kill and restart" "$c" 0
	check_eq "untrusted: all $UNTRUSTED_TRIES attempts timed out (dropped)" "$t" "$UNTRUSTED_TRIES" ||
		tap_diag "untrusted outcomes ($o other): $(cat "$dir"/app2.*)"
	read -r c t o <<<"$(results "$dir" app1)"
	check_eq "trusted: all $TRUSTED_TRIES connections succeeded around the kill and restart" \
		"$c" "$TRUSTED_TRIES" || tap_diag "$(cat "$dir"/app1.*)"

	after=$(counters)
	check "counters: nothing went down across the restart" counters_not_reset "$before" "$after"
	check_cmp "counters: every untrusted attempt was counted (drop/untrusted_source conns)" \
		"$(sg_delta "$before" "$after" drop untrusted_source conns)" -ge "$UNTRUSTED_TRIES"
	check_eq "counters: every trusted connection was counted (pass/trusted conns)" \
		"$(sg_delta "$before" "$after" pass trusted conns)" "$TRUSTED_TRIES"
	ID2="$id2"
	out=$(lab_daemon_log "$NAME" --run)
	rc=$(grep -c "error:" <<<"$out")
	check_eq "restart: no error in the restarted daemon's log" "$rc" 0 || tap_diag "$out"
}

clean_stop() {
	local rc before after fam specs=()

	before=$(counters)
	lab_daemon_stop "$NAME"
	rc=$?
	check_eq "SIGTERM: the daemon exits 0" "$rc" 0
	check_match "SIGTERM: the log says enforcement stays" "$(lab_daemon_log "$NAME" --run)" \
		"SIGTERM: stopping; enforcement stays in force"
	check_eq "SIGTERM: srv0 keeps the restarted daemon's program" "$(lab_xdp_prog_id gw srv0)" "$ID2"
	for fam in 4 6; do
		specs+=("app2 ${LAB_GW[relay_$fam]} 25 timeout"
			"app1 ${LAB_GW[relay_$fam]} 25 connected:220 relay"
			"app1 ${LAB_GW[outside_$fam]} 25 timeout")
	done
	lab_tcp_expect 1 "after SIGTERM" "${specs[@]}"
	after=$(counters)
	check_cmp "after SIGTERM: still counting (drop/untrusted_source conns)" \
		"$(sg_delta "$before" "$after" drop untrusted_source conns)" -ge 2
	check_eq "after SIGTERM: still counting (pass/trusted conns)" \
		"$(sg_delta "$before" "$after" pass trusted conns)" 2
}

main() {
	local t0 t1

	t0=$(lab_now_ms)
	e2e_daemon_lab
	lab_gw_policy trust=app1 >"$LAB_DIR/policy.json"
	lab_daemon_config "$NAME" if=srv0:xdp policy="$LAB_DIR/policy.json"
	tap_diag "lab $LAB_PREFIX ready in $(($(lab_now_ms) - t0)) ms"
	if lab_daemon_start gw "$NAME"; then
		ok "smtpgated starts (XDP on srv0)"
	else
		tap_bail "smtpgated does not start: $(lab_daemon_log "$NAME")"
	fi
	lab_daemon_paths "$NAME" >/dev/null
	lab_tcp_expect 1 "first run" "app1 ${LAB_GW[relay_4]} 25 connected:220 relay" \
		"app2 ${LAB_GW[relay_4]} 25 timeout"

	t1=$(lab_now_ms)
	kill_and_restart
	tap_diag "kill -9 and restart: $(($(lab_now_ms) - t1)) ms"
	clean_stop

	tap_diag "total $(($(lab_now_ms) - t0)) ms"
	tap_done
}

main "$@"

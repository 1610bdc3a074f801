# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=bash
#
# The smtpgatectl side of the control-plane benchmark, sourced by
# bench_control.sh (its lab, daemon and helpers): each figure next to
# the issue's "today" (issue 18, before the thin client, the streamed
# listing and the import).  Times come from bash's $EPOCHREALTIME around
# the command, so they cover process start to exit as a script sees
# them, without a `date` fork in the way.
#
#   trust add     p50 and p99 over ADDS calls, with 0, 1,000 and 10,000
#                 approvals in place; /bin/true timed before each call,
#                 the floor of any process at that moment (this VM's p99
#                 moves by several milliseconds within minutes); and the
#                 daemon's part alone (the request's round trip on the
#                 socket, no process started)
#   start-up      smtpgatectl --version and status (the thin client), and
#                 smtpgatectl-full --version (linked as smtpgatectl was),
#                 next to /bin/true: the machine's floor for any process
#   import        smtpgatectl trust import of 100,000 approvals
#   BASE_CTL=PATH an earlier smtpgatectl (e.g. main's, built elsewhere):
#                 its trust add (10,000 in place), --version and status
#                 timed alternately with this one's, side by side
#   trust list    262,144 entries: --json and text, the daemon's VmHWM
#                 during the listing (the peak reset just before), the
#                 first byte's latency, and status while it streams

# import_file N PATH: N approvals of 2001:db8:c::/48 hosts.
import_file() {
	awk -v n="$1" 'BEGIN {
		printf "{\"approvals\": [\n"
		for (i = 0; i < n; i++)
			printf "%s{\"prefix\": \"2001:db8:c:%x::%x\", \"relays\": [\"internal\"], \"ticket\": \"IMP-%d\", \"owner\": \"bench\"}\n",
				(i ? "," : ""), int(i / 65536), i % 65536, i
		printf "]}\n"
	}' >"$2"
}

# add_rtt N FIRST: N trust.add requests on the socket from one process,
# each's round trip in microseconds (the daemon's part of a trust add).
cat >"$CTL_DIR/add_rtt.py" <<'PY'
import json, socket, sys, time
path, n, first = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(first, first + n):
    req = json.dumps({"command": "trust.add", "args": {"prefix": "2001:db8:e::%x" % i,
          "relays": ["internal"], "ticket": "RTT-%d" % i, "owner": "bench"}}).encode() + b"\n"
    t0 = time.monotonic()
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(req)
    data = b""
    while not data.endswith(b"\n"):
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    print(int((time.monotonic() - t0) * 1e6))
    if not json.loads(data)["ok"]:
        print("# trust.add failed: %s" % data, file=sys.stderr)
PY

res_ctl="$CTL_DIR/bench-ctl"
mkdir -p "$res_ctl"

echo "## smtpgatectl and the control socket (medians; today = issue 18's figures)"
printf '%-44s %-26s %s\n' measure now today

# ---- trust add by approvals in place ------------------------------------------
write_policy 1
for k in 0 1000 10000; do
	if [ "$k" = 0 ]; then no_approvals; else write_approvals "$k" 100; fi
	ctl_stop
	ctl_start || echo "# smtpgated did not start" >&2
	: >"$res_ctl/add-$k"
	: >"$res_ctl/add-base-$k"
	: >"$res_ctl/floor-$k"
	for ((i = 0; i < ADDS; i++)); do
		timed_us /bin/true >>"$res_ctl/floor-$k"
		timed_us ctl trust add "2001:db8:b::$(printf %x $((i + 1)))" --relay internal \
			--ticket "BENCH-$i" --owner bench >>"$res_ctl/add-$k"
		[ -n "${BASE_CTL:-}" ] && [ "$k" = 10000 ] &&
			timed_us "$BASE_CTL" --socket "$CTL_SOCK" trust add "2001:db8:f::$(printf %x $((i + 1)))" \
				--relay internal --ticket "BASE-$i" --owner bench >>"$res_ctl/add-base-$k"
	done
	case "$k" in
	0) today="10-12 / 17-19 ms" ;;
	1000) today="12-15 / 23-25 ms" ;;
	*) today="65-81 / 97-121 ms" ;;
	esac
	printf '%-44s %-26s %s\n' "trust add p50 / p99, $k approvals" "$(ms_pcts "$res_ctl/add-$k")" "$today"
	printf '%-44s %-26s %s\n' "... /bin/true between them (the floor)" "$(ms_pcts "$res_ctl/floor-$k")" "-"
	python3 "$CTL_DIR/add_rtt.py" "$CTL_SOCK" "$ADDS" 1 >"$res_ctl/rtt-$k"
	printf '%-44s %-26s %s\n' "... the daemon's part (socket round trip)" "$(ms_pcts "$res_ctl/rtt-$k")" "-"
	[ -s "$res_ctl/add-base-$k" ] &&
		printf '%-44s %-26s %s\n' "... BASE_CTL's trust add, side by side" "$(ms_pcts "$res_ctl/add-base-$k")" "-"
done

# ---- start-up --------------------------------------------------------------------
: >"$res_ctl/version"
: >"$res_ctl/version-full"
: >"$res_ctl/status"
: >"$res_ctl/true"
: >"$res_ctl/version-base"
: >"$res_ctl/status-base"
for ((i = 0; i < 300; i++)); do
	timed_us /bin/true >>"$res_ctl/true"
	if [ -n "${BASE_CTL:-}" ]; then
		timed_us "$BASE_CTL" --version >>"$res_ctl/version-base"
		timed_us "$BASE_CTL" --socket "$CTL_SOCK" status >>"$res_ctl/status-base"
	fi
	timed_us "$CTL" --version >>"$res_ctl/version"
	timed_us "$CTL-full" --version >>"$res_ctl/version-full"
	timed_us ctl status >>"$res_ctl/status"
done
printf '%-44s %-26s %s\n' "/bin/true p50 / p99 (the floor)" "$(ms_pcts "$res_ctl/true")" "-"
printf '%-44s %-26s %s\n' "smtpgatectl --version p50 / p99" "$(ms_pcts "$res_ctl/version")" "6.4 / 9.7 ms"
printf '%-44s %-26s %s\n' "smtpgatectl-full --version (every library)" "$(ms_pcts "$res_ctl/version-full")" "(as smtpgatectl was)"
printf '%-44s %-26s %s\n' "smtpgatectl status p50 / p99" "$(ms_pcts "$res_ctl/status")" "7.9 ms (median)"
if [ -n "${BASE_CTL:-}" ]; then
	printf '%-44s %-26s %s\n' "BASE_CTL --version p50 / p99" "$(ms_pcts "$res_ctl/version-base")" "-"
	printf '%-44s %-26s %s\n' "BASE_CTL status p50 / p99" "$(ms_pcts "$res_ctl/status-base")" "-"
fi
echo "# shared libraries loaded: smtpgatectl $(ldd "$CTL" | grep -c '=>'), smtpgatectl-full $(ldd "$CTL-full" | grep -c '=>')"

# ---- bulk import -----------------------------------------------------------------
# The daemon's CPU time (utime + stime, in clock ticks) from /proc.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SGD_PID/stat"; }
import_file 100000 "$res_ctl/import.json"
: >"$res_ctl/import"
: >"$res_ctl/import-cpu"
for ((r = 0; r < RUNS; r++)); do
	no_approvals
	ctl_stop
	ctl_start || echo "# smtpgated did not start" >&2
	records0=$(grep -c '"command":"trust.import","result":"ok"' "$CTL_LOG/audit.jsonl")
	c0=$(cpu_ticks)
	timed_us ctl trust import "$res_ctl/import.json" >>"$res_ctl/import"
	echo $(($(cpu_ticks) - c0)) >>"$res_ctl/import-cpu"
done
printf '%-44s %-26s %s\n' "trust import of 100,000 approvals" \
	"$(median <"$res_ctl/import" | awk '{ printf "%.2f s", $1 / 1e6 }')" \
	"none (9,000 adds, 4 clients: 371 s)"
printf '%-44s %-26s %s\n' "... the daemon's CPU time for it" \
	"$(median <"$res_ctl/import-cpu" | awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f s", $1 / hz }')" "-"
echo "# audit records of the last import: $(($(grep -c '"command":"trust.import","result":"ok"' "$CTL_LOG/audit.jsonl") - records0))"

# ---- trust list of 262,144 entries ----------------------------------------------
write_policy 262143
no_approvals
ctl_stop
ctl_start || echo "# smtpgated did not start" >&2
ctl trust add 2001:db8:d::1 --relay internal --ticket LIST --owner bench >/dev/null
cat >"$res_ctl/first_byte.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0 = time.monotonic()
s.sendall(b'{"command":"trust.list"}\n')
s.shutdown(socket.SHUT_WR)
first = s.recv(65536)
t1 = time.monotonic()
n = len(first)
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    n += len(b)
print("%.1f %d %.0f" % ((t1 - t0) * 1000, n, (time.monotonic() - t0) * 1000))
PY
: >"$res_ctl/list-json"
: >"$res_ctl/list-text"
: >"$res_ctl/list-hwm"
: >"$res_ctl/list-rss"
: >"$res_ctl/list-first"
: >"$res_ctl/status-during"
for ((r = 0; r < RUNS; r++)); do
	echo 5 >"/proc/$SGD_PID/clear_refs" # VmHWM := VmRSS
	kb VmRSS >>"$res_ctl/list-rss"
	timed_us ctl --json trust list >>"$res_ctl/list-json"
	timed_us ctl trust list >>"$res_ctl/list-text"
	kb VmHWM >>"$res_ctl/list-hwm"
	python3 "$res_ctl/first_byte.py" "$CTL_SOCK" >>"$res_ctl/list-first"
	# status while a listing streams to a client that reads it.
	ctl --json trust list >/dev/null 2>&1 &
	lpid=$!
	sleep 0.3
	for ((i = 0; i < 5; i++)); do
		kill -0 "$lpid" 2>/dev/null || break
		timed_us ctl status >>"$res_ctl/status-during"
	done
	wait "$lpid"
done
printf '%-44s %-26s %s\n' "trust list --json, 262,144 entries" \
	"$(median <"$res_ctl/list-json" | awk '{ printf "%.2f s", $1 / 1e6 }')" "17 s (84 MB)"
printf '%-44s %-26s %s\n' "trust list (text), 262,144 entries" \
	"$(median <"$res_ctl/list-text" | awk '{ printf "%.2f s", $1 / 1e6 }')" "15.7 s"
printf '%-44s %-26s %s\n' "daemon VmHWM during the two listings" \
	"$(median <"$res_ctl/list-hwm" | awk '{ printf "%d MiB", $1 / 1024 }') (RSS before: $(median <"$res_ctl/list-rss" | awk '{ printf "%d MiB", $1 / 1024 }'))" \
	"783 MiB after two"
printf '%-44s %-26s %s\n' "first byte of the listing (raw socket)" \
	"$(awk '{ print $1 }' "$res_ctl/list-first" | median) ms" "-"
echo "# listing reply: $(awk '{ print $2 }' "$res_ctl/list-first" | median) bytes, $(awk '{ print $3 }' "$res_ctl/list-first" | median) ms read raw"
printf '%-44s %-26s %s\n' "status during a listing p50 / p99" "$(ms_pcts "$res_ctl/status-during")" "9.9 s behind it"
echo

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Reads during a reload (issue 18): how long `status`, `stats` and
# /metrics take to answer while smtpgated reloads the largest policy
# allowed (262,143 trusted /128s plus the lab's relay), against the same
# at rest.  It measures; it asserts nothing about the figures.
#
# A sampler (python3, in the gateway's namespace) sends one request at a
# time, round robin: `status` and `stats` over the control socket (one
# connection each, as smtpgatectl does, without smtpgatectl's own
# process start-up, which bench_control.sh measures), and GET /metrics.
# "during": from the moment `smtpgatectl reload` is started until it
# exits; "at rest": as many samples with no reload.  Each run prints
# p50, p99 and max per request; the summary is the median over runs.
#
#   tests/bench/bench_reload.sh [--runs N] [--entries N]
set -uo pipefail

RUNS=3
ENTRIES=262143
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS="$2"; shift 2 ;;
	--entries) ENTRIES="$2"; shift 2 ;;
	--verbose) shift ;;
	*) echo "usage: $0 [--runs N] [--entries N]" >&2; exit 2 ;;
	esac
done

cd "$(dirname "$0")/../.."
# shellcheck source=tests/bench/ctl_bench_lib.sh
. tests/bench/ctl_bench_lib.sh
command -v python3 >/dev/null || tap_bail "python3 is missing"
LISTEN="198.18.0.1:9733"

bench_policy "$ENTRIES" | lab_daemon_policy "$CTL_NAME" -
lab_daemon_config "$CTL_NAME" if=srv0:xdp:auto "metrics=$LISTEN" \
	"admin_group=$CTL_ADMIN_GROUP" "read_group=$CTL_READ_GROUP"

SAMPLER="$CTL_DIR/sampler.py"
cat >"$SAMPLER" <<'EOF'
# sampler.py SOCK HOST:PORT OUT STOP_FILE MAX: round robin status, stats,
# /metrics until STOP_FILE exists (or MAX samples each); writes
# "kind microseconds" lines to OUT.
import os, socket, sys, time
sock, hostport, out, stop, most = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
host, port = hostport.rsplit(":", 1)

def ctl(cmd):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.connect(sock)
    s.sendall(b'{"command":"%s"}\n' % cmd.encode())
    s.shutdown(socket.SHUT_WR)
    data = b""
    while not data.endswith(b"\n"):
        b = s.recv(1 << 20)
        if not b:
            break
        data += b
    s.close()
    if b'"ok":true' not in data:
        raise SystemExit("%s failed: %r" % (cmd, data[:200]))

def metrics():
    s = socket.create_connection((host, int(port)), timeout=120)
    s.sendall(b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
    data = b""
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        data += b
    s.close()
    if b" 200 " not in data.split(b"\r\n", 1)[0]:
        raise SystemExit("metrics failed: %r" % data[:200])

kinds = [("status", lambda: ctl("status")), ("stats", lambda: ctl("stats")), ("metrics", metrics)]
with open(out, "w") as f:
    for i in range(most):
        if stop != "-" and os.path.exists(stop):
            break
        for name, fn in kinds:
            t0 = time.monotonic_ns()
            fn()
            f.write("%s %d\n" % (name, (time.monotonic_ns() - t0) // 1000))
EOF

# stat FILE KIND: "p50 p99 max n" (milliseconds) of KIND's samples.
stat_of() {
	awk -v k="$2" '$1 == k { print $2 }' "$1" | sort -n | awk '{ v[NR] = $1 }
		END { if (!NR) { print "- - - 0"; exit }
		      p99 = int(NR * 0.99 + 0.999); if (p99 < 1) p99 = 1
		      printf "%.2f %.2f %.2f %d\n", v[int((NR + 1) / 2)] / 1000, v[p99] / 1000, v[NR] / 1000, NR }'
}

echo "# machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: medians of $RUNS runs)"
echo "# policy: $ENTRIES trusted entries"
t0=$(now_ns)
ctl_start || tap_bail "smtpgated does not start"
echo "# start to ready: $(( ($(now_ns) - t0) / 1000000 )) ms"
echo

res="$CTL_DIR/bench"
mkdir -p "$res"
printf '%-6s %-8s %9s %9s %9s %7s %10s\n' run request p50_ms p99_ms max_ms n reload_ms
for ((r = 0; r < RUNS; r++)); do
	# During: the sampler runs until the reload's client has exited.
	rm -f "$res/stop"
	touch "$CTL_POLICY"
	t0=$(now_ns)
	( ctl reload >/dev/null 2>&1; touch "$res/stop" ) &
	rpid=$!
	lab_exec gw python3 "$SAMPLER" "$CTL_SOCK" "$LISTEN" "$res/during-$r" "$res/stop" 100000 ||
		echo "# sampler failed during the reload" >&2
	wait "$rpid"
	reload_ms=$(( ($(now_ns) - t0) / 1000000 ))
	echo "$reload_ms" >>"$res/reload_ms"
	n=$(awk '$1 == "status"' "$res/during-$r" | wc -l)
	# At rest: as many rounds (at least 50).
	[ "$n" -lt 50 ] && n=50
	lab_exec gw python3 "$SAMPLER" "$CTL_SOCK" "$LISTEN" "$res/rest-$r" - "$n" ||
		echo "# sampler failed at rest" >&2
	for kind in status stats metrics; do
		for phase in during rest; do
			read -r p50 p99 max cnt <<<"$(stat_of "$res/$phase-$r" "$kind")"
			echo "$p50 $p99 $max" >>"$res/$phase-$kind"
			printf '%-6s %-8s %9s %9s %9s %7s %10s\n' "$r" "$kind/${phase:0:4}" "$p50" "$p99" \
				"$max" "$cnt" "$([ "$phase" = during ] && echo "$reload_ms")"
		done
	done
done
echo
echo "medians over $RUNS runs (ms), reload $(median <"$res/reload_ms") ms:"
printf '%-8s %-7s %9s %9s %9s\n' request when p50 p99 max
for kind in status stats metrics; do
	for phase in rest during; do
		printf '%-8s %-7s %9s %9s %9s\n' "$kind" "$phase" \
			"$(awk '{ print $1 }' "$res/$phase-$kind" | median)" \
			"$(awk '{ print $2 }' "$res/$phase-$kind" | median)" \
			"$(awk '{ print $3 }' "$res/$phase-$kind" | median)"
	done
done
ctl_stop
echo
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0

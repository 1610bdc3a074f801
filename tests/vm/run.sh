#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# smtpgate in Debian 12 VMs: qemu (TCG: no KVM needed), Debian 12's stock
# cloud kernels from their packages, systemd as init, the .deb from
# `make deb` installed inside.  TAP lines, then "N passed, N failed".
#
#   tests/vm/run.sh            every boot (make test-vm):
#                                full  on the newest 6.1: the package under systemd,
#                                      real SMTP through XDP, restart, kill -9, a
#                                      broken reload, reboot, remove, purge
#                                bpf   the tests/bpf suites on the newest 6.1
#                                bpf   the tests/bpf suites on an older 6.1
#   tests/vm/run.sh --quick    one boot, on the older 6.1 (make test):
#                                quick install, groups, systemd start (sd_notify),
#                                      admin/read/neither users, XDP and TC
#                                      programs verified and attached
#   tests/vm/run.sh --only NAME   one of: full, bpf-new, bpf-old, quick
#
# Environment: BUILD (build), SMTPGATE_CACHE (/var/cache/smtpgate-test:
# root file system and kernels, kept between runs), SMTPGATE_VM_KERNEL_OLD
# (6.1.0-47), SMTPGATE_VM_KERNEL_NEW (the newest linux-image-6.1.0-N-cloud-amd64
# apt knows), SMTPGATE_VM_SMP (2), SMTPGATE_VM_TIMEOUT_SCALE (1).
# Needs root (mkfs -d, mmdebstrap), mmdebstrap, qemu-system-x86
# (scripts/install-deps.sh --vm).  Logs: $BUILD/vm/<boot>/.
set -uo pipefail

cd "$(dirname "$0")/../.."
BUILD="${BUILD:-build}"
CACHE="${SMTPGATE_CACHE:-/var/cache/smtpgate-test}"
SMP="${SMTPGATE_VM_SMP:-2}"
SCALE="${SMTPGATE_VM_TIMEOUT_SCALE:-1}"
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)

boots=(full bpf-new bpf-old)
case "${1:-}" in
--quick) boots=(quick) ;;
--only) boots=("${2:?--only NAME}") ;;
"") ;;
*) echo "usage: $0 [--quick | --only full|bpf-new|bpf-old|quick]" >&2; exit 2 ;;
esac

bail() {
	echo "Bail out! $*"
	echo "0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || bail "tests/vm needs root (mmdebstrap, mkfs.ext4 -d)"
for c in mmdebstrap qemu-system-x86_64 qemu-img mkfs.ext4; do
	command -v "$c" >/dev/null || bail "$c is missing: scripts/install-deps.sh --vm"
done
deb="$BUILD/deb/smtpgate_${VERSION}_amd64.deb"
[ -f "$deb" ] || bail "$deb is missing: make deb"
ls "$BUILD"/tests/bpf/test_* >/dev/null 2>&1 || bail "$BUILD/tests/bpf is empty: make"

new="${SMTPGATE_VM_KERNEL_NEW:-$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' |
	sed -n 's/^linux-image-\(6\.1\.0-[0-9]*\)-cloud-amd64 .*/\1/p' | sort -V | tail -1)}"
old="${SMTPGATE_VM_KERNEL_OLD:-6.1.0-47}"
[ -n "$new" ] || bail "no linux-image-6.1.0-*-cloud-amd64 known to apt (apt-get update)"

start_all=$(date +%s)
rootfs=$(tests/vm/mkrootfs.sh "$CACHE" "$new" "$old") || bail "the root file system could not be built"
echo "# vm: root file system $rootfs ($(($(date +%s) - start_all)) s), kernels $new and $old"

# boot NAME KERNEL MODE TIMEOUT_S [EXTRA_QEMU_ARGS...]
total_pass=0
total_fail=0
boot() {
	local name="$1" k="$2" mode="$3" limit=$(($4 * SCALE)) dir="$BUILD/vm/$1" start rc pass fail
	shift 4

	rm -rf "$dir"
	mkdir -p "$dir/payload/bpf" "$dir/payload/policies"
	cp -r tests/vm/guest "$dir/payload/"
	cp "$deb" "$dir/payload/"
	cp "$BUILD"/tests/bpf/test_* "$dir/payload/bpf/"
	rm -f "$dir"/payload/bpf/*.o
	cp policies/*.json "$dir/payload/policies/"
	echo "$mode" >"$dir/payload/mode"
	truncate -s 256M "$dir/payload.img"
	mkfs.ext4 -q -L payload -d "$dir/payload" "$dir/payload.img" || return 1
	qemu-img create -q -f qcow2 -F raw -b "$(realpath "$rootfs/root.img")" "$dir/root.qcow2" || return 1
	start=$(date +%s)
	timeout -k 10 "$limit" qemu-system-x86_64 -machine pc -accel tcg -cpu max -smp "$SMP" -m 1536 \
		-nodefaults -no-user-config -display none \
		-kernel "$rootfs/boot/vmlinuz-$k-cloud-amd64" -initrd "$rootfs/boot/initrd.img-$k-cloud-amd64" \
		-append "root=/dev/vda rw console=ttyS0 net.ifnames=0 panic=-1 nowatchdog rcupdate.rcu_cpu_stall_suppress=1" \
		-drive "file=$dir/root.qcow2,if=virtio,format=qcow2" \
		-drive "file=$dir/payload.img,if=virtio,format=raw,readonly=on" \
		-serial "file:$dir/console.log" -serial "file:$dir/tap.log" -nic none "$@" \
		>"$dir/qemu.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	# TCG on a busy machine: the soft lockup and RCU stall warnings are
	# suppressed above (nowatchdog, rcu_cpu_stall_suppress): the emulated
	# CPUs are just slow.
	# The boot's TAP lines, named after it.
	sed -E "s/^(not )?ok [0-9]+ - /&[$name] /" "$dir/tap.log" | tr -d '\r' | grep -E '^(not )?ok |^# '
	pass=$(grep -cE '^ok ' "$dir/tap.log")
	fail=$(grep -cE '^not ok ' "$dir/tap.log")
	if ! grep -q '^# vm: done' "$dir/tap.log"; then
		fail=$((fail + 1))
		echo "not ok - [$name] the VM did not finish (qemu exit $rc after $secs s; console: $dir/console.log)"
		tail -15 "$dir/console.log" | sed 's/^/# /'
	fi
	echo "# vm: [$name] kernel $k, mode $mode: $pass passed, $fail failed in $secs s (TCG, -smp $SMP)"
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	rm -f "$dir/root.qcow2" "$dir/payload.img"
}

for b in "${boots[@]}"; do
	case "$b" in
	full) boot full "$new" full 1500 ;;
	bpf-new) boot bpf-new "$new" bpf 1200 -no-reboot ;;
	bpf-old) boot bpf-old "$old" bpf 1200 -no-reboot ;;
	quick) boot quick "$old" quick 600 -no-reboot ;;
	*) bail "unknown boot $b" ;;
	esac
done
echo "# vm: everything took $(($(date +%s) - start_all)) s"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

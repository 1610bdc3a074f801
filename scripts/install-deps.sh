#!/usr/bin/env bash
# Installs every Debian 12 package smtpgate's build, tests, benchmarks,
# demo and Debian package need.  Run as root.  A no-op (no apt at all)
# when all are present.
#
#   scripts/install-deps.sh         the build, tests, benchmarks, demo, `make deb`
#   scripts/install-deps.sh --vm    also what tests/vm needs (mmdebstrap, qemu)
set -euo pipefail

PACKAGES=(
	# build
	make gcc clang llvm pkg-config bpftool libbpf-dev libelf-dev zlib1g-dev
	linux-libc-dev libjansson-dev libnl-3-dev libnl-route-3-dev nettle-dev
	libmicrohttpd-dev libsystemd-dev libcmocka-dev libcurl4-openssl-dev
	# fuzzing: libFuzzer and the sanitizers' runtime for clang 14
	libclang-rt-14-dev
	# tests: namespaces, traffic, real mail software, metrics tooling
	iproute2 ethtool procps util-linux curl netcat-openbsd socat jq python3
	swaks libio-socket-inet6-perl postfix prometheus tshark etcd-server etcd-client openssl
	# the report's html rendered headless (tests/e2e/test_ctl_report.sh)
	chromium
	# benchmarks: the peers smtpgate is measured against
	xdp-tools nftables iptables netsniff-ng valgrind
	# the Debian package (make deb) and its checks; systemd-analyze verify
	debhelper dpkg-dev devscripts fakeroot lintian systemd
)
# tests/vm: a Debian 12 root file system and kernel booted under qemu.
VM_PACKAGES=(
	mmdebstrap qemu-system-x86 qemu-utils e2fsprogs cpio zstd
)
case "${1:-}" in
--vm) PACKAGES+=("${VM_PACKAGES[@]}") ;;
"") ;;
*) echo "usage: $0 [--vm]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root to install them" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Postfix: install the software only; the lab configures its own instance.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Never start packaged services (postfix) on the machine running the tests.
policy_rc=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy_rc" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy_rc"
	chmod 755 "$policy_rc"
	made_policy=1
fi
trap 'if [ $made_policy -eq 1 ]; then rm -f "$policy_rc"; fi' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The VM's Debian 12 root file system, from Debian packages only
# (mmdebstrap), with Debian 12's stock cloud kernels installed as
# packages (their modules: veth, clsact, cls_bpf; initramfs-tools makes
# each an initrd).  Cached: built once per package list and kernel set.
#
#   tests/vm/mkrootfs.sh CACHE_DIR KERNEL_ABI...     e.g. 6.1.0-57 6.1.0-47
#
# Prints the image's directory: CACHE_DIR/rootfs-KEY/ with root.img (ext4,
# raw, never written by a run: runs boot a qcow2 overlay of it) and
# boot/vmlinuz-*, boot/initrd.img-*.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:?usage: $0 CACHE_DIR KERNEL_ABI...}"
shift
[ $# -gt 0 ] || { echo "usage: $0 CACHE_DIR KERNEL_ABI..." >&2; exit 2; }

PACKAGES=(
	systemd systemd-sysv udev kmod dbus iproute2 procps util-linux passwd adduser
	initramfs-tools zstd e2fsprogs logrotate
	# the package's run-time libraries, and the BPF suites' (cmocka)
	libbpf1 libelf1 zlib1g libjansson4 libnl-3-200 libnl-route-3-200
	libmicrohttpd12 libsystemd0 libssl3 libcmocka0
	# real SMTP: swaks against Postfix's smtp-sink; tooling
	postfix swaks jq socat netcat-openbsd curl
)
for k in "$@"; do
	PACKAGES+=("linux-image-$k-cloud-amd64")
done

key=$( (printf '%s\n' "${PACKAGES[@]}"; cat "$0" "$here"/guest/smtpgate-vmtest "$here"/guest/smtpgate-vmtest.service) |
	sha256sum | cut -c1-16)
dir="$cache/rootfs-$key"
if [ -f "$dir/root.img" ] && [ -f "$dir/done" ]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/boot"
tree="$dir/tree"
start=$(date +%s)
echo "mkrootfs: building $dir (mmdebstrap bookworm, kernels $*)" >&2

include=$(IFS=,; echo "${PACKAGES[*]}")
mmdebstrap --variant=minbase --include="$include" \
	--aptopt='Acquire::Retries "3"' \
	--essential-hook='echo "postfix postfix/main_mailer_type select No configuration" | chroot "$1" debconf-set-selections' \
	--customize-hook='echo smtpgate-vm > "$1/etc/hostname"' \
	--customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" > "$1/etc/fstab"' \
	--customize-hook='chroot "$1" passwd -d root' \
	--customize-hook="install -m 0755 '$here/guest/smtpgate-vmtest' \"\$1/usr/local/sbin/smtpgate-vmtest\"" \
	--customize-hook="install -m 0644 '$here/guest/smtpgate-vmtest.service' \"\$1/etc/systemd/system/\"" \
	--customize-hook='chroot "$1" systemctl enable smtpgate-vmtest.service' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer logrotate.timer postfix.service systemd-timesyncd.service' \
	--customize-hook="sh -c 'cp \"\$1\"/boot/vmlinuz-* \"\$1\"/boot/initrd.img-* \"$dir/boot/\"' -- \"\$1\"" \
	bookworm "$tree" \
	"deb http://deb.debian.org/debian bookworm main" \
	"deb http://deb.debian.org/debian bookworm-updates main" \
	"deb http://deb.debian.org/debian-security bookworm-security main" >&2
truncate -s 3G "$dir/root.img"
mkfs.ext4 -q -L root -d "$tree" "$dir/root.img"
rm -rf "$tree"
chmod 0644 "$dir"/boot/*
touch "$dir/done"
echo "mkrootfs: built in $(($(date +%s) - start)) s" >&2
echo "$dir"

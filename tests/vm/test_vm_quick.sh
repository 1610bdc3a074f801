#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The short slice of the VM test that `make test` runs (tests/run.sh):
# one Debian 12 VM on an older 6.1 kernel (6.1.0-47, whose verifier
# refused the TC programs before the fix in bpf/): the package installed,
# its groups, `systemctl start` ready through sd_notify, an admin, a
# reader and a user in neither group, and the XDP and TC programs
# verified and attached.  The rest is `make test-vm` (tests/vm/run.sh).
# Builds the .deb if tests/pkg has not (scripts/build-deb.sh); the root
# file system comes from the cache (SMTPGATE_CACHE) after the first run.
set -uo pipefail

cd "$(dirname "$0")/../.."
BUILD="${BUILD:-build}"
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
if [ ! -f "$BUILD/deb/smtpgate_${VERSION}_amd64.deb" ]; then
	scripts/build-deb.sh "$BUILD/deb" "$VERSION" >/dev/null 2>&1 ||
		{ echo "Bail out! make deb failed ($BUILD/deb/build.log)"; exit 1; }
fi
exec tests/vm/run.sh --quick

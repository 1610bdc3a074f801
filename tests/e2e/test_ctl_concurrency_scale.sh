#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# test_ctl_concurrency.sh's storm (20 clients adding 1,000 approvals at
# once, two readers listing) beside a policy of a million entries: none
# lost, all listed, in the maps, on disk and audited once, as with a
# small policy.
exec env CONC_POLICY_ENTRIES=1000000 "$(dirname "$0")/test_ctl_concurrency.sh"

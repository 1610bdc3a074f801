# Sourced by tests/fuzz/run_fuzz.sh and tests/fuzz/test_fuzz.sh: the
# fuzz targets and the dictionary each uses.
# shellcheck shell=bash

FUZZ_ALL_TARGETS=(config policy approvals control audit report parsers metrics packet usage)

fuzz_dict() {
	case "$1" in
	config|policy|approvals|usage) echo tests/fuzz/dict/json.dict ;;
	*) echo "tests/fuzz/dict/$1.dict" ;;
	esac
}

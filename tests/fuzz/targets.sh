# Sourced by tests/fuzz/run_fuzz.sh and tests/fuzz/test_fuzz.sh: the
# fuzz targets and the dictionary each uses.
# shellcheck shell=bash

FUZZ_ALL_TARGETS=(config policy approvals control audit report parsers metrics packet usage json_plain)

fuzz_dict() {
	case "$1" in
	config|policy|approvals|usage|json_plain) echo tests/fuzz/dict/json.dict ;;
	*) echo "tests/fuzz/dict/$1.dict" ;;
	esac
}

#!/bin/bash
#
# test/fuzz/run.sh: build zkpg's libFuzzer targets and run each on its
# corpus (see test/fuzz/README.md).
#
#   test/fuzz/run.sh [--seconds N | --runs N] [--merge] [--target NAME]...
#
#   --seconds N   run each target for N seconds (default 20, for CI)
#   --runs N      run each target for N executions instead
#   --merge       afterwards, merge the inputs that found new coverage,
#                 minimised, into the repository's corpus (test/fuzz/corpus)
#   --target T    run only target T (repeatable)
#
# Each target runs on a copy of its corpus in a temporary directory, so
# routine runs do not grow the repository's corpus.  A crashing input is
# kept in test/fuzz/artifacts/.  Exits non-zero if any target crashed.
#
# As root on a fresh Debian 12 it installs clang-14, libfuzzer-14-dev and
# postgresql-server-dev-15 with apt-get; as a normal user they must be
# there already.

set -u

here=$(cd "$(dirname "$0")" && pwd)
export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
all_targets="fuzz_request fuzz_txn fuzz_peer_message fuzz_peer_answer fuzz_acl fuzz_path"

seconds=20
runs=
merge=0
targets=
while [ $# -gt 0 ]; do
	case "$1" in
		--seconds) seconds=$2; runs=; shift 2 ;;
		--runs) runs=$2; shift 2 ;;
		--merge) merge=1; shift ;;
		--target) targets="$targets $2"; shift 2 ;;
		-h|--help) sed -n '3,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
		*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
targets=${targets:-$all_targets}

# ---- what the build needs ----

can_build() {
	command -v clang-14 >/dev/null 2>&1 && [ -x "$PG_CONFIG" ] &&
		[ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] && command -v make >/dev/null 2>&1 &&
		echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
		clang-14 -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1
}

if ! can_build; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "run.sh: installing clang-14, libfuzzer-14-dev, postgresql-server-dev-15"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null &&
			apt-get install -y -q clang-14 libfuzzer-14-dev postgresql-server-dev-15 make >/dev/null ||
			{ echo "run.sh: apt-get install failed" >&2; exit 1; }
	fi
	if ! can_build; then
		echo "run.sh: need clang-14 with libFuzzer and $PG_CONFIG (postgresql-server-dev-15);" \
			"run as root to install them" >&2
		exit 1
	fi
fi

make -s -C "$here" PG_CONFIG="$PG_CONFIG" all || { echo "run.sh: build failed" >&2; exit 1; }
for t in $targets; do
	if [ ! -x "$here/build/$t" ]; then
		echo "run.sh: unknown target $t" >&2
		exit 2
	fi
	if [ -z "$(ls -A "$here/corpus/$t" 2>/dev/null)" ]; then
		"$here/build/gen_seeds" "$here/corpus" >/dev/null || exit 1
	fi
done

# ---- the runs ----

work=$(mktemp -d "${TMPDIR:-/tmp}/zkpg-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/artifacts"
failed=0
summary=

for t in $targets; do
	mkdir -p "$work/$t"
	cp "$here/corpus/$t"/* "$work/$t/"
	if [ -n "$runs" ]; then
		limit="-runs=$runs"
	else
		limit="-max_total_time=$seconds"
	fi
	echo "== $t ($limit)"
	start=$(date +%s)
	nice -n "${FUZZ_NICE:-10}" "$here/build/$t" "$limit" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$here/artifacts/$t-" \
		"$work/$t" >"$work/$t.log" 2>&1
	rc=$?
	elapsed=$(( $(date +%s) - start ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t.log" | tail -1)
	# libFuzzer says 0 for a run shorter than a second
	if [ "${rate:-0}" = 0 ] && [ -n "$execs" ] && [ "$elapsed" -gt 0 ]; then
		rate=$(( execs / elapsed ))
	fi
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$work/$t.log" | tail -1)
	corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$work/$t.log" | tail -1)
	if [ $rc -ne 0 ]; then
		failed=1
		status="CRASH (exit $rc)"
		grep -E 'ERROR|invariant|SUMMARY|Test unit written|fuzz shim|runtime error' "$work/$t.log" | head -20
		cp "$work/$t.log" "$here/artifacts/$t.log"
		echo "   log: $here/artifacts/$t.log"
	else
		status=ok
	fi
	line=$(printf '%-18s %-16s execs %-10s exec/s %-8s %-18s %-16s %ss' \
		"$t" "$status" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "${corp:-}" "$elapsed")
	echo "   $line"
	summary="$summary$line"$'\n'
	if [ $merge = 1 ] && [ $rc -eq 0 ]; then
		nice -n "${FUZZ_NICE:-10}" "$here/build/$t" -merge=1 "$here/corpus/$t" "$work/$t" \
			>"$work/$t.merge.log" 2>&1 &&
			echo "   merged: $(grep -o 'MERGE-OUTER: [0-9]* new files' "$work/$t.merge.log" | tail -1)"
	fi
done

echo
echo "zkpg fuzz summary"
printf '%s' "$summary"
if [ $failed -ne 0 ]; then
	echo "run.sh: a target crashed; inputs are in $here/artifacts/" >&2
	exit 1
fi
exit 0

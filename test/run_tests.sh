#!/usr/bin/env bash
#
# test/run_tests.sh -- the test command of zkpg.
#
#   sudo test/run_tests.sh        # on a fresh Debian 12: installs what is
#                                 # missing, builds, installs, runs everything
#   test/run_tests.sh             # as a normal user: the extension must be
#                                 # installed already; runs the suites only
#
# Suites: make installcheck (pg_regress, own temp instance), make
# isolationcheck (when the Makefile has it), make prove-installcheck (TAP,
# test/t/*.pl).  Every suite runs in a copy of the tree in a temp dir owned
# by the user that runs them (postgres when started as root: initdb refuses
# root).  Counts individual pg_regress/isolation tests and TAP files, prints
# regression diffs and TAP logs of failures, and ends with one line
# "N passed, N failed"; exits non-zero when anything failed.
#
# Environment: PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config),
# ZKPG_SUITE_TIMEOUT (seconds per suite, default 1800), ZKPG_KEEP_TMP=1 to
# keep the temp copy.

set -u
set -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# the tree is copied below: never mistake another directory for it
if [ ! -f "$REPO/zkpg.control" ] || [ ! -f "$REPO/Makefile" ]; then
	echo "run_tests.sh: $REPO is not the zkpg source tree" >&2
	exit 2
fi
export PG_CONFIG="${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
SUITE_TIMEOUT="${ZKPG_SUITE_TIMEOUT:-1800}"
export DEBIAN_FRONTEND=noninteractive

PASSED=0
FAILED=0
FAILED_NAMES=()
WORK=""

log() { printf '\n=== %s ===\n' "$*"; }

fail_unit() {    # fail_unit NAME: count one failed unit
	FAILED=$((FAILED + 1))
	FAILED_NAMES+=("$1")
}

summary() {
	local rc=0
	if [ "${#FAILED_NAMES[@]}" -gt 0 ]; then
		echo
		echo "Failed: ${FAILED_NAMES[*]}"
	fi
	[ "$FAILED" -eq 0 ] || rc=1
	echo "$PASSED passed, $FAILED failed"
	exit "$rc"
}

# Run as the test user, in the temp copy.
as_tester() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- env -C "$WORK" PATH="$PATH" PG_CONFIG="$PG_CONFIG" "$@"
	else
		env -C "$WORK" "$@"
	fi
}

# Stop any server left behind in the temp copy (a suite that timed out).
stop_leftover_servers() {
	[ -n "$WORK" ] && [ -d "$WORK" ] || return 0
	local pidfile dir pid
	while IFS= read -r pidfile; do
		dir="$(dirname "$pidfile")"
		pid="$(head -n 1 "$pidfile" 2>/dev/null)"
		# a crashed node leaves its postmaster.pid behind, and its pid may
		# belong to another process by now: only stop a live postmaster of
		# this very data directory
		[[ "$pid" =~ ^[0-9]+$ ]] || continue
		tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "postgres.*-D $dir" || continue
		echo "stopping leftover server in $dir"
		as_tester "$("$PG_CONFIG" --bindir)/pg_ctl" -D "$dir" stop -m immediate </dev/null >/dev/null 2>&1 || true
	done < <(find "$WORK" -name postmaster.pid 2>/dev/null)
}

cleanup() {
	stop_leftover_servers
	if [ -n "$WORK" ] && [ -d "$WORK" ]; then
		if [ "$FAILED" -eq 0 ] && [ "${ZKPG_KEEP_TMP:-0}" != 1 ]; then
			rm -rf "$WORK"
		else
			echo "test tree kept in $WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM

# --- 1. packages, 2. build and install (root only) ---------------------------

# test/setup.sh (shared with bin/zkpg-demo): zkpg_install_prereqs and
# zkpg_build_install
# shellcheck source=test/setup.sh
. "$REPO/test/setup.sh"

install_prereqs() { zkpg_install_prereqs && zkpg_install_zookeeper; }
build_install() { zkpg_build_install "$REPO"; }

if [ "$(id -u)" -eq 0 ]; then
	log "packages"
	if ! install_prereqs </dev/null; then
		echo "installing packages failed"
		fail_unit packages
		summary
	fi
	command -v runuser >/dev/null || { echo "runuser not found"; fail_unit packages; summary; }
	id postgres >/dev/null 2>&1 || { echo "no postgres OS user"; fail_unit packages; summary; }
fi

if [ ! -x "$PG_CONFIG" ]; then
	echo "$PG_CONFIG not found: install postgresql-server-dev-15 (or run as root)"
	fail_unit setup
	summary
fi
PATH="$("$PG_CONFIG" --bindir):$PATH"
export PATH

if [ "$(id -u)" -eq 0 ]; then
	log "build and install"
	if ! build_install; then
		echo "BUILD/INSTALL FAILED"
		fail_unit build
		summary
	fi
else
	if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/zkpg.control" ]; then
		echo "zkpg is not installed: run as root (sudo $0) or make install first"
		fail_unit install
		summary
	fi
fi

# --- 3. temp copy of the tree owned by the test user ------------------------

WORK="$(mktemp -d "${TMPDIR:-/tmp}/zkpg-test.XXXXXX")"
chmod 755 "$WORK"
tar -C "$REPO" --exclude=./.git --exclude=./tmp_check --exclude=./tmp_check_regress \
	--exclude=./results --exclude=./output_iso -cf - . | tar -C "$WORK" -xf -
if [ "$(id -u)" -eq 0 ]; then
	chown -R postgres:postgres "$WORK"
fi

# --- 4. suites ----------------------------------------------------------------

# Count pg_regress / pg_isolation_regress per-test lines of a log (PG 15
# format "test name ... ok  12 ms", "     name ... FAILED", and the newer
# "ok 1 - name" / "not ok 1 - name" TAP format).
count_regress() {    # count_regress SUITE LOG RC
	local suite="$1" logf="$2" rc="$3" ok bad
	ok=$(grep -cE '\.\.\. ok|^ok [0-9]+ +[-+] ' "$logf")
	bad=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ +[-+] ' "$logf")
	PASSED=$((PASSED + ok))
	FAILED=$((FAILED + bad))
	while IFS= read -r t; do
		FAILED_NAMES+=("$suite:$t")
	done < <(grep -E '\.\.\. FAILED|^not ok [0-9]+ +[-+] ' "$logf" |
		sed -E 's/^(test|not ok [0-9]+ +[-+]|) *//; s/ *\.\.\..*//; s/ +[0-9]+ ms$//')
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		# pg_regress itself failed (temp instance did not start, ...)
		fail_unit "$suite"
	fi
	if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
		local d
		while IFS= read -r d; do
			echo "----- $d -----"
			cat "$d"
		done < <(find "$WORK" -name regression.diffs 2>/dev/null)
		local pl
		while IFS= read -r pl; do
			echo "----- tail of $pl -----"
			tail -n 60 "$pl"
		done < <(find "$WORK" -path '*/log/postmaster.log' -newer "$logf.start" 2>/dev/null)
	fi
}

# prove: one unit per test file.
count_prove() {    # count_prove LOG RC
	local logf="$1" rc="$2" files nfail
	files=$(sed -nE 's/^Files=([0-9]+),.*/\1/p' "$logf" | tail -n 1)
	mapfile -t failed_files < <(sed -nE 's/^(t\/[^ ]+\.pl) +\(Wstat:.*/\1/p' "$logf" | sort -u)
	nfail=${#failed_files[@]}
	if [ -z "$files" ]; then
		# prove did not get to its summary (timed out): show the test it
		# was in, the newest TAP log
		fail_unit tap
		local last
		last="$(ls -t "$WORK"/tmp_check/log/regress_log_* 2>/dev/null | head -n 1)"
		[ -n "$last" ] && failed_files=("t/${last##*/regress_log_}.pl")
		nfail=0
	fi
	if [ -n "$files" ]; then
		if [ "$rc" -ne 0 ] && [ "$nfail" -eq 0 ]; then
			fail_unit tap
		fi
		PASSED=$((PASSED + files - nfail))
		FAILED=$((FAILED + nfail))
	fi
	local f
	for f in "${failed_files[@]}"; do
		FAILED_NAMES+=("tap:$f")
		local base
		base="$(basename "$f" .pl)"
		local sl
		for sl in "$WORK"/tmp_check/log/"${base}"_*.log; do
			[ -f "$sl" ] || continue
			echo "----- tail of $sl -----"
			tail -n 80 "$sl"
		done
		# last, so that the reason of the failure ends the output
		if [ -f "$WORK/tmp_check/log/regress_log_$base" ]; then
			echo "----- tail of tmp_check/log/regress_log_$base -----"
			tail -n 150 "$WORK/tmp_check/log/regress_log_$base"
		fi
	done
}

run_suite() {    # run_suite NAME KIND make-args...
	local name="$1" kind="$2"
	shift 2
	local logf="$WORK/.suite-$name.log" rc
	log "$name"
	as_tester touch "$logf.start"
	as_tester timeout --kill-after=30 "$SUITE_TIMEOUT" make PG_CONFIG="$PG_CONFIG" "$@" </dev/null 2>&1 |
		tee "$logf"
	rc=${PIPESTATUS[0]}
	[ "$rc" -eq 124 ] && echo "$name: timed out after ${SUITE_TIMEOUT}s"
	stop_leftover_servers
	case "$kind" in
		regress) count_regress "$name" "$logf" "$rc" ;;
		prove) count_prove "$logf" "$rc" ;;
	esac
}

# pg_regress: TAP_TESTS= so that PGXS does not also run prove on ./t here.
run_suite installcheck regress installcheck TAP_TESTS=

if as_tester make -n isolationcheck PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1; then
	run_suite isolationcheck regress isolationcheck
fi

if compgen -G "$REPO/test/t/*.pl" >/dev/null; then
	run_suite prove-installcheck prove prove-installcheck
fi

# One unit per script: passes when it exits 0.
run_script() {    # run_script NAME command...
	local name="$1" rc
	shift
	log "$name"
	as_tester timeout --kill-after=30 "$SUITE_TIMEOUT" "$@" </dev/null 2>&1
	rc=$?
	[ "$rc" -eq 124 ] && echo "$name: timed out after ${SUITE_TIMEOUT}s"
	stop_leftover_servers
	if [ "$rc" -eq 0 ]; then
		PASSED=$((PASSED + 1))
	else
		fail_unit "$name"
	fi
}

# the nemesis suite's checker must flag what it exists to flag
run_script nemesis-checker /usr/bin/python3 test/nemesis/test_checker.py
# every peer-facing decoder, fuzzed briefly (test/fuzz/README.md)
if [ -x "$REPO/test/fuzz/run.sh" ]; then
	run_script fuzz test/fuzz/run.sh --seconds "${ZKPG_FUZZ_SECONDS:-15}"
fi
# a short nemesis run: faults of every kind, histories checked
if [ -x "$REPO/test/nemesis/run.sh" ]; then
	run_script nemesis-smoke test/nemesis/run.sh --smoke --no-install --out "$WORK/nemesis"
fi
# the side-by-side benchmark's tools, briefly, against a real ZooKeeper
if [ -x "$REPO/test/bench/run_side_by_side.sh" ]; then
	run_script bench-side-by-side test/bench/run_side_by_side.sh -T 1 --rounds 1 \
		--only zk1,pg1 --port 15661 --check
fi

summary

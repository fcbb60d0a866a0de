#!/bin/bash
#
# run_recipe_bench.sh
#	  Benchmarks zkpg's lock recipe on a three-peer ensemble on this
#	  machine and prints a Markdown table: uncontended zk_lock + zk_unlock
#	  round trips per second at 1 and 32 sessions (each on its own path),
#	  and the hand-over latency p50/p99 (one holder's unlock sent -> the
#	  next waiter's lock returned) with 32 sessions contending on one
#	  path; beside the same lock done client-side with plain zk_create /
#	  zk_get_children / zk_exists(watch) / zk_delete, and beside
#	  pg_advisory_lock on one server.
#
# It starts three throwaway PostgreSQL 15 servers with zkpg preloaded on
# 127.0.0.1 (initdb into a temporary directory, as the postgres OS user
# when run as root), one CREATE EXTENSION each, and removes them on exit.
# The zk runs spread their sessions over the three peers; the advisory
# runs use peer 1 only.  recipe_bench is compiled into the temporary
# directory from test/bench/recipe_bench.c (the Makefile has no rule for
# it).  The zkpg extension must be installed (make && make install).
#
# Runs, each -T seconds (default 10) after a --warmup (default 1):
#	  lock, createdelete, advisory                  1 and 32 sessions
#	  handover, handover-createdelete, handover-advisory   32 sessions
# --only takes a comma-separated subset of those workload names.
#
# Usage:
#	  test/bench/run_recipe_bench.sh [-T SECONDS] [--warmup SECONDS]
#		  [--port BASE] [--tick MS] [--only WORKLOAD,...] [--keep]
#
# Exit status is non-zero if the ensemble could not be set up or any run
# failed; the table is printed either way, with failed runs marked (their
# output is in the temporary directory, kept with --keep).
#
# IDENTIFICATION
#	  test/bench/run_recipe_bench.sh
#

set -euo pipefail

BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
DURATION=10
WARMUP=1
BASE=5581
TICK=100
KEEP=0
ONLY=
ALL="lock,createdelete,advisory,handover,handover-createdelete,handover-advisory"

usage() { sed -n '3,/^# IDENTIFICATION/p' "$0" | sed -e '$d' -e 's/^#[ \t]\{0,1\}//'; }
die() { echo "run_recipe_bench.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
		-T) DURATION=${2:?-T needs a value}; shift 2 ;;
		--warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
		--port) BASE=${2:?--port needs a value}; shift 2 ;;
		--tick) TICK=${2:?--tick needs a value}; shift 2 ;;
		--only) ONLY=${2:?--only needs a value}; shift 2 ;;
		--keep) KEEP=1; shift ;;
		-h|--help) usage; exit 0 ;;
		*) usage >&2; exit 1 ;;
	esac
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "invalid -T \"$DURATION\""
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "invalid --warmup \"$WARMUP\""
[[ "$BASE" =~ ^[1-9][0-9]*$ ]] || die "invalid --port \"$BASE\""
for w in ${ONLY//,/ }; do
	[[ ",$ALL," == *",$w,"* ]] || die "unknown workload \"$w\" in --only (use $ALL)"
done
: "${ONLY:=$ALL}"
wanted() { [[ ",$ONLY," == *",$1,"* ]]; }

here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=ensemble.sh
. "$here/test/bench/ensemble.sh"
ens_setup zkpg-recipe-bench || die "initdb failed"

cleanup()
{
	local rc=$?

	ens_stop_all
	if [ "$KEEP" = 1 ]; then
		echo "run_recipe_bench.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench=$work/recipe_bench
gcc -O2 -Wall -Werror -I"$(pg_config --includedir)" -o "$bench" \
	"$here/test/bench/recipe_bench.c" -L"$(pg_config --libdir)" -lpq -lpthread -lm ||
	die "could not build recipe_bench"

for i in 1 2 3; do
	ens_start "$i" || { tail -n 20 "$work/peer$i.log" >&2; die "peer $i did not start"; }
done
for i in 1 2 3; do q "$i" "CREATE EXTENSION zkpg" >/dev/null || die "CREATE EXTENSION on peer $i failed"; done

# wait until every peer serves (a leader is elected and writes go through)
ready=0
for _ in $(seq 1 600); do
	ready=1
	for i in 1 2 3; do
		l=$(q "$i" "SET zkpg.request_timeout = 1000; SELECT leader_id FROM zkpg.status, (SELECT zk_sync('/')) s") || { ready=0; break; }
		[ -n "$l" ] && [ "$l" != -1 ] || { ready=0; break; }
	done
	[ "$ready" = 1 ] && break
	sleep 0.1
done
[ "$ready" = 1 ] || die "the ensemble did not elect a leader"

ROWS=()
FAILED=0

# run NAME WORKLOAD SESSIONS PEERS...
run()
{
	local name=$1 workload=$2 sessions=$3 line ops errors ops_s p50 p99 max
	local out=$work/$workload-c$sessions
	local dargs=() nservers
	shift 3
	for i in "$@"; do dargs+=(-d "$(conn "$i")"); done
	# sessions go round-robin over the servers: one session uses one
	nservers=$(( sessions < $# ? sessions : $# ))

	echo "run_recipe_bench.sh: $workload, $sessions sessions on peer(s) $*, ${DURATION}s" >&2
	if ! "$bench" "${dargs[@]}" -c "$sessions" -w "$workload" -T "$DURATION" \
		--warmup "$WARMUP" --csv >"$out.csv" 2>"$out.err"; then
		FAILED=1
		sed 's/^/    /' "$out.err" >&2
	fi
	line=$(tail -n 1 "$out.csv")
	if [ -z "$line" ]; then
		ROWS+=("$name|$sessions|$nservers|failed||||")
		return 0
	fi
	# workload,sessions,duration_s,ops,errors,ops_per_s,p50_ms,p99_ms,max_ms
	IFS=, read -r _ _ _ ops errors ops_s p50 p99 max <<<"$line"
	if [ "$errors" != 0 ]; then
		errors="$errors ($(sed -n 's/^recipe_bench: \([^ ]*\) x\([0-9]*\):.*/\1:\2/p' "$out.err" | paste -sd ' '))"
	fi
	ROWS+=("$name|$sessions|$nservers|$ops_s|$p50|$p99|$max|$errors")
}

if wanted lock; then
	run "zk_lock + zk_unlock" lock 1 1 2 3
	run "zk_lock + zk_unlock" lock 32 1 2 3
fi
if wanted createdelete; then
	run "client zk_create(ephemeral_sequential) + zk_delete" createdelete 1 1 2 3
	run "client zk_create(ephemeral_sequential) + zk_delete" createdelete 32 1 2 3
fi
if wanted advisory; then
	run "pg_advisory_lock + pg_advisory_unlock" advisory 1 1
	run "pg_advisory_lock + pg_advisory_unlock" advisory 32 1
fi
if wanted handover; then
	run "hand-over: zk_lock / zk_unlock" handover 32 1 2 3
fi
if wanted handover-createdelete; then
	run "hand-over: client create + get_children + exists(watch) / delete" handover-createdelete 32 1 2 3
fi
if wanted handover-advisory; then
	run "hand-over: pg_advisory_lock / unlock" handover-advisory 32 1
fi

echo
echo "zkpg lock recipe benchmark: 3 peers on 127.0.0.1 (tick ${TICK} ms), $(nproc) CPUs, ${DURATION} s per run after ${WARMUP} s warmup."
echo "Uncontended rows: lock + unlock pairs per second, each session on its own path (key), and the pair's latency."
echo "Hand-over rows: hand-overs per second with every session on one lock, and the latency from the holder's"
echo "unlock being sent to the next waiter's lock returning."
echo
echo "| run | sessions | servers | ops/s | p50 ms | p99 ms | max ms | errors |"
echo "|---|--:|--:|--:|--:|--:|--:|---|"
for row in "${ROWS[@]}"; do
	echo "| ${row//|/ | } |"
done

exit $FAILED

#!/bin/bash
#
# run_ensemble_bench.sh
#	  Benchmarks a three-peer zkpg ensemble on this machine and prints a
#	  Markdown table: creates/s at 1 and 32 clients and pipelined (8
#	  connections x 32 in flight), sets/s and gets/s at 32 clients, latency
#	  percentiles, and the failover time (kill -9 of the leader -> first
#	  write acknowledged by a survivor), median of --failovers runs.
#
# It starts three throwaway PostgreSQL 15 servers with zkpg preloaded on
# 127.0.0.1 (initdb into a temporary directory, as the postgres OS user
# when run as root), one CREATE EXTENSION each, and removes them on exit.
# zkbench's connections are spread over the three peers (one -d each).
# The zkpg extension must be installed (make && make install).
#
# Usage:
#	  test/bench/run_ensemble_bench.sh [-T SECONDS] [--failovers N]
#		  [--port BASE] [--tick MS] [--keep] [--profile]
#
# --profile also runs creates at 32 clients once more and prints where the
# CPU goes: CPU time per create of each kind of process (client backends,
# leader worker, learners' log backends, appliers, ...; read from /proc)
# and, when perf is installed, perf's top symbols over the whole machine.
#
# IDENTIFICATION
#	  test/bench/run_ensemble_bench.sh
#

set -euo pipefail

BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
DURATION=10
FAILOVERS=5
BASE=5561
TICK=100
KEEP=0
PROFILE=0
while [ $# -gt 0 ]; do
	case "$1" in
		-T) DURATION=$2; shift 2 ;;
		--failovers) FAILOVERS=$2; shift 2 ;;
		--port) BASE=$2; shift 2 ;;
		--tick) TICK=$2; shift 2 ;;
		--keep) KEEP=1; shift ;;
		--profile) PROFILE=1; shift ;;
		*) sed -n '3,/^# IDENTIFICATION/p' "$0" | sed -e '$d' -e 's/^#[ \t]\{0,1\}//'; exit 1 ;;
	esac
done

here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=ensemble.sh
. "$here/test/bench/ensemble.sh"
make -s -C "$here" test/zkbench >/dev/null
ens_setup zkpg-ens-bench

cleanup()
{
	ens_stop_all
	[ "$KEEP" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

start_peer() { ens_start "$1"; }
for i in 1 2 3; do start_peer "$i"; done
for i in 1 2 3; do q "$i" "CREATE EXTENSION zkpg" >/dev/null; done

leader_of 1 2 3 >/dev/null

bench()
{
	local name=$1; shift
	local line
	line=$(as_pg "$here/test/zkbench" -d "$(conn 1)" -d "$(conn 2)" -d "$(conn 3)" \
		-T "$DURATION" --warmup 1 --csv "$@" | tail -1)
	IFS=, read -r _ _ _ _ _ _ ops errors ops_s p50 p90 p99 max _ _ <<<"$line"
	printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$ops_s" "$p50" "$p99" "$max" "$errors"
}

echo "| run (3 peers, $(nproc) cores) | ops/s | p50 ms | p99 ms | max ms | errors |"
echo "|---|--:|--:|--:|--:|--:|"
bench "create, 1 client" -c 1 -w create
bench "create, 32 clients" -c 32 -w create
bench "create, 8 x 32 pipelined" -c 8 -P 32 -w create
bench "set, 32 clients" -c 32 -w set
bench "get, 32 clients" -c 32 -w get

# CPU seconds (utime + stime) of every process of the peers, one line per
# process: "peer kind pid seconds"; kind from the process title, or "peer"
# for the backends of the peers' own connections (application_name)
cpu_snapshot()
{
	local i pm peers
	for i in 1 2 3; do
		pm=$(head -1 "$work/peer$i/postmaster.pid")
		peers=$(q "$i" "SELECT string_agg(pid::text, ' ') FROM pg_stat_activity WHERE application_name LIKE 'zkpg peer %'")
		ps -e -o pid=,ppid=,args= | awk -v pm="$pm" -v p="$i" -v peers=" $peers " '
			$2 == pm {
				kind = "other";
				if ($0 ~ /zkpg quorum peer/) kind = "worker";
				else if ($0 ~ /zkpg applier/) kind = "applier";
				else if ($0 ~ /postgres postgres/) kind = index(peers, " " $1 " ") ? "peer" : "client";
				print p, kind, $1
			}'
	done | while read -r p kind pid; do
		# a process that ended meanwhile is left out
		read -r stat <"/proc/$pid/stat" 2>/dev/null || continue
		echo "$p $kind $pid ${stat##*) }"
	done | awk -v hz="$(getconf CLK_TCK)" '{ print $1, $2, $3, ($16 + $17) / hz }'
}

# creates committed so far (the leader's znode count)
znodes() { q "$1" "SELECT znode_count FROM zkpg.status"; }

if [ "$PROFILE" = 1 ]; then
	l=$(leader_of 1 2 3)
	as_pg "$here/test/zkbench" -d "$(conn 1)" -d "$(conn 2)" -d "$(conn 3)" \
		-T "$((DURATION + 6))" -c 32 -w create --csv > "$work/profile.csv" &
	bench_pid=$!
	sleep 3
	perf_pid=""
	if command -v perf >/dev/null; then
		perf record -a -g -o "$work/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
		perf_pid=$!
	fi
	n0=$(znodes "$l")
	cpu_snapshot > "$work/cpu.before"
	t0=$(date +%s.%N)
	sleep "$DURATION"
	cpu_snapshot > "$work/cpu.after"
	t1=$(date +%s.%N)
	n1=$(znodes "$l")
	[ -n "$perf_pid" ] && wait "$perf_pid"
	wait "$bench_pid"
	el=$(awk "BEGIN { print $t1 - $t0 }")
	ops_s=$(awk "BEGIN { printf \"%.0f\", ($n1 - $n0) / $el }")
	# CPU seconds per process over the window: from perf's samples when
	# perf ran (the kernel's own accounting misses much of a virtual
	# machine's interrupt and exit time), else from /proc
	if [ -n "$perf_pid" ] && [ -f "$work/perf.data" ]; then
		source="perf samples"
		perf report -i "$work/perf.data" --no-children --sort pid --stdio -g none 2>/dev/null |
			awk -v n="$(nproc)" -v el="$DURATION" '$1 ~ /%$/ { split($2, a, ":"); sub(/%/, "", $1); print a[1], $1 / 100 * n * el }' \
			> "$work/cpu.used"
	else
		source="/proc utime + stime"
		awk 'NR == FNR { before[$3] = $4; next } ($3 in before) { print $3, $4 - before[$3] }' \
			"$work/cpu.before" "$work/cpu.after" > "$work/cpu.used"
	fi
	echo
	echo "where the CPU goes, creates at 32 clients ($ops_s/s; leader: peer $l; $(nproc) cores; $source):"
	echo
	echo "| process kind | peer | CPU % of one core | CPU us per create |"
	echo "|---|---|--:|--:|"
	awk -v el="$el" -v ops="$ops_s" -v l="$l" '
		NR == FNR { kind[$3] = $2 "|" (($1 == l) ? "leader" : "learner"); next }
		{
			k = ($1 in kind) ? kind[$1] : "not zkpg (zkbench, kernel, ...)|";
			if ($1 == 0) k = "idle|";
			cpu[k] += $2; if ($1 != 0) total += $2
		}
		END {
			for (k in cpu) {
				split(k, a, "|");
				printf "| %s | %s | %.0f | %.0f |\n", a[1], a[2], 100 * cpu[k] / el, 1e6 * cpu[k] / el / ops
			}
			printf "| all but idle | | %.0f | %.0f |\n", 100 * total / el, 1e6 * total / el / ops
		}' "$work/cpu.before" "$work/cpu.used" | sort -t'|' -k5 -rn
	if [ -n "$perf_pid" ] && [ -f "$work/perf.data" ]; then
		echo
		echo "perf, whole machine, by object:"
		perf report -i "$work/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
			grep '%' | head -8 || true
		echo
		echo "perf, whole machine, top symbols:"
		perf report -i "$work/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null |
			grep '%' | head -25 || true
	fi
	echo
fi

# failover: kill -9 of the leader, then a client of a survivor, connected
# and with its session open before the kill (as a ZooKeeper client is),
# retries its write until one is acknowledged; the time is from the kill
# to the acknowledgement, read on the server's clock
times=()
for n in $(seq 1 "$FAILOVERS"); do
	l=$(leader_of 1 2 3)
	s=$(( l % 3 + 1 ))
	pid=$(head -1 "$work/peer$l/postmaster.pid")
	rm -f "$work/probe.fifo"; mkfifo "$work/probe.fifo"; chmod 666 "$work/probe.fifo"
	as_pg "$BINDIR/psql" -X -q -At -d "$(conn "$s")" < "$work/probe.fifo" > "$work/probe.out" 2>&1 &
	probe=$!
	exec 7>"$work/probe.fifo"
	echo "SET statement_timeout = '30s'; SELECT zk_session_id();" >&7
	until [ -s "$work/probe.out" ]; do sleep 0.01; done
	t0=$(date +%s.%N)
	kill -9 "$pid"
	echo "DO \$\$BEGIN LOOP BEGIN PERFORM zk_create('/failover-$n-', '', 'persistent_sequential'); EXIT; EXCEPTION WHEN others THEN NULL; END; END LOOP; END\$\$; SELECT extract(epoch FROM clock_timestamp());" >&7
	exec 7>&-
	wait "$probe" || true
	t1=$(tail -1 "$work/probe.out")
	times+=("$(awk "BEGIN { printf \"%.3f\", $t1 - $t0 }")")
	# the killed postmaster's children exit once they notice; then restart
	for _ in $(seq 1 100); do start_peer "$l" 2>/dev/null && break; sleep 0.2; done
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n | tr '\n' ' ')
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
echo
echo "failover (kill -9 of the leader -> first acknowledged write on a survivor), s: $sorted; median $median"

#!/bin/bash
#
# run_side_by_side.sh
#	  Apache ZooKeeper 3.8 and zkpg on this machine, in one run, with the
#	  same workloads, client model and output, and the ratios between them.
#
# Four systems, each started fresh for each round and stopped after it:
#	  zk3   ZooKeeper, 3 nodes (Debian's zookeeper package, a JVM each)
#	  pg3   zkpg, 3 peers
#	  zk1   ZooKeeper standalone
#	  pg1   zkpg standalone (zkpg.servers empty)
# in that order, --rounds times (interleaved, so that the machine's drift
# from minute to minute lands on both systems), all on 127.0.0.1, fsync on
# for both (ZooKeeper's forceSync default, PostgreSQL's fsync and
# synchronous_commit defaults).  ZooKeeper is driven by test/zkcbench (its
# C client, libzookeeper_mt) and zkpg by test/zkbench (libpq): the same
# clients spread round-robin over the servers, the same depth model, the
# same histogram and CSV line.  Each system first runs a warm-up load (the
# JVM's JIT, PostgreSQL's caches) that is not recorded.
#
# Workloads, -T seconds each: create at 1 and 32 clients, create on 8
# connections x 32 in flight, set and get at 32 clients (on one node per
# client), and for zkpg zk_next_id at 32 callers on one path.  During the
# creates at 32 clients the whole machine's CPU time (/proc/stat, all but
# idle and iowait: servers, clients and kernel) and context switches are
# read before and after, and divided by the creates completed.
#
# Printed: one Markdown table per system size with, for each workload, the
# median of the rounds and the spread [min-max] for each system, the ratio
# of the medians (zkpg / ZooKeeper; for latency and costs, lower is
# better, so the ratio reads ZooKeeper / zkpg) and the spread of the
# per-round ratios.  Raw lines are kept in $work/results.txt.
#
# Usage (as root: servers run as the postgres OS user; make install first):
#	  test/bench/run_side_by_side.sh [-T SECONDS] [--rounds N] [--port BASE]
#		  [--only zk3,pg3,zk1,pg1] [--keep] [--check]
#
# --check exits 1 unless every workload of every system run gave a figure
# with no failed operation (test/run_tests.sh runs a short one this way).
#
# IDENTIFICATION
#	  test/bench/run_side_by_side.sh
#

set -euo pipefail

BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
DURATION=8
ROUNDS=2
BASE=5661
TICK=100
KEEP=0
ONLY="zk3,pg3,zk1,pg1"
CHECK=0
while [ $# -gt 0 ]; do
	case "$1" in
		-T) DURATION=$2; shift 2 ;;
		--rounds) ROUNDS=$2; shift 2 ;;
		--port) BASE=$2; shift 2 ;;
		--only) ONLY=$2; shift 2 ;;
		--keep) KEEP=1; shift ;;
		--check) CHECK=1; shift ;;
		*) sed -n '3,/^# IDENTIFICATION/p' "$0" | sed -e '$d' -e 's/^#[ \t]\{0,1\}//'; exit 1 ;;
	esac
done

here=$(cd "$(dirname "$0")/../.." && pwd)
ZKJAR=/usr/share/java/zookeeper.jar
[ -f "$ZKJAR" ] || { echo "run_side_by_side: $ZKJAR missing (apt-get install zookeeper)" >&2; exit 1; }
[ -f /usr/include/zookeeper/zookeeper.h ] || { echo "run_side_by_side: libzookeeper-mt-dev missing" >&2; exit 1; }
make -s -C "$here" PG_CONFIG="$BINDIR/pg_config" test/zkbench test/zkcbench >/dev/null

# shellcheck source=ensemble.sh
. "$here/test/bench/ensemble.sh"
top=$(mktemp -d /tmp/zkpg-side-by-side.XXXXXX)
chmod 755 "$top"
results=$top/results.txt
: > "$results"
zk_pids=()

zk_stop()
{
	local p
	for p in "${zk_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${zk_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	zk_pids=()
}

cleanup()
{
	zk_stop
	[ -n "${work:-}" ] && ens_stop_all
	if [ "$KEEP" = 1 ]; then echo "kept $top" >&2; else rm -rf "$top"; fi
}
trap cleanup EXIT

# ZooKeeper's four-letter word over bash's /dev/tcp (no nc needed)
zk_4lw()
{
	local out
	exec 9<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf '%s' "$2" >&9
	out=$(timeout 2 cat <&9) || true
	exec 9>&-
	printf '%s\n' "$out"
}

zk_client_port() { echo $((BASE + 100 + $1)); }

# zk_start N: a fresh N-node ZooKeeper in $top/zkN.<round>
zk_start()
{
	local n=$1 dir=$top/zk$1.$round i
	for i in $(seq 1 "$n"); do
		mkdir -p "$dir/data$i"
		echo "$i" > "$dir/data$i/myid"
		{
			echo "tickTime=2000"
			echo "initLimit=10"
			echo "syncLimit=5"
			echo "dataDir=$dir/data$i"
			echo "clientPort=$(zk_client_port "$i")"
			echo "maxClientCnxns=0"
			echo "admin.enableServer=false"
			echo "4lw.commands.whitelist=*"
			if [ "$n" -gt 1 ]; then
				for j in $(seq 1 "$n"); do
					echo "server.$j=127.0.0.1:$((BASE + 200 + j)):$((BASE + 300 + j))"
				done
			fi
		} > "$dir/zoo$i.cfg"
		java -Xms1g -Xmx1g -cp "$ZKJAR" org.apache.zookeeper.server.quorum.QuorumPeerMain \
			"$dir/zoo$i.cfg" > "$dir/zk$i.log" 2>&1 &
		zk_pids+=($!)
	done
	for _ in $(seq 1 300); do
		local serving=0
		for i in $(seq 1 "$n"); do
			zk_4lw "$(zk_client_port "$i")" srvr 2>/dev/null | grep -q '^Mode: \(leader\|follower\|standalone\)' &&
				serving=$((serving + 1))
		done
		[ "$serving" = "$n" ] && return 0
		sleep 0.2
	done
	echo "run_side_by_side: ZooKeeper ($n nodes) did not start; see $dir" >&2
	return 1
}

pg_start()
{
	local n=$1 i
	ENS_PEERS=$n
	ens_setup "zkpg-sbs$n" || return 1
	for i in $(seq 1 "$n"); do ens_start "$i"; done
	for i in $(seq 1 "$n"); do q "$i" "CREATE EXTENSION zkpg" >/dev/null; done
	# serving once a write commits
	for _ in $(seq 1 300); do
		q 1 "SET zkpg.request_timeout = 1000; SELECT zk_sync('/')" >/dev/null && return 0
		sleep 0.2
	done
	echo "run_side_by_side: zkpg ($n peers) did not serve" >&2
	return 1
}

pg_stop() { ens_stop_all; rm -rf "$work"; work=""; }

# the client tool's arguments for system $1
targets()
{
	local n=${1#??} i
	case "$1" in
		zk*) for i in $(seq 1 "$n"); do printf -- '-z 127.0.0.1:%s ' "$(zk_client_port "$i")"; done ;;
		pg*) for i in $(seq 1 "$n"); do printf -- "-d\n%s\n" "$(conn "$i")"; done ;;
	esac
}

# run SYSTEM WORKLOAD-NAME zkbench-args...: one CSV line into results
run()
{
	local sys=$1 name=$2 line
	shift 2
	if [[ $sys == zk* ]]; then
		# shellcheck disable=SC2046
		line=$("$here/test/zkcbench" $(targets "$sys") -T "$DURATION" --warmup 1 --csv "$@" 2>>"$top/errors.log" | tail -1) || true
	else
		mapfile -t dargs < <(targets "$sys")
		line=$(as_pg "$here/test/zkbench" "${dargs[@]}" -T "$DURATION" --warmup 1 --csv "$@" 2>>"$top/errors.log" | tail -1) || true
	fi
	[ -n "$line" ] || { echo "run_side_by_side: $sys $name failed" >&2; return 0; }
	IFS=, read -r _ _ _ _ _ _ ops errors ops_s p50 _ p99 _ _ _ <<<"$line"
	echo "$sys $round $name $ops_s $p50 $p99 $ops $errors" >> "$results"
	echo "  $sys round $round $name: $ops_s ops/s, p50 $p50 ms, p99 $p99 ms, errors $errors" >&2
}

# machine-wide CPU jiffies (all but idle and iowait) and context switches
machine_counters()
{
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 } $1 == "ctxt" { print $2 }' /proc/stat | paste -sd' '
}

workloads()
{
	local sys=$1 c0 x0 c1 x1 ops hz
	hz=$(getconf CLK_TCK)
	run "$sys" warmup -c 32 -w create >/dev/null
	sed -i '/ warmup /d' "$results"
	run "$sys" create_c1 -c 1 -w create
	read -r c0 x0 <<<"$(machine_counters)"
	run "$sys" create_c32 -c 32 -w create
	read -r c1 x1 <<<"$(machine_counters)"
	ops=$(awk -v s="$sys" -v r="$round" '$1 == s && $2 == r && $3 == "create_c32" { print $7 }' "$results")
	if [ -n "$ops" ] && [ "$ops" -gt 0 ]; then
		# the counters span warm-up second, window and drain: scale the
		# creates of the window by the time the run took
		echo "$sys $round cpu_us_per_create $(awk -v c="$((c1 - c0))" -v hz="$hz" -v o="$ops" -v t="$DURATION" 'BEGIN { printf "%.0f", c / hz * 1e6 / (o * (t + 1) / t) }') 0 0 0 0" >> "$results"
		echo "$sys $round ctx_per_create $(awk -v x="$((x1 - x0))" -v o="$ops" -v t="$DURATION" 'BEGIN { printf "%.1f", x / (o * (t + 1) / t) }') 0 0 0 0" >> "$results"
	fi
	run "$sys" create_8x32 -c 8 -P 32 -w create
	run "$sys" set_c32 -c 32 -w set
	run "$sys" get_c32 -c 32 -w get
	[[ $sys == pg* ]] && run "$sys" nextid_c32 -c 32 -w nextid
	return 0
}

for round in $(seq 1 "$ROUNDS"); do
	for sys in zk3 pg3 zk1 pg1; do
		[[ ",$ONLY," == *",$sys,"* ]] || continue
		echo "round $round: $sys" >&2
		case "$sys" in
			zk*) zk_start "${sys#zk}" && workloads "$sys"; zk_stop ;;
			pg*) pg_start "${sys#pg}" && workloads "$sys"; pg_stop ;;
		esac
	done
done

# median [min-max] of field F (4 = ops/s, 5 = p50) of SYS NAME
stat_of()
{
	awk -v s="$1" -v n="$2" -v f="$3" '$1 == s && $3 == n { print $f }' "$results" | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "-"; exit }
			m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
			printf "%s [%s-%s]\n", m, v[1], v[NR] }'
}
median_of() { stat_of "$@" | awk '{ print $1 }'; }

# per-round ratio spread: min and max of a(r) / b(r) over the rounds
ratio_spread()
{
	awk -v a="$1" -v b="$2" -v n="$3" -v f="$4" -v inv="$5" '
		$3 == n && $1 == a { x[$2] = $f } $3 == n && $1 == b { y[$2] = $f }
		END {
			lo = ""; hi = "";
			for (r in x) if ((r in y) && x[r] > 0 && y[r] > 0) {
				q = inv ? y[r] / x[r] : x[r] / y[r];
				if (lo == "" || q < lo) lo = q; if (hi == "" || q > hi) hi = q }
			if (lo == "") print "-"; else printf "%.2f-%.2f\n", lo, hi }' "$results"
}

table()
{
	local n=$1 zk=zk$1 pg=pg$1 row name field inv label zm pm ratio
	echo
	echo "### $( [ "$n" = 1 ] && echo standalone || echo "$n nodes / peers" ) ($(nproc) cores, -T $DURATION, $ROUNDS rounds; median [min-max])"
	echo
	echo "| workload | ZooKeeper 3.8 | zkpg | zkpg vs ZooKeeper (medians) | per-round ratios |"
	echo "|---|--:|--:|--:|--:|"
	for row in "create_c1 5 1 create, 1 client, p50 ms (lower is better)" \
		"create_c1 4 0 create, 1 client, ops/s" \
		"create_c32 4 0 create, 32 clients, ops/s" \
		"create_c32 5 1 create, 32 clients, p50 ms" \
		"create_8x32 4 0 create, 8 connections x 32 in flight, ops/s" \
		"set_c32 4 0 set, 32 clients, ops/s" \
		"get_c32 4 0 get, 32 clients, ops/s" \
		"cpu_us_per_create 4 1 CPU us per create at 32 clients, whole machine (lower is better)" \
		"ctx_per_create 4 1 context switches per create at 32 clients" \
		"nextid_c32 4 0 zk_next_id, 32 callers on one path, ops/s (zkpg only)"; do
		read -r name field inv label <<<"$row"
		zm=$(median_of "$zk" "$name" "$field")
		pm=$(median_of "$pg" "$name" "$field")
		ratio="-"
		if [ "$zm" != "-" ] && [ "$pm" != "-" ]; then
			ratio=$(awk -v a="$pm" -v b="$zm" -v inv="$inv" 'BEGIN { if (a > 0 && b > 0) printf "%.2fx\n", inv ? b / a : a / b; else print "-" }')
		fi
		if [ "$name" = nextid_c32 ]; then
			# the target is against zkpg's own creates of the same run
			zm=$(median_of "$pg" create_c32 4)
			[ "$pm" != "-" ] && [ "$zm" != "-" ] &&
				ratio=$(awk -v a="$pm" -v b="$zm" 'BEGIN { if (b > 0) printf "%.2fx zkpg creates\n", a / b; else print "-" }')
			echo "| $label | - | $(stat_of "$pg" "$name" "$field") | $ratio | $(ratio_spread "$pg" "$pg" "$name" "$field" 0 | sed 's/.*/-/') |"
			continue
		fi
		echo "| $label | $(stat_of "$zk" "$name" "$field") | $(stat_of "$pg" "$name" "$field") | $ratio | $(ratio_spread "$pg" "$zk" "$name" "$field" "$inv") |"
	done
}

table 3
table 1
echo
echo "ratios: above 1x means zkpg does better (for latency and costs: ZooKeeper's figure / zkpg's)."

if [ "$CHECK" = 1 ]; then
	bad=0
	for round in $(seq 1 "$ROUNDS"); do
		for sys in ${ONLY//,/ }; do
			for name in create_c1 create_c32 create_8x32 set_c32 get_c32 cpu_us_per_create; do
				awk -v s="$sys" -v r="$round" -v n="$name" '$1 == s && $2 == r && $3 == n && $4 > 0 && $8 == 0 { ok = 1 } END { exit !ok }' "$results" ||
					{ echo "check: no clean figure for $sys $name in round $round" >&2; bad=1; }
			done
		done
	done
	[ "$bad" = 0 ] || { tail -20 "$top/errors.log" >&2 2>/dev/null; exit 1; }
	echo "check: every workload of ${ONLY} gave a figure"
fi

#!/bin/bash
#
# run_comparison_bench.sh
#	  The comparison of zkpg.replication = zab, 2pc and 3pc on a three-peer
#	  ensemble of this machine, the same workloads in each mode:
#
#	  1. creates: throughput and latency at 1, 8 and 32 clients, and
#		 pipelined (8 connections x 32 in flight);
#	  2. a follower/participant killed with kill -9 under load: writes/s
#		 over time, then it restarts;
#	  3. the leader/coordinator killed under load: writes/s over time, the
#		 time until a write succeeds again (it is restarted after
#		 --down seconds: 2PC and 3PC have no one else to take over), the
#		 in-doubt prepared transactions on the survivors and how long they
#		 hold the participant's log lock, and whether the survivors' trees
#		 disagree meanwhile;
#	  4. a partition that isolates one participant after it pre-committed
#		 (its log write waits for a table lock the script holds, the
#		 network to it is cut -- NetSplit relays, stopped with SIGSTOP --
#		 then the lock goes): does the isolated peer's tree diverge?
#
# Writes CSV files and a plot (gnuplot, installed with apt when missing and
# run as root) into --out (default docs/comparison), and prints a Markdown
# summary.  docs/replication-comparison.md explains a run of it.
#
# Usage:
#	  test/bench/run_comparison_bench.sh [-T SECONDS] [--down SECONDS]
#		  [--modes "zab 2pc 3pc"] [--out DIR] [--port BASE] [--keep]
#		  [--plot-only]	(plot and summarize the CSV files of --out again)
#
# IDENTIFICATION
#	  test/bench/run_comparison_bench.sh
#

set -euo pipefail

BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
DURATION=8
DOWN=5
MODES="zab 2pc 3pc"
BASE=5661
TICK=100
KEEP=0
PLOT_ONLY=0
here=$(cd "$(dirname "$0")/../.." && pwd)
OUT="$here/docs/comparison"
while [ $# -gt 0 ]; do
	case "$1" in
		-T) DURATION=$2; shift 2 ;;
		--down) DOWN=$2; shift 2 ;;
		--modes) MODES=$2; shift 2 ;;
		--out) OUT=$2; shift 2 ;;
		--port) BASE=$2; shift 2 ;;
		--keep) KEEP=1; shift ;;
		--plot-only) PLOT_ONLY=1; shift ;;
		*) sed -n '3,/^# IDENTIFICATION/p' "$0" | sed -e '$d' -e 's/^#[ \t]\{0,1\}//'; exit 1 ;;
	esac
done

# shellcheck source=ensemble.sh
. "$here/test/bench/ensemble.sh"
make -s -C "$here" test/zkbench >/dev/null
if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox >/dev/null
fi
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] && chown postgres "$OUT"
LOG_LOCK_KEY=2053861479
relay_pids=()

cleanup()
{
	local p
	for p in "${relay_pids[@]}"; do kill -CONT -- "-$p" 2>/dev/null || true; kill -KILL -- "-$p" 2>/dev/null || true; done
	[ -n "${work:-}" ] && ens_stop_all
	[ "$KEEP" = 1 ] || { [ -n "${work:-}" ] && rm -rf "$work"; }
	return 0
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk "BEGIN { printf \"%.2f\", $2 - $1 }"; }

# a three-peer ensemble of this mode; with relays, peer i reaches peer j
# through a NetSplit relay of its own (cut_peer cuts every relay of a peer)
declare -A relay
setup_mode()
{
	local mode=$1 relays=${2:-0} i j rport servers
	ens_setup "zkpg-cmp-$mode"
	for i in 1 2 3; do
		cat >> "$work/peer$i/postgresql.conf" <<CONF
zkpg.replication = '$mode'
max_prepared_transactions = 64
zkpg.sync_limit = 30
CONF
		if [ "$relays" = 1 ]; then
			servers=""
			for j in 1 2 3; do
				rport=$(port "$j")
				if [ "$i" != "$j" ]; then
					rport=$((BASE + 10 + i * 3 + j))
					# (to a file: the relay keeps the perl's stdout open)
					perl -I "$here/test" -MNetSplit -e \
						'my $l = NetSplit::detach(NetSplit::start_link(@ARGV)); print "$l->{pid}\n";' \
						"$rport" "$(port "$j")" > "$work/relay$i$j.pid"
					relay[$i$j]=$(cat "$work/relay$i$j.pid")
					relay_pids+=("${relay[$i$j]}")
				fi
				servers="$servers${servers:+,}$j=127.0.0.1:$rport"
			done
			echo "zkpg.servers = '$servers'" >> "$work/peer$i/postgresql.conf"
		fi
	done
	for i in 1 2 3; do ens_start "$i"; done
	for i in 1 2 3; do q "$i" "CREATE EXTENSION zkpg" >/dev/null; done
	leader_of 1 2 3 >/dev/null
}

teardown_mode()
{
	local p
	for p in "${relay_pids[@]}"; do kill -CONT -- "-$p" 2>/dev/null || true; kill -KILL -- "-$p" 2>/dev/null || true; done
	relay_pids=()
	ens_stop_all
	[ "$KEEP" = 1 ] || rm -rf "$work"
	work=""
}

cut_peer()
{
	local v=$1 sig=$2 i
	for i in 1 2 3; do
		[ "$i" = "$v" ] && continue
		kill "-$sig" -- "-${relay[$v$i]}"
		kill "-$sig" -- "-${relay[$i$v]}"
	done
}

restart_peer()
{
	for _ in $(seq 1 100); do ens_start "$1" 2>/dev/null && return 0; sleep 0.2; done
	return 1
}

kill_peer() { kill -9 "$(head -1 "$work/peer$1/postmaster.pid")"; }

zkbench() { as_pg "$here/test/zkbench" "$@"; }

# --- 1. creates -----------------------------------------------------------------
throughput()
{
	local mode=$1 name c p line
	for run in "1 1" "8 1" "32 1" "8 32"; do
		read -r c p <<<"$run"
		line=$(zkbench -d "$(conn 1)" -d "$(conn 2)" -d "$(conn 3)" -c "$c" -P "$p" \
			-T "$DURATION" --warmup 1 -p "/tp$c-$p" --csv | tail -1)
		IFS=, read -r _ _ _ _ _ _ ops errors ops_s p50 _ p99 _ _ _ <<<"$line"
		name="$c clients"; [ "$p" != 1 ] && name="$c x $p pipelined"
		echo "$mode,$name,$ops_s,$p50,$p99,$errors" >> "$OUT/creates.csv"
	done
}

# --- 2. a follower/participant killed under load ----------------------------
kill_participant()
{
	local mode=$1 l v s
	l=$(leader_of 1 2 3)
	v=$(( l % 3 + 1 )); s=$(( v % 3 + 1 ))
	zkbench -d "$(conn "$l")" -d "$(conn "$s")" -c 16 -T 20 --timeline 250 -p /kp \
		--csv > "$work/kp.out" 2>/dev/null &
	local bench=$!
	sleep 5
	kill_peer "$v"
	sleep 8
	restart_peer "$v"
	wait "$bench" || true
	grep '^timeline,' "$work/kp.out" | cut -d, -f2- | sed "s/^/$mode,/" >> "$OUT/timeline_participant_kill.csv"
}

# --- 3. the leader/coordinator killed under load ------------------------------
kill_coordinator()
{
	local mode=$1 l a b t0 t_restart t_ok i d=() early="" late="" watchers=() summary
	l=$(leader_of 1 2 3)
	a=$(( l % 3 + 1 )); b=$(( a % 3 + 1 ))
	zkbench -d "$(conn "$a")" -d "$(conn "$b")" -c 16 -T 20 --timeline 250 -p /kc \
		--csv > "$work/kc.out" 2>/dev/null &
	local bench=$!
	# every 0.1 s on each survivor: the batches of the coordinator it holds
	# in doubt, and whether its log lock is taken
	for i in "$a" "$b"; do
		printf '%s\n' "SELECT extract(epoch FROM clock_timestamp()) || '|' || coalesce((SELECT string_agg(gid, ' ') FROM zkpg.in_doubt WHERE coordinator = $l), '') || '|' || pg_try_advisory_xact_lock($LOG_LOCK_KEY) \\watch 0.1" |
			as_pg "$BINDIR/psql" -X -q -At -d "$(conn "$i")" > "$work/doubt$i.out" 2>/dev/null &
		watchers+=($!)
	done
	sleep 4
	t0=$(now)
	kill_peer "$l"
	if [ "$mode" != zab ]; then
		# nothing is written while the coordinator is down: survivors whose
		# trees differ disagree (under ZAB a new leader writes at once)
		sleep 0.5
		for i in "$a" "$b"; do d[$i]=$(q "$i" "SELECT zkpg.tree_digest()"); done
		[ "${d[$a]}" != "${d[$b]}" ] && early=differ || early=same
		while awk "BEGIN { exit !($(now) - $t0 < $DOWN - 0.3) }"; do sleep 0.05; done
		for i in "$a" "$b"; do d[$i]=$(q "$i" "SELECT zkpg.tree_digest()"); done
		[ "${d[$a]}" != "${d[$b]}" ] && late=differ || late=same
		restart_peer "$l"
	fi
	t_restart=$(now)
	until q "$a" "SET zkpg.request_timeout = 200; SELECT zk_create('/kc-probe-', '', 'persistent_sequential')" >/dev/null; do :; done
	t_ok=$(now)
	[ "$mode" = zab ] && restart_peer "$l"
	wait "$bench" || true
	kill "${watchers[@]}" 2>/dev/null || true
	wait "${watchers[@]}" 2>/dev/null || true
	# the batches in doubt while the coordinator was down (normal load
	# prepares batches all the time), whether they held the log lock, and
	# until when they were there (s after the kill)
	summary=$(cat "$work/doubt$a.out" "$work/doubt$b.out" | sort -t'|' -k1,1n | awk -F'|' -v t0="$t0" -v t1="$t_restart" '
		{ ts[NR] = $1; gl[NR] = $2; lk[NR] = $3 }
		$1 >= t0 && $1 <= t1 && $2 != "" { n = split($2, g, " "); for (k = 1; k <= n; k++) outage[g[k]] = 1 }
		END {
			for (r = 1; r <= NR; r++) {
				if (ts[r] < t0) continue
				n = split(gl[r], g, " ")
				for (k = 1; k <= n; k++) if (g[k] in outage) { last = ts[r] - t0; if (lk[r] == "false") locked = 1 }
			}
			c = 0; for (x in outage) c++
			printf "%d,%d,%.2f", c, locked, last
		}')
	grep '^timeline,' "$work/kc.out" | cut -d, -f2- | sed "s/^/$mode,/" >> "$OUT/timeline_coordinator_kill.csv"
	echo "$mode,$(elapsed "$t0" "$t_ok"),$([ "$mode" = zab ] && echo - || elapsed "$t_restart" "$t_ok"),$summary,${early:--},${late:--}" \
		>> "$OUT/coordinator_kill.csv"
}

# --- 4. a participant cut off after it pre-committed ---------------------------
partition()
{
	local mode=$1 l v o writer lockpid result has_v has_l has_o dv dl do_ dv2 dl2 conv
	setup_mode "$mode" 1
	l=$(leader_of 1 2 3)
	v=$(( l % 3 + 1 )); o=$(( v % 3 + 1 ))
	q "$o" "SELECT zk_create('/before', 'b')" >/dev/null
	# the writer's session first (a session is a write too), then the
	# victim's log write held by a table lock: two psql fed by fifos
	mkfifo "$work/write.fifo" "$work/lock.fifo"; chmod 666 "$work"/*.fifo
	as_pg "$BINDIR/psql" -X -q -At -d "$(conn "$l")" < "$work/write.fifo" > "$work/split.out" 2>&1 &
	writer=$!
	exec 8>"$work/write.fifo"
	echo "SELECT zk_session_id();" >&8
	as_pg "$BINDIR/psql" -X -q -d "$(conn "$v")" < "$work/lock.fifo" >/dev/null 2>&1 &
	lockpid=$!
	exec 9>"$work/lock.fifo"
	echo "BEGIN; LOCK TABLE zkpg.txnlog IN SHARE MODE;" >&9
	until [ "$(q "$v" "SELECT count(*) FROM pg_locks WHERE granted AND mode = 'ShareLock' AND relation = 'zkpg.txnlog'::regclass")" -gt 0 ]; do sleep 0.05; done
	until [ "$(wc -l < "$work/split.out")" -ge 1 ]; do sleep 0.05; done
	echo "SELECT zk_create('/split', 'x');" >&8
	exec 8>&-
	until [ "$(q "$v" "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'zkpg.txnlog'::regclass")" -gt 0 ]; do sleep 0.05; done
	cut_peer "$v" STOP
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$lockpid" || true
	wait "$writer" || true
	result=$(grep -q '^/split$' "$work/split.out" && echo acknowledged || echo failed)
	sleep 5		# past every timeout (zkpg.sync_limit = 30 ticks = 3 s)
	has_v=$(q "$v" "SELECT count(*) FROM zkpg.znode WHERE path = '/split'")
	has_l=$(q "$l" "SELECT count(*) FROM zkpg.znode WHERE path = '/split'")
	has_o=$(q "$o" "SELECT count(*) FROM zkpg.znode WHERE path = '/split'")
	dv=$(q "$v" "SELECT zkpg.tree_digest()"); dl=$(q "$l" "SELECT zkpg.tree_digest()"); do_=$(q "$o" "SELECT zkpg.tree_digest()")
	cut_peer "$v" CONT
	conv=no
	for _ in $(seq 1 200); do
		dv2=$(q "$v" "SELECT zkpg.tree_digest() FROM (SELECT zk_sync('/')) s" || true)
		dl2=$(q "$l" "SELECT zkpg.tree_digest() FROM (SELECT zk_sync('/')) s" || true)
		if [ -n "$dv2" ] && [ "$dv2" = "$dl2" ]; then conv=yes; break; fi
		sleep 0.1
	done
	echo "$mode,$result,$has_l$has_o$has_v,$([ "$dv" = "$dl" ] && echo same || echo different),$([ "$has_v" = 1 ] && [ "$has_l$has_o" = 00 ] && echo yes || echo no),$conv,$(q "$v" "SELECT count(*) FROM zkpg.znode WHERE path = '/split'")" \
		>> "$OUT/partition.csv"
	teardown_mode
}

if [ "$PLOT_ONLY" = 0 ]; then
	echo "mode,run,ops_s,p50_ms,p99_ms,errors" > "$OUT/creates.csv"
	echo "mode,elapsed_ms,ok,failed" > "$OUT/timeline_participant_kill.csv"
	echo "mode,elapsed_ms,ok,failed" > "$OUT/timeline_coordinator_kill.csv"
	echo "mode,kill_to_first_write_s,restart_to_first_write_s,batches_in_doubt,log_lock_held,in_doubt_until_s,survivors_trees_0.5s_after_kill,survivors_trees_before_restart" > "$OUT/coordinator_kill.csv"
	echo "mode,write,split_on_leader_other_victim,victim_vs_leader_digest,victim_holds_what_the_others_lack,converged_after_heal,split_on_victim_after_heal" > "$OUT/partition.csv"

	for mode in $MODES; do
		echo "== $mode" >&2
		setup_mode "$mode"
		throughput "$mode"
		kill_participant "$mode"
		kill_coordinator "$mode"
		teardown_mode
		partition "$mode"
	done
fi

# plot data: one row per run, one column per mode; one timeline per mode
[ -n "${work:-}" ] || { work=$(mktemp -d /tmp/zkpg-cmp-plot.XXXXXX); chmod 755 "$work"; }
for field in 3 4; do
	for run in "1 clients" "8 clients" "32 clients" "8 x 32 pipelined"; do
		printf '"%s"' "$run"
		for mode in $MODES; do
			printf ' %s' "$(awk -F, -v m="$mode" -v r="$run" -v f="$field" '$1 == m && $2 == r { print $f }' "$OUT/creates.csv")"
		done
		echo
	done > "$OUT/creates_by_mode_$field.dat"
done
for mode in $MODES; do
	awk -F, -v m="$mode" '$1 == m { print $2 / 1000, $3 * 4 }' "$OUT/timeline_participant_kill.csv" > "$work/tp_$mode.dat"
	awk -F, -v m="$mode" '$1 == m { print $2 / 1000, $3 * 4 }' "$OUT/timeline_coordinator_kill.csv" > "$work/tc_$mode.dat"
done
# (gnuplot runs as postgres: it must be able to write the plot)
if [ "$(id -u)" = 0 ]; then touch "$OUT/comparison.png"; chown postgres "$OUT"/*.dat "$work"/*.dat "$OUT/comparison.png"; fi
if command -v gnuplot >/dev/null; then
	bars=""; lat=""; tp=""; tc=""; col=2
	for mode in $MODES; do
		bars="$bars${bars:+, }'$OUT/creates_by_mode_3.dat' using $col:xtic(1) title '$mode'"
		lat="$lat${lat:+, }'$OUT/creates_by_mode_4.dat' using $col:xtic(1) title '$mode'"
		tp="$tp${tp:+, }'$work/tp_$mode.dat' using 1:2 with lines lw 2 title '$mode'"
		tc="$tc${tc:+, }'$work/tc_$mode.dat' using 1:2 with lines lw 2 title '$mode'"
		col=$((col + 1))
	done
	as_pg gnuplot <<GP
set terminal pngcairo size 1400,900 font ",11" noenhanced
set output "$OUT/comparison.png"
set multiplot layout 2,2 title "zkpg: ZAB vs 2PC vs 3PC, 3 peers on $(nproc) cores (test/bench/run_comparison_bench.sh)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key top left
set yrange [0:*]
set title "creates/s (clients spread over the 3 peers)"
plot $bars
set title "create latency p50, ms (log scale)"
set logscale y
set yrange [*:*]
plot $lat
unset logscale y
set yrange [0:*]
set style data lines
set xlabel "s (kill -9 at 5 s, restarted at 13 s)"
set ylabel "writes/s"
set title "a follower / participant killed under load"
plot $tp
set xlabel "s (kill -9 at 4 s; the 2PC/3PC coordinator is restarted ${DOWN} s later)"
set title "the leader / coordinator killed under load"
plot $tc
unset multiplot
GP
fi

echo "### creates (3 peers, $(nproc) cores, -T $DURATION)"
echo "| mode | run | creates/s | p50 ms | p99 ms | errors |"
echo "|---|---|--:|--:|--:|--:|"
tail -n +2 "$OUT/creates.csv" | awk -F, '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "### leader/coordinator killed"
echo "| mode | kill -> first write (s) | restart -> first write (s) | batches in doubt | log lock held | in doubt until (s after kill) | survivors' trees 0.5 s after the kill | just before the restart |"
echo "|---|--:|--:|--:|---|--:|---|---|"
tail -n +2 "$OUT/coordinator_kill.csv" | awk -F, '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, ($5 ? "yes" : "no"), $6, $7, $8 }'
echo
echo "### partition after pre-commit"
echo "| mode | the write | /split on leader, other, victim | victim's digest vs leader's | victim holds a write the others lack (divergence) | converged after heal | /split on victim after heal |"
echo "|---|---|---|---|---|---|---|"
tail -n +2 "$OUT/partition.csv" | awk -F, '{ printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }'

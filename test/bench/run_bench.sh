#!/bin/bash
#
# run_bench.sh
#	  Benchmarks zkpg with zkbench and, for scale, a plain durable INSERT with
#	  pgbench on the same server, and prints a Markdown table of the results.
#
# By default it starts a throwaway standalone PostgreSQL 15 server with zkpg
# preloaded (initdb into a temporary directory, as the postgres OS user when
# run as root, listening only on a Unix socket in that directory), runs
# CREATE EXTENSION zkpg, runs the benchmarks, and stops the server and
# removes the directory on exit.  With --conninfo it uses an existing server
# instead (zkpg preloaded there, a superuser connection for CREATE EXTENSION
# and for the bench_insert table, which it drops afterwards; zkbench deletes
# its nodes there).
#
# The zkpg extension must be installed first (make && make install);
# zkbench is built with "make test/zkbench" if missing or stale.
#
# Runs, each -T seconds (default 10) after a --warmup (default 1):
#	  zkbench create   1 client, 32 clients, 8 clients x pipeline depth 32
#	  zkbench set      32 clients
#	  zkbench get      1 client, 32 clients
#	  pgbench INSERT   1 client, 32 clients (-n -M prepared -j 2)
#	  pgbench SELECT   32 clients: a primary-key lookup, and SELECT 1 (the
#					   cost of a statement round trip: the floor of zk_get)
#
# With --scale, it also shows that the tree is not bounded by memory:
# 1,000,000 znodes created by 4 clients with zk_multi (1,000 creates per
# call), then one node with 100,000 children; it prints the times, the
# zk_get_children time on that node and the database size.  --scale-only
# skips the throughput runs.
#
# Usage:
#	  test/bench/run_bench.sh [-T SECONDS] [--warmup SECONDS] [--port PORT]
#		  [-o 'guc = value']... [--conninfo CONNINFO] [--keep] [--scale|--scale-only]
#
# Exit status is non-zero if the server could not be set up or any run
# failed; the table is printed either way, with failed runs marked.
#
# IDENTIFICATION
#	  test/bench/run_bench.sh
#

set -euo pipefail

BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
DURATION=10
WARMUP=1
PORT=5544
CONNINFO=
KEEP=0
SCALE=0
THROUGHPUT=1
EXTRA_GUCS=()

usage()
{
	sed -n '3,/^# IDENTIFICATION/p' "$0" | sed -e '$d' -e 's/^#[ \t]\{0,1\}//'
	cat <<EOF
Options:
  -T SECONDS          duration of each run (default $DURATION)
  --warmup SECONDS    zkbench warmup before each timed run (default $WARMUP)
  --port PORT         port of the temporary server's socket (default $PORT)
  -o 'GUC = VALUE'    extra postgresql.conf line for the temporary server
  --conninfo STRING   use this running server instead of starting one
  --keep              keep the temporary directory (logs, raw outputs)
  --scale             also create 1,000,000 znodes and a node with 100,000 children
  --scale-only        only that
  --bindir DIR        PostgreSQL binaries (default $BINDIR)
EOF
}

die()
{
	echo "run_bench.sh: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case "$1" in
		-T) DURATION=${2:?-T needs a value}; shift 2 ;;
		--warmup) WARMUP=${2:?--warmup needs a value}; shift 2 ;;
		--port) PORT=${2:?--port needs a value}; shift 2 ;;
		-o) EXTRA_GUCS+=("${2:?-o needs a value}"); shift 2 ;;
		--conninfo) CONNINFO=${2:?--conninfo needs a value}; shift 2 ;;
		--keep) KEEP=1; shift ;;
		--scale) SCALE=1; shift ;;
		--scale-only) SCALE=1; THROUGHPUT=0; shift ;;
		--bindir) BINDIR=${2:?--bindir needs a value}; shift 2 ;;
		-h|--help) usage; exit 0 ;;
		*) usage >&2; exit 1 ;;
	esac
done
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "invalid -T \"$DURATION\""
[[ "$WARMUP" =~ ^[0-9]+$ ]] || die "invalid --warmup \"$WARMUP\""
[[ "$PORT" =~ ^[1-9][0-9]*$ ]] || die "invalid --port \"$PORT\""

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ZKBENCH=$REPO/test/zkbench
PSQL=$BINDIR/psql
PGBENCH=$BINDIR/pgbench

for bin in psql pgbench pg_ctl initdb; do
	[ -x "$BINDIR/$bin" ] || die "$BINDIR/$bin not found (use --bindir)"
done

# initdb refuses to run as root: then the server belongs to postgres.
if [ "$(id -u)" -eq 0 ]; then
	AS_SERVER=(runuser -u postgres --)
else
	AS_SERVER=()
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/zkpg-bench.XXXXXX")
STARTED=0
OWN_SERVER=0

cleanup()
{
	local rc=$?

	if [ "$STARTED" = 1 ]; then
		"${AS_SERVER[@]}" "$BINDIR/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 ||
			echo "run_bench.sh: could not stop the server in $WORK/data" >&2
	elif [ -n "$CONNINFO" ]; then
		psql_run -c 'DROP TABLE IF EXISTS bench_insert, bench_select' >/dev/null 2>&1 || true
	fi
	if [ "$KEEP" = 1 ]; then
		echo "run_bench.sh: kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# zkbench: build it when missing or older than its source.
if [ ! -x "$ZKBENCH" ] || [ "$REPO/test/zkbench.c" -nt "$ZKBENCH" ]; then
	if ! make -C "$REPO" -s test/zkbench >&2; then
		# e.g. the repository is not writable by this user: build a private copy
		ZKBENCH=$WORK/zkbench
		cc -O2 -Wall -Werror -I"$(pg_config --includedir)" -o "$ZKBENCH" \
			"$REPO/test/zkbench.c" -L"$(pg_config --libdir)" -lpq -lpthread -lm ||
			die "could not build zkbench"
	fi
fi

if [ -z "$CONNINFO" ]; then
	PGCONFIG=$BINDIR/pg_config
	[ -x "$PGCONFIG" ] || PGCONFIG=pg_config
	[ -f "$("$PGCONFIG" --pkglibdir)/zkpg.so" ] &&
		[ -f "$("$PGCONFIG" --sharedir)/extension/zkpg.control" ] ||
		die "zkpg is not installed: run make && make install in $REPO first"

	[ ${#AS_SERVER[@]} -eq 0 ] || chown postgres: "$WORK"
	echo "run_bench.sh: starting a server in $WORK" >&2
	"${AS_SERVER[@]}" "$BINDIR/initdb" -D "$WORK/data" -U postgres --auth=trust \
		--no-sync >"$WORK/initdb.log" 2>&1 ||
		{ cat "$WORK/initdb.log" >&2; die "initdb failed"; }
	{
		echo "# run_bench.sh"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$WORK'"
		echo "port = $PORT"
		echo "max_connections = 200"
		echo "shared_preload_libraries = 'zkpg'"
		echo "zkpg.database = 'postgres'"
		for guc in "${EXTRA_GUCS[@]+"${EXTRA_GUCS[@]}"}"; do
			echo "$guc"
		done
	} >>"$WORK/data/postgresql.conf"
	STARTED=1
	if ! "${AS_SERVER[@]}" "$BINDIR/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" \
		-w -t 60 start >/dev/null; then
		tail -n 30 "$WORK/server.log" >&2 || true
		die "the server did not start"
	fi
	CONNINFO="host=$WORK port=$PORT user=postgres dbname=postgres"
	CLEANUP_OPT=()
	OWN_SERVER=1
else
	# nodes created on someone else's server are deleted afterwards
	CLEANUP_OPT=(--cleanup)
fi

psql_run()
{
	PGOPTIONS="-c client_min_messages=warning" \
		"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$CONNINFO" "$@"
}

psql_run -c 'CREATE EXTENSION IF NOT EXISTS zkpg' ||
	die "CREATE EXTENSION zkpg failed"

# The server may still be electing itself (standalone) when we get here: a
# zk_sync succeeds only once it can order writes.
for i in $(seq 1 60); do
	if psql_run -c "SELECT zk_sync('/')" >/dev/null 2>"$WORK/sync.err"; then
		break
	fi
	if [ "$i" = 60 ]; then
		cat "$WORK/sync.err" >&2
		echo "run_bench.sh: zkpg not ready after 30 s; running anyway" >&2
	fi
	sleep 0.5
done

psql_run -c 'DROP TABLE IF EXISTS bench_insert' \
	-c 'CREATE TABLE bench_insert(id bigserial primary key, v text)' ||
	die "could not create bench_insert"
echo "INSERT INTO bench_insert(v) VALUES ('x');" >"$WORK/insert.sql"
psql_run -c 'DROP TABLE IF EXISTS bench_select' \
	-c 'CREATE TABLE bench_select(id int primary key, v text)' \
	-c "INSERT INTO bench_select SELECT i, 'x' FROM generate_series(1, 1000) i" >/dev/null ||
	die "could not create bench_select"
printf '\\set k random(1, 1000)\nSELECT v FROM bench_select WHERE id = :k;\n' >"$WORK/select.sql"
echo "SELECT 1;" >"$WORK/select1.sql"

# One row per run: name|clients|depth|ops/s|p50|p99|max|errors
ROWS=()
FAILED=0

run_zkbench()
{
	local workload=$1 clients=$2 pdepth=$3 line errors ops_s p50 p99 max detail
	local out=$WORK/zkbench-$workload-c$clients-P$pdepth

	echo "run_bench.sh: zkbench $workload, $clients clients, depth $pdepth, ${DURATION}s" >&2
	if "$ZKBENCH" -d "$CONNINFO" -w "$workload" -c "$clients" -P "$pdepth" \
		-T "$DURATION" --warmup "$WARMUP" --csv "${CLEANUP_OPT[@]+"${CLEANUP_OPT[@]}"}" \
		>"$out.csv" 2>"$out.err"; then
		:
	else
		FAILED=1
		sed 's/^/    /' "$out.err" >&2
	fi
	line=$(tail -n 1 "$out.csv")
	if [ -z "$line" ]; then
		ROWS+=("zkpg $workload|$clients|$pdepth|failed|||||")
		return
	fi
	# workload,clients,threads,depth,data_bytes,duration_s,ops,errors,
	# ops_per_s,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,error_detail
	IFS=, read -r _ _ _ _ _ _ _ errors ops_s p50 _ p99 max _ detail <<<"$line"
	[ "$errors" = 0 ] || errors="$errors ($detail)"
	ROWS+=("zkpg $workload|$clients|$pdepth|$ops_s|$p50|$p99|$max|$errors")
	eval "ZK_${workload}_${clients}_${pdepth}=\$ops_s"
}

run_pgbench()
{
	local clients=$1 tps failed stats
	local out=$WORK/pgbench-c$clients

	echo "run_bench.sh: pgbench INSERT, $clients clients, ${DURATION}s" >&2
	mkdir -p "$out.log"
	if ! "$PGBENCH" -n -M prepared -c "$clients" -j 2 -T "$DURATION" \
		-f "$WORK/insert.sql" -l --log-prefix="$out.log/tx" "$CONNINFO" \
		>"$out.txt" 2>&1; then
		FAILED=1
		sed 's/^/    /' "$out.txt" >&2
		ROWS+=("pgbench INSERT|$clients|1|failed|||||")
		return
	fi
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$out.txt")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$out.txt")
	# per-transaction log: client tx latency_us script epoch epoch_us
	stats=$(cat "$out.log"/tx.* | awk '{ print $3 }' | sort -n | awk '
		{ v[NR] = $1 }
		END {
			if (NR == 0) { print "||"; exit }
			i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
			i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
			printf "%.3f|%.3f|%.3f", v[i50] / 1000, v[i99] / 1000, v[NR] / 1000
		}')
	ROWS+=("pgbench INSERT|$clients|1|$(printf '%.1f' "$tps")|$stats|${failed:-0}")
	eval "PGB_${clients}=\$tps"
}

# read floors: what a statement costs this server with no zkpg in it
run_pgbench_read()
{
	local name=$1 script=$2 clients=32 tps

	echo "run_bench.sh: pgbench $name, $clients clients, ${DURATION}s" >&2
	if ! tps=$("$PGBENCH" -n -M prepared -c "$clients" -j 2 -T "$DURATION" \
		-f "$WORK/$script" "$CONNINFO" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p') || [ -z "$tps" ]; then
		FAILED=1
		ROWS+=("pgbench $name|$clients|1|failed|||||")
		return
	fi
	ROWS+=("pgbench $name|$clients|1|$(printf '%.1f' "$tps")|||||")
}

# 1,000,000 znodes: 4 clients x 250 parents x 1,000 children, one
# zk_multi per parent; then 100,000 children under one node.
run_scale()
{
	local root=/zkscale-$$ t0 t1 t2 w
	local multi="PERFORM * FROM zk_multi(VARIADIC ARRAY(SELECT zk_op_create(%s, 'x') FROM generate_series(0, 999) j))"

	echo "run_bench.sh: scale: 1,000,000 znodes" >&2
	psql_run -c "SELECT zk_create('$root')" >/dev/null
	t0=$(date +%s.%N)
	for w in 1 2 3 4; do
		psql_run -c "DO \$\$ BEGIN
			PERFORM zk_create('$root/w$w');
			FOR k IN 1..250 LOOP
				PERFORM zk_create('$root/w$w/d' || k);
				$(printf "$multi" "'$root/w$w/d' || k || '/n' || j");
			END LOOP;
		END \$\$" &
	done
	wait
	t1=$(date +%s.%N)
	echo "run_bench.sh: scale: 100,000 children of one node" >&2
	psql_run -c "SELECT zk_create('$root/big')" \
		-c "DO \$\$ BEGIN FOR k IN 0..99 LOOP
				$(printf "$multi" "'$root/big/c' || lpad((k * 1000 + j)::text, 6, '0')");
			END LOOP; END \$\$" >/dev/null
	t2=$(date +%s.%N)
	echo
	echo "| scale | figure |"
	echo "|---|--:|"
	printf '| 1,000,000 creates (4 clients, zk_multi of 1,000) | %.1f s |\n' "$(echo "$t1 - $t0" | bc)"
	printf '| 100,000 children of one node (1 client, zk_multi of 1,000) | %.1f s |\n' "$(echo "$t2 - $t1" | bc)"
	psql_run -At -c '\timing on' -c "SELECT count(*) FROM zk_get_children('$root/big')" 2>&1 |
		awk '/^Time:/ { printf "| zk_get_children on the 100,000-child node | %s ms |\n", $2 }'
	psql_run -At -c "SELECT '| znodes in the tree | ' || znode_count || ' |' FROM zkpg.status" \
		-c "SELECT '| database size | ' || pg_size_pretty(pg_database_size(current_database())) || ' |'" \
		-c "SELECT '| of which the txn log | ' || pg_size_pretty(pg_total_relation_size('zkpg.txnlog')) || ' |'"
}

if [ "$THROUGHPUT" = 1 ]; then
	run_zkbench create 1 1
	run_zkbench create 32 1
	run_zkbench create 8 32
	run_zkbench set 32 1
	run_zkbench get 1 1
	run_zkbench get 32 1
	run_pgbench 1
	run_pgbench 32
	run_pgbench_read "SELECT by primary key" select.sql
	run_pgbench_read "SELECT 1" select1.sql
fi
if [ "$SCALE" = 1 ]; then
	run_scale
	[ "$THROUGHPUT" = 1 ] || exit 0
fi

server_desc="standalone server (temporary)"
[ "$OWN_SERVER" = 1 ] || server_desc="server at --conninfo"
echo
echo "zkpg benchmark: $server_desc, ${DURATION} s per run (zkbench warmup ${WARMUP} s), 16-byte data, $(nproc) CPUs"
echo
echo "| benchmark | clients | depth | ops/s | p50 ms | p99 ms | max ms | errors |"
echo "|---|--:|--:|--:|--:|--:|--:|---|"
for row in "${ROWS[@]}"; do
	echo "| ${row//|/ | } |"
done
echo
echo "| clients | zkpg creates/s | pgbench INSERT tps | creates / INSERT |"
echo "|--:|--:|--:|--:|"
for c in 1 32; do
	zk=$(eval "echo \${ZK_create_${c}_1:-}")
	pg=$(eval "echo \${PGB_${c}:-}")
	if [ -n "$zk" ] && [ -n "$pg" ]; then
		ratio=$(awk -v a="$zk" -v b="$pg" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
		printf '| %s | %.1f | %.1f | %s |\n' "$c" "$zk" "$pg" "$ratio"
	else
		printf '| %s | %s | %s | n/a |\n' "$c" "${zk:-failed}" "${pg:-failed}"
	fi
done

exit $FAILED

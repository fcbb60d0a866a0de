#!/bin/bash
#
# ensemble.sh
#	  Shell functions shared by the ensemble benchmarks (sourced, not run):
#	  a throwaway three-peer zkpg ensemble on 127.0.0.1 in a temporary
#	  directory, run as the postgres OS user when the caller is root.
#
# The caller sets BINDIR, BASE (first port) and TICK (zkpg.tick_ms), and
# ENS_PEERS (3 when unset; 1 is a standalone server), then:
#	  ens_setup NAME	work dir /tmp/NAME.XXXXXX in $work, initdb + config
#						of peers 1..ENS_PEERS (ports BASE...)
#	  ens_start I		start peer I;  ens_stop_all: stop every peer
#	  port I, conn I, q I SQL	peer I's port, conninfo, a psql one-liner
#	  leader_of I...	the leader's (coordinator's) id once peers I... serve
#
# IDENTIFICATION
#	  test/bench/ensemble.sh
#

as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port() { echo $((BASE + $1 - 1)); }
conn() { echo "host=127.0.0.1 port=$(port "$1") dbname=postgres user=postgres"; }
q() { as_pg "$BINDIR/psql" -X -q -At -d "$(conn "$1")" -c "$2" 2>/dev/null; }

ens_setup()
{
	local i servers=""

	work=$(mktemp -d "/tmp/$1.XXXXXX")
	chmod 755 "$work"
	[ "$(id -u)" = 0 ] && chown postgres "$work"
	if [ "${ENS_PEERS:-3}" -gt 1 ]; then
		for i in $(seq 1 "${ENS_PEERS:-3}"); do
			servers="$servers${servers:+,}$i=127.0.0.1:$(port "$i")"
		done
	fi
	for i in $(seq 1 "${ENS_PEERS:-3}"); do
		as_pg "$BINDIR/initdb" -D "$work/peer$i" -U postgres -A trust --no-sync \
			>"$work/initdb$i.log" 2>&1 || { cat "$work/initdb$i.log" >&2; return 1; }
		cat >> "$work/peer$i/postgresql.conf" <<CONF
shared_preload_libraries = 'zkpg'
zkpg.myid = $i
zkpg.servers = '$servers'
zkpg.tick_ms = $TICK
port = $(port "$i")
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work'
max_connections = 200
shared_buffers = 256MB
CONF
	done
}

ens_start() { as_pg "$BINDIR/pg_ctl" -D "$work/peer$1" -l "$work/peer$1.log" -w start >/dev/null; }

ens_stop_all()
{
	local i

	for i in $(seq 1 "${ENS_PEERS:-3}"); do
		if [ -f "$work/peer$i/postmaster.pid" ]; then
			as_pg "$BINDIR/pg_ctl" -D "$work/peer$i" -m immediate stop >/dev/null 2>&1 || true
		fi
	done
}

leader_of()
{
	local i l
	for _ in $(seq 1 600); do
		l=""
		for i in "$@"; do
			l=$(q "$i" "SET zkpg.request_timeout = 1000; SELECT leader_id FROM zkpg.status, (SELECT zk_sync('/')) s") || continue 2
			[ -n "$l" ] && [ "$l" != -1 ] || continue 2
		done
		echo "$l"
		return 0
	done
	return 1
}

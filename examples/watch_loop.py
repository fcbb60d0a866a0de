#!/usr/bin/python3
"""watch_loop.py - follow a znode with zkpg watches, as a ZooKeeper client would.

Reads the node with a one-shot data watch (zk_get(path, true)), waits for the
event on the session's notification channel, prints it, re-reads the node and
sets the watch again, and so on: the classic ZooKeeper "read, watch, re-read"
loop.  While the node does not exist it watches for its creation with
zk_exists(path, true) instead.  Exits after --events events or --timeout
seconds without one.

Needs psycopg 3 (Debian: apt-get install python3-psycopg).  With the demo
server of bin/zkpg-demo:

    sudo -u postgres examples/watch_loop.py \\
        --dsn "host=127.0.0.1 port=5441 dbname=postgres user=postgres" \\
        --path /demo/config --events 3

and in another terminal:

    sudo -u postgres psql -h 127.0.0.1 -p 5442 -d postgres \\
        -c "SELECT zk_create('/demo/config', 'color=blue')" \\
        -c "SELECT zk_set('/demo/config', 'color=red')" \\
        -c "SELECT zk_delete('/demo/config')"

prints something like

    watching /demo/config on channel zk_session_0000000100050003
    /demo/config does not exist; waiting for it to be created
    NodeCreated /demo/config zxid=4294967310 -> version 0: 'color=blue'
    NodeDataChanged /demo/config zxid=4294967311 -> version 1: 'color=red'
    NodeDeleted /demo/config zxid=4294967312 -> gone

Two things matter for not missing events (they apply to any zkpg client):

* The connection is in autocommit mode.  Setting a watch LISTENs on the
  session's channel, and LISTEN takes effect only when the transaction
  commits; psycopg's default (an implicit transaction left open) would
  hold notifications back until the next commit.
* Each read re-arms the watch, and zkpg fires the watch at once if the node
  changed between that read and the registration, so the loop sees every
  change that happened after the state it printed (several quick changes may
  show as one event followed by a read of the newest data, as in ZooKeeper).

Also handled: {"type":"EventsLost"} (the NOTIFY queue was too full to
deliver everything: re-read and re-arm) and {"type":"SessionExpired"} (the
session was killed or expired: start a new one with zk_close_session() and
re-arm, as a ZooKeeper client must make a new session).
"""

import argparse
import json
import select
import sys
import time

import psycopg


def arm(conn, path):
    """Read path with a watch.  Returns (exists, version, data)."""
    try:
        row = conn.execute(
            "SELECT version, data FROM zk_get(%s, true)", (path,)).fetchone()
        return True, row[0], bytes(row[1])
    except psycopg.Error as e:
        if e.sqlstate != 'ZK101':      # NONODE: watch for its creation instead
            raise
    row = conn.execute(
        "SELECT (s).version FROM (SELECT zk_exists(%s, true) AS s) x",
        (path,)).fetchone()
    if row[0] is None:
        return False, None, None
    # created between the two calls: the exists watch is set; read it
    return arm(conn, path)


def show(data):
    try:
        return repr(data.decode('utf-8'))
    except UnicodeDecodeError:
        return data.hex()


def wait_for_notifications(conn, timeout):
    """Notifications (channel, payload) that arrive within timeout seconds."""
    pgconn = conn.pgconn
    ready, _, _ = select.select([pgconn.socket], [], [], max(timeout, 0))
    if not ready:
        return []
    pgconn.consume_input()
    out = []
    while True:
        n = pgconn.notifies()
        if n is None:
            break
        out.append((n.relname.decode(), n.extra.decode()))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--dsn', default='',
                    help='libpq connection string (default: the PG* environment)')
    ap.add_argument('--path', default='/demo/config', help='znode to follow')
    ap.add_argument('--events', type=int, default=10,
                    help='exit after this many events (default 10)')
    ap.add_argument('--timeout', type=float, default=60,
                    help='exit after this many seconds without an event (default 60)')
    args = ap.parse_args()

    conn = psycopg.connect(args.dsn, autocommit=True)
    channel = conn.execute("SELECT zk_watch_channel()").fetchone()[0]
    print(f"watching {args.path} on channel {channel}", flush=True)

    exists, version, data = arm(conn, args.path)
    if not exists:
        print(f"{args.path} does not exist; waiting for it to be created", flush=True)

    seen = 0
    deadline = time.monotonic() + args.timeout
    while seen < args.events:
        notes = wait_for_notifications(conn, deadline - time.monotonic())
        if not notes:
            if time.monotonic() >= deadline:
                print(f"no event for {args.timeout:g} s; giving up", flush=True)
                break
            continue
        for chan, payload in notes:
            if chan != channel:
                continue
            event = json.loads(payload)
            kind = event.get('type')
            if event.get('path') not in (None, args.path):
                continue
            seen += 1
            deadline = time.monotonic() + args.timeout
            head = f"{kind} {event.get('path', '')} zxid={event.get('zxid')}".replace('  ', ' ')
            if kind == 'SessionExpired':
                conn.execute("SELECT zk_close_session()")
                channel = conn.execute("SELECT zk_watch_channel()").fetchone()[0]
                print(f"{head} -> new session, channel {channel}", flush=True)
            exists, version, data = arm(conn, args.path)
            if kind == 'SessionExpired':
                continue
            if exists:
                print(f"{head} -> version {version}: {show(data)}", flush=True)
            else:
                print(f"{head} -> gone", flush=True)
            if seen >= args.events:
                break

    # leave nothing behind: the last read's watch would never fire
    try:
        conn.execute("SELECT zk_remove_watches(%s)", (args.path,))
    except psycopg.Error:
        pass
    conn.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())

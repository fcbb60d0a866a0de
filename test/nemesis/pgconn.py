"""Deadline-bounded psycopg2 connections, for the nemesis harness.

A peer may be SIGSTOPped, or its network black-holed, at any moment: then
the server enforces no statement_timeout and a blocking libpq call would
hang for ever.  Every connection here is an asynchronous psycopg2
connection (always autocommit) driven by poll() and select() against a
deadline of the caller's; a call that misses it raises Timeout and the
caller drops the connection.
"""

import select
import time

import psycopg2
import psycopg2.extensions as ext


class Timeout(Exception):
    """The server did not answer before the deadline."""


def _wait(conn, deadline):
    while True:
        state = conn.poll()
        if state == ext.POLL_OK:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout()
        fd = conn.fileno()
        if state == ext.POLL_READ:
            select.select([fd], [], [], remaining)
        elif state == ext.POLL_WRITE:
            select.select([], [fd], [], remaining)
        else:
            raise psycopg2.OperationalError("bad poll state %r" % state)


def connect(port, timeout, statement_timeout_ms=None):
    """A connection to the peer on 127.0.0.1:port, as the OS user."""
    options = ""
    if statement_timeout_ms:
        options = "-c statement_timeout=%d" % statement_timeout_ms
    conn = psycopg2.connect(host="127.0.0.1", port=port, dbname="postgres",
                            connect_timeout=max(1, int(timeout)),
                            options=options, async_=1)
    try:
        _wait(conn, time.monotonic() + timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def query(conn, sql, params=None, timeout=5.0):
    """Runs one statement; returns its rows (a list of tuples, maybe empty)."""
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        _wait(conn, time.monotonic() + timeout)
        return cur.fetchall() if cur.description is not None else []
    finally:
        cur.close()


def query_once(port, sql, params=None, timeout=5.0):
    """Connects, runs one statement, disconnects."""
    conn = connect(port, timeout)
    try:
        return query(conn, sql, params, timeout)
    finally:
        conn.close()

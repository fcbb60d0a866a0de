/*-------------------------------------------------------------------------
 *
 * snap.c
 *	  A learner's SNAP: copy the leader's tree, install it, and tell this
 *	  server's sessions and watches what the copy changed, as applying
 *	  the same txns one by one (DIFF) would have (ZooKeeper's
 *	  Learner.syncWithLeader on SNAP, then its watch reset).
 *
 * 1. The tree and sessions are read in one REPEATABLE READ transaction on
 *	  the leader, as of its applied zxid, and installed here in one
 *	  transaction that also empties the log and sets the applied zxid: a
 *	  crash leaves either the old state or the new one.
 * 2. Before the install commits, in that transaction:
 *	  - every watch of this server on a node the copy created, deleted or
 *		changed (data, or children) fires, as the applier fires it, READ
 *		checked at delivery, and the recipes' election judge runs;
 *	  - every session of this server that the leader closed while we were
 *		behind (it is not in the copied session table) is expired here:
 *		its backend gets ZK112 and its channel SessionExpired, its waits
 *		end (the ZOOKEEPER-2355 family: a lock waiter that would wait
 *		forever for a NodeDeleted that no DIFF will bring);
 *	  - the leader must still lead the epoch whose SNAP we install, asked
 *		after the copy: a leader that stepped down meanwhile is no source.
 * 3. After the commit, the recipes' waiters are woken and the expired
 *	  sessions' watches dropped.
 *
 * The copy runs in the peer worker, which must stay interruptible: every
 * libpq call to the leader is asynchronous and waits on the worker's latch
 * and the socket (snap_connect, snap_query), as walreceiver's libpq calls
 * do, with a deadline of its own.
 *
 * IDENTIFICATION
 *	  src/snap.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker.h"
#include "internal_sql.h"
#include "recipes.h"
#include "request_queue.h"
#include "shmem.h"
#include "snap.h"
#include "test_hooks.h"
#include "txnlog.h"
#include "watches.h"
#include "zkpg.h"

#define SNAP_PAGE_ROWS 2000

static void fire_changed_watches(ZkZxid snap_zxid, List **events, MemoryContext cxt);
static List *sessions_gone(MemoryContext cxt);
static void check_source_leads(PGconn *conn, int leader_id, int64 snap_epoch);
static long snap_timeout_ms(void);
static char **text_array(Datum d, int *n);
static bool snap_wait(PGconn *conn, bool for_write, TimestampTz deadline);
static PGconn *snap_connect(const char *conninfo, long timeout_ms);
static PGresult *snap_query(PGconn *conn, const char *query, int nparams,
							const char *const *params, long timeout_ms);

/*
 * Wait until conn's socket is readable (or writable), the latch aside.
 * False at the deadline.
 */
static bool
snap_wait(PGconn *conn, bool for_write, TimestampTz deadline)
{
	for (;;)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		int			rc;

		if (left <= 0)
			return false;
		rc = WaitLatchOrSocket(MyLatch,
							   WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH |
							   (for_write ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE),
							   PQsocket(conn), left, PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			ZkWorkerCheckSignals();
		}
		if (rc & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
			return true;
	}
}

/*
 * Connect without blocking the worker: libpq's connect_timeout does not
 * apply to PQconnectPoll, so the deadline is ours.  NULL, logged, on
 * failure.
 */
static PGconn *
snap_connect(const char *conninfo, long timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PGconn	   *conn = PQconnectStart(conninfo);
	PostgresPollingStatusType poll = PGRES_POLLING_WRITING;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
	{
		if (conn)
			PQfinish(conn);
		return NULL;
	}
	while (poll != PGRES_POLLING_OK && poll != PGRES_POLLING_FAILED)
	{
		if (!snap_wait(conn, poll == PGRES_POLLING_WRITING, deadline))
		{
			PQfinish(conn);
			return NULL;
		}
		poll = PQconnectPoll(conn);
	}
	if (poll == PGRES_POLLING_FAILED)
	{
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

/*
 * One query, its result (the last, if it made several) or NULL when the
 * connection failed or the deadline passed.  The caller checks the status.
 */
static PGresult *
snap_query(PGconn *conn, const char *query, int nparams, const char *const *params,
		   long timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	PGresult   *last = NULL;
	PGresult   *res;

	if (!PQsendQueryParams(conn, query, nparams, NULL, params, NULL, NULL, 0))
		return NULL;
	for (;;)
	{
		while (PQisBusy(conn))
		{
			if (!snap_wait(conn, false, deadline) || !PQconsumeInput(conn))
			{
				PQclear(last);
				return NULL;
			}
		}
		res = PQgetResult(conn);
		if (res == NULL)
			return last;
		PQclear(last);
		last = res;
		if (PQstatus(conn) == CONNECTION_BAD)
			return last;
	}
}

/* A text[] into strings. */
static char **
text_array(Datum d, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		out[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	return out;
}

/*
 * The watch events of what the copy changed, from the tree before it
 * (pg_temp.zk_snap_before) and after it; called with SPI connected.  The
 * events are made in cxt: they outlive SPI.
 */
static void
fire_changed_watches(ZkZxid snap_zxid, List **events, MemoryContext cxt)
{
	uint64		i;
	MemoryContext spi_cxt = CurrentMemoryContext;

	if (SPI_execute("SELECT coalesce(n.path, o.path), o.path IS NOT NULL, n.path IS NOT NULL, "
					"o.czxid IS DISTINCT FROM n.czxid, o.mzxid IS DISTINCT FROM n.mzxid, "
					"o.pzxid IS DISTINCT FROM n.pzxid, o.acl, n.acl "
					"FROM pg_temp.zk_snap_before o FULL JOIN zkpg.znode n "
					"ON n.path" ZK_EQ "o.path "
					"WHERE o.czxid IS DISTINCT FROM n.czxid OR o.mzxid IS DISTINCT FROM n.mzxid "
					"OR o.pzxid IS DISTINCT FROM n.pzxid", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not compare the tree with the snapshot");
	MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		char	   *path = SPI_getvalue(tup, desc, 1);
		bool		existed = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		bool		exists = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		bool		recreated = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
		bool		data_changed = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		bool		children_changed = DatumGetBool(SPI_getbinval(tup, desc, 6, &isnull));
		Datum		old_acl = SPI_getbinval(tup, desc, 7, &isnull);
		bool		no_old = isnull;
		Datum		new_acl = SPI_getbinval(tup, desc, 8, &isnull);
		bool		no_new = isnull;
		int			nacl;
		char	  **acl;

		if (existed && (!exists || recreated) && !no_old)
		{
			acl = text_array(old_acl, &nacl);
			ZkWatchTriggerWithAcl(path, ZK_EVENT_NODE_DELETED, snap_zxid, nacl, acl, events);
		}
		if (no_new)
			continue;
		acl = text_array(new_acl, &nacl);
		if (!existed || recreated)
			ZkWatchTriggerWithAcl(path, ZK_EVENT_NODE_CREATED, snap_zxid, nacl, acl, events);
		else if (data_changed)
			ZkWatchTriggerWithAcl(path, ZK_EVENT_NODE_DATA_CHANGED, snap_zxid, nacl, acl, events);
		if (exists && existed && !recreated && children_changed)
			ZkWatchTriggerWithAcl(path, ZK_EVENT_NODE_CHILDREN_CHANGED, snap_zxid, nacl, acl,
								  events);
	}
	MemoryContextSwitchTo(spi_cxt);
}

/*
 * The sessions of this server's backends that the copied session table
 * does not have: the leader closed them.  Called with SPI connected; the
 * list is made in cxt, to outlive the transaction.
 */
static List *
sessions_gone(MemoryContext cxt)
{
	List	   *open = NIL;
	List	   *gone = NIL;
	ListCell   *lc;
	int			i;

	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	for (i = 0; i < ZkShmem->nslots; i++)
		if (ZkShmem->slots[i].session_state == ZK_SESSION_OPEN && ZkShmem->slots[i].session_id != 0)
		{
			int64	   *sid = palloc(sizeof(int64));

			*sid = ZkShmem->slots[i].session_id;
			open = lappend(open, sid);
		}
	LWLockRelease(ZkShmem->slot_lock);
	foreach(lc, open)
	{
		Oid			types[1] = {INT8OID};
		Datum		values[1];

		values[0] = Int64GetDatum(*(int64 *) lfirst(lc));
		if (SPI_execute_with_args("SELECT 1 FROM zkpg.session WHERE session_id" ZK_EQ "$1",
								  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "zkpg: could not read the snapshot's sessions");
		if (SPI_processed == 0)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);
			int64	   *sid = palloc(sizeof(int64));

			*sid = *(int64 *) lfirst(lc);
			gone = lappend(gone, sid);
			MemoryContextSwitchTo(old);
		}
	}
	return gone;
}

/* one query's deadline: as the statement_timeout the copy asks the leader for */
static long
snap_timeout_ms(void)
{
	return Max(60000L, (long) zk_init_limit * zk_tick_ms * 10);
}

/*
 * The leader we copied must still lead the epoch of its SNAP request,
 * asked now that the copy is done: else the install is abandoned.
 */
static void
check_source_leads(PGconn *conn, int leader_id, int64 snap_epoch)
{
	PGresult   *res = snap_query(conn, "SELECT state, epoch FROM zkpg.status", 0, NULL,
									 snap_timeout_ms());
	bool		leads;

	leads = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		(strcmp(PQgetvalue(res, 0, 0), "leading") == 0 ||
		 strcmp(PQgetvalue(res, 0, 0), "coordinating") == 0) &&
		strtoll(PQgetvalue(res, 0, 1), NULL, 10) == snap_epoch;
	PQclear(res);
	if (!leads)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg leader %d no longer leads epoch %lld: its snapshot is not installed",
						leader_id, (long long) snap_epoch)));
}

/*
 * Copy the leader's tree and install it; false if the leader could not
 * be read.  An error (the leader no longer leads, a failed read) ends the
 * worker, which starts over and looks again.
 */
bool
ZkSnapInstall(const ZkPeerConfig *peer, int64 snap_epoch)
{
	char	   *conninfo;
	PGconn	   *conn;
	PGresult   *res;
	ZkZxid		snap_zxid;
	char	   *last_path = pstrdup("");
	bool		ok = false;
	int64		rows = 0;
	MemoryContext caller = CurrentMemoryContext;
	ZkInternalSql isql;
	List	   *events = NIL;
	List	   *gone = NIL;
	List	   *wake = NIL;
	int			nevents;
	ListCell   *lc;
	long		timeout = snap_timeout_ms();

	/* a leader that vanishes mid-copy must not hold this worker forever */
	conninfo = psprintf("host='%s' port=%d dbname='%s' application_name='zkpg snapshot %d' "
						"connect_timeout=%d keepalives_idle=5 keepalives_interval=2 "
						"keepalives_count=3 tcp_user_timeout=%d "
						"options='-c statement_timeout=%d' %s",
						peer->host, peer->port, zk_database, zk_myid,
						Max(2, zk_sync_limit * zk_tick_ms / 1000),
						Max(10000, zk_sync_limit * zk_tick_ms),
						(int) snap_timeout_ms(),
						zk_peer_conninfo ? zk_peer_conninfo : "");
	conn = snap_connect(conninfo, 1000L * Max(2, zk_sync_limit * zk_tick_ms / 1000));
	pfree(conninfo);
	if (conn == NULL)
	{
		elog(LOG, "zkpg could not connect to leader %d for a snapshot", peer->id);
		return false;
	}
	/* names are qualified; the pin is for what a reader of this misses */
	res = snap_query(conn, "SET search_path = pg_catalog, pg_temp", 0, NULL, timeout);
	PQclear(res);
	res = snap_query(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, timeout);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		goto done;
	PQclear(res);
	res = snap_query(conn, "SELECT value FROM zkpg.peer_state WHERE key" ZK_EQ "'applied_zxid'",
					 0, NULL, timeout);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		goto done;
	snap_zxid = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
	PQclear(res);
	res = NULL;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	/* the applier's lock first, as the applier takes it */
	(void) ZkLogLockApplied();
	(void) ZkLogLockEpochs();
	/* not restricted: the tree as it was goes into a temporary table */
	ZkInternalSqlBegin(&isql, false);
	if (SPI_execute("CREATE TEMP TABLE zk_snap_before ON COMMIT DROP AS "
					"SELECT path, czxid, mzxid, pzxid, acl FROM zkpg.znode", false, 0) < 0 ||
		SPI_execute("LOCK TABLE zkpg.znode, zkpg.session IN EXCLUSIVE MODE", false, 0) < 0 ||
		SPI_execute("DELETE FROM zkpg.znode", false, 0) < 0 ||
		SPI_execute("DELETE FROM zkpg.session", false, 0) < 0 ||
		SPI_execute("DELETE FROM zkpg.txnlog", false, 0) < 0)
		elog(ERROR, "zkpg: could not clear the tree for a snapshot");
	for (;;)
	{
		const char *params[1];
		Oid			types[1] = {JSONOID};
		Datum		values[1];

		params[0] = last_path;
		res = snap_query(conn,
						 "SELECT pg_catalog.json_agg(z ORDER BY path COLLATE \"C\"), "
						 "pg_catalog.max(path COLLATE \"C\"), pg_catalog.count(*) "
						 "FROM (SELECT * FROM zkpg.znode WHERE path COLLATE \"C\"" ZK_GT "$1 "
						 "ORDER BY path COLLATE \"C\" LIMIT " CppAsString2(SNAP_PAGE_ROWS) ") z",
						 1, params, timeout);
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
			elog(ERROR, "zkpg: could not read the leader's tree: %s", PQerrorMessage(conn));
		if (PQgetisnull(res, 0, 0))
			break;
		values[0] = CStringGetTextDatum(PQgetvalue(res, 0, 0));
		if (SPI_execute_with_args("INSERT INTO zkpg.znode SELECT * FROM "
								  "pg_catalog.json_populate_recordset(NULL::zkpg.znode, $1)",
								  1, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "zkpg: could not install the snapshot");
		rows += SPI_processed;
		last_path = MemoryContextStrdup(caller, PQgetvalue(res, 0, 1));
		PQclear(res);
		res = NULL;
		CHECK_FOR_INTERRUPTS();
	}
	PQclear(res);
	res = snap_query(conn, "SELECT pg_catalog.json_agg(s) FROM zkpg.session s", 0, NULL, timeout);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		elog(ERROR, "zkpg: could not read the leader's sessions: %s", PQerrorMessage(conn));
	if (!PQgetisnull(res, 0, 0))
	{
		Oid			types[1] = {JSONOID};
		Datum		values[1];

		values[0] = CStringGetTextDatum(PQgetvalue(res, 0, 0));
		if (SPI_execute_with_args("INSERT INTO zkpg.session SELECT * FROM "
								  "pg_catalog.json_populate_recordset(NULL::zkpg.session, $1)",
								  1, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "zkpg: could not install the snapshot's sessions");
	}
	PQclear(res);
	res = snap_query(conn, "COMMIT", 0, NULL, timeout);
	PQclear(res);
	res = NULL;

	/* what DIFF would have told this server's sessions (point 2) */
	gone = sessions_gone(caller);
	/*
	 * The sessions the leader closed are expired here before their
	 * watches fire: a waiter woken by its own node's deletion learns that
	 * its session expired, not that someone deleted the node.  If the
	 * install fails, they are still gone at the leader.
	 */
	if (gone != NIL)
	{
		ZkCompletion *closes = palloc0(sizeof(ZkCompletion) * list_length(gone));
		int			n = 0;

		foreach(lc, gone)
		{
			closes[n].slot = -1;
			closes[n].closed_session = *(int64 *) lfirst(lc);
			n++;
		}
		ZkCompleteRequests(closes, n);
		elog(LOG, "zkpg: %d sessions of this server were closed while it was behind", n);
	}
	if (ZkWatchCount() > 0)
		fire_changed_watches(snap_zxid, &events, caller);
	ZkInternalSqlEnd(&isql);
	ZkRecipeJudgeElections(&events);
	ZkWatchNotify(events, gone, snap_zxid);
	wake = ZkWatchSessionsToWake(events, caller);
	nevents = list_length(events);

	ZkPausePoint("snap_before_install");
	check_source_leads(conn, peer->id, snap_epoch);
	ZkLogSetState(ZK_STATE_APPLIED_ZXID, snap_zxid);
	ZkLogSetState(ZK_STATE_LOG_BASE, snap_zxid);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);

	/* the applier starts over from the new applied zxid */
	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) snap_zxid);
	pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) snap_zxid);
	if (ZkShmem->applier_latch)
		SetLatch(ZkShmem->applier_latch);

	foreach(lc, gone)
		ZkWatchRemoveSession(*(int64 *) lfirst(lc));
	ZkWatchWakeWaiters(wake);
	elog(LOG, "zkpg installed a snapshot of leader %d at zxid 0x%llx (%lld znodes, %d watch events)",
		 peer->id, (unsigned long long) snap_zxid, (long long) rows, nevents);
	ok = true;
done:
	if (res)
		PQclear(res);
	PQfinish(conn);
	return ok;
}

/*-------------------------------------------------------------------------
 *
 * txnlog.c
 *	  The txn log (zkpg.txnlog) and the peer state (zkpg.peer_state):
 *	  ZooKeeper's SyncRequestProcessor, txnlog files and epoch files.
 *
 * A batch of txns is appended with one statement in the caller's
 * transaction; the caller commits it with synchronous_commit on, so that
 * one WAL flush makes the whole batch durable (group commit).  A txn is
 * stored encoded (txn_codec.c), keyed by zxid.
 *
 * The peer state holds acceptedEpoch and currentEpoch, written durably
 * before they are acted on, and the applied zxid, which the applier
 * writes in the same transaction as the tree change it stands for.
 *
 * IDENTIFICATION
 *	  src/txnlog.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/memutils.h"

#include "internal_sql.h"
#include "txnlog.h"
#include "zkpg.h"

static SPIPlanPtr plan_append = NULL;
static SPIPlanPtr plan_read = NULL;
static SPIPlanPtr plan_get_state = NULL;
static SPIPlanPtr plan_set_state = NULL;

static SPIPlanPtr log_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types);

static SPIPlanPtr
log_plan(SPIPlanPtr *slot, const char *sql, int nargs, Oid *types)
{
	if (*slot == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, nargs, types);

		if (plan == NULL)
			elog(ERROR, "zkpg: SPI_prepare failed for \"%s\"", sql);
		SPI_keepplan(plan);
		*slot = plan;
	}
	return *slot;
}

ZkZxid
ZkLogLastZxid(void)
{
	ZkInternalSql isql;
	static SPIPlanPtr plan = NULL;
	bool		isnull;
	Datum		d;
	ZkZxid		zxid = 0;

	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan,
								  "SELECT greatest((SELECT pg_catalog.max(zxid) FROM zkpg.txnlog), "
								  "(SELECT value FROM zkpg.peer_state WHERE key" ZK_EQ "'log_base'))",
								  0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not read the txn log");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		zxid = DatumGetInt64(d);
	ZkInternalSqlEnd(&isql);
	return zxid;
}

void
ZkLogAppend(int n, const ZkZxid *zxids, StringInfo *txns)
{
	ZkInternalSql isql;
	Oid			types[2] = {INT8ARRAYOID, BYTEAARRAYOID};
	Datum	   *zd = palloc(sizeof(Datum) * n);
	Datum	   *td = palloc(sizeof(Datum) * n);
	Datum		values[2];
	int			i;

	for (i = 0; i < n; i++)
	{
		bytea	   *b = palloc(VARHDRSZ + txns[i]->len);

		SET_VARSIZE(b, VARHDRSZ + txns[i]->len);
		memcpy(VARDATA(b), txns[i]->data, txns[i]->len);
		zd[i] = Int64GetDatum(zxids[i]);
		td[i] = PointerGetDatum(b);
	}
	values[0] = PointerGetDatum(construct_array(zd, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[1] = PointerGetDatum(construct_array(td, n, BYTEAOID, -1, false, TYPALIGN_INT));

	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan_append,
								  "INSERT INTO zkpg.txnlog (zxid, txn) "
								  "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))", 2, types),
						 values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "zkpg: could not append to the txn log");
	ZkInternalSqlEnd(&isql);
}

/*
 * Txns with zxid in (after, upto], in order, at most limit of them.
 */
List *
ZkLogRead(ZkZxid after, ZkZxid upto, int limit)
{
	ZkInternalSql isql;
	Oid			types[3] = {INT8OID, INT8OID, INT4OID};
	Datum		values[3];
	MemoryContext caller = CurrentMemoryContext;
	List	   *out = NIL;
	uint64		i;

	values[0] = Int64GetDatum(after);
	values[1] = Int64GetDatum(upto);
	values[2] = Int32GetDatum(limit);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan_read,
								  "SELECT zxid, txn FROM zkpg.txnlog "
								  "WHERE zxid" ZK_GT "$1 AND zxid" ZK_LE "$2 ORDER BY zxid LIMIT $3",
								  3, types),
						 values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not read the txn log");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		bytea	   *b;
		MemoryContext old;
		ZkLoggedTxn *t;

		old = MemoryContextSwitchTo(caller);
		t = palloc(sizeof(ZkLoggedTxn));
		t->zxid = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		b = DatumGetByteaPCopy(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
		t->data = VARDATA(b);
		t->len = VARSIZE(b) - VARHDRSZ;
		out = lappend(out, t);
		MemoryContextSwitchTo(old);
	}
	ZkInternalSqlEnd(&isql);
	return out;
}

int64
ZkLogGetState(const char *key)
{
	ZkInternalSql isql;
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	int64		v = 0;
	bool		isnull;

	values[0] = CStringGetTextDatum(key);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan_get_state,
								  "SELECT value FROM zkpg.peer_state WHERE key" ZK_EQ "$1",
								  1, types),
						 values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not read the peer state");
	if (SPI_processed == 1)
		v = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ZkInternalSqlEnd(&isql);
	return v;
}

void
ZkLogSetState(const char *key, int64 value)
{
	ZkInternalSql isql;
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		values[2];

	values[0] = CStringGetTextDatum(key);
	values[1] = Int64GetDatum(value);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan_set_state,
								  "INSERT INTO zkpg.peer_state (key, value) VALUES ($1, $2) "
								  "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
								  2, types),
						 values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "zkpg: could not write the peer state");
	ZkInternalSqlEnd(&isql);
}

/*
 * zkpg's log lock: a heavyweight lock under a tag that no SQL function
 * can name (advisory locks are LOCKTAG_ADVISORY), so that no role can
 * take it and stop the pipeline.  It is transactional: released at
 * commit or abort, and kept by a prepared transaction (2PC).
 */
static void
log_lock_tag(LOCKTAG *tag)
{
	tag->locktag_field1 = MyDatabaseId;
	tag->locktag_field2 = (uint32) ZK_LOG_LOCK_KEY;
	tag->locktag_field3 = 0;
	tag->locktag_field4 = 0;
	tag->locktag_type = LOCKTAG_USERLOCK;
	tag->locktag_lockmethodid = USER_LOCKMETHOD;
}

/* Take the log lock if it is free, until the end of the transaction. */
bool
ZkLogTryLock(void)
{
	LOCKTAG		tag;

	log_lock_tag(&tag);
	return LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * Take zkpg's log lock until the end of the transaction and return the
 * accepted epoch.  Whoever changes the epochs or writes the log as a
 * learner holds it, so that a learner's log has one writer at a time and
 * an append checked against the epoch cannot race a change of epoch.  It
 * writes nothing, unlike a row lock.
 */
int64
ZkLogLockEpochs(void)
{
	LOCKTAG		tag;

	log_lock_tag(&tag);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	/*
	 * A statement's snapshot is taken before it waits: read the epoch in a
	 * new one (every read of the log and the peer state takes its own
	 * snapshot), so that what the previous holder committed is seen.
	 */
	return ZkLogGetState(ZK_STATE_ACCEPTED_EPOCH);
}

/* TRUNC: forget logged txns after zxid (never applied ones: callers check) */
void
ZkLogTruncateAfter(ZkZxid zxid)
{
	ZkInternalSql isql;
	static SPIPlanPtr plan = NULL;

	Oid			types[1] = {INT8OID};
	Datum		values[1];

	values[0] = Int64GetDatum(zxid);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan, "DELETE FROM zkpg.txnlog WHERE zxid" ZK_GT "$1", 1, types),
						 values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "zkpg: could not truncate the txn log");
	ZkInternalSqlEnd(&isql);
}

/*
 * The highest logged zxid <= zxid; -1 when the log was purged above it,
 * so that what precedes zxid is no longer known.
 */
ZkZxid
ZkLogFloor(ZkZxid zxid)
{
	ZkInternalSql isql;
	static SPIPlanPtr plan = NULL;
	Oid			types[1] = {INT8OID};
	Datum		values[1];
	ZkZxid		floor = -1;
	bool		isnull;
	Datum		d;

	values[0] = Int64GetDatum(zxid);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan,
								  "SELECT CASE WHEN $1" ZK_LT "b THEN NULL "
								  "ELSE greatest(b, (SELECT pg_catalog.max(zxid) FROM zkpg.txnlog "
								  "WHERE zxid" ZK_LE "$1)) END "
								  "FROM (SELECT coalesce((SELECT value FROM zkpg.peer_state "
								  "WHERE key" ZK_EQ "'log_base'), 0) AS b) s",
								  1, types),
						 values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not read the txn log");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		floor = DatumGetInt64(d);
	ZkInternalSqlEnd(&isql);
	return floor;
}

/*
 * Purge applied txns from the log but the last zkpg.log_retain of them,
 * remembering the highest purged zxid as the log's base: a learner behind
 * the base can only catch up by SNAP.  Returns how many were purged.
 */
int64
ZkLogPurge(ZkZxid applied)
{
	ZkInternalSql isql;
	static SPIPlanPtr plan_find = NULL;
	static SPIPlanPtr plan_delete = NULL;
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2];
	ZkZxid		upto = 0;
	int64		purged = 0;
	bool		isnull;

	values[0] = Int64GetDatum(applied);
	values[1] = Int32GetDatum(zk_log_retain);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan_find,
								  "SELECT zxid FROM zkpg.txnlog WHERE zxid" ZK_LE "$1 "
								  "ORDER BY zxid DESC OFFSET $2 LIMIT 1", 2, types),
						 values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not read the txn log");
	if (SPI_processed == 1)
		upto = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ZkInternalSqlEnd(&isql);
	if (upto == 0)
		return 0;
	values[0] = Int64GetDatum(upto);
	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan_delete, "DELETE FROM zkpg.txnlog WHERE zxid" ZK_LE "$1",
								  1, types),
						 values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "zkpg: could not purge the txn log");
	purged = SPI_processed;
	ZkInternalSqlEnd(&isql);
	if (upto > ZkLogGetState(ZK_STATE_LOG_BASE))
		ZkLogSetState(ZK_STATE_LOG_BASE, upto);
	return purged;
}

/*
 * Lock the applied zxid row and return its value.  The applier locks it
 * before applying a batch, and a SNAP install before replacing the tree,
 * so that one waits for the other and sees what it did.
 */
ZkZxid
ZkLogLockApplied(void)
{
	ZkInternalSql isql;
	static SPIPlanPtr plan = NULL;
	int64		v = 0;
	bool		isnull;

	ZkInternalSqlBegin(&isql, true);
	if (SPI_execute_plan(log_plan(&plan,
								  "SELECT value FROM zkpg.peer_state WHERE key" ZK_EQ "'applied_zxid' FOR UPDATE",
								  0, NULL),
						 NULL, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "zkpg: could not lock the applied zxid");
	if (SPI_processed == 1)
		v = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	ZkInternalSqlEnd(&isql);
	return v;
}

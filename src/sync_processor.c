/*-------------------------------------------------------------------------
 *
 * sync_processor.c
 *	  A batch of requests becomes logged txns: ZooKeeper's
 *	  PrepRequestProcessor, ProposalRequestProcessor and
 *	  SyncRequestProcessor in one step, run by the leader (leader.c) for
 *	  the standalone server and the ensemble alike.
 *
 * In one transaction: each request becomes a txn of zxid (epoch,
 * ++counter) or an error txn (prep_processor.c); the proposal hook, if
 * any, sees the txns first (the leader sends them to its learners, so that
 * their log writes overlap ours); then the batch is appended to
 * zkpg.txnlog and the transaction commits synchronously: one WAL flush per
 * batch (group commit).  The requests that arrive during that flush form
 * the next batch.
 *
 * It also purges the log now and then (ZooKeeper's DatadirCleanupManager).
 *
 * IDENTIFICATION
 *	  src/sync_processor.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "datatree.h"
#include "prep_processor.h"
#include "shmem.h"
#include "sync_processor.h"
#include "txn_codec.h"
#include "txnlog.h"
#include "zkpg.h"

/*
 * Requests -> txns -> log, committed durably as one batch; zxids are
 * (epoch, ++*counter).  propose, if given, sees the txns before they are
 * logged here; log_here false leaves the logging to the caller (2PC and
 * 3PC log a batch once every participant voted).  Returns the last zxid
 * of the batch, 0 if none.
 */
ZkZxid
ZkSyncProcessBatch(List *requests, int64 epoch, uint32 *counter,
				   ZkProposeHook propose, void *arg, bool log_here)
{
	MemoryContext caller = CurrentMemoryContext;
	int			n = list_length(requests);
	ZkZxid	   *zxids = palloc(sizeof(ZkZxid) * n);
	StringInfo *txns = palloc(sizeof(StringInfo) * n);
	int			ntxns = 0;
	TimestampTz now;
	ListCell   *lc;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	now = GetCurrentTimestamp();

	/* read before the tree: see prep_processor.c, point 2 */
	ZkPrepPrune((ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid));

	foreach(lc, requests)
	{
		StringInfo	raw = lfirst(lc);
		ZkRecord	req;
		ZkRecord	txn;
		const char *reason = ZkDecodeRequest(raw->data, raw->len, &req);

		if (reason != NULL)
		{
			elog(WARNING, "zkpg dropped a malformed request: %s", reason);
			continue;
		}
		zxids[ntxns] = ZK_ZXID(epoch, ++(*counter));
		txns[ntxns] = makeStringInfo();
		ZkPrepRequest(&req, zxids[ntxns], now, &txn, txns[ntxns]);
		ntxns++;
	}
	if (ntxns > 0)
	{
		if (propose)
			propose(ntxns, zxids, txns, arg);
		if (log_here)
			ZkLogAppend(ntxns, zxids, txns);
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);

	if (ntxns == 0)
		return 0;
	if (log_here)
		pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) zxids[ntxns - 1]);
	return zxids[ntxns - 1];
}

/*
 * Now and then, purge the log of txns applied here and below bound (the
 * leader passes what its learners may still need), but the last
 * zkpg.log_retain.
 */
void
ZkSyncPurgeLog(ZkZxid bound)
{
	static TimestampTz last_purge = 0;
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext caller = CurrentMemoryContext;
	int64		purged;

	if (!TimestampDifferenceExceeds(last_purge, now, 50 * zk_tick_ms))
		return;
	last_purge = now;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	purged = ZkLogPurge(Min(bound, (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid)));
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	if (purged > 0)
		elog(DEBUG1, "zkpg purged %lld txns from the log", (long long) purged);
}

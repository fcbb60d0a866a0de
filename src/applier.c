/*-------------------------------------------------------------------------
 *
 * applier.c
 *	  The applier worker: applies committed txns to the tree tables in
 *	  zxid order and wakes the backends waiting for them (ZooKeeper's
 *	  CommitProcessor + FinalRequestProcessor).
 *
 * 1. It owns applied_zxid.  At start it reads the durable value, which
 *	  was committed together with the tree change it stands for, and
 *	  publishes it; the peer worker waits for that before deciding on new
 *	  txns.
 * 2. Each round takes the logged txns in (applied, committed], applies
 *	  them in one transaction with the new applied zxid, and commits
 *	  asynchronously: the log is durable, so after a crash the same txns
 *	  are applied again from the durable applied zxid, exactly once.
 * 3. Only after the commit does it publish applied_zxid and complete the
 *	  waiting backends' slots, so that a woken backend reads its write.
 *
 * IDENTIFICATION
 *	  src/applier.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "applier.h"
#include "bgworker.h"
#include "datatree.h"
#include "path.h"
#include "recipes.h"
#include "request_queue.h"
#include "shmem.h"
#include "txn_codec.h"
#include "txnlog.h"
#include "watches.h"
#include "zkpg.h"

#define APPLY_BATCH 1000

static void applier_startup(void);
static bool applier_round(MemoryContext round_cxt);
static void trigger_child_event(ZkTree *tree, const char *path, ZkZxid zxid, List **events);

/* NodeChildrenChanged on path's parent, about the parent */
static void
trigger_child_event(ZkTree *tree, const char *path, ZkZxid zxid, List **events)
{
	char	   *parent = ZkParentPath(path);
	int			first = list_length(*events);
	ZkNode		node;

	/* the parent's ACL is read only when a watch fired */
	if (ZkWatchTrigger(parent, ZK_EVENT_NODE_CHILDREN_CHANGED, zxid, events) > 0 &&
		ZkTreeGetNode(tree, parent, false, &node))
		ZkWatchSetAcl(*events, first, node.nacl, node.acl);
}

/*
 * Apply one txn to tree; fill per-op results and, when events is not
 * NULL, collect the watch events it triggers.  Returns the change in the
 * number of znodes.
 */
int64
ZkApplyTxn(ZkTree *tree, const ZkRecord *txn, ZkOpResult *results, int *nresults,
		   List **events)
{
	int64		delta = 0;
	int			i;

	*nresults = 0;
	switch (txn->type)
	{
		case ZK_OP_ERROR:
			return 0;
		case ZK_OP_CREATESESSION:
			ZkTreeAddSession(tree, txn->session_id, txn->owner, txn->timeout_ms, txn->zxid);
			return 0;
		case ZK_OP_CLOSESESSION:
			{
				List	   *paths = ZkTreeSessionEphemerals(tree, txn->target_session);
				ListCell   *lc;

				foreach(lc, paths)
				{
					int			nacl;
					char	  **acl;

					ZkTreeDelete(tree, (char *) lfirst(lc), txn->zxid, &nacl, &acl);
					delta--;
					if (events)
					{
						ZkWatchTriggerWithAcl(lfirst(lc), ZK_EVENT_NODE_DELETED, txn->zxid, nacl, acl, events);
						trigger_child_event(tree, lfirst(lc), txn->zxid, events);
					}
				}
				ZkTreeRemoveSession(tree, txn->target_session);
				return delta;
			}
	}

	for (i = 0; i < txn->nops; i++)
	{
		const ZkOp *op = &txn->ops[i];
		ZkOpResult *r = &results[i];

		memset(r, 0, sizeof(ZkOpResult));
		r->seq = -1;
		switch (op->type)
		{
			case ZK_OP_CREATE:
				ZkTreeCreate(tree, op, txn->zxid, txn->time, &r->stat);
				r->has_stat = true;
				if (ZK_MODE_IS_SEQUENTIAL(op->mode))
					r->seq = op->parent_creates - 1;
				delta++;
				if (events)
				{
					ZkWatchTriggerWithAcl(op->path, ZK_EVENT_NODE_CREATED, txn->zxid,
								  op->nacl, op->acl, events);
					trigger_child_event(tree, op->path, txn->zxid, events);
				}
				break;
			case ZK_OP_DELETE:
				{
					int			nacl;
					char	  **acl;

					ZkTreeDelete(tree, op->path, txn->zxid, &nacl, &acl);
					delta--;
					if (events)
					{
						ZkWatchTriggerWithAcl(op->path, ZK_EVENT_NODE_DELETED, txn->zxid, nacl, acl, events);
						trigger_child_event(tree, op->path, txn->zxid, events);
					}
				}
				break;
			case ZK_OP_SETDATA:
				{
					ZkNode		after;

					ZkTreeSetData(tree, op, txn->zxid, txn->time, &r->stat, &after);
					r->has_stat = true;
					if (events)
						ZkWatchTriggerWithAcl(op->path, ZK_EVENT_NODE_DATA_CHANGED, txn->zxid,
									  after.nacl, after.acl, events);
				}
				break;
			case ZK_OP_COUNTER:
				{
					ZkOp		set = *op;
					ZkNode		after;

					/* a setData of the value's decimal text */
					set.type = ZK_OP_SETDATA;
					set.data = psprintf(INT64_FORMAT, op->counter);
					set.data_len = strlen(set.data);
					ZkTreeSetData(tree, &set, txn->zxid, txn->time, &r->stat, &after);
					r->has_stat = true;
					r->counter = op->counter;
					if (events)
						ZkWatchTriggerWithAcl(op->path, ZK_EVENT_NODE_DATA_CHANGED, txn->zxid,
									  after.nacl, after.acl, events);
				}
				break;
			case ZK_OP_SETACL:
				ZkTreeSetAcl(tree, op, &r->stat);
				r->has_stat = true;
				break;
			case ZK_OP_CHECK:
			case ZK_OP_FENCE:
				break;
			default:
				elog(ERROR, "zkpg: cannot apply op type %d", op->type);
		}
	}
	*nresults = txn->nops;
	return delta;
}

bool
ZkWaitForApplied(ZkZxid target, TimestampTz deadline)
{
	bool		reached = true;

	ConditionVariablePrepareToSleep(&ZkShmem->applied_cv);
	while ((ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid) < target)
	{
		long		timeout = 1000;

		if (deadline != 0)
		{
			timeout = Min(timeout, TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
																   deadline));
			if (timeout <= 0)
			{
				reached = false;
				break;
			}
		}
		/* the broadcast follows the write of applied_zxid: none is missed */
		(void) ConditionVariableTimedSleep(&ZkShmem->applied_cv, timeout,
										   PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return reached;
}

static void
applier_startup(void)
{
	ZkZxid		applied;
	int64		nodes;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	applied = ZkLogGetState(ZK_STATE_APPLIED_ZXID);
	nodes = ZkTreeCountNodes(ZkTreeMain());
	PopActiveSnapshot();
	CommitTransactionCommand();

	pg_atomic_write_u64(&ZkShmem->applied_zxid, (uint64) applied);
	ConditionVariableBroadcast(&ZkShmem->applied_cv);
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->znode_count = nodes;
	ZkShmem->applier_ready = true;
	LWLockRelease(ZkShmem->state_lock);
	if (ZkShmem->peer_latch)
		SetLatch(ZkShmem->peer_latch);
	elog(LOG, "zkpg applier started at zxid 0x%llx", (unsigned long long) applied);
}

/*
 * Apply what is committed and not yet applied.  True if it did anything.
 */
static bool
applier_round(MemoryContext round_cxt)
{
	ZkZxid		applied = (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid);
	ZkZxid		committed = (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);
	MemoryContext old;
	List	   *txns;
	ListCell   *lc;
	ZkCompletion *done;
	int			ndone = 0;
	int64		delta = 0;
	ZkZxid		last = applied;
	List	   *events = NIL;
	List	   *expired = NIL;
	List	   *wake;

	if (committed <= applied)
		return false;

	old = MemoryContextSwitchTo(round_cxt);
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	/* a learner may have installed a snapshot (learner.c): start over */
	if (ZkLogLockApplied() != applied)
	{
		PopActiveSnapshot();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(old);
		MemoryContextReset(round_cxt);
		elog(LOG, "zkpg applier: the tree was replaced by a snapshot");
		applier_startup();
		return true;
	}

	txns = ZkLogRead(applied, committed, APPLY_BATCH);
	if (txns == NIL)
		elog(ERROR, "zkpg: committed txns after 0x%llx are missing from the log",
			 (unsigned long long) applied);

	/*
	 * Announce the batch before looking up any watch: a backend that
	 * registers a watch meanwhile waits for this batch to commit before it
	 * checks whether it missed an event (zk_functions.c).
	 */
	pg_atomic_write_u64(&ZkShmem->applying_zxid,
						(uint64) ((ZkLoggedTxn *) llast(txns))->zxid);
	pg_memory_barrier();
	/* what outlives the transaction lives in round_cxt */
	done = MemoryContextAlloc(round_cxt, sizeof(ZkCompletion) * Max(list_length(txns), 1));
	foreach(lc, txns)
	{
		ZkLoggedTxn *logged = lfirst(lc);
		ZkRecord	txn;
		const char *reason;
		ZkOpResult *results;
		int			nresults;
		int			slot;

		reason = ZkDecodeTxn(logged->data, logged->len, &txn);
		if (reason != NULL)
			elog(ERROR, "zkpg: logged txn 0x%llx is corrupt: %s",
				 (unsigned long long) logged->zxid, reason);
		results = MemoryContextAlloc(round_cxt, sizeof(ZkOpResult) * Max(txn.nops, 1));
		delta += ZkApplyTxn(ZkTreeMain(), &txn, results, &nresults, &events);
		if (txn.type == ZK_OP_CLOSESESSION && ZkSlotForSession(txn.target_session) >= 0)
		{
			ZkWatchRemoveSession(txn.target_session);
			if (txn.target_session != txn.session_id)
			{
				int64	   *sid = palloc(sizeof(int64));

				*sid = txn.target_session;
				expired = lappend(expired, sid);
			}
		}
		last = txn.zxid;

		slot = ZkSlotForSession(txn.session_id);
		if (slot >= 0 ||
			(txn.type == ZK_OP_CLOSESESSION && ZkSlotForSession(txn.target_session) >= 0))
		{
			ZkCompletion *c = &done[ndone++];

			c->slot = slot;
			c->session_id = txn.session_id;
			c->cxid = txn.cxid;
			c->err = txn.type == ZK_OP_ERROR ? txn.err : ZK_OK;
			c->failed_index = txn.failed_index;
			c->zxid = txn.zxid;
			c->nresults = nresults;
			c->results = results;
			c->closed_session = txn.type == ZK_OP_CLOSESESSION ? txn.target_session : 0;
		}
	}
	ZkTreeFlush(ZkTreeMain());
	ZkRecipeJudgeElections(&events);
	ZkLogSetState(ZK_STATE_APPLIED_ZXID, last);
	/* kept events first: they are older than this batch's */
	if (ZkShmem->resend_requested)
		ZkWatchResendBuffered();
	ZkWatchNotify(events, expired, last);
	wake = ZkWatchSessionsToWake(events, round_cxt);

	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(round_cxt);

	pg_atomic_write_u64(&ZkShmem->applied_zxid, (uint64) last);
	ConditionVariableBroadcast(&ZkShmem->applied_cv);
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->znode_count += delta;
	LWLockRelease(ZkShmem->state_lock);
	ZkCompleteRequests(done, ndone);
	ZkWatchWakeWaiters(wake);
	if (ZkShmem->peer_latch)
		SetLatch(ZkShmem->peer_latch);

	MemoryContextSwitchTo(old);
	MemoryContextReset(round_cxt);
	return true;
}

void
ZkApplierMain(Datum arg)
{
	MemoryContext round_cxt;

	ZkWorkerStart("zkpg applier");

	/* the log is durable: the apply may commit asynchronously */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->applier_latch = MyLatch;
	ZkShmem->applier_ready = false;
	LWLockRelease(ZkShmem->state_lock);

	ZkWorkerWaitForExtension();
	applier_startup();

	round_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg applier round",
									  ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		ZkWorkerCheckSignals();
		if (applier_round(round_cxt))
			continue;
		if (ZkShmem->resend_requested)
		{
			StartTransactionCommand();
			ZkWatchResendBuffered();
			CommitTransactionCommand();
			continue;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

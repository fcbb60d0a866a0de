/*-------------------------------------------------------------------------
 *
 * learner_receiver.c
 *	  A learner's side of ZAB (ZooKeeper's Learner.syncWithLeader and
 *	  Follower.processPacket), and a 2PC/3PC participant's: what this server
 *	  does with its leader's messages, in the backend serving the leader's
 *	  connection (peer_functions.c dispatches them here).
 *
 * Only for the leader this server follows (or observes), by its own
 * election:
 *	 LEADERINFO  accept the leader's new epoch (acceptedEpoch, durable);
 *	 APPEND		 check that the txns follow the last logged one (after a
 *				 TRUNC, if asked), log them, and take the commit point;
 *	 NEWLEADER	 the log ends where the leader's history does (prev_zxid):
 *				 take the epoch as currentEpoch;
 *	 SNAP		 ask this server's peer worker to copy the leader's tree.
 * At a 2PC or 3PC participant (twophase.c):
 *	 CANCOMMIT	 3PC: promise to take the batch if it follows our log and
 *				 nothing is in doubt here;
 *	 APPEND with PREPARE: as APPEND, inside the coordinator's BEGIN ...
 *				 PREPARE TRANSACTION: what is logged stays in doubt (and
 *				 the log lock held) until COMMIT or ROLLBACK PREPARED;
 *	 APPEND with DECIDED: after COMMIT PREPARED: the commit point.
 *
 * What changed is published to shared memory only once the transaction
 * has committed (peer_xact_callback): the applier must never see a
 * committed zxid before its txn is durable here.
 *
 * IDENTIFICATION
 *	  src/learner_receiver.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/timestamp.h"

#include "peer_handlers.h"
#include "replication.h"
#include "shmem.h"
#include "txn_codec.h"
#include "txnlog.h"
#include "zkpg.h"

/* to publish when this transaction commits */
typedef struct PendingPublish
{
	bool		set;
	ZkZxid		last_logged;
	ZkZxid		committed;		/* 0: unchanged */
	int64		accepted_epoch;
	int64		current_epoch;	/* 0: unchanged */
} PendingPublish;

static PendingPublish pending;

static bool following(int from);
static void peer_xact_callback(XactEvent event, void *arg);

static void
peer_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && pending.set)
	{
		pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) pending.last_logged);
		pg_atomic_write_u64(&ZkShmem->accepted_epoch, (uint64) pending.accepted_epoch);
		if (pending.current_epoch > 0)
		{
			pg_atomic_write_u64(&ZkShmem->current_epoch, (uint64) pending.current_epoch);
			LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
			ZkShmem->synced_epoch = pending.current_epoch;
			LWLockRelease(ZkShmem->state_lock);
		}
		if (pending.committed > (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid))
		{
			pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) pending.committed);
			if (ZkShmem->applier_latch)
				SetLatch(ZkShmem->applier_latch);
		}
		if (ZkShmem->peer_latch)
			SetLatch(ZkShmem->peer_latch);
	}
	/* a prepared append is published after its COMMIT PREPARED (DECIDED) */
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
		memset(&pending, 0, sizeof(pending));
}

/* this server follows (or observes) server from, by its own election */
static bool
following(int from)
{
	bool		ok;

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	ok = (ZkShmem->state == ZK_STATE_FOLLOWING || ZkShmem->state == ZK_STATE_OBSERVING) &&
		ZkShmem->leader_id == from;
	LWLockRelease(ZkShmem->state_lock);
	return ok;
}

/*
 * The learner's position, for an answer; called with the log lock held.
 * Everyone who writes this server's log or epochs publishes the new
 * values at commit, before the lock is released, so the shared values
 * are exact here and no query is needed.
 */
static void
fill_position(ZkPeerAnswer *a, int64 accepted)
{
	a->accepted_epoch = accepted;
	a->current_epoch = (int64) pg_atomic_read_u64(&ZkShmem->current_epoch);

	/*
	 * In 2PC and 3PC, COMMIT PREPARED makes txns logged without running
	 * this code: read the end of the log itself.
	 */
	if (ZkReplication()->prepared_appends)
		pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) ZkLogLastZxid());
	a->last_logged = (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid);
	a->applied = (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid);
	a->committed = (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);
}

/* Discovery: take the new epoch unless a later one was accepted. */
void
ZkLearnerOnLeaderInfo(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	int64		accepted = ZkLogLockEpochs();

	/*
	 * An epoch is accepted from one leader only: the same epoch again
	 * from the same leader is a rejoin, from another one it is refused
	 * (the other leader then steps down and picks a later epoch).  So no
	 * two leaders can both get a quorum to accept one epoch.
	 */
	if (following(m->note.from) &&
		(m->epoch > accepted ||
		 (m->epoch == accepted && ZkLogGetState(ZK_STATE_ACCEPTED_LEADER) == m->note.from)))
	{
		if (m->epoch > accepted)
		{
			ZkLogSetState(ZK_STATE_ACCEPTED_EPOCH, m->epoch);
			ZkLogSetState(ZK_STATE_ACCEPTED_LEADER, m->note.from);
		}
		accepted = m->epoch;
		a->ok = true;
	}
	fill_position(a, accepted);
	pending.set = true;
	pending.last_logged = a->last_logged;
	pending.accepted_epoch = accepted;
}

/*
 * A COMMIT alone writes nothing: what it commits is logged here already,
 * and the published position is durable.  No transaction work, no fsync.
 * True when m was one, and a is its answer.
 */
static bool
take_commit_only(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	ZkZxid		commit;

	if (m->n != 0 || m->flags != 0 || ZkReplication()->prepared_appends ||
		m->prev_zxid != (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid) ||
		m->epoch != (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch) ||
		m->epoch != (int64) pg_atomic_read_u64(&ZkShmem->current_epoch) ||
		!following(m->note.from))
		return false;
	commit = Min(m->committed, m->prev_zxid);
	if (commit > (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid))
	{
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) commit);
		if (ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
	}
	a->ok = true;
	a->last_logged = m->prev_zxid;
	a->accepted_epoch = m->epoch;
	a->current_epoch = m->epoch;
	return true;
}

/*
 * The flags of 2PC and 3PC: only in those modes, a prepare only inside
 * the coordinator's transaction block, and in 3PC only after a live
 * CanCommit promise.
 */
static void
check_two_phase_append(const ZkPeerMessage *m)
{
	if (m->flags & (ZK_APPEND_PREPARE | ZK_APPEND_DECIDED))
	{
		if (!ZkReplication()->prepared_appends)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("zkpg peer message of two-phase commit, but this server replicates by zab")));
		if ((m->flags & ZK_APPEND_PREPARE) && (!IsTransactionBlock() || m->n == 0))
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("zkpg prepare message outside a transaction block, or empty")));
	}
	if ((m->flags & ZK_APPEND_PREPARE) && ZkReplication()->promises)
	{
		bool		promised;

		/* PreCommit follows a CanCommit promise that has not timed out */
		LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
		promised = ZkShmem->promised_zxid == m->zxids[m->n - 1];
		ZkShmem->promised_zxid = 0;
		LWLockRelease(ZkShmem->state_lock);
		if (!promised)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("zkpg 3pc: PreCommit of batch 0x%llx without a live CanCommit promise",
							(unsigned long long) m->zxids[m->n - 1])));
	}
}

/*
 * DIFF, TRUNC, PROPOSAL and COMMIT are one message: txns that must follow
 * prev_zxid in this log (after dropping what follows prev_zxid, for a
 * TRUNC), and the leader's commit point.
 */
void
ZkLearnerOnAppend(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	int64		accepted;
	ZkZxid		last;
	int			i;

	if (take_commit_only(m, a))
		return;
	check_two_phase_append(m);
	accepted = ZkLogLockEpochs();

	fill_position(a, accepted);
	if (!following(m->note.from) || m->epoch != accepted)
		goto refused;
	last = a->last_logged;
	if (m->prev_zxid != last)
	{
		ZkZxid		committed = (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);

		/*
		 * Only txns never committed here may be dropped, and only after a
		 * zxid this log holds: otherwise refuse without changing anything
		 * (the leader then sends a SNAP).
		 */
		if (!(m->flags & ZK_APPEND_TRUNC) || m->prev_zxid > last ||
			m->prev_zxid < committed || m->prev_zxid < a->applied ||
			ZkLogFloor(m->prev_zxid) != m->prev_zxid)
			goto refused;
		ZkLogTruncateAfter(m->prev_zxid);
		last = m->prev_zxid;
	}
	if (m->n > 0)
	{
		StringInfo *txns = palloc(sizeof(StringInfo) * m->n);

		for (i = 0; i < m->n; i++)
		{
			ZkRecord	txn;
			const char *reason = ZkDecodeTxn(m->items[i], m->lens[i], &txn);

			if (reason == NULL && txn.zxid != m->zxids[i])
				reason = "txn zxid differs from its envelope";
			if (reason != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("malformed zkpg peer message: txn %d: %s", i, reason)));
			txns[i] = makeStringInfo();
			appendBinaryStringInfo(txns[i], m->items[i], m->lens[i]);
		}
		ZkLogAppend(m->n, m->zxids, txns);
		last = m->zxids[m->n - 1];
	}
	a->ok = true;
	a->last_logged = last;
	pending.set = true;
	pending.last_logged = last;
	pending.accepted_epoch = accepted;
	/* commits count once this learner holds the epoch's history */
	if ((int64) pg_atomic_read_u64(&ZkShmem->current_epoch) == m->epoch)
		pending.committed = Min(m->committed, last);
	return;

refused:
	/* a refused prepare leaves no prepared transaction behind: a NO vote */
	if (m->flags & ZK_APPEND_PREPARE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg participant %d cannot prepare batch 0x%llx after 0x%llx",
						zk_myid, (unsigned long long) m->zxids[m->n - 1],
						(unsigned long long) m->prev_zxid),
				 errdetail("Its log ends at 0x%llx, epoch %lld; the batch is of epoch %lld.",
						   (unsigned long long) a->last_logged, (long long) a->accepted_epoch,
						   (long long) m->epoch)));
}

/*
 * 3PC CanCommit: the batch (prev_zxid, committed] can be taken if it
 * follows our log in the coordinator's epoch and nothing here is in
 * doubt (the log lock is free).  A YES is a promise, kept for the
 * participant's timeout (twophase.c).
 */
void
ZkLearnerOnCanCommit(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	bool		free_lock;

	if (!ZkReplication()->promises)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("zkpg CanCommit message, but this server replicates by %s",
						ZkReplicationName(zk_replication))));
	free_lock = ZkLogTryLock();
	if (!free_lock)
		return;
	fill_position(a, ZkLogGetState(ZK_STATE_ACCEPTED_EPOCH));
	if (!following(m->note.from) || m->epoch != a->accepted_epoch ||
		m->epoch != a->current_epoch || m->prev_zxid != a->last_logged)
		return;
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->promised_zxid = m->committed;
	ZkShmem->promised_at = GetCurrentTimestamp();
	LWLockRelease(ZkShmem->state_lock);
	a->ok = true;
}

/* Synchronization done: the log holds the leader's history. */
void
ZkLearnerOnNewLeader(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	int64		accepted = ZkLogLockEpochs();

	fill_position(a, accepted);
	/* the log must hold the leader's history exactly: prev_zxid */
	if (!following(m->note.from) || m->epoch != accepted || a->last_logged != m->prev_zxid)
		return;
	ZkLogSetState(ZK_STATE_CURRENT_EPOCH, m->epoch);
	a->ok = true;
	a->current_epoch = m->epoch;
	pending.set = true;
	pending.last_logged = a->last_logged;
	pending.accepted_epoch = accepted;
	pending.current_epoch = m->epoch;
}

/*
 * SNAP: the leader's tree is to be copied; this server's peer worker does
 * it (snap.c), once this answer is back.
 */
void
ZkLearnerOnSnap(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	if (!following(m->note.from))
		return;
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->snap_from = m->note.from;
	ZkShmem->snap_epoch = m->epoch;
	LWLockRelease(ZkShmem->state_lock);
	a->ok = true;
}

/*
 * Every message of the peer's connection runs in a transaction of its own,
 * which publishes what it changed when it commits.
 */
void
ZkLearnerReceiveBegin(void)
{
	static bool callback_registered = false;

	if (!callback_registered)
	{
		RegisterXactCallback(peer_xact_callback, NULL);
		callback_registered = true;
	}
}

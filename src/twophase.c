/*-------------------------------------------------------------------------
 *
 * twophase.c
 *	  The 2PC and 3PC comparison modes (zkpg.replication = '2pc', '3pc'):
 *	  how a batch of txns becomes durable on every participant through
 *	  PostgreSQL's prepared transactions, instead of ZAB's quorum.
 *
 * The coordinator is the leader of leader.c, fixed to the lowest id (no
 * election: quorum_peer.c), which runs these rounds through the mode's
 * interface (replication.c), and the participants are its learners: they
 * sync with it as in ZAB (DIFF, TRUNC, SNAP), forward their writes to it,
 * and serve reads.  What differs is the broadcast of a batch, which this
 * file drives, one batch at a time:
 *
 * 1. (3PC only) CanCommit: every participant is asked whether it can take
 *	  the batch (in step with the coordinator's log, nothing in doubt).  A
 *	  YES is a promise, kept for the participant's timeout.
 * 2. Prepare (3PC: PreCommit): every participant gets, over its peer
 *	  connection, BEGIN; the batch as an APPEND (logged in that
 *	  transaction, taking the participant's log lock); PREPARE TRANSACTION
 *	  'zkpg_<coordinator>_<last zxid>'.  The answer is the vote.
 * 3. Decision: once every participant voted YES, the coordinator logs the
 *	  batch itself, committed synchronously.  Its log is the record of
 *	  its decisions: a batch in its log committed, any other aborted
 *	  (presumed abort).
 * 4. Commit: COMMIT PREPARED, then an APPEND with the commit point, to
 *	  every participant in one pipeline sync; the applier of each server
 *	  applies the batch, fires its watches (NOTIFY cannot run in a
 *	  prepared transaction) and answers the waiting backends.  The next
 *	  batch's messages follow on the same connections without waiting.
 *
 * Any NO, lost call or timeout aborts: the coordinator's role ends, every
 * writer of the batch gets ZK004, and the next role, like a restarted
 * coordinator, first resolves the prepared transactions it finds at each
 * participant from its log (ZkTwoPhaseResolve: COMMIT PREPARED if the
 * batch is in the log, else ROLLBACK PREPARED) before it syncs that
 * participant.  So recovery after a crash and after an abort is one path,
 * the way Citus's recovery resolves its prepared transactions from its
 * commit records.  Prepared transactions with gids zkpg did not make, or
 * of another coordinator, are left alone.
 *
 * A participant holds its log lock while a batch is in doubt, so it takes
 * nothing else until the batch is resolved: 2PC blocks.  A 3PC
 * participant does not wait for ever (ZkTwoPhaseParticipantTick): a
 * promise not followed by PreCommit within its timeout is dropped (it
 * aborts), and a batch it pre-committed without hearing the decision
 * within its timeout is committed on its own: 3PC does not block, and a
 * partition that hid its vote from a coordinator that aborted makes it
 * diverge.
 *
 * IDENTIFICATION
 *	  src/twophase.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker.h"
#include "internal_sql.h"
#include "peer_messages.h"
#include "quorum_config.h"
#include "peer_transport.h"
#include "shmem.h"
#include "twophase.h"
#include "txnlog.h"
#include "zkpg.h"

typedef enum BatchStep
{
	STEP_IDLE,
	STEP_CANCOMMIT,				/* 3PC: asking whether all can take it */
	STEP_PREPARE				/* prepares sent: collecting the votes */
} BatchStep;

/* the batch in flight at the coordinator */
typedef struct Batch
{
	BatchStep	step;
	int64		epoch;
	ZkZxid		prev;
	ZkZxid		last;
	int			n;
	ZkZxid	   *zxids;
	StringInfo *txns;
	char		gid[ZK_GID_BYTES];
	bool		participant[ZK_MAX_PEERS];
	bool		answered[ZK_MAX_PEERS];
	TimestampTz step_since;
} Batch;

static Batch batch;
static MemoryContext batch_cxt = NULL;

static void enter_step(BatchStep step);
static bool send_prepares(void);
static bool all_answered(void);
static ZkRoundOutcome two_phase_vote(const ZkReceived *r);
static bool send_to_participants(ZkPeerMsgType type, int64 value, ZkPeerMessage *m,
								 const char *sql_before, const char *sql_after);

/* how long a vote, a promise or an in-doubt batch may wait */
long
ZkTwoPhaseTimeoutMs(void)
{
	return Max((long) zk_sync_limit * zk_tick_ms, 2000);
}

void
ZkTwoPhaseGid(char *gid, int coordinator, ZkZxid last)
{
	snprintf(gid, ZK_GID_BYTES, "zkpg_%d_%016llx", coordinator, (unsigned long long) last);
}

/* a gid zkpg made: zkpg_<id 1..255>_<16 lowercase hex digits> */
bool
ZkTwoPhaseParseGid(const char *gid, int *coordinator, ZkZxid *last)
{
	const char *p;
	char	   *end;
	long		id;
	int			i;

	if (strncmp(gid, "zkpg_", 5) != 0)
		return false;
	p = gid + 5;
	if (!isdigit((unsigned char) *p))
		return false;
	id = strtol(p, &end, 10);
	if (end - p > 3 || *end != '_' || id < 1 || id > 255)
		return false;
	p = end + 1;
	for (i = 0; i < 16; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	if (p[16] != '\0')
		return false;
	*coordinator = (int) id;
	*last = (ZkZxid) strtoull(p, NULL, 16);
	return *last > 0;
}

/*
 * Coordinator
 */

void
ZkTwoPhaseStartRole(void)
{
	if (batch_cxt == NULL)
		batch_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg two-phase batch",
										  ALLOCSET_DEFAULT_SIZES);
	ZkTwoPhaseForget();
}

bool
ZkTwoPhaseBusy(void)
{
	return batch.step != STEP_IDLE;
}

/* the batch is over, decided or not */
void
ZkTwoPhaseForget(void)
{
	memset(&batch, 0, sizeof(batch));
	batch.step = STEP_IDLE;
	if (batch_cxt)
		MemoryContextReset(batch_cxt);
}

static bool
all_answered(void)
{
	int			i;

	for (i = 0; i < ZkQuorum.npeers; i++)
		if (batch.participant[i] && !batch.answered[i])
			return false;
	return true;
}

static void
enter_step(BatchStep step)
{
	batch.step = step;
	batch.step_since = GetCurrentTimestamp();
	memset(batch.answered, 0, sizeof(batch.answered));
}

/* m, with SQL around it, to every participant of the batch */
static bool
send_to_participants(ZkPeerMsgType type, int64 value, ZkPeerMessage *m,
					 const char *sql_before, const char *sql_after)
{
	bool		sent = true;
	int			i;

	m->epoch = batch.epoch;
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (batch.participant[i])
			sent &= (sql_before || sql_after) ?
				ZkPeerSendWrapped(i, type, value, m, sql_before, sql_after) :
				ZkPeerSend(i, type, value, m);
	return sent;
}

/*
 * Start the rounds of a batch (prev, last]: participants[i] says who
 * must vote, every participant but us.
 */
void
ZkTwoPhaseBegin(int n, const ZkZxid *zxids, StringInfo *txns, ZkZxid prev,
				int64 epoch, const bool *participants)
{
	MemoryContext old = MemoryContextSwitchTo(batch_cxt);
	int			i;
	bool		sent;

	Assert(batch.step == STEP_IDLE && n > 0);
	batch.epoch = epoch;
	batch.prev = prev;
	batch.last = zxids[n - 1];
	batch.n = n;
	batch.zxids = palloc(sizeof(ZkZxid) * n);
	batch.txns = palloc(sizeof(StringInfo) * n);
	for (i = 0; i < n; i++)
	{
		batch.zxids[i] = zxids[i];
		batch.txns[i] = makeStringInfo();
		appendBinaryStringInfo(batch.txns[i], txns[i]->data, txns[i]->len);
	}
	MemoryContextSwitchTo(old);
	ZkTwoPhaseGid(batch.gid, zk_myid, batch.last);
	memcpy(batch.participant, participants, sizeof(bool) * ZkQuorum.npeers);

	if (ZkReplication()->promises)
	{
		ZkPeerMessage m;

		enter_step(STEP_CANCOMMIT);
		memset(&m, 0, sizeof(m));
		m.prev_zxid = batch.prev;
		m.committed = batch.last;
		sent = send_to_participants(ZK_MSG_CANCOMMIT, 0, &m, NULL, NULL);
	}
	else
		sent = send_prepares();
	if (!sent)
		batch.step_since = 0;	/* ZkTwoPhaseCheck fails it */
}

/* BEGIN; the batch; PREPARE TRANSACTION, to every participant */
static bool
send_prepares(void)
{
	char		prepare[64 + ZK_GID_BYTES];
	ZkPeerMessage m;
	bool		sent;
	int			k;

	enter_step(STEP_PREPARE);
	snprintf(prepare, sizeof(prepare), "PREPARE TRANSACTION '%s'", batch.gid);
	memset(&m, 0, sizeof(m));
	m.prev_zxid = batch.prev;
	m.committed = batch.prev;
	m.flags = ZK_APPEND_PREPARE;
	m.n = batch.n;
	m.zxids = batch.zxids;
	m.items = palloc(sizeof(char *) * batch.n);
	m.lens = palloc(sizeof(int32) * batch.n);
	for (k = 0; k < batch.n; k++)
	{
		m.items[k] = batch.txns[k]->data;
		m.lens[k] = batch.txns[k]->len;
	}
	sent = send_to_participants(ZK_MSG_APPEND, ZK_TP_PREPARE, &m, "BEGIN", prepare);
	pfree(m.items);
	pfree(m.lens);
	return sent;
}

/*
 * An answer to a CanCommit or a prepare of the batch in flight; answers
 * to other messages are the caller's.
 */
static ZkRoundOutcome
two_phase_vote(const ZkReceived *r)
{
	BatchStep	expected = r->type == ZK_MSG_CANCOMMIT ? STEP_CANCOMMIT : STEP_PREPARE;

	if (batch.step != expected || !batch.participant[r->peer])
		return ZK_ROUND_WAITING;
	if (!r->answered || !r->answer.ok)
	{
		elog(LOG, "zkpg %s: server %d voted no on batch %s",
			 ZkReplicationName(zk_replication), ZkQuorum.peers[r->peer].id, batch.gid);
		return ZK_ROUND_FAILED;
	}
	batch.answered[r->peer] = true;
	if (!all_answered())
		return ZK_ROUND_WAITING;
	if (batch.step == STEP_CANCOMMIT)
		return send_prepares() ? ZK_ROUND_WAITING : ZK_ROUND_FAILED;
	return ZK_ROUND_ALL_YES;
}

/* a round that waits longer than the timeout fails (the notes' rule) */
/*
 * The answers of a round: the votes (CanCommit, the prepares) and the
 * acks of the decision's APPEND.
 */
bool
ZkTwoPhaseRoundAnswer(const ZkReceived *r, ZkRoundOutcome *outcome, bool *decided)
{
	*decided = false;
	*outcome = ZK_ROUND_WAITING;
	if (r->type == ZK_MSG_APPEND && r->value == ZK_TP_DECIDED)
	{
		*decided = true;
		return true;
	}
	if (r->type == ZK_MSG_CANCOMMIT || (r->type == ZK_MSG_APPEND && r->value == ZK_TP_PREPARE))
	{
		*outcome = two_phase_vote(r);
		return true;
	}
	return false;
}

/*
 * The comparison modes need prepared transactions, and every participant
 * votes: observers have no place in them.
 */
void
ZkTwoPhaseCheckConfig(void)
{
	int			i;

	if (max_prepared_xacts == 0)
	{
		ereport(LOG,
				(errmsg("zkpg.replication = \"%s\" needs prepared transactions, but max_prepared_transactions is 0",
						ZkReplicationName(zk_replication)),
				 errdetail("This server will not serve requests."),
				 errhint("Set max_prepared_transactions to at least 2 on every peer and restart the server.")));
		ZkWorkerIdle(psprintf("zkpg.replication = \"%s\" needs max_prepared_transactions > 0",
							  ZkReplicationName(zk_replication)));
	}
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (ZkQuorum.peers[i].observer)
		{
			ereport(LOG,
					(errmsg("zkpg.replication = \"%s\" does not support observers (server %d)",
							ZkReplicationName(zk_replication), ZkQuorum.peers[i].id),
					 errdetail("Every peer is a participant in two- and three-phase commit; this server will not serve requests."),
					 errhint("Remove \":observer\" from zkpg.servers, or use zkpg.replication = 'zab'.")));
			ZkWorkerIdle(psprintf("zkpg.replication = \"%s\" does not support observers (server %d)",
								  ZkReplicationName(zk_replication), ZkQuorum.peers[i].id));
		}
}

ZkRoundOutcome
ZkTwoPhaseCheck(TimestampTz now)
{
	if (batch.step == STEP_IDLE)
		return ZK_ROUND_WAITING;
	if (TimestampDifferenceExceeds(batch.step_since, now, ZkTwoPhaseTimeoutMs()))
	{
		elog(LOG, "zkpg %s: no decision on batch %s within %ld ms",
			 ZkReplicationName(zk_replication), batch.gid, ZkTwoPhaseTimeoutMs());
		return ZK_ROUND_FAILED;
	}
	return ZK_ROUND_WAITING;
}

/*
 * Every participant prepared: record the decision (our own log write,
 * synchronous), then COMMIT PREPARED everywhere, each followed by the
 * commit point.  Returns the batch's last zxid, now committed.
 */
ZkZxid
ZkTwoPhaseCommit(void)
{
	char		commit[64 + ZK_GID_BYTES];
	ZkZxid		last = batch.last;
	ZkPeerMessage m;

	Assert(batch.step == STEP_PREPARE);
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	ZkLogAppend(batch.n, batch.zxids, batch.txns);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) last);

	snprintf(commit, sizeof(commit), "COMMIT PREPARED '%s'", batch.gid);
	memset(&m, 0, sizeof(m));
	m.prev_zxid = last;
	m.committed = last;
	m.flags = ZK_APPEND_DECIDED;
	/* one that misses it is resolved from our log when it returns */
	(void) send_to_participants(ZK_MSG_APPEND, ZK_TP_DECIDED, &m, commit, NULL);
	ZkTwoPhaseForget();
	return last;
}

/*
 * Recovery: ask a participant for the prepared transactions zkpg made
 * there; ZkTwoPhaseResolve gets the answer.
 */
bool
ZkTwoPhaseListInDoubt(int peer)
{
	return ZkPeerSendSql(peer, ZK_TP_LIST_IN_DOUBT,
						 "SELECT coalesce(pg_catalog.string_agg(gid, ' ' ORDER BY gid), '') "
						 "FROM pg_catalog.pg_prepared_xacts "
						 "WHERE database" ZK_EQ "pg_catalog.current_database() "
						 "AND gid OPERATOR(pg_catalog.~) '^zkpg_[0-9]{1,3}_[0-9a-f]{16}$'");
}

/*
 * Resolve a participant's in-doubt batches of ours from our log: the
 * batch is in it, so we decided to commit; it is not, and the log still
 * covers its zxid, so we never did (presumed abort).  The purge never
 * passes a batch a participant may hold in doubt (leader.c), so a purged
 * zxid is left alone with a warning rather than guessed.
 */
void
ZkTwoPhaseResolve(int peer, const char *gids)
{
	MemoryContext caller = CurrentMemoryContext;
	char	   *copy = pstrdup(gids);
	char	   *save = NULL;
	char	   *gid;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	for (gid = strtok_r(copy, " ", &save); gid != NULL; gid = strtok_r(NULL, " ", &save))
	{
		int			coordinator;
		ZkZxid		last;
		ZkZxid		floor;
		char		sql[64 + ZK_GID_BYTES];

		if (!ZkTwoPhaseParseGid(gid, &coordinator, &last) || coordinator != zk_myid)
			continue;
		floor = ZkLogFloor(last);
		if (floor == last && last <= ZkLogLastZxid())
			snprintf(sql, sizeof(sql), "COMMIT PREPARED '%s'", gid);
		else if (floor >= 0)
			snprintf(sql, sizeof(sql), "ROLLBACK PREPARED '%s'", gid);
		else
		{
			elog(WARNING, "zkpg cannot resolve prepared transaction %s at server %d: the log was purged past it",
				 gid, ZkQuorum.peers[peer].id);
			continue;
		}
		elog(LOG, "zkpg recovery: %s at server %d", sql, ZkQuorum.peers[peer].id);
		(void) ZkPeerSendSql(peer, ZK_TP_RESOLVE, sql);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
}

/*
 * Participant (3PC): the timeouts of the notes.  A promise given at
 * CanCommit and not followed by PreCommit within the timeout is dropped:
 * the participant aborts.  A batch it pre-committed and whose decision
 * has not come within the timeout is committed on its own.
 */
void
ZkTwoPhaseParticipantTick(int coordinator)
{
	MemoryContext caller = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	long		timeout = ZkTwoPhaseTimeoutMs();
	List	   *gids = NIL;
	ListCell   *lc;
	ZkZxid		last;
	ZkInternalSql isql;

	if (!ZkReplication()->promises)
		return;
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	if (ZkShmem->promised_zxid != 0 &&
		TimestampDifferenceExceeds(ZkShmem->promised_at, now, timeout))
	{
		elog(LOG, "zkpg 3pc: no PreCommit for batch 0x%llx within %ld ms; aborting it",
			 (unsigned long long) ZkShmem->promised_zxid, timeout);
		ZkShmem->promised_zxid = 0;
	}
	LWLockRelease(ZkShmem->state_lock);

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	ZkInternalSqlBegin(&isql, true);
	{
		/* now() would be a worker's stale statement time: pass the cut-off */
		Oid			types[1] = {TIMESTAMPTZOID};
		Datum		values[1] = {TimestampTzGetDatum(TimestampTzPlusMilliseconds(now, -timeout))};
		uint64		i;

		if (SPI_execute_with_args("SELECT gid FROM pg_catalog.pg_prepared_xacts "
								  "WHERE database" ZK_EQ "pg_catalog.current_database() "
								  "AND gid OPERATOR(pg_catalog.~) '^zkpg_[0-9]{1,3}_[0-9a-f]{16}$' "
								  "AND prepared" ZK_LT "$1 "
								  "ORDER BY gid",
								  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "zkpg: could not read pg_prepared_xacts");
		for (i = 0; i < SPI_processed; i++)
		{
			char	   *gid = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			int			from;
			ZkZxid		last;
			MemoryContext old;

			/* only batches of the coordinator we follow */
			if (!ZkTwoPhaseParseGid(gid, &from, &last) || from != coordinator)
				continue;
			old = MemoryContextSwitchTo(caller);
			gids = lappend(gids, pstrdup(gid));
			MemoryContextSwitchTo(old);
		}
	}
	ZkInternalSqlEnd(&isql);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	if (gids == NIL)
		return;

	foreach(lc, gids)
	{
		const char *gid = lfirst(lc);

		/*
		 * What COMMIT PREPARED runs, outside any transaction block.  The
		 * decision may arrive meanwhile and resolve it first: that is no
		 * reason for this worker to exit.
		 */
		PG_TRY();
		{
			StartTransactionCommand();
			FinishPreparedTransaction(gid, true);
			CommitTransactionCommand();
			ereport(LOG,
					(errmsg("zkpg 3pc: committed %s on its own: no decision within %ld ms of PreCommit",
							gid, timeout)));
		}
		PG_CATCH();
		{
			MemoryContextSwitchTo(caller);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(caller);
	}

	/* what it committed is logged and, by its own decision, committed */
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) ZkLogLockEpochs();
	last = ZkLogLastZxid();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) last);
	if (last > (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid))
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) last);
	if (ZkShmem->applier_latch)
		SetLatch(ZkShmem->applier_latch);
}

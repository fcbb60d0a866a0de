/*-------------------------------------------------------------------------
 *
 * peer_functions.c
 *	  zkpg.peer_message(bytea): where peers' messages arrive.  The other
 *	  side of peer_transport.c: ZooKeeper's LearnerHandler (at the leader)
 *	  and Learner's receiving side (at a follower or observer).
 *
 * It runs in the backend serving a peer's connection, one transaction per
 * message, as the extension's owner (SECURITY DEFINER).  It checks that
 * the caller may speak for a peer (superuser, or member of role
 * zkpg_peer, which the install script creates) and for the server the
 * message claims to come from (zkpg.peer_roles binds each server id to
 * the role its connections log in as), decodes the message as hostile
 * input (txn_codec.c), acts on it and answers with this server's own
 * notification and log position, so that every exchange teaches both
 * sides.  A peer speaks only for the sessions its backends hold: its
 * forwarded requests and its pings' session touches are for those.  The sender sees the answer only after this transaction has
 * committed (synchronously): an accepted APPEND is durable when acked.
 *
 * At a learner (FOLLOWING or OBSERVING, and only for the leader it
 * follows):
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
 * At the leader:
 *	 PING		 the sessions the learner's backends hold, still alive;
 *	 REQUESTS	 forwarded requests, queued like local ones;
 *	 SYNC		 nothing: the answer carries the committed zxid.
 * Anywhere: NOTIFICATION, the election's vote, left in the inbox.
 *
 * What changed is published to shared memory only once the transaction
 * has committed (peer_xact_callback): the applier must never see a
 * committed zxid before its txn is durable here.
 *
 * IDENTIFICATION
 *	  src/peer_functions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "quorum_config.h"
#include "request_queue.h"
#include "replication.h"
#include "session_tracker.h"
#include "shmem.h"
#include "test_hooks.h"
#include "txn_codec.h"
#include "twophase.h"
#include "txnlog.h"
#include "zkpg.h"

PG_FUNCTION_INFO_V1(zkpg_peer_message);

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
static bool callback_registered = false;

static void check_peer_privilege(void);
static void check_peer_identity(int from_id);
static void peer_xact_callback(XactEvent event, void *arg);
static bool following(int from);
static void on_leaderinfo(const ZkPeerMessage *m, ZkPeerAnswer *a);
static void on_append(const ZkPeerMessage *m, ZkPeerAnswer *a);
static void on_newleader(const ZkPeerMessage *m, ZkPeerAnswer *a);
static void on_requests(const ZkPeerMessage *m, int from_id, ZkPeerAnswer *a);
static void on_ping(const ZkPeerMessage *m, int from, ZkPeerAnswer *a);
static void on_cancommit(const ZkPeerMessage *m, ZkPeerAnswer *a);

/*
 * Superusers and members of zkpg_peer (if that role exists) may call
 * the peer functions.
 */
static void
check_peer_privilege(void)
{
	/* the function is SECURITY DEFINER: judge the caller, not the owner */
	Oid			caller = GetOuterUserId();
	Oid			role;

	if (superuser_arg(caller))
		return;
	role = get_role_oid("zkpg_peer", true);
	if (OidIsValid(role) && has_privs_of_role(caller, role))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("only superusers and members of zkpg_peer may call zkpg peer functions")));
}

/*
 * The server id a peer's message claims must be the one its connection
 * stands for: with zkpg.peer_roles, the server whose role the connection
 * logged in as (with TLS client certificates, pg_hba's cert method makes
 * that the certificate's); and a backend serving one peer's connection
 * never speaks for another.
 */
static void
check_peer_identity(int from_id)
{
	static int	bound_from = 0;
	char	   *role;
	const char *reason;
	const char *login;

	if (bound_from != 0 && bound_from != from_id)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("this zkpg peer connection speaks for server %d, not for server %d",
						bound_from, from_id)));
	if (zk_peer_roles != NULL && zk_peer_roles[0] != '\0')
	{
		reason = ZkPeerRoleFor(zk_peer_roles, from_id, &role);
		login = GetUserNameFromId(GetSessionUserId(), false);
		if (reason != NULL || role == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("zkpg.peer_roles names no role for server %d", from_id)));
		if (strcmp(login, role) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("zkpg server %d must connect as role \"%s\"", from_id, role),
					 errdetail("This connection logged in as \"%s\".", login)));
	}
	bound_from = from_id;
}

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
static void
on_leaderinfo(const ZkPeerMessage *m, ZkPeerAnswer *a)
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
 * DIFF, TRUNC, PROPOSAL and COMMIT are one message: txns that must follow
 * prev_zxid in this log (after dropping what follows prev_zxid, for a
 * TRUNC), and the leader's commit point.
 */
static void
on_append(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	int64		accepted;
	ZkZxid		last;
	int			i;

	/*
	 * A COMMIT alone writes nothing: what it commits is logged here
	 * already, and the published position is durable.  No transaction
	 * work, no fsync.
	 */
	if (m->n == 0 && m->flags == 0 && !ZkReplication()->prepared_appends &&
		m->prev_zxid == (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid) &&
		m->epoch == (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch) &&
		m->epoch == (int64) pg_atomic_read_u64(&ZkShmem->current_epoch) &&
		following(m->note.from))
	{
		ZkZxid		commit = Min(m->committed, m->prev_zxid);

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
		return;
	}

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
static void
on_cancommit(const ZkPeerMessage *m, ZkPeerAnswer *a)
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
static void
on_newleader(const ZkPeerMessage *m, ZkPeerAnswer *a)
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

/* we lead this epoch (and serve, if asked) */
static bool
leading_epoch(int64 epoch, bool serving)
{
	bool		ok;

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	ok = ZkShmem->state == ZK_STATE_LEADING && ZkShmem->epoch == epoch &&
		(ZkShmem->serving || !serving);
	LWLockRelease(ZkShmem->state_lock);
	return ok;
}

/* the server that holds a session: the top byte of its id (sessions.c) */

/*
 * A peer speaks only for the sessions its backends hold: its own
 * sessions' requests, and the closes the server itself sends for them
 * (session 0, after a restart).
 */
static bool
peer_holds(const ZkRecord *req, int from_id)
{
	if (req->session_id == ZK_SERVER_SESSION)
		return req->type == ZK_OP_CLOSESESSION &&
			ZK_SESSION_OWNER(req->target_session) == from_id;
	return ZK_SESSION_OWNER(req->session_id) == from_id;
}

/*
 * Forwarded requests join the leader's queue, in their order.  A learner
 * synced in our epoch may forward before we serve (we serve once a quorum
 * is synced): they wait in the queue, which a role change empties.
 *
 * The learner checked every request where it entered (record_check.c),
 * so a request that does not decode is a broken or hostile peer, and so
 * is one for a session it does not hold.  One that does not fit this
 * server's queue (zkpg.request_queue_kb differs between the two) is
 * queued as an error request: its client gets ZK008, and the batch goes
 * on.
 */
static void
on_requests(const ZkPeerMessage *m, int from_id, ZkPeerAnswer *a)
{
	const char **items = palloc(sizeof(char *) * Max(m->n, 1));
	int32	   *lens = palloc(sizeof(int32) * Max(m->n, 1));
	int			i;
	/* taken before the check: a role change after it makes the push fail */
	uint64		generation = ZkQueueGeneration();

	if (!leading_epoch(m->epoch, false))
		return;
	for (i = 0; i < m->n; i++)
	{
		ZkRecord	req;
		const char *reason = ZkDecodeRequest(m->items[i], m->lens[i], &req);

		if (reason != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("malformed zkpg peer message: request %d: %s", i, reason)));
		if (!peer_holds(&req, from_id))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("zkpg server %d forwarded a request of session 0x%016llx, which it does not hold",
							from_id, (unsigned long long) (req.session_id != ZK_SERVER_SESSION ?
														   req.session_id : req.target_session))));
		items[i] = m->items[i];
		lens[i] = m->lens[i];
		if ((Size) m->lens[i] > ZkShmem->queue_size / 2)
		{
			ZkRecord	refused;
			StringInfoData buf;

			memset(&refused, 0, sizeof(refused));
			refused.session_id = req.session_id;
			refused.cxid = req.cxid;
			refused.type = ZK_OP_ERROR;
			refused.err = ZK_ERR_BADARGUMENTS;
			initStringInfo(&buf);
			ZkEncodeRequest(&buf, &refused);
			items[i] = buf.data;
			lens[i] = buf.len;
		}
	}
	ZkPausePoint("forward_before_push");
	a->ok = ZkForwardRequests(m->n, items, lens, zk_sync_limit * zk_tick_ms, generation);
}

static void
on_ping(const ZkPeerMessage *m, int from, ZkPeerAnswer *a)
{
	if (!leading_epoch(m->epoch, true))
		return;
	ZkSessionTrackerReportTouches(from, m->note.from, m->n, m->touches);
	a->ok = true;
}

Datum
zkpg_peer_message(PG_FUNCTION_ARGS)
{
	bytea	   *msg;
	ZkPeerMessage m;
	ZkPeerAnswer a;
	ZkQuorumConfig config;
	const char *reason;
	StringInfoData out;
	bytea	   *result;
	int			i;
	int			from = -1;
	bool		mismatch;

	check_peer_privilege();
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed zkpg peer message: null")));
	msg = PG_GETARG_BYTEA_PP(0);
	reason = ZkDecodePeerMessage(VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg), &m);
	if (reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed zkpg peer message: %s", reason)));

	reason = ZkParseQuorumConfig(zk_servers, zk_myid, &config);
	if (reason != NULL || config.my_index < 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this server is not a member of a zkpg ensemble")));
	for (i = 0; i < config.npeers; i++)
		if (config.peers[i].id == m.note.from)
			from = i;
	if (from < 0 || from == config.my_index)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("zkpg peer message from server %d, which is not a peer of server %d",
						m.note.from, zk_myid)));
	check_peer_identity(m.note.from);
	/*
	 * A peer of another replication mode: both peer workers stop with a
	 * clear message, this one from the flag, the sender from our answer,
	 * which carries our mode.
	 */
	mismatch = (m.note.replication != zk_replication);
	if (mismatch)
	{
		LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
		if (ZkShmem->mode_mismatch_from == 0)
		{
			ZkShmem->mode_mismatch_from = m.note.from;
			ZkShmem->mode_mismatch_mode = m.note.replication;
		}
		LWLockRelease(ZkShmem->state_lock);
	}

	if (!callback_registered)
	{
		RegisterXactCallback(peer_xact_callback, NULL);
		callback_registered = true;
	}
	/* the sender waits for this commit; it must be durable */
	ForceSyncCommit();

	/* every message tells us the sender's state */
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->inbox[from] = m.note;
	ZkShmem->inbox_seq[from]++;
	ZkPeerStatusHeard(from, &m.note);
	LWLockRelease(ZkShmem->state_lock);

	memset(&a, 0, sizeof(a));
	switch (mismatch ? ZK_MSG_NOTIFICATION : m.type)
	{
		case ZK_MSG_LEADERINFO:
			on_leaderinfo(&m, &a);
			break;
		case ZK_MSG_APPEND:
			on_append(&m, &a);
			break;
		case ZK_MSG_NEWLEADER:
			on_newleader(&m, &a);
			break;
		case ZK_MSG_SNAP:
			if (following(m.note.from))
			{
				LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
				ZkShmem->snap_from = m.note.from;
				ZkShmem->snap_epoch = m.epoch;
				LWLockRelease(ZkShmem->state_lock);
				a.ok = true;
			}
			break;
		case ZK_MSG_REQUESTS:
			on_requests(&m, m.note.from, &a);
			break;
		case ZK_MSG_PING:
			on_ping(&m, from, &a);
			break;
		case ZK_MSG_SYNC:
			a.ok = leading_epoch(m.epoch, true);
			break;
		case ZK_MSG_NOTIFICATION:
			a.ok = !mismatch;
			break;
		case ZK_MSG_CANCOMMIT:
			on_cancommit(&m, &a);
			break;
	}
	if (ZkShmem->peer_latch)
		SetLatch(ZkShmem->peer_latch);

	/* fields not filled by a handler: this server's published position */
	if (a.last_logged == 0)
		a.last_logged = (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid);
	if (a.committed == 0)
		a.committed = (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);
	if (a.applied == 0)
		a.applied = (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid);
	if (a.accepted_epoch == 0)
		a.accepted_epoch = (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch);
	if (a.current_epoch == 0)
		a.current_epoch = (int64) pg_atomic_read_u64(&ZkShmem->current_epoch);

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	if (ZkShmem->have_notification)
		a.note = ZkShmem->my_notification;
	else
	{
		a.note.from = zk_myid;
		a.note.state = ZK_STATE_LOOKING;
		a.note.vote.leader = -1;
	}
	a.note.replication = (int8) zk_replication;
	LWLockRelease(ZkShmem->state_lock);

	initStringInfo(&out);
	ZkEncodePeerAnswer(&out, &a);
	result = palloc(VARHDRSZ + out.len);
	SET_VARSIZE(result, VARHDRSZ + out.len);
	memcpy(VARDATA(result), out.data, out.len);
	PG_RETURN_BYTEA_P(result);
}

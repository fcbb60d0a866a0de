/*-------------------------------------------------------------------------
 *
 * quorum_peer.c
 *	  The quorum peer worker (ZooKeeper's QuorumPeer): the server's state
 *	  machine and, while this server leads, the pipeline that turns queued
 *	  requests into logged, committed txns.
 *
 * Standalone (zkpg.servers empty) is an ensemble of one that always
 * leads.  Besides the pipeline, the leader runs the session tracker
 * (sessions whose holder is gone or stopped expire after their timeout)
 * and the container manager (empty containers and expired TTL nodes are
 * deleted), both by submitting ordinary txns.
 *
 *
 * 1. Start: bump the durable epoch (acceptedEpoch = currentEpoch = old +
 *	  1) so that the zxids of this run are above every zxid logged before.
 * 2. Recover: everything logged is committed (the quorum is this server);
 *	  wait until the applier has applied it, so that the request processor
 *	  reads a tree that reflects the whole log.
 * 3. Close every session this server owned: their backends died with the
 *	  previous run of the server.
 * 4. Serve: take a batch off the request ring, turn each request into a
 *	  txn (prep_processor.c), append the batch to the log in one
 *	  transaction committed synchronously (one WAL flush per batch), then
 *	  publish the new committed zxid and wake the applier.  Requests that
 *	  arrive during the flush form the next batch: group commit.
 *
 * IDENTIFICATION
 *	  src/quorum_peer.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker.h"
#include "election.h"
#include "peer_transport.h"
#include "quorum_config.h"
#include "datatree.h"
#include "prep_processor.h"
#include "quorum_peer.h"
#include "request_queue.h"
#include "shmem.h"
#include "test_hooks.h"
#include "txn_codec.h"
#include "txnlog.h"
#include "zkpg.h"

#define PEER_BATCH_REQUESTS 1000
#define PEER_BATCH_BYTES	(8 * 1024 * 1024)

static int64 current_epoch = 0;
static uint32 zxid_counter = 0;

static void peer_new_epoch(void);
static void peer_recover(void);
static void peer_close_owned_sessions(void);
static void peer_process_batch(List *requests);
static void peer_set_state(ZkServerState state, bool serving);
static StringInfo encode_server_request(ZkRecord *req);

static TimestampTz last_container_check = 0;

/* ensemble */
ZkQuorumConfig ZkQuorum;
static ZkElection election;
static ZkNotification my_note;
static int64 logicalclock = 0;
static uint64 inbox_seen[ZK_MAX_PEERS];

static void ensemble_main(void) pg_attribute_noreturn();
static void ensemble_look(void);
static void rejoin_after_snap(void);
static void begin_new_role(void);
static void two_phase_look(void);
static void check_two_phase_config(void);
static void load_position(void);

static void
peer_set_state(ZkServerState state, bool serving)
{
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkSetServingLocked(state, serving);
	ZkShmem->epoch = current_epoch;
	ZkShmem->leader_id = serving ? zk_myid : -1;
	LWLockRelease(ZkShmem->state_lock);
}

/*
 * A new epoch, durable before any zxid of it is used.
 */
static void
peer_new_epoch(void)
{
	int64		accepted;
	int64		current;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	accepted = ZkLogGetState(ZK_STATE_ACCEPTED_EPOCH);
	current = ZkLogGetState(ZK_STATE_CURRENT_EPOCH);
	current_epoch = Max(Max(accepted, current),
						ZK_ZXID_EPOCH(ZkLogLastZxid())) + 1;
	ZkLogSetState(ZK_STATE_ACCEPTED_EPOCH, current_epoch);
	ZkLogSetState(ZK_STATE_CURRENT_EPOCH, current_epoch);
	PopActiveSnapshot();
	CommitTransactionCommand();
	zxid_counter = 0;
}

/*
 * Everything logged is committed; wait until it is applied.
 */
static void
peer_recover(void)
{
	ZkZxid		last;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	last = ZkLogLastZxid();
	PopActiveSnapshot();
	CommitTransactionCommand();

	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) last);
	pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) last);

	for (;;)
	{
		bool		ready;

		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		ready = ZkShmem->applier_ready;
		LWLockRelease(ZkShmem->state_lock);
		if (ready && (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid) >= last)
			break;
		if (ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		ZkWorkerCheckSignals();
	}
	elog(LOG, "zkpg recovered to zxid 0x%llx, new epoch %lld",
		 (unsigned long long) last, (long long) current_epoch);
}

/*
 * The backends of the previous run are gone: close their sessions,
 * through the pipeline like any closeSession.
 */
static void
peer_close_owned_sessions(void)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *ids;
	List	   *requests = NIL;
	ListCell   *lc;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	ZkPrepInit(ZkTreeMain());
	ids = ZkPrepSessionsOwnedBy(zk_myid);
	foreach(lc, ids)
	{
		MemoryContext old = MemoryContextSwitchTo(caller);
		ZkRecord	req;
		StringInfo	buf = makeStringInfo();

		memset(&req, 0, sizeof(req));
		req.session_id = ZK_SERVER_SESSION;
		req.target_session = *(int64 *) lfirst(lc);
		req.type = ZK_OP_CLOSESESSION;
		req.auth.superuser = true;
		ZkEncodeRequest(buf, &req);
		requests = lappend(requests, buf);
		MemoryContextSwitchTo(old);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);

	if (requests != NIL)
	{
		elog(LOG, "zkpg closing %d sessions left by the previous run", list_length(requests));
		peer_process_batch(requests);
	}
}

/*
 * Requests -> txns -> log, committed durably as one batch; zxids are
 * (epoch, ++*counter).  propose, if given, sees the txns before they are
 * logged here: the leader sends them to the learners first, so that their
 * log writes overlap ours.  Returns the last zxid logged, 0 if none.
 */
ZkZxid
ZkPeerProcessBatch(List *requests, int64 epoch, uint32 *counter,
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

/* standalone: what is logged is committed */
static void
peer_process_batch(List *requests)
{
	ZkZxid		last;

	/* never let the counter wrap into the next epoch */
	ZkTestTakeCounterJump(&zxid_counter);
	if ((uint64) zxid_counter + (uint64) list_length(requests) >= (uint64) PG_UINT32_MAX)
		peer_new_epoch();
	last = ZkPeerProcessBatch(requests, current_epoch, &zxid_counter, NULL, NULL, true);
	if (last != 0)
	{
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) last);
		if (ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
	}
}

static StringInfo
encode_server_request(ZkRecord *req)
{
	StringInfo	buf = makeStringInfo();

	req->auth.superuser = true;
	ZkEncodeRequest(buf, req);
	return buf;
}

/*
 * Is the backend holding this session alive and running?  A stopped
 * process (SIGSTOP, a debugger) is a client that stopped heartbeating.
 */
bool
ZkSessionHolderAlive(int64 session_id)
{
	int			pid = ZkSessionHolderPid(session_id);
	char		path[64];
	char		buf[256];
	FILE	   *f;
	bool		alive = (pid != 0);

	if (!alive)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) != NULL)
	{
		char	   *close_paren = strrchr(buf, ')');

		if (close_paren != NULL && (close_paren[2] == 'T' || close_paren[2] == 't'))
			alive = false;
	}
	fclose(f);
	return alive;
}

/*
 * Once a tick, at the leader: touch the sessions whose holders here are
 * alive (learners' sessions are touched from their pings), expire the
 * others after their timeout, and now and then delete empty containers
 * and expired TTL nodes.  Returns the requests to submit.
 */
List *
ZkPeerHousekeeping(void)
{
	TimestampTz now = GetCurrentTimestamp();
	List	   *requests = NIL;
	ListCell   *lc;

	foreach(lc, ZkPrepSessionsOwnedBy(zk_myid))
	{
		int64		sid = *(int64 *) lfirst(lc);

		if (ZkSessionHolderAlive(sid))
			ZkPrepTouchSession(sid, now);
	}
	foreach(lc, ZkPrepExpiredSessions(now))
	{
		ZkRecord	req;

		memset(&req, 0, sizeof(req));
		req.session_id = ZK_SERVER_SESSION;
		req.type = ZK_OP_CLOSESESSION;
		req.target_session = *(int64 *) lfirst(lc);
		elog(LOG, "zkpg session 0x%016llx expired", (unsigned long long) req.target_session);
		requests = lappend(requests, encode_server_request(&req));
	}

	if (TimestampDifferenceExceeds(last_container_check, now, zk_container_check_ms))
	{
		MemoryContext caller = CurrentMemoryContext;
		List	   *ops;

		last_container_check = now;
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		MemoryContextSwitchTo(caller);
		ops = ZkTreeExpiredContainers(ZkTreeMain(), now);
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(caller);
		foreach(lc, ops)
		{
			ZkRecord	req;

			memset(&req, 0, sizeof(req));
			req.session_id = ZK_SERVER_SESSION;
			req.type = ZK_OP_DELETE;
			req.nops = 1;
			req.ops = lfirst(lc);
			requests = lappend(requests, encode_server_request(&req));
		}
	}
	return requests;
}

/*
 * Now and then, purge the log of txns applied here and below bound (the
 * leader passes what its synced learners have logged), but the last
 * zkpg.log_retain.
 */
void
ZkPeerPurgeLog(ZkZxid bound)
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

/*
 * A closeSession for each session this server owns whose backend is
 * gone: after a restart, those of the previous run.
 */
List *
ZkPeerStaleSessionCloses(void)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *requests = NIL;
	List	   *rows;
	ListCell   *lc;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	rows = ZkTreeSessions(ZkTreeMain());
	foreach(lc, rows)
	{
		ZkSessionRow *row = lfirst(lc);
		ZkRecord	req;
		MemoryContext old;

		if (row->owner != zk_myid || ZkSessionHolderAlive(row->session_id))
			continue;
		memset(&req, 0, sizeof(req));
		req.session_id = ZK_SERVER_SESSION;
		req.type = ZK_OP_CLOSESESSION;
		req.target_session = row->session_id;
		old = MemoryContextSwitchTo(caller);
		requests = lappend(requests, encode_server_request(&req));
		MemoryContextSwitchTo(old);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	return requests;
}

/*
 * The ensemble: this server's state machine (QuorumPeer.run).  Elections
 * are FastLeaderElection (election.c) over the peer transport; once a
 * leader is decided, leader.c or learner.c runs ZAB until the role ends,
 * and the server looks again.
 */
/*
 * A role ended: say LOOKING at once, with no vote, in our answers too, so
 * that our old note (LEADING, FOLLOWING) does not make a looking peer
 * follow a leader that is gone.  Our election then sends our vote.
 */
void
ZkPeerPublishRoleEnded(int64 epoch)
{
	my_note.state = ZK_STATE_LOOKING;
	my_note.vote.leader = -1;
	ZkPeerPublish(ZK_STATE_LOOKING, false, -1, epoch);
}

void
ZkPeerPublish(ZkServerState state, bool serving, int leader, int64 epoch)
{
	my_note.replication = (int8) zk_replication;
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->my_notification = my_note;
	ZkShmem->have_notification = true;
	ZkSetServingLocked(state, serving);
	ZkShmem->leader_id = leader;
	ZkShmem->epoch = epoch;
	LWLockRelease(ZkShmem->state_lock);
}

/* a message of this server: it carries our latest notification */
static void
encode_message(ZkPeerMsgType type, ZkPeerMessage *m, StringInfo buf)
{
	m->type = type;
	m->note = my_note;
	m->note.replication = (int8) zk_replication;
	initStringInfo(buf);
	ZkEncodePeerMessage(buf, m);
}

/*
 * Send a message of this server (it carries our latest notification);
 * the answer comes back from ZkPeerWait with tag = type | value << 8.
 */
bool
ZkPeerSend(int peer, ZkPeerMsgType type, int64 value, ZkPeerMessage *m)
{
	StringInfoData buf;
	bool		sent;

	encode_message(type, m, &buf);
	sent = ZkTransportSend(peer, &buf, (int64) type | (value << 8),
						   type == ZK_MSG_NOTIFICATION);
	pfree(buf.data);
	return sent;
}

/*
 * The same, with SQL around the call in one pipeline sync (2PC, 3PC:
 * BEGIN ... PREPARE TRANSACTION, COMMIT PREPARED ...).
 */
bool
ZkPeerSendWrapped(int peer, ZkPeerMsgType type, int64 value, ZkPeerMessage *m,
				  const char *sql_before, const char *sql_after)
{
	StringInfoData buf;
	bool		sent;

	encode_message(type, m, &buf);
	sent = ZkTransportSendWrapped(peer, &buf, (int64) type | (value << 8),
								  sql_before, sql_after);
	pfree(buf.data);
	return sent;
}

/*
 * An SQL statement alone; its answer comes back from ZkPeerWait as type
 * ZK_MSG_SQL with the first column of its first row in text ("" if none).
 */
bool
ZkPeerSendSql(int peer, int64 value, const char *sql)
{
	return ZkTransportSendWrapped(peer, NULL, (int64) ZK_MSG_SQL | (value << 8), sql, NULL);
}

/* an answer to one of our messages, or the news that it failed */
static void
collect_answer(int peer, int64 tag, const char *data, int len, void *arg)
{
	List	  **received = (List **) arg;
	ZkReceived *r = palloc0(sizeof(ZkReceived));

	r->peer = peer;
	r->type = (ZkPeerMsgType) (tag & 0xFF);
	r->value = tag >> 8;
	if (r->type == ZK_MSG_SQL)
	{
		r->answered = (data != NULL);
		if (data != NULL)
			r->text = pnstrdup(data, len);
		*received = lappend(*received, r);
		return;
	}
	if (data != NULL)
	{
		const char *reason = ZkDecodePeerAnswer(data, len, &r->answer);

		if (reason == NULL && r->answer.note.from != ZkQuorum.peers[peer].id)
			reason = "wrong sender";
		if (reason != NULL)
			elog(LOG, "zkpg ignored a malformed answer from server %d: %s",
				 ZkQuorum.peers[peer].id, reason);
		else
			r->answered = true;
	}
	if (r->answered)
	{
		LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
		if (r->answer.note.replication != zk_replication && ZkShmem->mode_mismatch_from == 0)
		{
			ZkShmem->mode_mismatch_from = r->answer.note.from;
			ZkShmem->mode_mismatch_mode = r->answer.note.replication;
		}
		ZkPeerStatusHeard(peer, &r->answer.note);
		LWLockRelease(ZkShmem->state_lock);
	}
	*received = lappend(*received, r);
}

/*
 * Wait for answers and messages.  Returns the answers (and failed calls)
 * as ZkReceived, and the notifications peers sent us since the last call
 * as ZkReceived of type ZK_MSG_NOTIFICATION with answered = false and
 * the note in answer.note.
 */
List *
ZkPeerWait(long timeout_ms)
{
	List	   *received = NIL;
	int			i;
	int			mismatch_from;
	int8		mismatch_mode;

	ZkTransportWait(timeout_ms, collect_answer, &received);
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	for (i = 0; i < ZkQuorum.npeers; i++)
	{
		ZkShmem->peer_status[i].connected = ZkTransportConnected(i);
		if (ZkShmem->inbox_seq[i] != inbox_seen[i])
		{
			ZkReceived *r = palloc0(sizeof(ZkReceived));

			r->peer = i;
			r->type = ZK_MSG_NOTIFICATION;
			r->inbox = true;
			r->answer.note = ZkShmem->inbox[i];
			inbox_seen[i] = ZkShmem->inbox_seq[i];
			received = lappend(received, r);
		}
	}
	mismatch_from = ZkShmem->mode_mismatch_from;
	mismatch_mode = ZkShmem->mode_mismatch_mode;
	LWLockRelease(ZkShmem->state_lock);
	if (mismatch_from != 0)
	{
		ereport(LOG,
				(errmsg("zkpg server %d uses zkpg.replication = \"%s\", server %d uses \"%s\"",
						mismatch_from, ZkReplicationName(mismatch_mode), zk_myid,
						ZkReplicationName(zk_replication)),
				 errdetail("Every peer of an ensemble must use the same replication; this server will not serve requests."),
				 errhint("Set the same zkpg.replication on every peer and restart them.")));
		ZkPeerStop(psprintf("zkpg.replication mismatch: server %d uses \"%s\", this server \"%s\"",
							mismatch_from, ZkReplicationName(mismatch_mode),
							ZkReplicationName(zk_replication)));
	}
	ZkWorkerCheckSignals();
	return received;
}

/*
 * A new role starts clean: drop every connection that carries a message
 * of the old role, failing it.  An idle connection, or one that carries
 * only election notifications, is as clean as a new one and is kept: a
 * new connection costs a backend start on the peer, and a failover would
 * wait for two of them (election, then sync).
 */
void
ZkPeerResetConnections(void)
{
	List	   *lost = NIL;
	int			i;

	for (i = 0; i < ZkQuorum.npeers; i++)
		if (i != ZkQuorum.my_index && ZkTransportCarriesWork(i))
			ZkTransportReset(i, collect_answer, &lost);
	list_free_deep(lost);
}

/* our durable position, as the election needs it */
static void
load_position(void)
{
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	current_epoch = ZkLogGetState(ZK_STATE_CURRENT_EPOCH);
	pg_atomic_write_u64(&ZkShmem->current_epoch, (uint64) current_epoch);
	pg_atomic_write_u64(&ZkShmem->accepted_epoch,
						(uint64) ZkLogGetState(ZK_STATE_ACCEPTED_EPOCH));
	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) ZkLogLastZxid());
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Before a new role: our position as the log has it, and, as a learner,
 * not synced with whichever leader comes next.
 */
static void
begin_new_role(void)
{
	load_position();
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->synced_epoch = 0;
	LWLockRelease(ZkShmem->state_lock);
}

/* LOOKING: run FastLeaderElection until it decides */
static void
ensemble_look(void)
{
	ZkPeerMessage m;
	TimestampTz last = GetCurrentTimestamp();
	TimestampTz last_sent;
	int			i;

	begin_new_role();
	ZkElectionStart(&election, &ZkQuorum, (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid),
					current_epoch, logicalclock);
	ZkElectionNotification(&election, &my_note);
	ZkPeerPublish(ZK_STATE_LOOKING, false, -1, current_epoch);
	memset(&m, 0, sizeof(m));
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (i != ZkQuorum.my_index)
			(void) ZkPeerSend(i, ZK_MSG_NOTIFICATION, 0, &m);
	last_sent = last;

	while (!election.decided)
	{
		List	   *received = ZkPeerWait(50);
		ListCell   *lc;
		bool		changed = false;
		TimestampTz now;

		foreach(lc, received)
		{
			ZkReceived *r = lfirst(lc);

			if (r->answered || r->inbox)
				changed |= ZkElectionReceive(&election, &r->answer.note);
		}
		now = GetCurrentTimestamp();
		ZkElectionAdvance(&election, (int) TimestampDifferenceMilliseconds(last, now));
		{
			bool		reachable[ZK_MAX_PEERS];

			for (i = 0; i < ZkQuorum.npeers; i++)
				reachable[i] = ZkTransportConnected(i);
			ZkElectionDecideIfUnanimous(&election, reachable);
		}
		last = now;
		if (changed || election.decided ||
			TimestampDifferenceExceeds(last_sent, now, 4 * 50))
		{
			ZkElectionNotification(&election, &my_note);
			ZkPeerPublish(election.decided ? election.result : ZK_STATE_LOOKING, false,
						  election.decided ? election.leader : -1, current_epoch);
			for (i = 0; i < ZkQuorum.npeers; i++)
				if (i != ZkQuorum.my_index)
					(void) ZkPeerSend(i, ZK_MSG_NOTIFICATION, 0, &m);
			last_sent = now;
		}
		list_free_deep(received);
	}
	logicalclock = election.logicalclock;
	ereport(LOG,
			(errmsg("zkpg server %d is %s; leader %d, election epoch %lld",
					zk_myid, ZkServerStateName(election.result), election.leader,
					(long long) logicalclock)));
}

/*
 * After installing its leader's snapshot, a learner follows that leader
 * again without an election, as ZooKeeper's follower goes on after a SNAP.
 * Electing anew instead let two would-be leaders of one moment take each
 * other's learners in turn, each SNAP sending its learner to the other,
 * so that neither gathered a quorum for as long as it went on.  The
 * leader must see that the learner's role ended to sync it anew at once
 * (leader.c: "rejoined"), so it is told LOOKING first.
 */
static void
rejoin_after_snap(void)
{
	ZkPeerMessage m;
	int			i;

	begin_new_role();
	memset(&m, 0, sizeof(m));
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (ZkQuorum.peers[i].id == election.leader)
			(void) ZkPeerSend(i, ZK_MSG_NOTIFICATION, 0, &m);
	ZkElectionNotification(&election, &my_note);
	ereport(LOG,
			(errmsg("zkpg server %d rejoins leader %d after installing its snapshot",
					zk_myid, election.leader)));
}

/*
 * The comparison modes need prepared transactions, and every participant
 * votes: observers have no place in them.
 */
static void
check_two_phase_config(void)
{
	int			i;

	if (max_prepared_xacts == 0)
	{
		ereport(LOG,
				(errmsg("zkpg.replication = \"%s\" needs prepared transactions, but max_prepared_transactions is 0",
						ZkReplicationName(zk_replication)),
				 errdetail("This server will not serve requests."),
				 errhint("Set max_prepared_transactions to at least 2 on every peer and restart the server.")));
		ZkPeerStop(psprintf("zkpg.replication = \"%s\" needs max_prepared_transactions > 0",
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
			ZkPeerStop(psprintf("zkpg.replication = \"%s\" does not support observers (server %d)",
								ZkReplicationName(zk_replication), ZkQuorum.peers[i].id));
		}
}

/*
 * 2PC and 3PC have no election: the participant with the lowest id
 * coordinates, always (the notes' model, single point of failure
 * included); the others follow it as learners follow a leader.
 */
static void
two_phase_look(void)
{
	int			coordinator = ZkQuorum.peers[0].id;
	int			i;

	for (i = 1; i < ZkQuorum.npeers; i++)
		coordinator = Min(coordinator, ZkQuorum.peers[i].id);
	load_position();
	if (coordinator != zk_myid)
	{
		/*
		 * Say LOOKING for two ticks, as an election would: a coordinator
		 * that still counts us as synced must see that we start over.
		 */
		TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 2 * zk_tick_ms);
		ZkPeerMessage m;

		my_note.state = ZK_STATE_LOOKING;
		my_note.vote.leader = coordinator;
		ZkPeerPublish(ZK_STATE_LOOKING, false, -1, current_epoch);
		for (i = 0; i < ZkQuorum.npeers; i++)
			if (ZkQuorum.peers[i].id == coordinator)
			{
				memset(&m, 0, sizeof(m));
				(void) ZkPeerSend(i, ZK_MSG_NOTIFICATION, 0, &m);
			}
		while (GetCurrentTimestamp() < until)
			list_free_deep(ZkPeerWait(Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), until))));
	}
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->synced_epoch = 0;
	LWLockRelease(ZkShmem->state_lock);
	memset(&election, 0, sizeof(election));
	election.decided = true;
	election.leader = coordinator;
	election.result = coordinator == zk_myid ? ZK_STATE_LEADING : ZK_STATE_FOLLOWING;
	my_note.state = election.result;
	my_note.vote.leader = coordinator;
	my_note.vote.zxid = (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid);
	my_note.vote.peer_epoch = current_epoch;
	ZkPeerPublish(election.result, false, coordinator, current_epoch);
	/* (and say so: it replaces a LOOKING not yet sent to a coordinator that was down) */
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (ZkQuorum.peers[i].id == coordinator && coordinator != zk_myid)
		{
			ZkPeerMessage m;

			memset(&m, 0, sizeof(m));
			(void) ZkPeerSend(i, ZK_MSG_NOTIFICATION, 0, &m);
		}
}

/*
 * Stay idle and never serve: a configuration the operator must fix.
 * zkpg.status says why (reason), as the log did.
 */
void
ZkPeerStop(const char *reason)
{
	peer_set_state(ZK_STATE_STARTING, false);
	ZkSetNotServingReason(reason, false);
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		ZkWorkerCheckSignals();
	}
}

static void
ensemble_main(void)
{
	if (zk_peer_roles == NULL || zk_peer_roles[0] == '\0')
		ereport(LOG,
				(errmsg("zkpg.peer_roles is not set: any superuser or member of zkpg_peer may speak for any server of the ensemble"),
				 errhint("Give each server a role of its own, in zkpg.peer_roles and in its zkpg.peer_conninfo.")));
	ZkWorkerWaitForExtension();
	ZkTransportInit(&ZkQuorum);
	memset(&my_note, 0, sizeof(my_note));
	my_note.from = zk_myid;
	my_note.state = ZK_STATE_LOOKING;
	my_note.vote.leader = -1;

	/* the tree must reflect the applied zxid before we take part */
	load_position();
	pg_atomic_write_u64(&ZkShmem->committed_zxid, 0);
	for (;;)
	{
		bool		ready;

		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		ready = ZkShmem->applier_ready;
		LWLockRelease(ZkShmem->state_lock);
		if (ready)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		ZkWorkerCheckSignals();
	}
	pg_atomic_write_u64(&ZkShmem->committed_zxid,
						pg_atomic_read_u64(&ZkShmem->applied_zxid));

	for (;;)
	{
		bool		snapped;

		if (zk_replication == ZK_REPLICATION_ZAB)
			ensemble_look();
		else
			two_phase_look();
		if (election.result == ZK_STATE_LEADING)
			ZkLead(&election);
		else
		{
			/* a SNAP ends the learner's role; it rejoins the same leader */
			do
			{
				snapped = ZkLearn(&election);
				if (snapped && zk_replication == ZK_REPLICATION_ZAB)
					rejoin_after_snap();
			} while (snapped && zk_replication == ZK_REPLICATION_ZAB);
		}
		ZkPausePoint("role_ended");
	}
}

void
ZkQuorumPeerMain(Datum arg)
{
	MemoryContext batch_cxt;
	TimestampTz next_tick;

	ZkWorkerStart("zkpg quorum peer");

	/* the log is what makes a write durable */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->peer_latch = MyLatch;
	LWLockRelease(ZkShmem->state_lock);
	peer_set_state(ZK_STATE_STARTING, false);

	/* a bad configuration is logged once; the worker then stays idle */
	{
		const char *reason = ZkParseQuorumConfig(zk_servers, zk_myid, &ZkQuorum);

		if (reason != NULL)
		{
			ereport(LOG,
					(errmsg("zkpg configuration is invalid: %s", reason),
					 errdetail("zkpg.servers = \"%s\", zkpg.myid = %d; this server will not serve requests.",
							   zk_servers, zk_myid),
					 errhint("Fix the configuration and restart the server.")));
			ZkPeerStop(psprintf("invalid configuration: %s", reason));
		}
		if (ZkQuorum.my_index >= 0 && zk_replication != ZK_REPLICATION_ZAB)
			check_two_phase_config();
		if (ZkQuorum.my_index >= 0)
			ensemble_main();
	}

	ZkWorkerWaitForExtension();
	peer_new_epoch();
	peer_recover();
	peer_close_owned_sessions();
	peer_set_state(ZK_STATE_STANDALONE, true);
	elog(LOG, "zkpg serving as a standalone server, epoch %lld", (long long) current_epoch);

	batch_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg peer batch",
									  ALLOCSET_DEFAULT_SIZES);
	next_tick = GetCurrentTimestamp();
	for (;;)
	{
		List	   *requests;
		MemoryContext old;
		TimestampTz now;

		ZkWorkerCheckSignals();
		old = MemoryContextSwitchTo(batch_cxt);
		requests = ZkTakeRequests(PEER_BATCH_REQUESTS, PEER_BATCH_BYTES);
		if (requests != NIL)
			peer_process_batch(requests);
		now = GetCurrentTimestamp();
		if (now >= next_tick)
		{
			List	   *chores = ZkPeerHousekeeping();

			if (chores != NIL)
				peer_process_batch(chores);
			ZkPeerPurgeLog(PG_INT64_MAX);
			next_tick = TimestampTzPlusMilliseconds(now, zk_tick_ms);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_cxt);
		if (requests != NIL)
			continue;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(TimestampDifferenceMilliseconds(now, next_tick), 1),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

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
#include "request_queue.h"
#include "shmem.h"
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
static void peer_housekeeping(void);
static bool session_holder_alive(int64 session_id);
static StringInfo encode_server_request(ZkRecord *req);

static TimestampTz last_container_check = 0;

/* ensemble */
static ZkQuorumConfig qconfig;
static ZkElection election;
static int64 logicalclock = 0;
static uint64 inbox_seen[ZK_MAX_PEERS];

static void ensemble_main(void) pg_attribute_noreturn();
static void ensemble_publish(const ZkNotification *n, ZkServerState state, int leader);
static void ensemble_broadcast(const ZkNotification *n, int only);
static void ensemble_answer(int peer, const char *data, int len, void *arg);
static List *ensemble_wait(long timeout_ms);
static void ensemble_look(void);
static void ensemble_hold(void);

static void
peer_set_state(ZkServerState state, bool serving)
{
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->state = state;
	ZkShmem->serving = serving;
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
	ZkPrepInit();
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
 * Requests -> txns -> log, committed durably as one batch.
 */
static void
peer_process_batch(List *requests)
{
	MemoryContext caller = CurrentMemoryContext;
	int			n = list_length(requests);
	ZkZxid	   *zxids = palloc(sizeof(ZkZxid) * n);
	StringInfo *txns = palloc(sizeof(StringInfo) * n);
	int			ntxns = 0;
	TimestampTz now;
	ListCell   *lc;

	/* never let the counter wrap into the next epoch */
	if (zxid_counter > UINT32_MAX - (uint32) n - 1)
		peer_new_epoch();

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
		zxids[ntxns] = ZK_ZXID(current_epoch, ++zxid_counter);
		ZkPrepRequest(&req, zxids[ntxns], now, &txn);
		txns[ntxns] = makeStringInfo();
		ZkEncodeTxn(txns[ntxns], &txn);
		ntxns++;
	}
	if (ntxns > 0)
		ZkLogAppend(ntxns, zxids, txns);

	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);

	if (ntxns > 0)
	{
		pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) zxids[ntxns - 1]);
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) zxids[ntxns - 1]);
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
static bool
session_holder_alive(int64 session_id)
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
 * Once a tick: touch the sessions whose holders are alive, expire the
 * others after their timeout, and now and then delete empty containers
 * and expired TTL nodes.
 */
static void
peer_housekeeping(void)
{
	TimestampTz now = GetCurrentTimestamp();
	List	   *requests = NIL;
	ListCell   *lc;

	foreach(lc, ZkPrepSessionsOwnedBy(zk_myid))
	{
		int64		sid = *(int64 *) lfirst(lc);

		if (session_holder_alive(sid))
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
	if (requests != NIL)
		peer_process_batch(requests);
}

/*
 * The ensemble: this server's state machine (QuorumPeer.run).  Elections
 * are FastLeaderElection (election.c) over the peer transport; once a
 * leader is decided, followers ping it every tick and go back to LOOKING
 * when it stays silent for zkpg.sync_limit ticks, and a leader steps down
 * when it has not heard from a quorum for as long.  Replication (ZAB's
 * discovery, synchronization and broadcast) is not in this version: an
 * ensemble member elects, but does not serve requests (ZK004).
 */
static void
ensemble_publish(const ZkNotification *n, ZkServerState state, int leader)
{
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->my_notification = *n;
	ZkShmem->have_notification = true;
	ZkShmem->state = state;
	ZkShmem->serving = false;
	ZkShmem->leader_id = leader;
	ZkShmem->epoch = current_epoch;
	LWLockRelease(ZkShmem->state_lock);
}

/* send n to every peer, or to peer index only */
static void
ensemble_broadcast(const ZkNotification *n, int only)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	ZkEncodeNotification(&buf, n);
	for (i = 0; i < qconfig.npeers; i++)
		if (i != qconfig.my_index && (only < 0 || only == i))
			ZkTransportSend(i, &buf);
	pfree(buf.data);
}

/* an answer to one of our messages: the peer's own notification */
static void
ensemble_answer(int peer, const char *data, int len, void *arg)
{
	List	  **received = (List **) arg;
	ZkNotification *n = palloc(sizeof(ZkNotification));
	const char *reason = ZkDecodeNotification(data, len, n);

	if (reason != NULL || n->from != qconfig.peers[peer].id)
	{
		elog(LOG, "zkpg ignored a malformed answer from server %d: %s",
			 qconfig.peers[peer].id, reason ? reason : "wrong sender");
		return;
	}
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->peer_status[peer].heard = true;
	ZkShmem->peer_status[peer].state = n->state;
	ZkShmem->peer_status[peer].leader = n->vote.leader;
	ZkShmem->peer_status[peer].last_contact = GetCurrentTimestamp();
	LWLockRelease(ZkShmem->state_lock);
	*received = lappend(*received, n);
}

/*
 * Wait for answers and messages; return every notification received.
 */
static List *
ensemble_wait(long timeout_ms)
{
	List	   *received = NIL;
	int			i;

	ZkTransportWait(timeout_ms, ensemble_answer, &received);
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	for (i = 0; i < qconfig.npeers; i++)
	{
		ZkShmem->peer_status[i].connected = ZkTransportConnected(i);
		if (ZkShmem->inbox_seq[i] != inbox_seen[i])
		{
			ZkNotification *n = palloc(sizeof(ZkNotification));

			*n = ZkShmem->inbox[i];
			inbox_seen[i] = ZkShmem->inbox_seq[i];
			received = lappend(received, n);
		}
	}
	LWLockRelease(ZkShmem->state_lock);
	ZkWorkerCheckSignals();
	return received;
}

/* LOOKING: run FastLeaderElection until it decides */
static void
ensemble_look(void)
{
	ZkNotification n;
	TimestampTz last = GetCurrentTimestamp();
	TimestampTz last_sent;

	ZkElectionStart(&election, &qconfig, (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid),
					current_epoch, logicalclock);
	ZkElectionNotification(&election, &n);
	ensemble_publish(&n, ZK_STATE_LOOKING, -1);
	ensemble_broadcast(&n, -1);
	last_sent = last;

	while (!election.decided)
	{
		List	   *received = ensemble_wait(50);
		ListCell   *lc;
		bool		changed = false;
		TimestampTz now;

		foreach(lc, received)
			changed |= ZkElectionReceive(&election, lfirst(lc));
		now = GetCurrentTimestamp();
		ZkElectionAdvance(&election, (int) TimestampDifferenceMilliseconds(last, now));
		last = now;
		if (changed || election.decided ||
			TimestampDifferenceExceeds(last_sent, now, 4 * 50))
		{
			ZkElectionNotification(&election, &n);
			ensemble_publish(&n, election.decided ? election.result : ZK_STATE_LOOKING,
							 election.decided ? election.leader : -1);
			ensemble_broadcast(&n, -1);
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
 * FOLLOWING, OBSERVING or LEADING: hold the role while the leader, or a
 * quorum, is heard from within zkpg.sync_limit ticks.
 */
static void
ensemble_hold(void)
{
	ZkNotification n;
	int			leader_index = -1;
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz leader_seen = start;
	long		limit_ms = (long) zk_sync_limit * zk_tick_ms;
	int			i;

	ZkElectionNotification(&election, &n);
	for (i = 0; i < qconfig.npeers; i++)
		if (qconfig.peers[i].id == election.leader)
			leader_index = i;

	for (;;)
	{
		List	   *received;
		ListCell   *lc;
		TimestampTz now;

		if (election.result != ZK_STATE_LEADING)
			ensemble_broadcast(&n, leader_index);	/* the ping */
		received = ensemble_wait(zk_tick_ms);
		now = GetCurrentTimestamp();

		if (election.result != ZK_STATE_LEADING)
		{
			foreach(lc, received)
			{
				ZkNotification *m = lfirst(lc);

				if (m->from != election.leader)
					continue;
				if (m->state != ZK_STATE_LEADING || m->vote.leader != election.leader)
				{
					elog(LOG, "zkpg leader %d no longer leads", election.leader);
					return;
				}
				leader_seen = now;
			}
			if (TimestampDifferenceExceeds(leader_seen, now, limit_ms))
			{
				elog(LOG, "zkpg heard nothing from leader %d for %ld ms", election.leader, limit_ms);
				return;
			}
		}
		else if (TimestampDifferenceExceeds(start, now, (long) zk_init_limit * zk_tick_ms))
		{
			int			voters = qconfig.peers[qconfig.my_index].observer ? 0 : 1;

			LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
			for (i = 0; i < qconfig.npeers; i++)
			{
				ZkPeerStatus *st = &ZkShmem->peer_status[i];

				if (i != qconfig.my_index && !qconfig.peers[i].observer && st->heard &&
					st->state == ZK_STATE_FOLLOWING && st->leader == zk_myid &&
					!TimestampDifferenceExceeds(st->last_contact, now, limit_ms))
					voters++;
			}
			LWLockRelease(ZkShmem->state_lock);
			if (!ZkIsQuorum(&qconfig, voters))
			{
				elog(LOG, "zkpg leader %d lost its quorum; stepping down", zk_myid);
				return;
			}
		}
		list_free_deep(received);
	}
}

static void
ensemble_main(void)
{
	ZkWorkerWaitForExtension();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	current_epoch = ZkLogGetState(ZK_STATE_CURRENT_EPOCH);
	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) ZkLogLastZxid());
	PopActiveSnapshot();
	CommitTransactionCommand();

	ZkTransportInit(&qconfig);
	for (;;)
	{
		ensemble_look();
		ensemble_hold();
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
		const char *reason = ZkParseQuorumConfig(zk_servers, zk_myid, &qconfig);

		if (reason != NULL)
		{
			ereport(LOG,
					(errmsg("zkpg configuration is invalid: %s", reason),
					 errdetail("zkpg.servers = \"%s\", zkpg.myid = %d; this server will not serve requests.",
							   zk_servers, zk_myid),
					 errhint("Fix the configuration and restart the server.")));
			for (;;)
			{
				(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
				ResetLatch(MyLatch);
				ZkWorkerCheckSignals();
			}
		}
		if (qconfig.my_index >= 0)
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
			peer_housekeeping();
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

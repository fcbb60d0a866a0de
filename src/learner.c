/*-------------------------------------------------------------------------
 *
 * learner.c
 *	  The FOLLOWING and OBSERVING roles (ZooKeeper's Learner, Follower and
 *	  Observer), as this server's peer worker runs them.
 *
 * The leader drives synchronization and broadcast into this server's
 * peer_message backends (peer_functions.c): they log what it sends and
 * take its commit point.  The worker's part:
 *
 * 1. Every tick, PING the leader with the sessions this server's backends
 *	  hold and that are alive and running, so that the leader's session
 *	  tracker keeps them; the answer says whether the leader still leads.
 *	  Silence for zkpg.sync_limit ticks, or a leader that says it no
 *	  longer leads, ends the role.
 * 2. Once this server acked the leader's NEWLEADER (synced_epoch), it
 *	  serves: requests of local backends are forwarded to the leader in
 *	  batches (REQUESTS), pipelined; their results come back as the
 *	  committed txns this server's applier applies.
 * 3. zk_sync: a SYNC message asks the leader for its committed zxid.
 * 4. SNAP: when the leader asks, copy its tree (snap.c), then look
 *	  again, and rejoin with the new position.
 * 5. As a 3PC participant, run its timeouts each tick (twophase.c).
 *
 * IDENTIFICATION
 *	  src/learner.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "catalog/pg_type.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker.h"
#include "internal_sql.h"
#include "peer_messages.h"
#include "peer_transport.h"
#include "quorum_config.h"
#include "quorum_peer.h"
#include "replication.h"
#include "request_queue.h"
#include "shmem.h"
#include "session_tracker.h"
#include "snap.h"
#include "sync_processor.h"
#include "txnlog.h"
#include "zkpg.h"

#define LEARNER_BATCH_REQUESTS	1000
#define LEARNER_BATCH_BYTES		(4 * 1024 * 1024)
#define MAX_PENDING_MESSAGES	8

static int	leader_index;
static int64 follow_epoch;

static void send_ping(void);
static void send_requests(List *requests);
static bool forward_requests(void);
static int64 synced_epoch(void);

static int64
synced_epoch(void)
{
	int64		e;

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	e = ZkShmem->synced_epoch;
	LWLockRelease(ZkShmem->state_lock);
	return e;
}

/* the sessions our backends hold, alive and running */
static void
send_ping(void)
{
	ZkPeerMessage m;
	int64	   *alive = palloc(sizeof(int64) * ZK_MAX_TOUCHES);
	int			n = ZkSessionsAliveHere(alive, ZK_MAX_TOUCHES);

	memset(&m, 0, sizeof(m));
	m.epoch = follow_epoch;
	m.n = n;
	m.touches = alive;
	(void) ZkPeerSend(leader_index, ZK_MSG_PING, 0, &m);
	pfree(alive);
}

/* send encoded requests (StringInfo) to the leader, in one message */
static void
send_requests(List *requests)
{
	ZkPeerMessage m;
	ListCell   *lc;
	int			n = 0;

	memset(&m, 0, sizeof(m));
	m.epoch = follow_epoch;
	m.items = palloc(sizeof(char *) * list_length(requests));
	m.lens = palloc(sizeof(int32) * list_length(requests));
	foreach(lc, requests)
	{
		StringInfo	s = lfirst(lc);

		m.items[n] = s->data;
		m.lens[n] = s->len;
		n++;
	}
	m.n = n;

	/*
	 * Taken only while the connection is up, so this fails only if it
	 * broke just now.  The requests are lost then, and their backends
	 * learn at once that the outcome is unknown (ZK004), as ZooKeeper's
	 * clients do on a lost connection, rather than at zkpg.request_timeout.
	 */
	if (!ZkPeerSend(leader_index, ZK_MSG_REQUESTS, 0, &m))
	{
		elog(LOG, "zkpg could not forward %d requests to leader", n);
		ZkFailWaitingRequests();
	}
}

/*
 * Forward a batch of queued requests; true if there was one.  None is
 * taken while our own connection to the leader is not up: a learner may
 * be synced (over the leader's connection to us) before it is, as after
 * a restart of the leader, and requests sent into a connection that is
 * not up would be lost.
 */
static bool
forward_requests(void)
{
	List	   *requests;

	if (!ZkTransportConnected(leader_index) ||
		ZkTransportPending(leader_index) >= MAX_PENDING_MESSAGES)
		return false;
	requests = ZkTakeRequests(LEARNER_BATCH_REQUESTS, LEARNER_BATCH_BYTES);
	if (requests == NIL)
		return false;
	send_requests(requests);
	return true;
}

/*
 * Follow (or observe) election->leader until the role ends.  True when it
 * ended because this server installed the leader's snapshot (it rejoins
 * that leader then, quorum_peer.c), false otherwise.
 */
bool
ZkLearn(ZkElection *election)
{
	MemoryContext loop_cxt;
	TimestampTz role_start = GetCurrentTimestamp();
	TimestampTz leader_seen = role_start;
	TimestampTz next_tick = 0;
	long		limit_ms = (long) zk_sync_limit * zk_tick_ms;
	ZkServerState role = election->result;
	bool		serving = false;
	static bool closed_stale = false;
	uint64		sync_sent = 0;
	bool		was_connected = false;
	bool		snapped = false;
	int			i;

	leader_index = -1;
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (ZkQuorum.peers[i].id == election->leader)
			leader_index = i;
	if (leader_index < 0)
		return false;
	follow_epoch = 0;
	ZkPeerResetConnections();
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->snap_from = 0;
	LWLockRelease(ZkShmem->state_lock);
	ZkPeerPublish(role, false, election->leader, (int64) pg_atomic_read_u64(&ZkShmem->current_epoch));
	/* nothing queued under an earlier role may be decided in this one */
	ZkDiscardRequests();
	ZkFailWaitingRequests();

	loop_cxt = AllocSetContextCreate(CurrentMemoryContext, "zkpg learner loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(loop_cxt);
		List	   *received;
		ListCell   *lc;
		TimestampTz now;
		bool		busy = false;
		bool		leader_left = false;
		int64		synced;
		int			snap_from;
		int64		snap_epoch;

		now = GetCurrentTimestamp();
		if (now >= next_tick)
		{
			if (serving)
				ZkSyncPurgeLog(PG_INT64_MAX);
			/* 3PC: a participant's timeouts run whatever the coordinator does */
			if (ZkReplication()->participant_tick)
				ZkReplication()->participant_tick(election->leader);
			send_ping();
			next_tick = TimestampTzPlusMilliseconds(now, zk_tick_ms);
		}

		/* synced with the leader of this epoch: serve */
		synced = synced_epoch();
		if (!serving && synced > 0 &&
			synced == (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch))
		{
			serving = true;
			follow_epoch = synced;
			ZkPeerPublish(role, true, election->leader, follow_epoch);
			elog(LOG, "zkpg server %d serves as %s of leader %d, epoch %lld",
				 zk_myid, ZkServerStateName(role), election->leader, (long long) follow_epoch);
		}
		else if (serving && synced != follow_epoch)
		{
			elog(LOG, "zkpg server %d left epoch %lld", zk_myid, (long long) follow_epoch);
			leader_left = true;
		}
		if (follow_epoch == 0)
			follow_epoch = (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch);

		if (serving)
		{
			if (!closed_stale && ZkTransportConnected(leader_index))
			{
				List	   *closes = ZkSessionTrackerStaleCloses();

				closed_stale = true;
				if (closes != NIL)
					send_requests(closes);
			}
			busy = forward_requests();

			/* zk_sync: ask the leader what it has committed */
			{
				uint64		requested;

				LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
				requested = ZkShmem->sync_requested;
				LWLockRelease(ZkShmem->state_lock);
				if (requested > sync_sent)
				{
					ZkPeerMessage m;

					memset(&m, 0, sizeof(m));
					m.epoch = follow_epoch;
					if (ZkPeerSend(leader_index, ZK_MSG_SYNC, (int64) requested, &m))
						sync_sent = requested;
				}
			}
		}

		received = ZkPeerWait(busy ? 0 : Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next_tick)));
		now = GetCurrentTimestamp();
		foreach(lc, received)
		{
			ZkReceived *r = lfirst(lc);

			/* answers to the election's notifications are the election's */
			if (r->inbox || r->peer != leader_index || r->type == ZK_MSG_NOTIFICATION)
				continue;
			/* a SYNC the leader could not answer is asked again */
			if (r->type == ZK_MSG_SYNC && (!r->answered || !r->answer.ok))
				sync_sent = 0;

			/*
			 * Forwarded requests the leader refused (it no longer leads
			 * our epoch, or its queue stayed full) are lost: their
			 * backends learn at once that the outcome is unknown, instead
			 * of waiting for zkpg.request_timeout.
			 */
			if (r->type == ZK_MSG_REQUESTS && r->answered && !r->answer.ok)
			{
				elog(LOG, "zkpg leader %d refused forwarded requests", election->leader);
				ZkFailWaitingRequests();
			}
			if (!r->answered)
			{
				/* a broken connection: the leader is gone, as ZooKeeper's
				 * Follower concludes on a socket error */
				if (!ZkTransportConnected(leader_index))
				{
					elog(LOG, "zkpg lost leader %d", election->leader);
					leader_left = true;
				}
				continue;
			}
			/*
			 * Not synced yet, our leader may still be finalizing the vote
			 * that elects it (we decided first): wait, as ZooKeeper's
			 * Follower keeps trying to connect, within init_limit.
			 */
			if (!serving && r->answer.note.state == ZK_STATE_LOOKING &&
				r->answer.note.vote.leader == election->leader)
				continue;
			if (r->answer.note.state != ZK_STATE_LEADING ||
				r->answer.note.vote.leader != election->leader)
			{
				elog(LOG, "zkpg leader %d no longer leads", election->leader);
				leader_left = true;
				continue;
			}
			leader_seen = now;
			if (r->type == ZK_MSG_SYNC && r->answer.ok)
			{
				LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
				if ((uint64) r->value > ZkShmem->sync_answered)
				{
					ZkShmem->sync_answered = (uint64) r->value;
					ZkShmem->sync_zxid = Max(ZkShmem->sync_zxid, r->answer.committed);
				}
				LWLockRelease(ZkShmem->state_lock);
				ConditionVariableBroadcast(&ZkShmem->sync_cv);
			}
		}
		/* the connection broke (EOF, reset): the leader is gone */
		if (ZkTransportConnected(leader_index))
			was_connected = true;
		else if (was_connected && !leader_left)
		{
			elog(LOG, "zkpg lost its connection to leader %d", election->leader);
			leader_left = true;
		}
		if (TimestampDifferenceExceeds(leader_seen, now, limit_ms))
		{
			elog(LOG, "zkpg heard nothing from leader %d for %ld ms", election->leader, limit_ms);
			leader_left = true;
		}
		else if (!serving &&
				 TimestampDifferenceExceeds(role_start, now, (long) zk_init_limit * zk_tick_ms))
		{
			elog(LOG, "zkpg leader %d did not sync this server within zkpg.init_limit ticks",
				 election->leader);
			leader_left = true;
		}

		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		snap_from = ZkShmem->snap_from;
		snap_epoch = ZkShmem->snap_epoch;
		LWLockRelease(ZkShmem->state_lock);

		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);
		if (snap_from == election->leader)
		{
			ZkPeerPublish(role, false, election->leader, follow_epoch);
			snapped = ZkSnapInstall(&ZkQuorum.peers[leader_index], snap_epoch);
			leader_left = true;
		}
		if (leader_left)
			break;
	}
	MemoryContextDelete(loop_cxt);
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->synced_epoch = 0;
	ZkShmem->snap_from = 0;
	LWLockRelease(ZkShmem->state_lock);
	ZkPeerPublishRoleEnded(follow_epoch);
	ZkDiscardRequests();
	ZkFailWaitingRequests();
	ZkPeerResetConnections();
	return snapped;
}

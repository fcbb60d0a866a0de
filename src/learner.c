/*-------------------------------------------------------------------------
 *
 * learner.c
 *	  The FOLLOWING and OBSERVING roles (ZooKeeper's Learner, Follower and
 *	  Observer), as this server's peer worker runs them.
 *
 * The leader drives synchronization and broadcast into this server's
 * peer_message backends (learner_receiver.c): they log what it sends and
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
 * 4. SNAP: when the leader asks, copy its tree (snap.c); the role ends,
 *	  and this server rejoins with the new position (quorum_peer.c).
 * 5. As a 3PC participant, run its timeouts each tick (twophase.c).
 *
 * ZkLearn's phases, each round: learner_tick, check_synced, serve_local,
 * take_answers, leader_gone, and take_snap.
 *
 * IDENTIFICATION
 *	  src/learner.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker.h"
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

/* the role this server plays to its leader, while it lasts */
typedef struct LearnerRole
{
	int			leader;			/* its server id */
	ZkServerState state;		/* FOLLOWING or OBSERVING */
	TimestampTz start;
	TimestampTz leader_seen;	/* its last answer that said it leads */
	bool		serving;
	bool		was_connected;	/* our connection to it was up once */
	uint64		sync_sent;		/* the last zk_sync request asked of it */
} LearnerRole;

/* the sessions of the previous run are closed once, by the first role that serves */
static bool closed_stale = false;

static void learner_tick(LearnerRole *lr, TimestampTz now);
static bool check_synced(LearnerRole *lr);
static bool serve_local(LearnerRole *lr);
static bool take_answers(LearnerRole *lr, List *received, TimestampTz now);
static bool leader_gone(LearnerRole *lr, TimestampTz now);
static bool take_snap(LearnerRole *lr, bool *snapped);

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

/* once a tick: purge, the participant's timeouts, and the PING */
static void
learner_tick(LearnerRole *lr, TimestampTz now)
{
	if (lr->serving)
		ZkSyncPurgeLog(PG_INT64_MAX);
	/* 3PC: a participant's timeouts run whatever the coordinator does */
	if (ZkReplication()->participant_tick)
		ZkReplication()->participant_tick(lr->leader);
	send_ping();
}

/*
 * Synced with the leader of this epoch (we acked its NEWLEADER): serve.
 * True when the epoch we served is no longer ours: the role ends.
 */
static bool
check_synced(LearnerRole *lr)
{
	int64		synced = synced_epoch();

	if (!lr->serving && synced > 0 &&
		synced == (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch))
	{
		lr->serving = true;
		follow_epoch = synced;
		ZkPeerPublish(lr->state, true, lr->leader, follow_epoch);
		elog(LOG, "zkpg server %d serves as %s of leader %d, epoch %lld",
			 zk_myid, ZkServerStateName(lr->state), lr->leader, (long long) follow_epoch);
	}
	else if (lr->serving && synced != follow_epoch)
	{
		elog(LOG, "zkpg server %d left epoch %lld", zk_myid, (long long) follow_epoch);
		return true;
	}
	if (follow_epoch == 0)
		follow_epoch = (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch);
	return false;
}

/*
 * Serving: forward local requests (first, once, the closes of the
 * sessions of our previous run) and ask the leader for zk_sync.  True when
 * requests went out (more may be queued).
 */
static bool
serve_local(LearnerRole *lr)
{
	uint64		requested;
	bool		busy;

	if (!closed_stale && ZkTransportConnected(leader_index))
	{
		List	   *closes = ZkSessionTrackerStaleCloses();

		closed_stale = true;
		if (closes != NIL)
			send_requests(closes);
	}
	busy = forward_requests();

	/* zk_sync: ask the leader what it has committed */
	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	requested = ZkShmem->sync_requested;
	LWLockRelease(ZkShmem->state_lock);
	if (requested > lr->sync_sent)
	{
		ZkPeerMessage m;

		memset(&m, 0, sizeof(m));
		m.epoch = follow_epoch;
		if (ZkPeerSend(leader_index, ZK_MSG_SYNC, (int64) requested, &m))
			lr->sync_sent = requested;
	}
	return busy;
}

/* the leader answered a zk_sync: what it had committed */
static void
take_sync_answer(const ZkReceived *r)
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

/*
 * The leader's answers to our messages.  True when one says the leader is
 * gone or no longer leads.
 */
static bool
take_answers(LearnerRole *lr, List *received, TimestampTz now)
{
	bool		left = false;
	ListCell   *lc;

	foreach(lc, received)
	{
		ZkReceived *r = lfirst(lc);

		/* answers to the election's notifications are the election's */
		if (r->inbox || r->peer != leader_index || r->type == ZK_MSG_NOTIFICATION)
			continue;
		/* a SYNC the leader could not answer is asked again */
		if (r->type == ZK_MSG_SYNC && (!r->answered || !r->answer.ok))
			lr->sync_sent = 0;

		/*
		 * Forwarded requests the leader refused (it no longer leads our
		 * epoch, or its queue stayed full) are lost: their backends learn
		 * at once that the outcome is unknown, instead of waiting for
		 * zkpg.request_timeout.
		 */
		if (r->type == ZK_MSG_REQUESTS && r->answered && !r->answer.ok)
		{
			elog(LOG, "zkpg leader %d refused forwarded requests", lr->leader);
			ZkFailWaitingRequests();
		}
		if (!r->answered)
		{
			/* a broken connection: the leader is gone, as ZooKeeper's
			 * Follower concludes on a socket error */
			if (!ZkTransportConnected(leader_index))
			{
				elog(LOG, "zkpg lost leader %d", lr->leader);
				left = true;
			}
			continue;
		}

		/*
		 * Not synced yet, our leader may still be finalizing the vote that
		 * elects it (we decided first): wait, as ZooKeeper's Follower
		 * keeps trying to connect, within init_limit.
		 */
		if (!lr->serving && r->answer.note.state == ZK_STATE_LOOKING &&
			r->answer.note.vote.leader == lr->leader)
			continue;
		if (r->answer.note.state != ZK_STATE_LEADING ||
			r->answer.note.vote.leader != lr->leader)
		{
			elog(LOG, "zkpg leader %d no longer leads", lr->leader);
			left = true;
			continue;
		}
		lr->leader_seen = now;
		if (r->type == ZK_MSG_SYNC && r->answer.ok)
			take_sync_answer(r);
	}
	return left;
}

/*
 * The connection broke (EOF, reset), the leader has been silent for
 * zkpg.sync_limit ticks, or it did not sync us within zkpg.init_limit
 * ticks: true, the role ends.
 */
static bool
leader_gone(LearnerRole *lr, TimestampTz now)
{
	long		limit_ms = (long) zk_sync_limit * zk_tick_ms;

	if (ZkTransportConnected(leader_index))
		lr->was_connected = true;
	else if (lr->was_connected)
	{
		elog(LOG, "zkpg lost its connection to leader %d", lr->leader);
		return true;
	}
	if (TimestampDifferenceExceeds(lr->leader_seen, now, limit_ms))
	{
		elog(LOG, "zkpg heard nothing from leader %d for %ld ms", lr->leader, limit_ms);
		return true;
	}
	if (!lr->serving &&
		TimestampDifferenceExceeds(lr->start, now, (long) zk_init_limit * zk_tick_ms))
	{
		elog(LOG, "zkpg leader %d did not sync this server within zkpg.init_limit ticks",
			 lr->leader);
		return true;
	}
	return false;
}

/*
 * The leader sent us a SNAP (learner_receiver.c filed it): copy its tree.
 * True when it did: the role ends, *snapped says whether it was installed.
 */
static bool
take_snap(LearnerRole *lr, bool *snapped)
{
	int			snap_from;
	int64		snap_epoch;

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	snap_from = ZkShmem->snap_from;
	snap_epoch = ZkShmem->snap_epoch;
	LWLockRelease(ZkShmem->state_lock);
	if (snap_from != lr->leader)
		return false;
	ZkPeerPublish(lr->state, false, lr->leader, follow_epoch);
	*snapped = ZkSnapInstall(&ZkQuorum.peers[leader_index], snap_epoch);
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
	LearnerRole lr;
	TimestampTz next_tick = 0;
	bool		snapped = false;
	int			i;

	memset(&lr, 0, sizeof(lr));
	lr.leader = election->leader;
	lr.state = election->result;
	lr.start = lr.leader_seen = GetCurrentTimestamp();
	leader_index = -1;
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (ZkQuorum.peers[i].id == lr.leader)
			leader_index = i;
	if (leader_index < 0)
		return false;
	follow_epoch = 0;
	ZkPeerResetConnections();
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->snap_from = 0;
	LWLockRelease(ZkShmem->state_lock);
	ZkPeerPublish(lr.state, false, lr.leader, (int64) pg_atomic_read_u64(&ZkShmem->current_epoch));
	/* nothing queued under an earlier role may be decided in this one */
	ZkDiscardRequests();
	ZkFailWaitingRequests();

	loop_cxt = AllocSetContextCreate(CurrentMemoryContext, "zkpg learner loop",
									 ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		MemoryContext old = MemoryContextSwitchTo(loop_cxt);
		TimestampTz now = GetCurrentTimestamp();
		bool		busy = false;
		bool		left;

		if (now >= next_tick)
		{
			learner_tick(&lr, now);
			next_tick = TimestampTzPlusMilliseconds(now, zk_tick_ms);
		}
		left = check_synced(&lr);
		if (lr.serving)
			busy = serve_local(&lr);
		left |= take_answers(&lr, ZkPeerWait(busy ? 0 :
											 Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next_tick))),
							 GetCurrentTimestamp());
		if (!left)
			left = leader_gone(&lr, GetCurrentTimestamp());
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);
		if (take_snap(&lr, &snapped) || left)
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

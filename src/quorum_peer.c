/*-------------------------------------------------------------------------
 *
 * quorum_peer.c
 *	  The quorum peer worker (ZooKeeper's QuorumPeer): the server's state
 *	  machine.  It picks this server's role and runs it until it ends.
 *
 * In an ensemble the peer LOOKs (FastLeaderElection, election.c; in 2PC
 * and 3PC, which have no election, the participant of lowest id
 * coordinates), then LEADs (leader.c) or FOLLOWs / OBSERVEs (learner.c)
 * until the role ends, and looks again.  A learner that installed its
 * leader's snapshot follows that leader again without an election, where
 * the mode says so (replication.h).
 *
 * A standalone server (zkpg.servers empty) is an ensemble of one voter
 * that always leads: leader.c runs the same pipeline for it, with no
 * learner, and its own log is its quorum.  Each start of the role takes a
 * new epoch, durable before any zxid of it is used.
 *
 * Before either, the tree must reflect the applied zxid: the applier has
 * replayed the log it holds.
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
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "bgworker.h"
#include "election.h"
#include "peer_messages.h"
#include "peer_transport.h"
#include "quorum_config.h"
#include "quorum_peer.h"
#include "replication.h"
#include "shmem.h"
#include "test_hooks.h"
#include "txnlog.h"
#include "zkpg.h"

static const ZkReplicationOps *mode;
static int64 current_epoch = 0;
static ZkElection election;
static int64 logicalclock = 0;

static void wait_for_applier(void);
static void load_position(void);
static void begin_new_role(void);
static void ensemble_look(void);
static void rejoin_after_snap(void);
static void two_phase_look(void);
static void ensemble_main(void) pg_attribute_noreturn();
static void standalone_main(void) pg_attribute_noreturn();

/*
 * Before any role: the applier has replayed our log into the tree, and
 * what it applied is what we know to be committed.
 */
static void
wait_for_applier(void)
{
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
	ZkElectionNotification(&election, &ZkMyNote);
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
			ZkElectionNotification(&election, &ZkMyNote);
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
	ZkElectionNotification(&election, &ZkMyNote);
	ereport(LOG,
			(errmsg("zkpg server %d rejoins leader %d after installing its snapshot",
					zk_myid, election.leader)));
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

		ZkMyNote.state = ZK_STATE_LOOKING;
		ZkMyNote.vote.leader = coordinator;
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
	ZkMyNote.state = election.result;
	ZkMyNote.vote.leader = coordinator;
	ZkMyNote.vote.zxid = (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid);
	ZkMyNote.vote.peer_epoch = current_epoch;
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

static void
ensemble_main(void)
{
	if (zk_peer_roles == NULL || zk_peer_roles[0] == '\0')
		ereport(LOG,
				(errmsg("zkpg.peer_roles is not set: any superuser or member of zkpg_peer may speak for any server of the ensemble"),
				 errhint("Give each server a role of its own, in zkpg.peer_roles and in its zkpg.peer_conninfo.")));
	ZkWorkerWaitForExtension();
	ZkTransportInit(&ZkQuorum);
	ZkPeerMessagesInit();
	load_position();
	wait_for_applier();

	for (;;)
	{
		if (mode->elects_leader)
			ensemble_look();
		else
			two_phase_look();
		if (election.result == ZK_STATE_LEADING)
			ZkLead(ZK_STATE_LEADING);
		else
		{
			/* a SNAP ends the learner's role; it may rejoin the same leader */
			while (ZkLearn(&election) && mode->rejoins_after_snap)
				rejoin_after_snap();
		}
		ZkPausePoint("role_ended");
	}
}

/* an ensemble of one that always leads */
static void
standalone_main(void)
{
	ZkStandaloneQuorumConfig(zk_myid, &ZkQuorum);
	ZkWorkerWaitForExtension();
	ZkTransportInit(&ZkQuorum);
	ZkPeerMessagesInit();
	load_position();
	wait_for_applier();
	for (;;)
	{
		/* a role ends only when its epoch ran out of zxids: take the next */
		ZkLead(ZK_STATE_STANDALONE);
		load_position();
	}
}

void
ZkQuorumPeerMain(Datum arg)
{
	const char *reason;

	ZkWorkerStart("zkpg quorum peer");

	/* the log is what makes a write durable */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->peer_latch = MyLatch;
	ZkSetServingLocked(ZK_STATE_STARTING, false);
	ZkShmem->leader_id = -1;
	LWLockRelease(ZkShmem->state_lock);

	/* a bad configuration is logged once; the worker then stays idle */
	reason = ZkParseQuorumConfig(zk_servers, zk_myid, &ZkQuorum);
	if (reason != NULL)
	{
		ereport(LOG,
				(errmsg("zkpg configuration is invalid: %s", reason),
				 errdetail("zkpg.servers = \"%s\", zkpg.myid = %d; this server will not serve requests.",
						   zk_servers, zk_myid),
				 errhint("Fix the configuration and restart the server.")));
		ZkWorkerIdle(psprintf("invalid configuration: %s", reason));
	}
	if (ZkQuorum.my_index < 0)
		standalone_main();
	mode = ZkReplication();
	if (mode->check_config)
		mode->check_config();
	ensemble_main();
}

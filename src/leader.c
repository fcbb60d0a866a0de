/*-------------------------------------------------------------------------
 *
 * leader.c
 *	  The LEADING role: ZAB's discovery, synchronization and broadcast as
 *	  the leader runs them (ZooKeeper's Leader and LearnerHandler).
 *
 * One loop in the peer worker drives every learner through its phases:
 *
 *	NONE	   the learner follows us (its notification says so): send
 *			   LEADERINFO with our new epoch.
 *	DISCOVERY  its ACKEPOCH answer gives its currentEpoch and last zxid.
 *			   Before we serve, a learner with a later history makes us
 *			   step down (the election should not have chosen us).  Then
 *			   we pick how to sync it: DIFF (its last zxid is in our log),
 *			   TRUNC (it logged txns we never had: drop them, then DIFF
 *			   from the last zxid we share) or SNAP (our log was purged
 *			   past its last zxid: it copies our tree, then rejoins).
 *	SYNC	   APPEND messages carry the txns it misses, read from our log
 *			   or from the recent proposals kept in memory; once it has
 *			   everything up to our history at the epoch's start, we send
 *			   NEWLEADER.
 *	NEWLEADER  in flight; its ack means the learner's log is durable up
 *			   to there and its currentEpoch is ours.
 *	ACTIVE	   it gets every new proposal and our commit point; its acks
 *			   count toward the quorum.
 *
 * We serve once a quorum (us included) acked NEWLEADER: everything our log
 * held is then committed.  A batch of requests becomes txns
 * (sync_processor.c), is sent to every synced learner as one
 * APPEND before we log it ourselves, so that the fsyncs overlap, and up
 * to MAX_IN_FLIGHT appends travel per learner (pipelining).  A zxid is
 * committed when a quorum of ACTIVE voters and us has logged it; the
 * commit point rides on the next APPEND, or an empty one.
 *
 * We step down when we have not served within zkpg.init_limit ticks, or
 * when a quorum has been silent for zkpg.sync_limit ticks.
 *
 * As the coordinator of 2PC or 3PC, the same phases sync the
 * participants, after a RESOLVE phase that settles what they hold in
 * doubt; we serve once every participant is ACTIVE, and a batch is a round
 * of the mode (replication.h, run by twophase.c), committed when every
 * participant prepared it, not a quorum.  A failed round, or a
 * participant lost, ends the role: its writers get ZK004.
 *
 * A standalone server runs this role too, as an ensemble of one voter:
 * no learner, its own log its quorum, and a role that ends only when its
 * epoch has no zxids left.
 *
 * ZkLead's phases: lead_discover (an epoch above a quorum's), the loop
 * (answers, learners, serve_round, leader_tick), start_serving once a
 * quorum acked NEWLEADER, and lead_end.
 *
 * IDENTIFICATION
 *	  src/leader.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "applier.h"
#include "bgworker.h"
#include "container_manager.h"
#include "datatree.h"
#include "peer_messages.h"
#include "peer_transport.h"
#include "prep_processor.h"
#include "quorum_config.h"
#include "quorum_peer.h"
#include "replication.h"
#include "request_queue.h"
#include "session_tracker.h"
#include "shmem.h"
#include "sync_processor.h"
#include "test_hooks.h"
#include "txnlog.h"
#include "zkpg.h"

#define LEADER_BATCH_REQUESTS	1000
#define LEADER_BATCH_BYTES		(8 * 1024 * 1024)
#define APPEND_MAX_TXNS			2000
#define APPEND_MAX_BYTES		(4 * 1024 * 1024)
#define MAX_PENDING_MESSAGES	8
#define KEEP_PROPOSALS			200000
#define KEEP_PROPOSAL_BYTES		(256 * 1024 * 1024)
#define ZK_EPOCH_PROBE			7	/* tag value of discovery's notifications */

typedef enum LearnerPhase
{
	LP_NONE,
	LP_RESOLVE,					/* 2PC/3PC: its in-doubt batches first */
	LP_DISCOVERY,
	LP_SYNC,
	LP_NEWLEADER,
	LP_ACTIVE,
	LP_SNAP
} LearnerPhase;

typedef struct Learner
{
	LearnerPhase phase;
	bool		voter;
	ZkZxid		sent_upto;		/* the last zxid sent in an APPEND */
	ZkZxid		acked;			/* logged durably there, as our history */
	ZkZxid		commit_sent;
	bool		truncate;		/* the next APPEND carries TRUNC */
	uint32		role_changes;	/* its ZkPeerStatus.role_changes at LEADERINFO */
	TimestampTz phase_since;
	TimestampTz heard;
} Learner;

/* a proposal kept in memory for learners that will need it */
typedef struct Proposal
{
	ZkZxid		zxid;
	StringInfo	txn;
} Proposal;

static const ZkReplicationOps *mode;
static ZkServerState lead_state;	/* LEADING, or STANDALONE */
static Learner learners[ZK_MAX_PEERS];
static int64 lead_epoch;
static uint32 zxid_counter;
static ZkZxid history_end;		/* our last zxid when the epoch began */
static ZkZxid my_logged;
static ZkZxid committed;
static bool serving;
static int64 refused_epoch = 0; /* the highest epoch a learner had accepted */

static bool closed_stale;		/* this role closed its server's stale sessions */
static bool chores_due;			/* the tick's session expiries and container deletes */

/* 2PC/3PC: what this round's answers said of the batch in flight */
static bool round_failed;
static bool round_all_yes;

static MemoryContext proposal_cxt = NULL;
static List *proposals = NIL;	/* ascending */
static ZkZxid proposals_prev;	/* the zxid before the first kept proposal */
static Size proposal_bytes;

static void set_phase(int i, LearnerPhase phase);
static void send_and_enter(int i, ZkPeerMsgType type, ZkZxid prev_zxid, LearnerPhase next);
static bool quorum_accepted_epoch(int64 *highest);
static void start_epoch(int64 quorum_accepted);
static void on_answer(ZkReceived *r, bool *step_down);
static void choose_sync(int i, const ZkPeerAnswer *a);
static void advance_learner(int i, TimestampTz now);
static bool send_append(int i);
static void propose_to_learners(int n, const ZkZxid *zxids, StringInfo *txns, void *arg);
static bool lead_batch(List *requests, MemoryContext loop_cxt);
static int	epoch_zxids_left(void);
static bool epoch_has_room(int n);
static bool take_requests(List **requests);
static void update_commit(void);
static int	active_voters(TimestampTz now);
static void trim_proposals(void);
static bool enough_voters(int n);
static void on_in_doubt_answer(ZkReceived *r);
static void on_round_answer(ZkReceived *r, ZkRoundOutcome outcome, bool decided);
static void propose_round(int n, const ZkZxid *zxids, StringInfo *txns, void *arg);
static bool settle_round(MemoryContext loop_cxt, TimestampTz now);
static void serve_round(MemoryContext loop_cxt, TimestampTz now, bool *step_down, bool *busy);
static bool lead_discover(void);
static void start_serving(MemoryContext loop_cxt);
static bool leader_tick(TimestampTz now, TimestampTz *quorum_seen);
static void lead_end(void);

static void
set_phase(int i, LearnerPhase phase)
{
	if (learners[i].phase != phase && phase == LP_ACTIVE)
		elog(LOG, "zkpg server %d is synced with leader %d, epoch %lld",
			 ZkQuorum.peers[i].id, zk_myid, (long long) lead_epoch);
	learners[i].phase = phase;
	learners[i].phase_since = GetCurrentTimestamp();
	if (phase == LP_NONE)
	{
		learners[i].acked = 0;
		learners[i].sent_upto = 0;
		learners[i].commit_sent = 0;
		learners[i].truncate = false;
	}
}

/*
 * Discovery's first step (ZooKeeper's Leader.getEpochToPropose): hear the
 * accepted epoch of a quorum of voters that follow us, us included,
 * before we take any epoch.  A leader that never hears from a quorum
 * accepts nothing, so it cannot poison the epoch the real leader will
 * propose.  Each voter is asked with a notification; its answer carries
 * its acceptedEpoch, and its state says whether it follows us yet.  True,
 * with the highest accepted epoch heard, once a quorum answered; false
 * after zkpg.init_limit ticks.
 */
static bool
quorum_accepted_epoch(int64 *highest)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   (long) zk_init_limit * zk_tick_ms);
	bool		asked[ZK_MAX_PEERS] = {0};
	bool		heard[ZK_MAX_PEERS] = {0};
	int			quorum = ZkQuorum.peers[ZkQuorum.my_index].observer ? 0 : 1;
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext cxt = AllocSetContextCreate(caller, "zkpg epoch discovery",
											  ALLOCSET_SMALL_SIZES);
	bool		found = false;
	int			i;

	*highest = 0;
	found = ZkIsQuorum(&ZkQuorum, quorum);
	while (!found && GetCurrentTimestamp() < deadline)
	{
		List	   *received;
		ListCell   *lc;

		MemoryContextSwitchTo(cxt);
		for (i = 0; i < ZkQuorum.npeers; i++)
		{
			ZkPeerMessage m;

			if (i == ZkQuorum.my_index || ZkQuorum.peers[i].observer || asked[i] || heard[i])
				continue;
			memset(&m, 0, sizeof(m));
			asked[i] = ZkPeerSend(i, ZK_MSG_NOTIFICATION, ZK_EPOCH_PROBE, &m);
		}
		received = ZkPeerWait(Min(zk_tick_ms, 20));
		foreach(lc, received)
		{
			ZkReceived *r = lfirst(lc);

			if (r->inbox || r->type != ZK_MSG_NOTIFICATION || r->value != ZK_EPOCH_PROBE ||
				heard[r->peer])
				continue;
			/* not following us yet (still looking): ask again */
			asked[r->peer] = false;
			if (!r->answered || r->answer.note.state != ZK_STATE_FOLLOWING ||
				r->answer.note.vote.leader != zk_myid)
				continue;
			heard[r->peer] = true;
			quorum++;
			*highest = Max(*highest, r->answer.accepted_epoch);
		}
		found = ZkIsQuorum(&ZkQuorum, quorum);
		MemoryContextSwitchTo(caller);
		MemoryContextReset(cxt);
	}
	MemoryContextDelete(cxt);
	return found;
}

/*
 * Our new epoch: above every epoch we or a quorum of voters accepted, or
 * a learner told us it accepted, durable before any learner hears of it.
 */
static void
start_epoch(int64 quorum_accepted)
{
	int64		accepted;
	int64		current;
	ZkZxid		last;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	accepted = ZkLogLockEpochs();
	current = ZkLogGetState(ZK_STATE_CURRENT_EPOCH);
	last = ZkLogLastZxid();
	lead_epoch = Max(Max(Max(accepted, current), Max(ZK_ZXID_EPOCH(last), refused_epoch)),
					 quorum_accepted) + 1;
	ZkLogSetState(ZK_STATE_ACCEPTED_EPOCH, lead_epoch);
	ZkLogSetState(ZK_STATE_ACCEPTED_LEADER, zk_myid);
	PopActiveSnapshot();
	CommitTransactionCommand();

	pg_atomic_write_u64(&ZkShmem->accepted_epoch, (uint64) lead_epoch);
	pg_atomic_write_u64(&ZkShmem->last_logged_zxid, (uint64) last);
	history_end = my_logged = last;
	committed = (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);
	zxid_counter = 0;
	serving = false;

	if (proposal_cxt == NULL)
		proposal_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg proposals",
											 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(proposal_cxt);
	proposals = NIL;
	proposals_prev = last;
	proposal_bytes = 0;
}

/*
 * Send learner i a LEADERINFO, NEWLEADER (prev_zxid: where its log must
 * end) or SNAP of our epoch, and move it to phase next; NONE if the
 * connection is down.
 */
static void
send_and_enter(int i, ZkPeerMsgType type, ZkZxid prev_zxid, LearnerPhase next)
{
	ZkPeerMessage m;

	memset(&m, 0, sizeof(m));
	m.epoch = lead_epoch;
	m.prev_zxid = prev_zxid;
	set_phase(i, ZkPeerSend(i, type, 0, &m) ? next : LP_NONE);
}

/* by peer index: our last sync of it was a SNAP forced by zkpg.force_snapshot_sync */
static bool last_sync_forced_snap[ZK_MAX_PEERS];

/*
 * How to bring learner i, whose log ends at a->last_logged, to our
 * history.
 */
static void
choose_sync(int i, const ZkPeerAnswer *a)
{
	ZkZxid		theirs = a->last_logged;
	ZkZxid		floor;
	MemoryContext caller = CurrentMemoryContext;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	floor = ZkLogFloor(Min(theirs, my_logged));
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);

	/*
	 * (forced, every other sync: the learner rejoins after a SNAP.  Counted
	 * across our roles: forcing the first sync of every role would force
	 * every sync of a leader that keeps failing to gather a quorum in time,
	 * and then no learner ever finishes a sync.)
	 */
	if (zk_force_snapshot_sync && !last_sync_forced_snap[i])
		floor = -1;
	last_sync_forced_snap[i] = zk_force_snapshot_sync && floor == -1;
	if (floor < 0 || (floor < theirs && a->applied > floor))
	{
		/* behind our purged log, or it applied what we never had */
		elog(LOG, "zkpg server %d syncs by SNAP (its last zxid 0x%llx)",
			 ZkQuorum.peers[i].id, (unsigned long long) theirs);
		send_and_enter(i, ZK_MSG_SNAP, 0, LP_SNAP);
		return;
	}
	learners[i].sent_upto = floor;
	learners[i].acked = floor;
	learners[i].truncate = (floor != theirs);
	elog(LOG, "zkpg server %d syncs by %s from zxid 0x%llx",
		 ZkQuorum.peers[i].id, learners[i].truncate ? "TRUNC+DIFF" : "DIFF",
		 (unsigned long long) floor);
	set_phase(i, LP_SYNC);
}

static void
on_answer(ZkReceived *r, bool *step_down)
{
	int			i = r->peer;
	Learner    *l = &learners[i];
	const ZkPeerAnswer *a = &r->answer;
	ZkRoundOutcome outcome;
	bool		decided;

	if (r->inbox)
		return;
	if (r->answered)
		l->heard = GetCurrentTimestamp();
	if (r->type == ZK_MSG_SQL)
	{
		on_in_doubt_answer(r);
		return;
	}
	if (!mode->commits_by_quorum && mode->round_answer(r, &outcome, &decided))
	{
		on_round_answer(r, outcome, decided);
		return;
	}
	/* an answer to a message of an earlier phase or leadership */
	if (l->phase == LP_NONE)
		return;
	if (!r->answered)
	{
		set_phase(i, LP_NONE);
		return;
	}
	switch (r->type)
	{
		case ZK_MSG_LEADERINFO:
			if (l->phase != LP_DISCOVERY)
				break;
			if (!a->ok)
			{
				/*
				 * A later epoch accepted, or ours from another leader, by a
				 * voter that follows us: we cannot lead this epoch.  One
				 * that does not follow us yet (still looking, just back)
				 * refuses any LEADERINFO; it is asked again.
				 */
				if (a->accepted_epoch > lead_epoch ||
					(a->accepted_epoch == lead_epoch &&
					 a->note.state == ZK_STATE_FOLLOWING && a->note.vote.leader == zk_myid))
				{
					elog(LOG, "zkpg server %d accepted epoch %lld already; leader %d steps down",
						 ZkQuorum.peers[i].id, (long long) a->accepted_epoch, zk_myid);
					refused_epoch = Max(refused_epoch, a->accepted_epoch);
					*step_down = true;
				}
				set_phase(i, LP_NONE);
				break;
			}
			/*
			 * (a learner that acked our own NEWLEADER has our epoch: ours;
			 * a coordinator that no election chose has the only history)
			 */
			if (!serving && mode->elects_leader && l->voter && a->current_epoch != lead_epoch &&
				(a->current_epoch > (int64) pg_atomic_read_u64(&ZkShmem->current_epoch) ||
				 (a->current_epoch == (int64) pg_atomic_read_u64(&ZkShmem->current_epoch) &&
				  a->last_logged > history_end)))
			{
				elog(LOG, "zkpg server %d has a later history than leader %d; stepping down",
					 ZkQuorum.peers[i].id, zk_myid);
				*step_down = true;
				break;
			}
			choose_sync(i, a);
			break;
		case ZK_MSG_APPEND:
			if (!a->ok)
			{
				/* it does not share the history we assumed: copy the tree */
				if ((l->phase == LP_SYNC || l->phase == LP_NEWLEADER) && r->value == 1)
					send_and_enter(i, ZK_MSG_SNAP, 0, LP_SNAP);
				else
					set_phase(i, LP_NONE);
				break;
			}
			l->acked = Max(l->acked, a->last_logged);
			break;
		case ZK_MSG_NEWLEADER:
			if (a->ok && l->phase == LP_NEWLEADER)
				set_phase(i, LP_ACTIVE);
			else if (!a->ok)
				set_phase(i, LP_NONE);
			break;
		case ZK_MSG_SNAP:
			if (!a->ok)
				set_phase(i, LP_NONE);
			break;
		default:
			break;
	}
}

/*
 * The proposals (sent_upto, ...]: from memory if kept, else from the log.
 */
static bool
send_append(int i)
{
	Learner    *l = &learners[i];
	ZkPeerMessage m;
	List	   *from_log = NIL;
	int			n = 0;
	Size		bytes = 0;
	ListCell   *lc;
	bool		first_trunc = l->truncate;

	memset(&m, 0, sizeof(m));
	m.epoch = lead_epoch;
	m.prev_zxid = l->sent_upto;
	m.committed = l->phase == LP_ACTIVE ? Min(committed, l->acked) : 0;
	m.flags = l->truncate ? ZK_APPEND_TRUNC : 0;
	m.zxids = palloc(sizeof(ZkZxid) * APPEND_MAX_TXNS);
	m.items = palloc(sizeof(char *) * APPEND_MAX_TXNS);
	m.lens = palloc(sizeof(int32) * APPEND_MAX_TXNS);

	if (l->sent_upto < my_logged || (proposals != NIL && l->sent_upto < llast_node(Proposal, proposals)->zxid))
	{
		if (l->sent_upto >= proposals_prev)
		{
			foreach(lc, proposals)
			{
				Proposal   *p = lfirst(lc);

				if (p->zxid <= l->sent_upto)
					continue;
				if (n >= APPEND_MAX_TXNS || bytes >= APPEND_MAX_BYTES)
					break;
				m.zxids[n] = p->zxid;
				m.items[n] = p->txn->data;
				m.lens[n] = p->txn->len;
				bytes += p->txn->len;
				n++;
			}
		}
		else
		{
			bool		in_xact = IsTransactionState();
			MemoryContext caller = CurrentMemoryContext;

			/* what ZkLogRead returns lives in caller, past the commit */
			if (!in_xact)
			{
				StartTransactionCommand();
				PushActiveSnapshot(GetTransactionSnapshot());
				MemoryContextSwitchTo(caller);
			}
			from_log = ZkLogRead(l->sent_upto, Min(my_logged, proposals_prev), APPEND_MAX_TXNS);
			if (!in_xact)
			{
				PopActiveSnapshot();
				CommitTransactionCommand();
				MemoryContextSwitchTo(caller);
			}
			foreach(lc, from_log)
			{
				ZkLoggedTxn *t = lfirst(lc);

				if (n > 0 && bytes + t->len > APPEND_MAX_BYTES)
					break;
				bytes += t->len;
				m.zxids[n] = t->zxid;
				m.items[n] = t->data;
				m.lens[n] = t->len;
				n++;
			}
		}
	}
	if (n == 0 && m.committed <= l->commit_sent && !first_trunc)
		return false;
	m.n = n;
	if (!ZkPeerSend(i, ZK_MSG_APPEND, first_trunc ? 1 : 0, &m))
	{
		set_phase(i, LP_NONE);
		return false;
	}
	if (n > 0)
		l->sent_upto = m.zxids[n - 1];
	l->truncate = false;
	l->commit_sent = Max(l->commit_sent, m.committed);
	return n > 0;
}

/* move learner i along its phases; send what it needs */
static void
advance_learner(int i, TimestampTz now)
{
	Learner    *l = &learners[i];
	ZkPeerStatus st;
	bool		fresh;

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	st = ZkShmem->peer_status[i];
	LWLockRelease(ZkShmem->state_lock);
	fresh = st.heard && (st.state == ZK_STATE_FOLLOWING || st.state == ZK_STATE_OBSERVING) &&
		st.leader == zk_myid &&
		!TimestampDifferenceExceeds(st.last_contact, now, (long) zk_sync_limit * zk_tick_ms);

	if (l->phase != LP_NONE && !fresh &&
		TimestampDifferenceExceeds(l->phase_since, now, (long) zk_tick_ms))
	{
		set_phase(i, LP_NONE);
		return;
	}
	/*
	 * It left and came back while we synced it (as after installing a
	 * SNAP): begin again now rather than at the end of zkpg.init_limit.
	 * (An active learner that came back refuses our APPENDs instead; a
	 * late note of its past must not disturb it.)
	 */
	if (l->phase != LP_NONE && l->phase != LP_ACTIVE && st.role_changes != l->role_changes)
	{
		elog(LOG, "zkpg server %d rejoined; leader %d syncs it again", ZkQuorum.peers[i].id, zk_myid);
		set_phase(i, LP_NONE);
		return;
	}
	switch (l->phase)
	{
		case LP_NONE:
			if (fresh && ZkTransportConnected(i) && ZkTransportPending(i) == 0)
			{
				l->role_changes = st.role_changes;
				if (mode->resolves_in_doubt)
					set_phase(i, mode->ask_in_doubt(i) ? LP_RESOLVE : LP_NONE);
				else
					send_and_enter(i, ZK_MSG_LEADERINFO, 0, LP_DISCOVERY);
			}
			break;
		case LP_RESOLVE:
		case LP_DISCOVERY:
		case LP_NEWLEADER:
		case LP_SNAP:

			/*
			 * An answer that never comes, or a SNAP learner that has not
			 * rejoined as a new learner: start over with it.
			 */
			if (TimestampDifferenceExceeds(l->phase_since, now, (long) zk_init_limit * zk_tick_ms))
				set_phase(i, LP_NONE);
			break;
		case LP_SYNC:
		case LP_ACTIVE:
			while (ZkTransportPending(i) < MAX_PENDING_MESSAGES && send_append(i))
				;
			if (l->phase == LP_SYNC && l->sent_upto >= history_end &&
				ZkTransportPending(i) < MAX_PENDING_MESSAGES)
				send_and_enter(i, ZK_MSG_NEWLEADER, l->sent_upto, LP_NEWLEADER);
			break;
		default:
			break;
	}
}

/* ZkProposeHook: a new batch goes to the synced learners first */
static void
propose_to_learners(int n, const ZkZxid *zxids, StringInfo *txns, void *arg)
{
	MemoryContext old;
	TimestampTz now;
	int			i;

	/* standalone: no learner will ever need them */
	if (ZkQuorum.npeers == 1)
		return;
	old = MemoryContextSwitchTo(proposal_cxt);
	now = GetCurrentTimestamp();
	for (i = 0; i < n; i++)
	{
		Proposal   *p = palloc(sizeof(Proposal));

		p->zxid = zxids[i];
		p->txn = makeStringInfo();
		appendBinaryStringInfo(p->txn, txns[i]->data, txns[i]->len);
		proposals = lappend(proposals, p);
		proposal_bytes += txns[i]->len;
	}
	MemoryContextSwitchTo(old);
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (i != ZkQuorum.my_index &&
			(learners[i].phase == LP_ACTIVE || learners[i].phase == LP_SYNC))
			advance_learner(i, now);
}

/* voters in ACTIVE heard from within syncLimit, us included */
static int
active_voters(TimestampTz now)
{
	int			n = ZkQuorum.peers[ZkQuorum.my_index].observer ? 0 : 1;
	int			i;

	for (i = 0; i < ZkQuorum.npeers; i++)
	{
		TimestampTz heard = learners[i].heard;

		if (i == ZkQuorum.my_index || !learners[i].voter || learners[i].phase != LP_ACTIVE)
			continue;
		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		heard = Max(heard, ZkShmem->peer_status[i].last_contact);
		LWLockRelease(ZkShmem->state_lock);
		if (!TimestampDifferenceExceeds(heard, now, (long) zk_sync_limit * zk_tick_ms))
			n++;
	}
	return n;
}

/*
 * The highest zxid a quorum of ACTIVE voters (us included) has logged is
 * committed, with everything before it.
 */
static void
update_commit(void)
{
	ZkZxid		acks[ZK_MAX_PEERS] = {0};
	int			n = 0;
	int			i;
	int			j;
	int			need;

	if (!serving)
		return;
	for (i = 0; i < ZkQuorum.npeers; i++)
		ZkShmem->peer_acked[i] = i == ZkQuorum.my_index ? my_logged : learners[i].acked;
	/* a 2PC/3PC batch is committed by its round, on every vote */
	if (!mode->commits_by_quorum)
		return;
	for (i = 0; i < ZkQuorum.npeers; i++)
	{
		if (!ZkQuorum.peers[i].observer && i == ZkQuorum.my_index)
			acks[n++] = my_logged;
		else if (i != ZkQuorum.my_index && learners[i].voter && learners[i].phase == LP_ACTIVE)
			acks[n++] = learners[i].acked;
	}
	/* sort descending */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && acks[j] > acks[j - 1]; j--)
		{
			ZkZxid		t = acks[j];

			acks[j] = acks[j - 1];
			acks[j - 1] = t;
		}
	need = ZkQuorum.nvoters / 2 + 1;
	if (n >= need && acks[need - 1] > committed)
	{
		committed = acks[need - 1];
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) committed);
		if (ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
	}
}

/* keep what a learner still has to receive, and not too much more */
static void
trim_proposals(void)
{
	ZkZxid		keep_after = my_logged;
	int			i;
	int			drop = 0;
	ListCell   *lc;

	for (i = 0; i < ZkQuorum.npeers; i++)
		if (i != ZkQuorum.my_index && learners[i].phase != LP_NONE &&
			learners[i].phase != LP_SNAP)
			keep_after = Min(keep_after, learners[i].sent_upto);
	foreach(lc, proposals)
	{
		Proposal   *p = lfirst(lc);

		if (p->zxid > keep_after && list_length(proposals) - drop <= KEEP_PROPOSALS &&
			proposal_bytes <= KEEP_PROPOSAL_BYTES)
			break;
		proposals_prev = p->zxid;
		proposal_bytes -= p->txn->len;
		pfree(p->txn->data);
		pfree(p->txn);
		pfree(p);
		drop++;
	}
	if (drop > 0)
		proposals = list_delete_first_n(proposals, drop);
}

/*
 * How many more txns this epoch can number.  A zxid's counter is 32 bits:
 * past it, ZooKeeper's leader forces a new epoch, and so does ours, by
 * stepping down; it takes no request it could not number.
 */
static int
epoch_zxids_left(void)
{
	ZkTestTakeCounterJump(&zxid_counter);
	if (zxid_counter >= PG_UINT32_MAX - 1)
		return 0;
	return (int) Min((uint64) (PG_UINT32_MAX - 1 - zxid_counter), (uint64) INT_MAX);
}

static bool
epoch_has_room(int n)
{
	return n <= epoch_zxids_left();
}

/*
 * The client requests to add to the server's own: as many as a batch
 * takes and the epoch can still number.  False when it can number none.
 */
static bool
take_requests(List **requests)
{
	int			room = epoch_zxids_left() - list_length(*requests);

	if (room <= 0)
		return false;
	*requests = list_concat(*requests,
							ZkTakeRequests(Min(room, LEADER_BATCH_REQUESTS), LEADER_BATCH_BYTES));
	return true;
}

/*
 * Turn requests into txns of this epoch, proposed to the learners and
 * logged here (2PC, 3PC: a round begun); back in loop_cxt afterwards (the
 * batch commits).  False, with nothing done, when the epoch has no zxids
 * left for them: the leader steps down (server requests are made again by
 * the next one).
 */
static bool
lead_batch(List *requests, MemoryContext loop_cxt)
{
	ZkZxid		last;

	if (!epoch_has_room(list_length(requests)))
	{
		elog(LOG, "zkpg leader %d used up the zxids of epoch %lld: a batch of %d txns does not fit",
			 zk_myid, (long long) lead_epoch, list_length(requests));
		return false;
	}
	last = ZkSyncProcessBatch(requests, lead_epoch, &zxid_counter,
							  mode->commits_by_quorum ? propose_to_learners : propose_round,
							  NULL, mode->commits_by_quorum);

	MemoryContextSwitchTo(loop_cxt);
	/* a 2PC/3PC batch is logged here once every participant voted */
	if (last != 0 && mode->commits_by_quorum)
		my_logged = last;
	return true;
}

/* enough voters to serve: a quorum, or for 2PC and 3PC all of them */
static bool
enough_voters(int n)
{
	if (!mode->commits_by_quorum)
		return n >= ZkQuorum.nvoters;
	return ZkIsQuorum(&ZkQuorum, n);
}

/*
 * 2PC/3PC recovery: what learner i holds in doubt.  The resolutions travel
 * ahead of the LEADERINFO (FIFO).  (In RESOLVE, nothing else of ours is in
 * flight to it: it left NONE with an idle connection.)
 */
static void
on_in_doubt_answer(ZkReceived *r)
{
	int			i = r->peer;

	if (!r->answered)
		set_phase(i, LP_NONE);
	else if (learners[i].phase == LP_RESOLVE)
	{
		mode->resolve_in_doubt(i, r->text);
		send_and_enter(i, ZK_MSG_LEADERINFO, 0, LP_DISCOVERY);
	}
}

/* a vote of the round in flight, or the ack of its decision */
static void
on_round_answer(ZkReceived *r, ZkRoundOutcome outcome, bool decided)
{
	Learner    *l = &learners[r->peer];

	if (decided)
	{
		if (r->answered && r->answer.ok)
			l->acked = Max(l->acked, r->answer.last_logged);
		else
			set_phase(r->peer, LP_NONE);
		return;
	}
	if (outcome == ZK_ROUND_FAILED)
		round_failed = true;
	else if (outcome == ZK_ROUND_ALL_YES)
		round_all_yes = true;
	if (!r->answered)
		set_phase(r->peer, LP_NONE);
}

/* ZkProposeHook of 2PC/3PC: a round, in which every other voter votes */
static void
propose_round(int n, const ZkZxid *zxids, StringInfo *txns, void *arg)
{
	bool		participants[ZK_MAX_PEERS] = {0};
	int			i;

	for (i = 0; i < ZkQuorum.npeers; i++)
		participants[i] = (i != ZkQuorum.my_index && learners[i].voter);
	mode->begin_round(n, zxids, txns, my_logged, lead_epoch, participants);
}

/*
 * 2PC/3PC: decide the round in flight if its votes are in.  False when it
 * failed, or lost a participant: the role ends (its writers get ZK004).
 */
static bool
settle_round(MemoryContext loop_cxt, TimestampTz now)
{
	int			i;

	if (round_failed || mode->check_round(now) == ZK_ROUND_FAILED ||
		(mode->round_in_flight() && active_voters(now) < ZkQuorum.nvoters))
	{
		elog(LOG, "zkpg %s coordinator %d aborts its batch in flight and starts over",
			 ZkReplicationName(mode->mode), zk_myid);
		return false;
	}
	if (round_all_yes)
	{
		ZkZxid		last = mode->commit_round();

		MemoryContextSwitchTo(loop_cxt);
		my_logged = committed = last;
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) committed);
		if (ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
		for (i = 0; i < ZkQuorum.npeers; i++)
			if (i != ZkQuorum.my_index && learners[i].phase == LP_ACTIVE)
				learners[i].sent_upto = learners[i].commit_sent = last;
	}
	round_failed = round_all_yes = false;
	return true;
}

/*
 * One round of serving: (2PC, 3PC: settle the round in flight; wait while
 * it is) the server's own requests, if any, else the clients', become the
 * next batch, proposed and logged; then what a quorum logged is
 * committed, and the synced learners get the batch with the commit point.
 */
static void
serve_round(MemoryContext loop_cxt, TimestampTz now, bool *step_down, bool *busy)
{
	List	   *requests = NIL;
	int			i;

	if (!mode->commits_by_quorum)
	{
		if (!settle_round(loop_cxt, now))
		{
			*step_down = true;
			return;
		}
		if (mode->round_in_flight())
			goto done;
	}
	/* the server's own requests are a batch of their own */
	if (!closed_stale)
	{
		requests = ZkSessionTrackerStaleCloses();
		closed_stale = true;
	}
	if (chores_due)
	{
		requests = list_concat(requests, ZkSessionTrackerTick(now));
		requests = list_concat(requests, ZkContainerManagerTick(now));
		chores_due = false;
	}
	if (requests == NIL && !take_requests(&requests))
	{
		elog(LOG, "zkpg leader %d used up the zxids of epoch %lld", zk_myid, (long long) lead_epoch);
		*step_down = true;
		return;
	}
	if (requests != NIL)
	{
		if (!mode->commits_by_quorum && !enough_voters(active_voters(now)))
		{
			/* two-phase commit needs every participant */
			elog(LOG, "zkpg %s coordinator %d lost a participant; starting over",
				 ZkReplicationName(mode->mode), zk_myid);
			*step_down = true;
			return;
		}
		if (!lead_batch(requests, loop_cxt))
		{
			*step_down = true;
			return;
		}
		*busy = true;
	}
done:
	update_commit();
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (i != ZkQuorum.my_index && learners[i].phase == LP_ACTIVE)
			advance_learner(i, now);
	trim_proposals();
}

/*
 * Discovery: an epoch above every epoch a quorum of voters accepted, and
 * every learner back at the start of its phases.  False when no quorum
 * answered within zkpg.init_limit ticks.
 */
static bool
lead_discover(void)
{
	int64		quorum_epoch;
	int			i;

	refused_epoch = Max(refused_epoch, 0);
	ZkPausePoint("lead_start");
	ZkPeerPublish(lead_state, false, zk_myid, (int64) pg_atomic_read_u64(&ZkShmem->current_epoch));
	if (!quorum_accepted_epoch(&quorum_epoch))
	{
		elog(LOG, "zkpg leader %d heard from no quorum within zkpg.init_limit ticks; it took no epoch",
			 zk_myid);
		ZkPeerPublishRoleEnded((int64) pg_atomic_read_u64(&ZkShmem->current_epoch));
		ZkPeerResetConnections();
		return false;
	}
	start_epoch(quorum_epoch);
	if (mode->start_role)
		mode->start_role();
	round_failed = round_all_yes = false;
	closed_stale = chores_due = false;
	ZkPeerResetConnections();
	for (i = 0; i < ZkQuorum.npeers; i++)
	{
		memset(&learners[i], 0, sizeof(Learner));
		learners[i].voter = !ZkQuorum.peers[i].observer;
		set_phase(i, LP_NONE);
	}
	ZkPeerPublish(lead_state, false, zk_myid, lead_epoch);
	/* nothing queued under an earlier role may be decided in this one */
	ZkDiscardRequests();
	ZkFailWaitingRequests();
	elog(LOG, "zkpg leader %d starts epoch %lld at zxid 0x%llx",
		 zk_myid, (long long) lead_epoch, (unsigned long long) history_end);
	return true;
}

/*
 * NEWLEADER acked by a quorum: our whole history is committed; serve once
 * the applier has applied it, so that the request processor reads a tree
 * that holds it.
 */
static void
start_serving(MemoryContext loop_cxt)
{
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) ZkLogLockEpochs();
	ZkLogSetState(ZK_STATE_CURRENT_EPOCH, lead_epoch);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pg_atomic_write_u64(&ZkShmem->current_epoch, (uint64) lead_epoch);
	if (history_end > committed)
	{
		committed = history_end;
		pg_atomic_write_u64(&ZkShmem->committed_zxid, (uint64) committed);
		if (ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
	}
	while (!ZkWaitForApplied(history_end,
							 TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 100)))
		ZkWorkerCheckSignals();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	ZkPrepInit(ZkTreeMain());
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(loop_cxt);
	serving = true;
	ZkPeerPublish(lead_state, true, zk_myid, lead_epoch);
	if (lead_state == ZK_STATE_STANDALONE)
		elog(LOG, "zkpg serving as a standalone server, epoch %lld", (long long) lead_epoch);
	else
		elog(LOG, "zkpg leader %d serves epoch %lld", zk_myid, (long long) lead_epoch);
}

/*
 * Once a tick: step down if a quorum has been silent for zkpg.sync_limit
 * ticks (returns false); while serving, purge the log and make the
 * session and container chores due.
 */
static bool
leader_tick(TimestampTz now, TimestampTz *quorum_seen)
{
	ZkZxid		bound = my_logged;
	int			i;

	if (enough_voters(active_voters(now)))
		*quorum_seen = now;
	else if (serving &&
			 TimestampDifferenceExceeds(*quorum_seen, now, (long) zk_sync_limit * zk_tick_ms))
	{
		elog(LOG, "zkpg leader %d lost its quorum; stepping down", zk_myid);
		return false;
	}
	if (!serving)
		return true;

	/*
	 * Keep what a synced learner may still need; for 2PC/3PC, what any
	 * participant may hold in doubt: our log is the record of our
	 * decisions.
	 */
	for (i = 0; i < ZkQuorum.npeers; i++)
		if (i != ZkQuorum.my_index &&
			(learners[i].phase != LP_NONE || mode->resolves_in_doubt))
			bound = Min(bound, learners[i].acked);
	ZkSyncPurgeLog(bound);
	chores_due = true;
	return true;
}

/* step down: nothing we decided is committed by us any longer */
static void
lead_end(void)
{
	serving = false;
	if (mode->end_role)
		mode->end_role();
	ZkPeerPublishRoleEnded(lead_epoch);
	ZkDiscardRequests();
	ZkFailWaitingRequests();
}

/*
 * Lead until the role ends (state: LEADING, or STANDALONE for an ensemble
 * of one, which replicates by nothing but its own log).
 */
void
ZkLead(ZkServerState state)
{
	MemoryContext role_cxt = CurrentMemoryContext;
	MemoryContext loop_cxt;
	TimestampTz start;
	TimestampTz quorum_seen;
	TimestampTz next_tick;
	bool		step_down = false;
	int			i;

	lead_state = state;
	mode = state == ZK_STATE_STANDALONE ? ZkReplicationOf(ZK_REPLICATION_ZAB) : ZkReplication();
	if (!lead_discover())
		return;
	start = quorum_seen = next_tick = GetCurrentTimestamp();
	loop_cxt = AllocSetContextCreate(role_cxt, "zkpg leader loop",
									 ALLOCSET_DEFAULT_SIZES);
	while (!step_down)
	{
		MemoryContext old = MemoryContextSwitchTo(loop_cxt);
		List	   *received;
		ListCell   *lc;
		TimestampTz now;
		bool		busy = false;

		received = ZkPeerWait(serving ? 0 : Min(zk_tick_ms, 20));
		foreach(lc, received)
			on_answer(lfirst(lc), &step_down);
		now = GetCurrentTimestamp();

		/*
		 * Synced learners are served after this round's batch, whose
		 * APPEND carries the commit point too: one message, not two.
		 */
		for (i = 0; i < ZkQuorum.npeers; i++)
			if (i != ZkQuorum.my_index && !(serving && learners[i].phase == LP_ACTIVE))
				advance_learner(i, now);

		if (!serving && enough_voters(active_voters(now)))
			start_serving(loop_cxt);
		if (!serving &&
			TimestampDifferenceExceeds(start, now, (long) zk_init_limit * zk_tick_ms))
		{
			elog(LOG, "zkpg leader %d found no quorum within zkpg.init_limit ticks", zk_myid);
			break;
		}
		if (serving)
			serve_round(loop_cxt, now, &step_down, &busy);
		if (!step_down && now >= next_tick)
		{
			next_tick = TimestampTzPlusMilliseconds(now, zk_tick_ms);
			if (!leader_tick(now, &quorum_seen))
				break;
			/* the chores made due go out at once */
			busy |= chores_due;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);

		if (serving && !busy && !step_down)
		{
			/* nothing queued: sleep until a request, an answer or the tick */
			List	   *more;

			old = MemoryContextSwitchTo(loop_cxt);
			more = ZkPeerWait(Max(1, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), next_tick)));
			foreach(lc, more)
				on_answer(lfirst(lc), &step_down);
			update_commit();
			MemoryContextSwitchTo(old);
			MemoryContextReset(loop_cxt);
		}
	}

	lead_end();
	/* a break leaves the loop in loop_cxt */
	MemoryContextSwitchTo(role_cxt);
	MemoryContextDelete(loop_cxt);
	ZkPeerResetConnections();
}

/*-------------------------------------------------------------------------
 *
 * session_tracker.c
 *	  The session tracker (ZooKeeper's SessionTrackerImpl, and the
 *	  learner's side of it): the leader's table of live sessions, how a
 *	  session is kept alive, and its expiry.
 *
 * A session is held by a backend of the server that opened it (its owner,
 * in the session id).  It lives while that backend is alive and running:
 * the leader touches the sessions its own backends hold once a tick, and a
 * learner reports the sessions its backends hold in each PING, which its
 * peer backend at the leader files here (ZkSessionTrackerReportTouches) for
 * the leader's next tick.  A session not touched for its timeout expires:
 * the tick returns a closeSession request for it, decided like any other
 * (its ephemerals go with it), and each expired session is returned once.
 * A stopped process (SIGSTOP, a debugger) is a client that stopped
 * heartbeating, so a holder counts as alive only while it runs.
 *
 * The table is the request processor's too (prep_processor.c): a
 * createSession adds to it, a decided closeSession removes from it, and a
 * request of a session it does not hold fails with SESSIONEXPIRED.  It is
 * rebuilt from the tree's session rows whenever the request processor
 * starts over (a new leader restarts every session's timer, as
 * ZooKeeper's does).
 *
 * A new leader also closes the sessions of its own server that no backend
 * holds any longer: after a restart, those of the previous run
 * (ZkSessionTrackerStaleCloses).
 *
 * IDENTIFICATION
 *	  src/session_tracker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "datatree.h"
#include "request_queue.h"
#include "session_tracker.h"
#include "shmem.h"
#include "txn_codec.h"
#include "zkpg.h"

typedef struct TrackedSession
{
	int64		session_id;		/* hash key */
	int32		owner;
	int32		timeout_ms;
	TimestampTz last_seen;		/* last touch from the server holding it */
	bool		closing;		/* its expiry has been submitted */
} TrackedSession;

static MemoryContext tracker_cxt = NULL;
static HTAB *live_sessions = NULL;

static void touch(int64 session_id, TimestampTz now);
static void take_learner_touches(TimestampTz now);

/*
 * Start over with the sessions the tree holds (ZkSessionRow), every timer
 * restarted now.
 */
void
ZkSessionTrackerInit(List *rows)
{
	HASHCTL		ctl;
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	ZkSessionTrackerForget();
	tracker_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg session tracker",
										ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(TrackedSession);
	ctl.hcxt = tracker_cxt;
	live_sessions = hash_create("zkpg live sessions", 256, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	foreach(lc, rows)
	{
		ZkSessionRow *row = lfirst(lc);

		ZkSessionTrackerAdd(row->session_id, row->owner, row->timeout_ms, now);
	}
}

void
ZkSessionTrackerForget(void)
{
	if (tracker_cxt != NULL)
		MemoryContextDelete(tracker_cxt);
	tracker_cxt = NULL;
	live_sessions = NULL;
}

bool
ZkSessionTrackerExists(int64 session_id)
{
	return live_sessions != NULL &&
		hash_search(live_sessions, &session_id, HASH_FIND, NULL) != NULL;
}

void
ZkSessionTrackerAdd(int64 session_id, int owner, int timeout_ms, TimestampTz now)
{
	TrackedSession *s = hash_search(live_sessions, &session_id, HASH_ENTER, NULL);

	s->owner = owner;
	s->timeout_ms = timeout_ms;
	s->last_seen = now;
	s->closing = false;
}

void
ZkSessionTrackerRemove(int64 session_id)
{
	if (live_sessions != NULL)
		hash_search(live_sessions, &session_id, HASH_REMOVE, NULL);
}

static void
touch(int64 session_id, TimestampTz now)
{
	TrackedSession *s = hash_search(live_sessions, &session_id, HASH_FIND, NULL);

	if (s != NULL)
		s->last_seen = now;
}

/* the sessions learners reported alive since the last tick */
static void
take_learner_touches(TimestampTz now)
{
	static uint64 seen[ZK_MAX_PEERS_SHM];
	int			i;
	int			k;

	for (i = 0; i < ZK_MAX_PEERS_SHM; i++)
	{
		ZkPeerTouches *t = &ZkShmem->touches[i];

		LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
		if (t->seq != seen[i])
		{
			seen[i] = t->seq;
			for (k = 0; k < t->n; k++)
				touch(t->sessions[k], now);
		}
		LWLockRelease(ZkShmem->state_lock);
	}
}

/*
 * Once a tick, at the leader: touch the sessions whose holders are alive,
 * here and at the learners, and return a closeSession request for each
 * session not touched within its timeout.
 */
List *
ZkSessionTrackerTick(TimestampTz now)
{
	HASH_SEQ_STATUS seq;
	TrackedSession *s;
	List	   *requests = NIL;

	if (live_sessions == NULL)
		return NIL;
	take_learner_touches(now);
	hash_seq_init(&seq, live_sessions);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		if (s->closing)
			continue;
		if (s->owner == zk_myid && ZkSessionHolderAlive(s->session_id))
			s->last_seen = now;
		else if (TimestampDifferenceExceeds(s->last_seen, now, s->timeout_ms))
		{
			s->closing = true;
			elog(LOG, "zkpg session 0x%016llx expired", (unsigned long long) s->session_id);
			requests = lappend(requests,
							   ZkServerRequest(ZK_OP_CLOSESESSION, s->session_id, 0, NULL));
		}
	}
	return requests;
}

/*
 * A closeSession for each session this server owns whose backend is gone:
 * after a restart, those of the previous run.  Reads the tree, in a
 * transaction of its own.
 */
List *
ZkSessionTrackerStaleCloses(void)
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
		MemoryContext old;

		if (row->owner != zk_myid || ZkSessionHolderAlive(row->session_id))
			continue;
		old = MemoryContextSwitchTo(caller);
		requests = lappend(requests,
						   ZkServerRequest(ZK_OP_CLOSESESSION, row->session_id, 0, NULL));
		MemoryContextSwitchTo(old);
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	if (requests != NIL)
		elog(LOG, "zkpg closing %d sessions no backend of server %d holds",
			 list_length(requests), zk_myid);
	return requests;
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
 * The open sessions this server's backends hold, alive and running: what a
 * learner's PING reports.  Returns how many were put in ids.
 */
int
ZkSessionsAliveHere(int64 *ids, int max)
{
	int			n = 0;
	int			i;

	for (i = 0; i < ZkShmem->nslots && n < max; i++)
	{
		int64		sid;

		LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
		sid = ZkShmem->slots[i].session_state == ZK_SESSION_OPEN ?
			ZkShmem->slots[i].session_id : 0;
		LWLockRelease(ZkShmem->slot_lock);
		if (sid != 0 && ZkSessionHolderAlive(sid))
			ids[n++] = sid;
	}
	return n;
}

/*
 * A learner's PING, at the leader (peer index peer, server id peer_id):
 * file the sessions it holds for the next tick.  A peer keeps alive only
 * the sessions its own backends hold.
 */
void
ZkSessionTrackerReportTouches(int peer, int peer_id, int n, const int64 *ids)
{
	ZkPeerTouches *t = &ZkShmem->touches[peer];
	int			i;

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	t->n = 0;
	for (i = 0; i < n && t->n < ZK_MAX_TOUCHES; i++)
		if (ZK_SESSION_OWNER(ids[i]) == peer_id)
			t->sessions[t->n++] = ids[i];
	t->seq++;
	LWLockRelease(ZkShmem->state_lock);
}

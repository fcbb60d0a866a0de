/*-------------------------------------------------------------------------
 *
 * learner_handler.c
 *	  The leader's side of its learners (ZooKeeper's LearnerHandler): what
 *	  the leader does with a learner's messages, in the backend serving the
 *	  learner's connection (peer_functions.c dispatches them here).
 *
 * Only while this server leads the epoch the message names:
 *	 REQUESTS	 forwarded requests, queued like local ones;
 *	 PING		 the sessions the learner's backends hold, still alive
 *				 (filed for the session tracker's next tick);
 *	 SYNC		 nothing: the answer carries the committed zxid (zk_sync).
 * A learner speaks only for the sessions its own backends hold.
 *
 * The leader's other side of each learner (its phases, the proposals it is
 * sent) is the peer worker's, in leader.c.
 *
 * IDENTIFICATION
 *	  src/learner_handler.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "peer_handlers.h"
#include "request_queue.h"
#include "session_tracker.h"
#include "shmem.h"
#include "test_hooks.h"
#include "txn_codec.h"
#include "zkpg.h"

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
void
ZkLearnerHandlerRequests(const ZkPeerMessage *m, int from_id, ZkPeerAnswer *a)
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

/* the server that holds a session: the top byte of its id (sessions.c) */



void
ZkLearnerHandlerPing(const ZkPeerMessage *m, int from, ZkPeerAnswer *a)
{
	if (!leading_epoch(m->epoch, true))
		return;
	ZkSessionTrackerReportTouches(from, m->note.from, m->n, m->touches);
	a->ok = true;
}

/* zk_sync at a learner: the answer carries what we committed */
void
ZkLearnerHandlerSync(const ZkPeerMessage *m, ZkPeerAnswer *a)
{
	a->ok = leading_epoch(m->epoch, true);
}

/*-------------------------------------------------------------------------
 *
 * peer_messages.c
 *	  Messages of this server to its peers, over peer_transport.c, and what
 *	  comes back.
 *
 * Every message carries this server's latest notification (ZkMyNote: its
 * state and vote), and every answer the peer's, so that each exchange
 * teaches both sides, as ZooKeeper's election notifications do.  An
 * answer names its message by the tag given to ZkPeerSend (type | value
 * << 8).  ZkPeerWait hands the answers over as ZkReceived, with the calls
 * that failed and the notifications peers left in our inbox since the last
 * wait (peer_functions.c files them); it is where every role of the peer
 * worker waits, so it also notices a peer of another replication mode
 * and stops this server, with the reason.
 *
 * IDENTIFICATION
 *	  src/peer_messages.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "bgworker.h"
#include "peer_messages.h"
#include "peer_transport.h"
#include "quorum_config.h"
#include "shmem.h"
#include "zkpg.h"

ZkNotification ZkMyNote;
static uint64 inbox_seen[ZK_MAX_PEERS];

/* a server that has not voted yet */
void
ZkPeerMessagesInit(void)
{
	memset(&ZkMyNote, 0, sizeof(ZkMyNote));
	memset(inbox_seen, 0, sizeof(inbox_seen));
	ZkMyNote.from = zk_myid;
	ZkMyNote.state = ZK_STATE_LOOKING;
	ZkMyNote.vote.leader = -1;
}

/*
 * A role ended: say LOOKING at once, with no vote, in our answers too, so
 * that our old note (LEADING, FOLLOWING) does not make a looking peer
 * follow a leader that is gone.  Our election then sends our vote.
 */
void
ZkPeerPublishRoleEnded(int64 epoch)
{
	ZkMyNote.state = ZK_STATE_LOOKING;
	ZkMyNote.vote.leader = -1;
	ZkPeerPublish(ZK_STATE_LOOKING, false, -1, epoch);
}

void
ZkPeerPublish(ZkServerState state, bool serving, int leader, int64 epoch)
{
	ZkMyNote.replication = (int8) zk_replication;
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->my_notification = ZkMyNote;
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
	m->note = ZkMyNote;
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
		ZkWorkerIdle(psprintf("zkpg.replication mismatch: server %d uses \"%s\", this server \"%s\"",
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

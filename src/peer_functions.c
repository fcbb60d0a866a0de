/*-------------------------------------------------------------------------
 *
 * peer_functions.c
 *	  zkpg.peer_message(bytea): where peers' messages arrive, the other side
 *	  of peer_transport.c.
 *
 * It runs in the backend serving a peer's connection, one transaction per
 * message, as the extension's owner (SECURITY DEFINER), in four steps:
 *
 * 1. Who may call: a superuser, or a member of role zkpg_peer (which the
 *	  install script creates); and who speaks: the server the message
 *	  claims to come from must be the one the connection logged in for
 *	  (zkpg.peer_roles binds each server id to a role), and one connection
 *	  never speaks for two servers.
 * 2. Decode the message as hostile input (txn_codec.c), from a member of
 *	  this ensemble of the same replication mode.
 * 3. File the sender's notification (its state and vote) in our inbox,
 *	  for the election and the roles, and act on the message by the role we
 *	  play to the sender: its learner (learner_receiver.c: LEADERINFO,
 *	  APPEND, NEWLEADER, SNAP, CANCOMMIT) or its leader (learner_handler.c:
 *	  REQUESTS, PING, SYNC).  A NOTIFICATION does nothing more.
 * 4. Answer with this server's own notification and log position, so
 *	  that every exchange teaches both sides.  The sender sees the answer
 *	  only after this transaction has committed (synchronously): an
 *	  accepted APPEND is durable when acked.
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

#include "peer_handlers.h"
#include "quorum_config.h"
#include "shmem.h"
#include "txn_codec.h"
#include "zkpg.h"

PG_FUNCTION_INFO_V1(zkpg_peer_message);

static void check_peer_privilege(void);
static void check_peer_identity(int from_id);
static int	decode_message(bytea *msg, ZkPeerMessage *m);
static bool file_notification(const ZkPeerMessage *m, int from);
static void dispatch(const ZkPeerMessage *m, int from, ZkPeerAnswer *a);
static bytea *encode_answer(ZkPeerAnswer *a);

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










/*
 * Decode msg as hostile input; it must come from another member of this
 * ensemble.  Returns the sender's index in the configuration.
 */
static int
decode_message(bytea *msg, ZkPeerMessage *m)
{
	ZkQuorumConfig config;
	const char *reason;
	int			from = -1;
	int			i;

	reason = ZkDecodePeerMessage(VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg), m);
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
		if (config.peers[i].id == m->note.from)
			from = i;
	if (from < 0 || from == config.my_index)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("zkpg peer message from server %d, which is not a peer of server %d",
						m->note.from, zk_myid)));
	return from;
}

/*
 * Every message tells us the sender's state: file it in the inbox.  A
 * peer of another replication mode is flagged instead: both peer workers
 * stop with a clear message, this one from the flag, the sender from our
 * answer, which carries our mode.  False then.
 */
static bool
file_notification(const ZkPeerMessage *m, int from)
{
	bool		same_mode = (m->note.replication == zk_replication);

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	if (!same_mode && ZkShmem->mode_mismatch_from == 0)
	{
		ZkShmem->mode_mismatch_from = m->note.from;
		ZkShmem->mode_mismatch_mode = m->note.replication;
	}
	ZkShmem->inbox[from] = m->note;
	ZkShmem->inbox_seq[from]++;
	ZkPeerStatusHeard(from, &m->note);
	LWLockRelease(ZkShmem->state_lock);
	return same_mode;
}

/* act on the message by the role we play to its sender */
static void
dispatch(const ZkPeerMessage *m, int from, ZkPeerAnswer *a)
{
	switch (m->type)
	{
			/* from the leader we follow */
		case ZK_MSG_LEADERINFO:
			ZkLearnerOnLeaderInfo(m, a);
			break;
		case ZK_MSG_APPEND:
			ZkLearnerOnAppend(m, a);
			break;
		case ZK_MSG_NEWLEADER:
			ZkLearnerOnNewLeader(m, a);
			break;
		case ZK_MSG_SNAP:
			ZkLearnerOnSnap(m, a);
			break;
		case ZK_MSG_CANCOMMIT:
			ZkLearnerOnCanCommit(m, a);
			break;

			/* from a learner of ours */
		case ZK_MSG_REQUESTS:
			ZkLearnerHandlerRequests(m, m->note.from, a);
			break;
		case ZK_MSG_PING:
			ZkLearnerHandlerPing(m, from, a);
			break;
		case ZK_MSG_SYNC:
			ZkLearnerHandlerSync(m, a);
			break;

			/* the election's vote, filed already */
		case ZK_MSG_NOTIFICATION:
			a->ok = true;
			break;
	}
}

/*
 * The answer: what the handler filled, this server's published position
 * for the rest, and our latest notification.
 */
static bytea *
encode_answer(ZkPeerAnswer *a)
{
	StringInfoData out;
	bytea	   *result;

	if (a->last_logged == 0)
		a->last_logged = (ZkZxid) pg_atomic_read_u64(&ZkShmem->last_logged_zxid);
	if (a->committed == 0)
		a->committed = (ZkZxid) pg_atomic_read_u64(&ZkShmem->committed_zxid);
	if (a->applied == 0)
		a->applied = (ZkZxid) pg_atomic_read_u64(&ZkShmem->applied_zxid);
	if (a->accepted_epoch == 0)
		a->accepted_epoch = (int64) pg_atomic_read_u64(&ZkShmem->accepted_epoch);
	if (a->current_epoch == 0)
		a->current_epoch = (int64) pg_atomic_read_u64(&ZkShmem->current_epoch);

	LWLockAcquire(ZkShmem->state_lock, LW_SHARED);
	if (ZkShmem->have_notification)
		a->note = ZkShmem->my_notification;
	else
	{
		a->note.from = zk_myid;
		a->note.state = ZK_STATE_LOOKING;
		a->note.vote.leader = -1;
	}
	a->note.replication = (int8) zk_replication;
	LWLockRelease(ZkShmem->state_lock);

	initStringInfo(&out);
	ZkEncodePeerAnswer(&out, a);
	result = palloc(VARHDRSZ + out.len);
	SET_VARSIZE(result, VARHDRSZ + out.len);
	memcpy(VARDATA(result), out.data, out.len);
	pfree(out.data);
	return result;
}

Datum
zkpg_peer_message(PG_FUNCTION_ARGS)
{
	ZkPeerMessage m;
	ZkPeerAnswer a;
	int			from;

	check_peer_privilege();
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed zkpg peer message: null")));
	from = decode_message(PG_GETARG_BYTEA_PP(0), &m);
	check_peer_identity(m.note.from);

	ZkLearnerReceiveBegin();
	/* the sender waits for this commit; it must be durable */
	ForceSyncCommit();

	memset(&a, 0, sizeof(a));
	if (file_notification(&m, from))
		dispatch(&m, from, &a);
	if (ZkShmem->peer_latch)
		SetLatch(ZkShmem->peer_latch);
	PG_RETURN_BYTEA_P(encode_answer(&a));
}

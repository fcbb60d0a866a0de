/*-------------------------------------------------------------------------
 *
 * peer_functions.c
 *	  zkpg.peer_message(bytea): where peers' messages arrive.  The other
 *	  side of peer_transport.c.
 *
 * It runs in the backend serving a peer's connection: it checks that the
 * caller may speak for a peer (superuser, or member of role zkpg_peer),
 * decodes the message as hostile input (txn_codec.c), leaves it in this
 * server's inbox for the peer worker, and answers with this server's own
 * latest notification, so that every exchange teaches both sides.
 *
 * IDENTIFICATION
 *	  src/peer_functions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "quorum_config.h"
#include "shmem.h"
#include "txn_codec.h"
#include "zkpg.h"

PG_FUNCTION_INFO_V1(zkpg_peer_message);

/*
 * Superusers and members of zkpg_peer (if that role exists) may call
 * the peer functions.
 */
static void
check_peer_privilege(void)
{
	Oid			role;

	if (superuser())
		return;
	role = get_role_oid("zkpg_peer", true);
	if (OidIsValid(role) && has_privs_of_role(GetUserId(), role))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("only superusers and members of zkpg_peer may call zkpg peer functions")));
}

Datum
zkpg_peer_message(PG_FUNCTION_ARGS)
{
	bytea	   *msg;
	ZkNotification n;
	ZkNotification mine;
	ZkQuorumConfig config;
	const char *reason;
	bool		have_mine;
	StringInfoData out;
	bytea	   *result;
	int			i;
	int			from = -1;

	check_peer_privilege();
	if (ZkShmem == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("zkpg must be loaded via shared_preload_libraries")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("malformed zkpg peer message: null")));
	msg = PG_GETARG_BYTEA_PP(0);
	reason = ZkDecodeNotification(VARDATA_ANY(msg), VARSIZE_ANY_EXHDR(msg), &n);
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
		if (config.peers[i].id == n.from)
			from = i;
	if (from < 0 || from == config.my_index)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("zkpg peer message from server %d, which is not a peer of server %d",
						n.from, zk_myid)));

	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkShmem->inbox[from] = n;
	ZkShmem->inbox_seq[from]++;
	ZkShmem->peer_status[from].heard = true;
	ZkShmem->peer_status[from].state = n.state;
	ZkShmem->peer_status[from].leader = n.vote.leader;
	ZkShmem->peer_status[from].last_contact = GetCurrentTimestamp();
	have_mine = ZkShmem->have_notification;
	mine = ZkShmem->my_notification;
	LWLockRelease(ZkShmem->state_lock);
	if (ZkShmem->peer_latch)
		SetLatch(ZkShmem->peer_latch);

	if (!have_mine)
		PG_RETURN_NULL();
	initStringInfo(&out);
	ZkEncodeNotification(&out, &mine);
	result = palloc(VARHDRSZ + out.len);
	SET_VARSIZE(result, VARHDRSZ + out.len);
	memcpy(VARDATA(result), out.data, out.len);
	PG_RETURN_BYTEA_P(result);
}

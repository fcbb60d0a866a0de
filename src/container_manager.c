/*-------------------------------------------------------------------------
 *
 * container_manager.c
 *	  The container manager (ZooKeeper's ContainerManager): every
 *	  zkpg.container_check_interval, the leader deletes the containers that
 *	  have had children and have none now, and the TTL nodes whose time is
 *	  up, by submitting ordinary delete requests of the server.
 *
 * Each delete carries the version the check saw, so that a node changed
 * meanwhile fails its delete (BADVERSION; NOTEMPTY for a container given a
 * child) instead of losing the change; the next check sees it again.
 *
 * IDENTIFICATION
 *	  src/container_manager.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/snapmgr.h"

#include "container_manager.h"
#include "datatree.h"
#include "txn_codec.h"
#include "zkpg.h"

static TimestampTz last_check = 0;

/*
 * Once a tick, at the leader: the delete requests of this check, if one is
 * due.  Reads the tree in a transaction of its own.
 */
List *
ZkContainerManagerTick(TimestampTz now)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *requests = NIL;
	List	   *ops;
	ListCell   *lc;

	if (!TimestampDifferenceExceeds(last_check, now, zk_container_check_ms))
		return NIL;
	last_check = now;
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(caller);
	ops = ZkTreeExpiredContainers(ZkTreeMain(), now);
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(caller);
	foreach(lc, ops)
		requests = lappend(requests, ZkServerRequest(ZK_OP_DELETE, 0, 1, lfirst(lc)));
	return requests;
}

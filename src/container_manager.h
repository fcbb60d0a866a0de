/*-------------------------------------------------------------------------
 *
 * container_manager.h
 *	  The container manager (ZooKeeper's ContainerManager): empty
 *	  containers and expired TTL nodes, deleted by the leader.
 *
 * IDENTIFICATION
 *	  src/container_manager.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_CONTAINER_MANAGER_H
#define ZKPG_CONTAINER_MANAGER_H

#include "nodes/pg_list.h"
#include "utils/timestamp.h"

extern List *ZkContainerManagerTick(TimestampTz now);

#endif							/* ZKPG_CONTAINER_MANAGER_H */

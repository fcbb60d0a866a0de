/*-------------------------------------------------------------------------
 *
 * session_tracker.h
 *	  The session tracker (ZooKeeper's SessionTrackerImpl and its learner
 *	  side): which sessions live, who holds them, and when they expire.
 *
 * IDENTIFICATION
 *	  src/session_tracker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_SESSION_TRACKER_H
#define ZKPG_SESSION_TRACKER_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/timestamp.h"

/* the leader's table of live sessions, for the request processor */
extern void ZkSessionTrackerInit(List *rows);
extern void ZkSessionTrackerForget(void);
extern bool ZkSessionTrackerExists(int64 session_id);
extern void ZkSessionTrackerAdd(int64 session_id, int owner, int timeout_ms,
								TimestampTz now);
extern void ZkSessionTrackerRemove(int64 session_id);

/* the leader, once a tick: the closeSession requests of expired sessions */
extern List *ZkSessionTrackerTick(TimestampTz now);

/* a new leader: the sessions of this server whose holders are gone */
extern List *ZkSessionTrackerStaleCloses(void);

/* every server: the sessions this server's backends hold, alive */
extern bool ZkSessionHolderAlive(int64 session_id);
extern int	ZkSessionsAliveHere(int64 *ids, int max);

/* the leader's side of a learner's ping (a peer backend) */
extern void ZkSessionTrackerReportTouches(int peer, int peer_id, int n,
										  const int64 *ids);

#endif							/* ZKPG_SESSION_TRACKER_H */

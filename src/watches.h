/*-------------------------------------------------------------------------
 *
 * watches.h
 *	  The watch table of this server and the events it produces.
 *
 * IDENTIFICATION
 *	  src/watches.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_WATCHES_H
#define ZKPG_WATCHES_H

#include "nodes/pg_list.h"
#include "utils/palloc.h"
#include "zkpg.h"

/* kinds of watch */
#define ZK_WATCH_DATA					0	/* zk_get, zk_exists */
#define ZK_WATCH_CHILD					1	/* zk_get_children */
#define ZK_WATCH_PERSISTENT				2	/* zk_add_watch */
#define ZK_WATCH_PERSISTENT_RECURSIVE	3	/* zk_add_watch(recursive) */

/*
 * Internal one-shot watches of the recipes (recipes.c): they fire on any
 * change at their path and wake the session's backend through its latch
 * instead of sending a NOTIFY.  An election watch, on the candidate node
 * before the session's own, is also judged by the applier: when the
 * session's candidate has become the lowest, the session gets
 * LeadershipAcquired; otherwise the watch moves to the new predecessor.
 * A waiter also watches its own node (recipe_self), so that it wakes at
 * once when that node is deleted under it (its session expired, or a
 * client removed it).
 */
#define ZK_WATCH_RECIPE					4
#define ZK_WATCH_ELECTION				5
#define ZK_WATCH_RECIPE_SELF			6	/* a waiter's own node: deleted */
#define ZK_WATCH_IS_INTERNAL(kind)		((kind) >= ZK_WATCH_RECIPE)

/* ZooKeeper's Watcher.Event.EventType */
typedef enum ZkEventType
{
	ZK_EVENT_NODE_CREATED,
	ZK_EVENT_NODE_DELETED,
	ZK_EVENT_NODE_DATA_CHANGED,
	ZK_EVENT_NODE_CHILDREN_CHANGED,
	ZK_EVENT_LEADERSHIP_ACQUIRED	/* zk_elect (recipe_election.c), not ZooKeeper's */
} ZkEventType;

typedef struct ZkWatchEvent
{
	int64		session_id;
	ZkEventType type;
	char	   *path;
	ZkZxid		zxid;
	int64		token;			/* LeadershipAcquired: the leader's token */
	int			internal;		/* 0, or the internal watch kind that fired */

	/*
	 * The ACL of the node the event is about (for NodeChildrenChanged, the
	 * parent's), which the applier sets: the event reaches a session only
	 * if it may READ that node.
	 */
	bool		acl_set;
	int			nacl;
	char	  **acl;
} ZkWatchEvent;

extern Size ZkWatchShmemSize(void);
extern void ZkWatchShmemInit(void);

/* called by client backends */
extern bool ZkWatchAdd(int64 session_id, const char *path, int kind);
extern bool ZkWatchConsume(int64 session_id, const char *path, int kind);
extern int	ZkWatchRemove(int64 session_id, const char *path, int kindmask);
extern bool ZkWatchTryAdd(int64 session_id, const char *path, int kind);
extern void ZkWatchRemoveKindUnder(int64 session_id, int kind, const char *parent);
extern bool ZkWatchExists(int64 session_id, const char *path, int kind);
extern char *ZkWatchChannel(int64 session_id);
extern char *ZkWatchPayload(const char *type, const char *path, ZkZxid zxid);
extern const char *ZkEventTypeName(ZkEventType type);

/* called by backends and the applier */
extern void ZkWatchRemoveSession(int64 session_id);

/* called by the applier */
extern int	ZkWatchTrigger(const char *path, ZkEventType type, ZkZxid zxid, List **events);
extern void ZkWatchSetAcl(List *events, int first, int nacl, char **acl);
extern void ZkWatchTriggerWithAcl(const char *path, ZkEventType type, ZkZxid zxid,
								  int nacl, char **acl, List **events);
extern void ZkWatchNotify(List *events, List *expired_sessions, ZkZxid zxid);
extern void ZkWatchResendBuffered(void);
extern List *ZkWatchSessionsToWake(List *events, MemoryContext cxt);
extern void ZkWatchWakeWaiters(List *sessions);

/* called by client backends */
extern void ZkWatchListen(int64 session_id);

/* views */
typedef struct ZkWatchInfo
{
	int64		session_id;
	char	   *path;
	int			kind;
} ZkWatchInfo;

extern int	ZkWatchCount(void);
extern uint64 ZkWatchRecipeWakeups(void);
extern List *ZkWatchList(void);
extern const char *ZkWatchKindName(int kind);

#endif							/* ZKPG_WATCHES_H */

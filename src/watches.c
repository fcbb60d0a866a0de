/*-------------------------------------------------------------------------
 *
 * watches.c
 *	  The watch table of this server (ZooKeeper's WatchManager) and the
 *	  delivery of events as NOTIFYs on each session's channel.
 *
 * 1. Watches live in shared memory, as ZooKeeper keeps them per
 *	  connection: a hash of watched paths, each with a list of watchers
 *	  drawn from a fixed pool (zkpg.max_watches).  A session watching the
 *	  same path the same way twice holds one watcher.
 * 2. The applier, while it applies a txn, collects the events the txn
 *	  triggers, removes the one-shot watchers, and issues the NOTIFYs
 *	  inside its apply transaction: an event exists only for a committed
 *	  change.  Triggers and event types are ZooKeeper's: data watches
 *	  (get, exists) see NodeCreated, NodeDeleted and NodeDataChanged on
 *	  their path; child watches see NodeChildrenChanged on their path and
 *	  NodeDeleted; persistent watches see all of these and are never
 *	  removed; recursive persistent watches see every change at or below
 *	  their path except NodeChildrenChanged.
 * 3. A full NOTIFY queue must never stop the applier (a NOTIFY that does
 *	  not fit fails the committing transaction).  Above
 *	  zkpg.notify_queue_limit (half full by default), the applier sends no
 *	  events; the sessions that lose one are marked, and each receives a
 *	  single {"type":"EventsLost"} once the queue has drained below half
 *	  of that limit: like a ZooKeeper client after a
 *	  disconnect, it must re-read what it watches and set its watches
 *	  again.
 * 4. LISTEN takes effect when the listening transaction commits: events
 *	  of a session whose first LISTEN has not committed yet are kept in its
 *	  slot (a watch set inside a transaction block, or the first watch of a
 *	  session, whose statement has not committed when the node changes),
 *	  and sent again once the backend reports that its LISTEN committed.
 *	  An event may then arrive twice; it is never lost.
 * 5. Every payload carries its zxid, so PostgreSQL never folds two events
 *	  into one; paths are at most 1024 bytes, so a payload stays far below
 *	  NOTIFY's 8000-byte limit even when every byte needs escaping.
 * 6. An event reaches a session only if the session may READ the node it
 *	  is about (NodeChildrenChanged: the parent), with the identities it
 *	  last called with (sessions.c), checked at delivery for every kind of
 *	  watch, as ZooKeeper 3.8.4 does: a one-shot watch is consumed either
 *	  way.  A channel's name carries a random secret of its session, so
 *	  no other role can LISTEN to it or NOTIFY it.
 * 7. A session's client watches, and those of one role's sessions, are
 *	  bounded (zkpg.max_watches_per_session, _per_role; superusers are
 *	  not), so that one role cannot take the pool from the others.
 *
 * Lock: ZkShmem->watch_lock protects the hash, the pool and the slots'
 * nwatches and watch_role.
 *
 * IDENTIFICATION
 *	  src/watches.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "storage/shmem.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/json.h"

#include "acl.h"
#include "path.h"
#include "sessions.h"
#include "shmem.h"
#include "watches.h"
#include "zkpg.h"


typedef struct WatchPath WatchPath;

typedef struct Watcher
{
	int64		session_id;		/* 0 when free */
	int8		kind;
	int			prev;
	int			next;			/* in its path's list, or the free list */
	WatchPath  *owner;
} Watcher;

struct WatchPath
{
	char		path[ZK_MAX_PATH_BYTES + 1];	/* hash key */
	int			head;			/* first watcher, -1 if none */
};

typedef struct WatchPool
{
	int			free_head;
	int			in_use;
	Watcher		watchers[FLEXIBLE_ARRAY_MEMBER];
} WatchPool;

static HTAB *watch_paths = NULL;
static WatchPool *watch_pool = NULL;

/* a backend's LISTEN on its channel: committed, or asked in this xact */
static int64 listen_committed_session = 0;
static int64 listen_requested_session = 0;
static bool listen_callback_registered = false;

static void watch_xact_callback(XactEvent event, void *arg);

static void watcher_unlink(int idx);
static int	watch_add(int64 session_id, const char *path, int kind, bool error_when_full);
static void trigger_list(WatchPath *wp, ZkEventType type, const char *path,
						 ZkZxid zxid, bool at_path, List **events, int first_of_trigger);
static bool kind_fires(int kind, ZkEventType type, bool at_path);
static bool watch_exists_locked(int64 session_id, const char *path, int kind);
static void check_watch_limits(int64 session_id, int slot, Oid role);
static void notify_session(int64 session_id, const char *payload);
static void buffer_for_pending_listeners(List *events);

Size
ZkWatchShmemSize(void)
{
	Size		size = hash_estimate_size(zk_max_watches, sizeof(WatchPath));

	size = add_size(size, offsetof(WatchPool, watchers));
	size = add_size(size, mul_size(zk_max_watches, sizeof(Watcher)));
	return size;
}

void
ZkWatchShmemInit(void)
{
	HASHCTL		info;
	bool		found;
	int			i;

	memset(&info, 0, sizeof(info));
	info.keysize = ZK_MAX_PATH_BYTES + 1;
	info.entrysize = sizeof(WatchPath);
	watch_paths = ShmemInitHash("zkpg watched paths", zk_max_watches, zk_max_watches,
								&info, HASH_ELEM | HASH_STRINGS);
	watch_pool = ShmemInitStruct("zkpg watchers",
								 offsetof(WatchPool, watchers) + zk_max_watches * sizeof(Watcher),
								 &found);
	if (!found)
	{
		watch_pool->free_head = 0;
		watch_pool->in_use = 0;
		for (i = 0; i < zk_max_watches; i++)
		{
			watch_pool->watchers[i].session_id = 0;
			watch_pool->watchers[i].next = (i + 1 < zk_max_watches) ? i + 1 : -1;
		}
	}
}

const char *
ZkEventTypeName(ZkEventType type)
{
	switch (type)
	{
		case ZK_EVENT_NODE_CREATED:
			return "NodeCreated";
		case ZK_EVENT_NODE_DELETED:
			return "NodeDeleted";
		case ZK_EVENT_NODE_DATA_CHANGED:
			return "NodeDataChanged";
		case ZK_EVENT_NODE_CHILDREN_CHANGED:
			return "NodeChildrenChanged";
		case ZK_EVENT_LEADERSHIP_ACQUIRED:
			return "LeadershipAcquired";
	}
	return "None";
}

/*
 * The channel of a session of this server (its name carries a secret:
 * sessions.c), or NULL when no backend here holds the session.
 */
char *
ZkWatchChannel(int64 session_id)
{
	int			idx = ZK_SESSION_SLOT(session_id);
	char	   *channel = NULL;

	if (session_id == 0 || idx >= ZkShmem->nslots)
		return NULL;
	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	if (ZkShmem->slots[idx].session_id == session_id && ZkShmem->slots[idx].channel[0] != '\0')
		channel = pstrdup(ZkShmem->slots[idx].channel);
	LWLockRelease(ZkShmem->slot_lock);
	return channel;
}

/* Notify a session of this server, if it is still here. */
static void
notify_session(int64 session_id, const char *payload)
{
	char	   *channel = ZkWatchChannel(session_id);

	if (channel != NULL)
		Async_Notify(channel, payload);
}

/* {"type":...,"path":...,"zxid":...}; path may be NULL */
char *
ZkWatchPayload(const char *type, const char *path, ZkZxid zxid)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"type\":\"%s\"", type);
	if (path != NULL)
	{
		appendStringInfoString(&buf, ",\"path\":");
		escape_json(&buf, path);
	}
	appendStringInfo(&buf, ",\"zxid\":%lld}", (long long) zxid);
	return buf.data;
}

/* the NOTIFY payload of an event */
static char *
event_payload(const ZkWatchEvent *e)
{
	StringInfoData buf;

	if (e->type != ZK_EVENT_LEADERSHIP_ACQUIRED)
		return ZkWatchPayload(ZkEventTypeName(e->type), e->path, e->zxid);
	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"type\":\"LeadershipAcquired\",\"path\":");
	escape_json(&buf, e->path);
	appendStringInfo(&buf, ",\"token\":%lld,\"zxid\":%lld}",
					 (long long) e->token, (long long) e->zxid);
	return buf.data;
}

/* Take a watcher out of its path's list and give it back to the pool. */
static void
watcher_unlink(int idx)
{
	Watcher    *w = &watch_pool->watchers[idx];
	WatchPath  *wp = w->owner;

	if (w->prev >= 0)
		watch_pool->watchers[w->prev].next = w->next;
	else
		wp->head = w->next;
	if (w->next >= 0)
		watch_pool->watchers[w->next].prev = w->prev;
	if (wp->head < 0)
		hash_search(watch_paths, wp->path, HASH_REMOVE, NULL);

	if (!ZK_WATCH_IS_INTERNAL(w->kind))
		ZkShmem->slots[ZK_SESSION_SLOT(w->session_id) % ZkShmem->nslots].nwatches--;
	w->session_id = 0;
	w->owner = NULL;
	w->next = watch_pool->free_head;
	watch_pool->free_head = idx;
	watch_pool->in_use--;
}

/*
 * Add a watch; false if this session already watches path this way.
 * Errors when the pool is exhausted.
 */
bool
ZkWatchAdd(int64 session_id, const char *path, int kind)
{
	return watch_add(session_id, path, kind, true) > 0;
}

/*
 * A session's client watches are bounded, and so are those of all the
 * sessions of one role (superusers excepted), so that one role cannot
 * take the whole pool.  Called with watch_lock held.
 */
static void
check_watch_limits(int64 session_id, int slot, Oid role)
{
	int			role_watches = 0;
	int			i;

	if (zk_max_watches_per_session > 0 &&
		ZkShmem->slots[slot].nwatches >= zk_max_watches_per_session)
	{
		LWLockRelease(ZkShmem->watch_lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("zkpg session 0x%016llx holds %d watches, the most zkpg.max_watches_per_session allows",
						(unsigned long long) session_id, ZkShmem->slots[slot].nwatches),
				 errhint("Remove watches with zk_remove_watches(), or raise the setting.")));
	}
	if (zk_max_watches_per_role <= 0)
		return;
	for (i = 0; i < ZkShmem->nslots; i++)
		if (ZkShmem->slots[i].watch_role == role)
			role_watches += ZkShmem->slots[i].nwatches;
	if (role_watches >= zk_max_watches_per_role)
	{
		LWLockRelease(ZkShmem->watch_lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("the zkpg sessions of role \"%s\" hold %d watches, the most zkpg.max_watches_per_role allows",
						GetUserNameFromId(role, false), role_watches),
				 errhint("Remove watches with zk_remove_watches(), or raise the setting.")));
	}
}

/* The same, for the applier, which must not fail: false when full. */
bool
ZkWatchTryAdd(int64 session_id, const char *path, int kind)
{
	return watch_add(session_id, path, kind, false) >= 0;
}

/* 1: added, 0: there already, -1: the pool is full (when !error_when_full) */
static int
watch_add(int64 session_id, const char *path, int kind, bool error_when_full)
{
	WatchPath  *wp;
	bool		found;
	int			i;
	int			idx;
	Watcher    *w;
	int			slot = ZK_SESSION_SLOT(session_id) % ZkShmem->nslots;
	/* the applier's adds (election watches) are internal: not counted */
	bool		counted = error_when_full && !ZK_WATCH_IS_INTERNAL(kind);
	bool		limited = counted && !superuser();

	LWLockAcquire(ZkShmem->watch_lock, LW_EXCLUSIVE);
	/* a backend's own watch: counted, and bounded unless a superuser's */
	if (counted)
	{
		ZkShmem->slots[slot].watch_role = GetUserId();
		if (limited && !watch_exists_locked(session_id, path, kind))
			check_watch_limits(session_id, slot, GetUserId());
	}
	wp = hash_search(watch_paths, path, HASH_ENTER_NULL, &found);
	if (wp == NULL || (!found && watch_pool->free_head < 0) ||
		(found && watch_pool->free_head < 0))
	{
		if (wp != NULL && !found)
			hash_search(watch_paths, path, HASH_REMOVE, NULL);
		LWLockRelease(ZkShmem->watch_lock);
		if (!error_when_full)
			return -1;
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many zkpg watches"),
				 errhint("Increase zkpg.max_watches (now %d).", zk_max_watches)));
	}
	if (!found)
		wp->head = -1;
	for (i = wp->head; i >= 0; i = watch_pool->watchers[i].next)
	{
		if (watch_pool->watchers[i].session_id == session_id &&
			watch_pool->watchers[i].kind == kind)
		{
			LWLockRelease(ZkShmem->watch_lock);
			return 0;
		}
	}
	idx = watch_pool->free_head;
	w = &watch_pool->watchers[idx];
	watch_pool->free_head = w->next;
	watch_pool->in_use++;
	w->session_id = session_id;
	w->kind = (int8) kind;
	w->owner = wp;
	if (!ZK_WATCH_IS_INTERNAL(kind))
		ZkShmem->slots[slot].nwatches++;
	w->prev = -1;
	w->next = wp->head;
	if (wp->head >= 0)
		watch_pool->watchers[wp->head].prev = idx;
	wp->head = idx;
	LWLockRelease(ZkShmem->watch_lock);
	return 1;
}

/*
 * Remove one watcher if it is still there: true if this call removed it
 * (and so owns the duty to deliver its event).
 */
bool
ZkWatchConsume(int64 session_id, const char *path, int kind)
{
	return ZkWatchRemove(session_id, path, 1 << kind) > 0;
}

/* Remove this session's watches on path whose kind is in kindmask. */
int
ZkWatchRemove(int64 session_id, const char *path, int kindmask)
{
	WatchPath  *wp;
	int			removed = 0;
	int			i;

	LWLockAcquire(ZkShmem->watch_lock, LW_EXCLUSIVE);
	wp = hash_search(watch_paths, path, HASH_FIND, NULL);
	for (i = wp ? wp->head : -1; i >= 0;)
	{
		Watcher    *w = &watch_pool->watchers[i];
		int			next = w->next;
		bool		last = (next < 0);

		if (w->session_id == session_id && (kindmask & (1 << w->kind)))
		{
			watcher_unlink(i);
			removed++;
		}
		if (last)
			break;
		i = next;
	}
	LWLockRelease(ZkShmem->watch_lock);
	return removed;
}

/* The same, with watch_lock held. */
static bool
watch_exists_locked(int64 session_id, const char *path, int kind)
{
	WatchPath  *wp = hash_search(watch_paths, path, HASH_FIND, NULL);
	int			i;

	for (i = wp ? wp->head : -1; i >= 0; i = watch_pool->watchers[i].next)
		if (watch_pool->watchers[i].session_id == session_id &&
			watch_pool->watchers[i].kind == kind)
			return true;
	return false;
}

/* Does this session still have a watch of this kind on path? */
bool
ZkWatchExists(int64 session_id, const char *path, int kind)
{
	WatchPath  *wp;
	bool		found = false;
	int			i;

	LWLockAcquire(ZkShmem->watch_lock, LW_SHARED);
	wp = hash_search(watch_paths, path, HASH_FIND, NULL);
	for (i = wp ? wp->head : -1; i >= 0 && !found; i = watch_pool->watchers[i].next)
		found = watch_pool->watchers[i].session_id == session_id &&
			watch_pool->watchers[i].kind == kind;
	LWLockRelease(ZkShmem->watch_lock);
	return found;
}

/*
 * Remove a session's watches of this kind on the children of parent (a
 * candidate's election watch, when it leads or resigns).
 */
void
ZkWatchRemoveKindUnder(int64 session_id, int kind, const char *parent)
{
	size_t		plen = strlen(parent);
	int			i;

	LWLockAcquire(ZkShmem->watch_lock, LW_EXCLUSIVE);
	for (i = 0; i < zk_max_watches && watch_pool->in_use > 0; i++)
	{
		Watcher    *w = &watch_pool->watchers[i];
		const char *path;

		if (w->session_id != session_id || w->kind != kind)
			continue;
		path = w->owner->path;
		if (strncmp(path, parent, plen) == 0 && path[plen] == '/' &&
			strchr(path + plen + 1, '/') == NULL)
			watcher_unlink(i);
	}
	LWLockRelease(ZkShmem->watch_lock);
}

void
ZkWatchRemoveSession(int64 session_id)
{
	int			i;

	if (watch_pool == NULL)
		return;
	LWLockAcquire(ZkShmem->watch_lock, LW_EXCLUSIVE);
	for (i = 0; i < zk_max_watches && watch_pool->in_use > 0; i++)
		if (watch_pool->watchers[i].session_id == session_id)
			watcher_unlink(i);
	LWLockRelease(ZkShmem->watch_lock);
}

int
ZkWatchCount(void)
{
	int			n;

	LWLockAcquire(ZkShmem->watch_lock, LW_SHARED);
	n = watch_pool->in_use;
	LWLockRelease(ZkShmem->watch_lock);
	return n;
}

/*
 * Does a watch of this kind fire for this event?  at_path: the watch is
 * on the event's path itself (else on an ancestor).
 */
static bool
kind_fires(int kind, ZkEventType type, bool at_path)
{
	if (!at_path)
		return kind == ZK_WATCH_PERSISTENT_RECURSIVE &&
			type != ZK_EVENT_NODE_CHILDREN_CHANGED;
	switch (kind)
	{
		case ZK_WATCH_DATA:
			return type != ZK_EVENT_NODE_CHILDREN_CHANGED;
		case ZK_WATCH_CHILD:
			return type == ZK_EVENT_NODE_CHILDREN_CHANGED ||
				type == ZK_EVENT_NODE_DELETED;
		case ZK_WATCH_PERSISTENT:
			return true;
		case ZK_WATCH_PERSISTENT_RECURSIVE:
			return type != ZK_EVENT_NODE_CHILDREN_CHANGED;
		case ZK_WATCH_RECIPE:
			return true;
		case ZK_WATCH_ELECTION:
		case ZK_WATCH_RECIPE_SELF:
			return type == ZK_EVENT_NODE_DELETED;
	}
	return false;
}

static void
trigger_list(WatchPath *wp, ZkEventType type, const char *path, ZkZxid zxid,
			 bool at_path, List **events, int first_of_trigger)
{
	int			i = wp->head;

	while (i >= 0)
	{
		Watcher    *w = &watch_pool->watchers[i];
		int			next = w->next;

		if (kind_fires(w->kind, type, at_path))
		{
			bool		dup = false;
			int64		sid = w->session_id;
			int			k;

			/* one event per session per trigger (not per multi) */
			for (k = first_of_trigger; k < list_length(*events); k++)
			{
				ZkWatchEvent *e = list_nth(*events, k);

				if (e->session_id == sid &&
					e->internal == (ZK_WATCH_IS_INTERNAL(w->kind) ? w->kind : 0))
					dup = true;
			}
			if (!dup)
			{
				ZkWatchEvent *e = palloc(sizeof(ZkWatchEvent));

				e->session_id = sid;
				e->type = type;
				e->path = pstrdup(path);
				e->zxid = zxid;
				e->token = 0;
				e->internal = ZK_WATCH_IS_INTERNAL(w->kind) ? w->kind : 0;
				e->acl_set = false;
				e->nacl = 0;
				e->acl = NULL;
				*events = lappend(*events, e);
			}
			if (w->kind != ZK_WATCH_PERSISTENT &&
				w->kind != ZK_WATCH_PERSISTENT_RECURSIVE)
			{
				bool		emptied = (wp->head == i && next < 0);

				watcher_unlink(i);
				if (emptied)
					return;		/* wp is gone */
			}
		}
		i = next;
	}
}

/*
 * Collect (and consume) the watches an event on path triggers: those on
 * the path, and the recursive ones on its ancestors.  Returns how many
 * events it added to *events; the caller gives them the node's ACL
 * (ZkWatchSetAcl), since a one-shot watch is consumed whether or not its
 * event may be delivered, as in ZooKeeper.
 */
int
ZkWatchTrigger(const char *path, ZkEventType type, ZkZxid zxid, List **events)
{
	WatchPath  *wp;
	char	   *ancestor;
	int			first = list_length(*events);

	if (watch_pool == NULL)
		return 0;
	LWLockAcquire(ZkShmem->watch_lock, LW_EXCLUSIVE);
	if (watch_pool->in_use > 0)
	{
		wp = hash_search(watch_paths, path, HASH_FIND, NULL);
		if (wp != NULL)
			trigger_list(wp, type, path, zxid, true, events, first);
		if (type != ZK_EVENT_NODE_CHILDREN_CHANGED && strcmp(path, "/") != 0)
		{
			ancestor = pstrdup(path);
			do
			{
				char	   *parent = ZkParentPath(ancestor);

				pfree(ancestor);
				ancestor = parent;
				wp = hash_search(watch_paths, ancestor, HASH_FIND, NULL);
				if (wp != NULL)
					trigger_list(wp, type, path, zxid, false, events, first);
			} while (strcmp(ancestor, "/") != 0);
		}
	}
	LWLockRelease(ZkShmem->watch_lock);
	return list_length(*events) - first;
}

/* ZkWatchTrigger, with the ACL of the node the event is about */
void
ZkWatchTriggerWithAcl(const char *path, ZkEventType type, ZkZxid zxid, int nacl, char **acl,
					  List **events)
{
	int			first = list_length(*events);

	if (ZkWatchTrigger(path, type, zxid, events) > 0)
		ZkWatchSetAcl(*events, first, nacl, acl);
}

/* The ACL of the node events[first..] are about. */
void
ZkWatchSetAcl(List *events, int first, int nacl, char **acl)
{
	int			i;

	for (i = first; i < list_length(events); i++)
	{
		ZkWatchEvent *e = list_nth(events, i);

		e->acl_set = true;
		e->nacl = nacl;
		e->acl = acl;
	}
}

/*
 * May the session READ the node the event is about?  Asked at delivery,
 * for every kind of watch (ZooKeeper 3.8.4, CVE-2024-23944): a recursive
 * watch on "/" must not tell of changes under a node its session cannot
 * read.  Identities are those the session last called with; the
 * applier's checks of one batch share them per session.
 */
typedef struct SessionAuth
{
	int64		session_id;
	bool		local;
	ZkAuth		auth;
} SessionAuth;

static bool
event_permitted(const ZkWatchEvent *e, List **cache)
{
	ListCell   *lc;
	SessionAuth *sa = NULL;
	int			idx = ZK_SESSION_SLOT(e->session_id);

	if (e->type == ZK_EVENT_LEADERSHIP_ACQUIRED)
		return true;			/* its own candidate node */
	if (!e->acl_set)
		return false;			/* never tell what no one checked */
	foreach(lc, *cache)
	{
		sa = lfirst(lc);
		if (sa->session_id == e->session_id)
			break;
		sa = NULL;
	}
	if (sa == NULL)
	{
		ZkSessionIdentity *id = palloc(sizeof(ZkSessionIdentity));

		sa = palloc0(sizeof(SessionAuth));
		sa->session_id = e->session_id;
		LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
		sa->local = idx < ZkShmem->nslots && ZkShmem->slots[idx].session_id == e->session_id;
		if (sa->local)
			memcpy(id, &ZkShmem->slots[idx].identity, sizeof(ZkSessionIdentity));
		LWLockRelease(ZkShmem->slot_lock);
		if (sa->local)
			ZkSessionIdentityAuth(id, &sa->auth);
		pfree(id);
		*cache = lappend(*cache, sa);
	}
	return sa->local && ZkAclPermits(e->nacl, e->acl, ZK_PERM_READ, &sa->auth);
}

/* keep the events of sessions whose LISTEN has not committed yet */
static void
buffer_for_pending_listeners(List *events)
{
	ListCell   *lc;

	if (events == NIL)
		return;
	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	foreach(lc, events)
	{
		ZkWatchEvent *e = lfirst(lc);
		int			idx = ZK_SESSION_SLOT(e->session_id);
		ZkBackendSlot *slot;

		if (e->internal || idx >= ZkShmem->nslots)
			continue;
		slot = &ZkShmem->slots[idx];
		if (slot->session_id != e->session_id || !slot->listen_pending)
			continue;
		if (slot->nbuffered == ZK_EVENT_BUFFER)
		{
			slot->events_lost = true;
			continue;
		}
		slot->buffered[slot->nbuffered].type = (int8) e->type;
		slot->buffered[slot->nbuffered].zxid = e->zxid;
		slot->buffered[slot->nbuffered].token = e->token;
		strlcpy(slot->buffered[slot->nbuffered].path, e->path, ZK_MAX_PATH_BYTES + 1);
		slot->nbuffered++;
	}
	LWLockRelease(ZkShmem->slot_lock);
}

/*
 * Send again the events kept for sessions whose LISTEN has now committed.
 * Called by the applier inside a transaction.
 */
void
ZkWatchResendBuffered(void)
{
	List	   *resend = NIL;
	ListCell   *lc;
	int			i;
	int			j;

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	ZkShmem->resend_requested = false;
	for (i = 0; i < ZkShmem->nslots; i++)
	{
		ZkBackendSlot *slot = &ZkShmem->slots[i];

		if (!slot->resend)
			continue;
		for (j = 0; j < slot->nbuffered; j++)
		{
			ZkWatchEvent *e = palloc0(sizeof(ZkWatchEvent));

			e->session_id = slot->session_id;
			e->type = (ZkEventType) slot->buffered[j].type;
			e->zxid = slot->buffered[j].zxid;
			e->token = slot->buffered[j].token;
			e->path = pstrdup(slot->buffered[j].path);
			resend = lappend(resend, e);
		}
		slot->nbuffered = 0;
		slot->resend = false;
	}
	LWLockRelease(ZkShmem->slot_lock);
	/* checked when they were kept */
	foreach(lc, resend)
	{
		ZkWatchEvent *e = lfirst(lc);

		notify_session(e->session_id, event_payload(e));
	}
}

/*
 * Issue the NOTIFYs of a batch, inside the applier's transaction; see
 * point 3 of the header for a full queue.  expired_sessions get
 * {"type":"SessionExpired"}.
 */
void
ZkWatchNotify(List *events, List *expired_sessions, ZkZxid zxid)
{
	double		usage = DatumGetFloat8(DirectFunctionCall1(pg_notification_queue_usage,
														   (Datum) 0));
	List	   *deliver = NIL;
	List	   *auth_cache = NIL;
	ListCell   *lc;
	int			i;

	/* what each session may be told (the others' watches fired silently) */
	foreach(lc, events)
	{
		ZkWatchEvent *e = lfirst(lc);

		if (!e->internal && event_permitted(e, &auth_cache))
			deliver = lappend(deliver, e);
	}

	if (usage > 0 && usage >= zk_notify_queue_limit)
	{
		LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
		foreach(lc, deliver)
		{
			ZkWatchEvent *e = lfirst(lc);
			int			idx = ZK_SESSION_SLOT(e->session_id);

			if (idx < ZkShmem->nslots && ZkShmem->slots[idx].session_id == e->session_id)
				ZkShmem->slots[idx].events_lost = true;
		}
		LWLockRelease(ZkShmem->slot_lock);
		if (deliver != NIL)
			elog(WARNING, "zkpg dropped %d watch events: the NOTIFY queue is %.0f%% full",
				 list_length(deliver), usage * 100);
		return;
	}

	if (usage < zk_notify_queue_limit / 2)
	{
		List	   *lost = NIL;

		LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
		for (i = 0; i < ZkShmem->nslots; i++)
		{
			if (ZkShmem->slots[i].events_lost)
			{
				int64	   *sid = palloc(sizeof(int64));

				*sid = ZkShmem->slots[i].session_id;
				lost = lappend(lost, sid);
				ZkShmem->slots[i].events_lost = false;
			}
		}
		LWLockRelease(ZkShmem->slot_lock);
		foreach(lc, lost)
			notify_session(*(int64 *) lfirst(lc), ZkWatchPayload("EventsLost", NULL, zxid));
	}

	buffer_for_pending_listeners(deliver);
	foreach(lc, deliver)
	{
		ZkWatchEvent *e = lfirst(lc);

		notify_session(e->session_id, event_payload(e));
	}
	foreach(lc, expired_sessions)
		notify_session(*(int64 *) lfirst(lc), ZkWatchPayload("SessionExpired", NULL, zxid));
}

/*
 * The sessions whose recipe or election watches fired, in cxt: the
 * events die with the applier's transaction, the wake-ups come after it.
 */
List *
ZkWatchSessionsToWake(List *events, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *sessions = NIL;
	ListCell   *lc;

	foreach(lc, events)
	{
		ZkWatchEvent *e = lfirst(lc);
		int64	   *sid;

		if (!e->internal)
			continue;
		sid = palloc(sizeof(int64));
		*sid = e->session_id;
		sessions = lappend(sessions, sid);
	}
	MemoryContextSwitchTo(old);
	return sessions;
}

/*
 * After the applier's commit: wake those backends, so that they look at
 * the committed tree again.  Each woken backend is counted
 * (zkpg.recipe_wakeups()), which is how the tests prove that a release
 * wakes one waiter and not a herd.
 */
void
ZkWatchWakeWaiters(List *sessions)
{
	ListCell   *lc;

	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	foreach(lc, sessions)
	{
		int64		sid = *(int64 *) lfirst(lc);
		int			idx = ZK_SESSION_SLOT(sid);
		ZkBackendSlot *slot;

		if (idx >= ZkShmem->nslots)
			continue;
		slot = &ZkShmem->slots[idx];
		if (slot->session_id != sid || slot->latch == NULL)
			continue;
		pg_atomic_fetch_add_u64(&ZkShmem->recipe_wakeups, 1);
		SetLatch(slot->latch);
	}
	LWLockRelease(ZkShmem->slot_lock);
}

uint64
ZkWatchRecipeWakeups(void)
{
	return pg_atomic_read_u64(&ZkShmem->recipe_wakeups);
}

/* Every watch of this server, for the zkpg.watches view. */
List *
ZkWatchList(void)
{
	List	   *out = NIL;
	int			i;

	LWLockAcquire(ZkShmem->watch_lock, LW_SHARED);
	for (i = 0; i < zk_max_watches && watch_pool->in_use > 0; i++)
	{
		Watcher    *w = &watch_pool->watchers[i];
		ZkWatchInfo *info;

		if (w->session_id == 0)
			continue;
		info = palloc(sizeof(ZkWatchInfo));
		info->session_id = w->session_id;
		info->path = pstrdup(w->owner->path);
		info->kind = w->kind;
		out = lappend(out, info);
	}
	LWLockRelease(ZkShmem->watch_lock);
	return out;
}

const char *
ZkWatchKindName(int kind)
{
	switch (kind)
	{
		case ZK_WATCH_DATA:
			return "data";
		case ZK_WATCH_CHILD:
			return "children";
		case ZK_WATCH_PERSISTENT:
			return "persistent";
		case ZK_WATCH_PERSISTENT_RECURSIVE:
			return "persistent_recursive";
		case ZK_WATCH_RECIPE:
			return "recipe";
		case ZK_WATCH_ELECTION:
			return "election";
		case ZK_WATCH_RECIPE_SELF:
			return "recipe_self";
	}
	return "unknown";
}

/*
 * LISTEN on the session's channel.  Until that LISTEN commits, the
 * applier keeps this session's events (point 4 of the header).
 */
void
ZkWatchListen(int64 session_id)
{
	int			idx = ZK_SESSION_SLOT(session_id);
	char	   *channel = ZkWatchChannel(session_id);

	if (channel == NULL)
		elog(ERROR, "zkpg: session 0x%016llx has no channel here", (unsigned long long) session_id);
	Async_Listen(channel);
	if (listen_committed_session == session_id)
		return;
	listen_requested_session = session_id;
	if (!listen_callback_registered)
	{
		RegisterXactCallback(watch_xact_callback, NULL);
		listen_callback_registered = true;
	}
	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	if (idx < ZkShmem->nslots && ZkShmem->slots[idx].session_id == session_id)
		ZkShmem->slots[idx].listen_pending = true;
	LWLockRelease(ZkShmem->slot_lock);
}

static void
watch_xact_callback(XactEvent event, void *arg)
{
	int64		sid = listen_requested_session;
	int			idx = ZK_SESSION_SLOT(sid);
	bool		wake = false;

	if (sid == 0)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		/* the LISTEN is active now: have the applier resend what it kept */
		listen_committed_session = sid;
		LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
		if (idx < ZkShmem->nslots && ZkShmem->slots[idx].session_id == sid)
		{
			ZkBackendSlot *slot = &ZkShmem->slots[idx];

			slot->listen_pending = false;
			if (slot->nbuffered > 0)
			{
				slot->resend = true;
				ZkShmem->resend_requested = true;
				wake = true;
			}
		}
		LWLockRelease(ZkShmem->slot_lock);
		if (wake && ZkShmem->applier_latch)
			SetLatch(ZkShmem->applier_latch);
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		listen_requested_session = 0;
}

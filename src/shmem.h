/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  Layout of zkpg's shared memory: the server state, the per-backend
 *	  slots (session + result of the request being waited for) and the
 *	  request ring.
 *
 * Lock order (never hold two of these except in this order; never hold
 * any across a wait, libpq, SPI or a transaction):
 *
 *	1. ZkShared->state_lock
 *	2. ZkShared->queue_lock
 *	3. ZkShared->watch_lock
 *	4. ZkShared->slot_lock
 *
 * IDENTIFICATION
 *	  src/shmem.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_SHMEM_H
#define ZKPG_SHMEM_H

#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "test_hooks.h"
#include "zkpg.h"

/* Server states, as ZooKeeper's ServerState plus "starting" and standalone. */
typedef enum ZkServerState
{
	ZK_STATE_STARTING = 0,		/* waiting for the extension or recovering */
	ZK_STATE_STANDALONE,
	ZK_STATE_LOOKING,
	ZK_STATE_FOLLOWING,
	ZK_STATE_LEADING,
	ZK_STATE_OBSERVING
} ZkServerState;

/* Lifecycle of a backend's session, as seen by that backend's slot. */
typedef enum ZkSessionState
{
	ZK_SESSION_NONE = 0,		/* no session yet, or closed */
	ZK_SESSION_OPEN,			/* createSession applied */
	ZK_SESSION_EXPIRED			/* closed behind the backend's back: ZK112 */
} ZkSessionState;

#define ZK_MAX_PEERS_SHM 32		/* = ZK_MAX_PEERS */

/* A vote: who should lead, and the history that makes it a candidate. */
typedef struct ZkVote
{
	int32		leader;			/* -1: no vote (observers) */
	ZkZxid		zxid;			/* the candidate's last logged zxid */
	int64		peer_epoch;		/* the candidate's current epoch */
} ZkVote;

/* What peers exchange in elections and pings (ZooKeeper's Notification). */
typedef struct ZkNotification
{
	int32		from;
	ZkServerState state;
	int8		replication;	/* the sender's zkpg.replication */
	int64		election_epoch; /* the sender's logical clock */
	ZkVote		vote;
} ZkNotification;

/* What this server knows of a peer, for zkpg.peers (state_lock). */
typedef struct ZkPeerStatus
{
	bool		connected;		/* our connection to it works */
	bool		heard;			/* it has told us its state */
	ZkServerState state;
	int32		leader;
	uint32		role_changes;	/* times state or leader changed: a rejoin */
	TimestampTz last_contact;
} ZkPeerStatus;

/*
 * The sessions a learner reported alive in its latest ping, kept by the
 * leader's peer_message backend for the leader's session tracker
 * (state_lock).
 */
#define ZK_MAX_TOUCHES 16384
typedef struct ZkPeerTouches
{
	uint64		seq;			/* bumped at every ping */
	int			n;
	int64		sessions[ZK_MAX_TOUCHES];
} ZkPeerTouches;

/* An event kept for a session whose LISTEN has not committed yet. */
#define ZK_EVENT_BUFFER 16
typedef struct ZkBufferedEvent
{
	int8		type;			/* ZkEventType */
	ZkZxid		zxid;
	int64		token;			/* LeadershipAcquired */
	char		path[ZK_MAX_PATH_BYTES + 1];
} ZkBufferedEvent;

/*
 * Who a session is, as its backend last called: what the applier checks
 * a watch event against (the session must be allowed to READ the node the
 * event is about), as ZooKeeper checks its connections' authInfo.
 */
typedef struct ZkSessionIdentity
{
	Oid			role;			/* the role of the last call */
	char		addr[48];		/* "ip:ADDR", or "" for none */
	int			ndigests;
	char		digests[ZK_MAX_SESSION_DIGESTS][ZK_DIGEST_ID_BYTES];
} ZkSessionIdentity;

/* The result of one op, filled by the applier. */
typedef struct ZkOpResult
{
	int32		err;
	int32		seq;			/* sequential suffix of a create, else -1 */
	int64		counter;		/* a counter's new value (ZK_OP_COUNTER) */
	bool		has_stat;
	ZkStat		stat;
} ZkOpResult;

/*
 * One per backend (indexed by BackendId - 1).
 *
 * Protected by slot_lock: everything.  The owning backend arms wait_cxid
 * and reads the result; the applier completes it.  session_id and
 * session_state are also read by the applier to find the slot of a txn's
 * session (the low 16 bits of a session id are its slot index).
 */
typedef struct ZkBackendSlot
{
	int			pid;
	Latch	   *latch;
	int64		session_id;
	int32		session_timeout_ms;
	ZkSessionState session_state;

	bool		events_lost;	/* watch events dropped: owes an EventsLost */

	/*
	 * The session's channel, with a random secret in its name (watches.c),
	 * and its identity; written by the owning backend.
	 */
	char		channel[NAMEDATALEN];
	ZkSessionIdentity identity;

	/* watch_lock: the session's watches, and its role when it set them */
	int			nwatches;
	Oid			watch_role;

	/*
	 * A LISTEN runs at commit: until the backend's first LISTEN on its
	 * channel commits, the applier keeps its events here, and resends
	 * them once the backend says its LISTEN is active (watches.c).
	 */
	bool		listen_pending;
	bool		resend;
	int			nbuffered;
	ZkBufferedEvent buffered[ZK_EVENT_BUFFER];

	/* a recipe call waiting for its turn (recipes.c), for zkpg.locks */
	TimestampTz recipe_wait_since;	/* 0: not waiting */
	char		recipe_wait_node[ZK_MAX_PATH_BYTES + 1];

	int32		wait_cxid;		/* -1: not waiting */
	bool		done;
	int32		err;
	int32		failed_index;
	ZkZxid		zxid;
	int			nresults;
	ZkOpResult	results[ZK_MAX_MULTI_OPS];
} ZkBackendSlot;

#define ZK_REASON_BYTES 256

typedef struct ZkShared
{
	/* state_lock protects the fields up to queue_lock */
	LWLock	   *state_lock;
	ZkServerState state;
	bool		serving;		/* writes are accepted */
	TimestampTz not_serving_since;	/* when serving last became false */
	char		not_serving_reason[ZK_REASON_BYTES];	/* why, if known */
	int			leader_id;
	int64		epoch;
	Latch	   *peer_latch;
	Latch	   *applier_latch;
	bool		applier_ready;	/* applied_zxid holds the durable value */
	bool		resend_requested;	/* some slot has resend set */
	int64		znode_count;	/* maintained by the applier */

	/* ensemble (state_lock): our notification, the peers' latest ones */
	bool		have_notification;
	ZkNotification my_notification;
	uint64		inbox_seq[ZK_MAX_PEERS_SHM];
	ZkNotification inbox[ZK_MAX_PEERS_SHM];
	ZkPeerStatus peer_status[ZK_MAX_PEERS_SHM];
	ZkPeerTouches touches[ZK_MAX_PEERS_SHM];
	ZkZxid		peer_acked[ZK_MAX_PEERS_SHM];	/* leader: logged by each peer */

	/*
	 * Learner (state_lock): the epoch whose NEWLEADER this server acked
	 * (commits of that epoch may be applied), and a leader's request to
	 * copy its tree (SNAP), for the peer worker.
	 */
	int64		synced_epoch;
	int			snap_from;		/* server id, 0: none */
	int64		snap_epoch;

	/*
	 * zk_sync on a learner: a backend takes a ticket and waits on sync_cv
	 * until the peer worker has asked the leader for its committed zxid
	 * with a message sent after the ticket was taken.
	 */
	uint64		sync_requested;
	uint64		sync_answered;
	ZkZxid		sync_zxid;
	ConditionVariable sync_cv;

	/*
	 * 2PC and 3PC (state_lock): a peer whose zkpg.replication differs
	 * from ours (its id; 0: none), and, at a 3PC participant, the batch it
	 * promised at CanCommit (its last zxid) and when.
	 */
	int			mode_mismatch_from;
	int8		mode_mismatch_mode;
	ZkZxid		promised_zxid;
	TimestampTz promised_at;

	/* written by one process each, read by all */
	pg_atomic_uint64 last_logged_zxid;
	pg_atomic_uint64 committed_zxid;
	pg_atomic_uint64 applied_zxid;
	ConditionVariable applied_cv;	/* broadcast when applied_zxid moves */
	pg_atomic_uint64 applying_zxid; /* last zxid of the batch being applied */
	pg_atomic_uint64 next_session_seq;
	pg_atomic_uint64 accepted_epoch;	/* as durable in zkpg.peer_state */
	pg_atomic_uint64 current_epoch;
	pg_atomic_uint64 recipe_wakeups;	/* backends woken by recipe watches */

	/* write latency, measured by backends */
	slock_t		stats_mutex;
	int64		lat_count;
	int64		lat_sum_us;
	int64		lat_min_us;
	int64		lat_max_us;

	/* queue_lock protects the ring positions; space_cv wakes writers */
	LWLock	   *queue_lock;
	ConditionVariable space_cv;
	uint64		queue_head;		/* next byte to take */
	uint64		queue_tail;		/* next byte to write */
	uint64		queue_generation;	/* bumped at every change of role */
	uint32		queue_size;
	char	   *queue_data;		/* ring of queue_size bytes */

	LWLock	   *watch_lock;		/* watches.c */

	ZkPausePoints pauses;		/* test_hooks.c */

	LWLock	   *slot_lock;
	int			nslots;
	ZkBackendSlot slots[FLEXIBLE_ARRAY_MEMBER];
} ZkShared;

extern ZkShared *ZkShmem;

/* called from _PG_init */
extern void ZkShmemRequest(void);
extern void ZkShmemStartup(void);

extern const char *ZkServerStateName(ZkServerState state);
extern void ZkSetServingLocked(ZkServerState state, bool serving);
extern void ZkSetNotServingReason(const char *reason, bool restart_clock);
extern const char *ZkNotServingReason(ZkServerState state, const char *sticky);
extern ZkBackendSlot *ZkMySlot(void);
extern void ZkPeerStatusHeard(int peer, const ZkNotification *note);
extern int	ZkMySlotIndex(void);

#endif							/* ZKPG_SHMEM_H */

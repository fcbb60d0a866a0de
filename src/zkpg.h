/*-------------------------------------------------------------------------
 *
 * zkpg.h
 *	  Types shared by every part of zkpg: zxids, ZooKeeper's op and error
 *	  codes, the Stat of a znode, a decoded request or txn, and the GUCs.
 *
 * A request (what a client asks) and a txn (what the leader decided) have
 * the same in-memory shape, ZkRecord: a header plus one or more ops.  A
 * single-op request has nops = 1; a multi has type ZK_OP_MULTI and one op
 * per sub-request.  txn_codec.c turns both into bytes and back.
 *
 * IDENTIFICATION
 *	  src/zkpg.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_H
#define ZKPG_H

#include "datatype/timestamp.h"

/* A zxid is (epoch << 32) | counter, as in ZooKeeper. */
typedef int64 ZkZxid;

#define ZK_ZXID(epoch, counter) ((ZkZxid) (((uint64) (epoch) << 32) | (uint32) (counter)))
#define ZK_ZXID_EPOCH(zxid)		((int64) ((uint64) (zxid) >> 32))
#define ZK_ZXID_COUNTER(zxid)	((uint32) ((uint64) (zxid) & 0xFFFFFFFF))

/*
 * Limits.  The decoders enforce them, so every server takes every txn
 * that keeps to them; record_check.c checks them where a request enters.
 */
#define ZK_MAX_PATH_BYTES	1024	/* fits a btree index entry with room */
#define ZK_MAX_MULTI_OPS	1000	/* result slots hold this many op results */
#define ZK_MAX_ACL_ENTRIES	64		/* after "auth" is expanded */
#define ZK_MAX_ACL_ENTRY_BYTES 4096 /* one "scheme:id:perms" */
#define ZK_MAX_DATA_BYTES	(64 * 1024 * 1024)	/* zkpg.max_data_bytes at most */
#define ZK_MAX_AUTH_IDS		1024	/* identities a request carries */
#define ZK_MAX_AUTH_ID_BYTES 4096	/* one "scheme:id" identity */
#define ZK_MAX_RECORD_BYTES (128 * 1024 * 1024) /* an encoded request or txn */
#define ZK_MAX_SESSION_DIGESTS 32	/* zk_add_auth identities of a session */
#define ZK_MAX_DIGEST_USER_BYTES 256	/* the user of a digest identity */
/* "digest:" user ":" base64(sha1), NUL */
#define ZK_DIGEST_ID_BYTES	(7 + ZK_MAX_DIGEST_USER_BYTES + 1 + 28 + 1)

/* ZooKeeper's OpCode values, where an op has one. */
#define ZK_OP_ERROR			(-1)
#define ZK_OP_CREATE		1
#define ZK_OP_DELETE		2
#define ZK_OP_SETDATA		5
#define ZK_OP_SETACL		7
#define ZK_OP_CHECK			13
#define ZK_OP_MULTI			14
#define ZK_OP_FENCE			200 /* zkpg's own: zk_op_fence, in zk_multi */
#define ZK_OP_COUNTER		201 /* zkpg's own: zk_counter_add (recipe_naming.c) */
#define ZK_OP_CREATESESSION (-10)
#define ZK_OP_CLOSESESSION	(-11)

/* CreateMode, numbered as ZooKeeper's CreateMode.toFlag(). */
#define ZK_MODE_PERSISTENT						0
#define ZK_MODE_EPHEMERAL						1
#define ZK_MODE_PERSISTENT_SEQUENTIAL			2
#define ZK_MODE_EPHEMERAL_SEQUENTIAL			3
#define ZK_MODE_CONTAINER						4
#define ZK_MODE_PERSISTENT_WITH_TTL				5
#define ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL	6

#define ZK_MODE_IS_SEQUENTIAL(m) \
	((m) == ZK_MODE_PERSISTENT_SEQUENTIAL || (m) == ZK_MODE_EPHEMERAL_SEQUENTIAL || \
	 (m) == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)
#define ZK_MODE_IS_EPHEMERAL(m) \
	((m) == ZK_MODE_EPHEMERAL || (m) == ZK_MODE_EPHEMERAL_SEQUENTIAL)
#define ZK_MODE_IS_TTL(m) \
	((m) == ZK_MODE_PERSISTENT_WITH_TTL || (m) == ZK_MODE_PERSISTENT_SEQUENTIAL_WITH_TTL)

#define ZK_MAX_TTL_MS		((INT64CONST(1) << 40) - 1)

/*
 * Requests of session 0 come from the ensemble itself (the container
 * manager, the session tracker, an administrator's kill): no session has
 * to exist for them.
 */
#define ZK_SERVER_SESSION	0

/*
 * A session id is owner << 56 | seq << 16 | slot (sessions.c): the server
 * that opened it, a sequence number, and its backend slot on that server,
 * so that the applier finds a txn's waiting backend without a search.
 */
#define ZK_SESSION_SLOT_BITS	16
#define ZK_SESSION_SEQ_BITS		40
#define ZK_SESSION_OWNER_SHIFT	(ZK_SESSION_SLOT_BITS + ZK_SESSION_SEQ_BITS)
#define ZK_SESSION_SLOT_MASK	((UINT64CONST(1) << ZK_SESSION_SLOT_BITS) - 1)
#define ZK_SESSION_SEQ_MASK		((UINT64CONST(1) << ZK_SESSION_SEQ_BITS) - 1)
#define ZK_SESSION_MAKE_ID(owner, seq, slot) \
	((int64) ((((uint64) (owner) & 0xFF) << ZK_SESSION_OWNER_SHIFT) | \
			  (((uint64) (seq) & ZK_SESSION_SEQ_MASK) << ZK_SESSION_SLOT_BITS) | \
			  ((uint64) (slot) & ZK_SESSION_SLOT_MASK)))
#define ZK_SESSION_SLOT(sid)	((int) ((uint64) (sid) & ZK_SESSION_SLOT_MASK))
#define ZK_SESSION_OWNER(sid)	((int) (((uint64) (sid) >> ZK_SESSION_OWNER_SHIFT) & 0xFF))

/* Node kinds as stored in the tree (what the container manager needs). */
#define ZK_KIND_NORMAL		0
#define ZK_KIND_CONTAINER	1
#define ZK_KIND_TTL			2

/* KeeperException.Code values. */
#define ZK_OK						0
#define ZK_ERR_RUNTIMEINCONSISTENCY (-2)
#define ZK_ERR_CONNECTIONLOSS		(-4)
#define ZK_ERR_OPERATIONTIMEOUT		(-7)
#define ZK_ERR_BADARGUMENTS			(-8)
#define ZK_ERR_NONODE				(-101)
#define ZK_ERR_NOAUTH				(-102)
#define ZK_ERR_BADVERSION			(-103)
#define ZK_ERR_NOCHILDRENFOREPHEMERALS (-108)
#define ZK_ERR_NODEEXISTS			(-110)
#define ZK_ERR_NOTEMPTY				(-111)
#define ZK_ERR_SESSIONEXPIRED		(-112)
#define ZK_ERR_INVALIDACL			(-114)
#define ZK_ERR_NOWATCHER			(-121)

/* ACL permission bits, as ZooKeeper's ZooDefs.Perms. */
#define ZK_PERM_READ	(1 << 0)
#define ZK_PERM_WRITE	(1 << 1)
#define ZK_PERM_CREATE	(1 << 2)
#define ZK_PERM_DELETE	(1 << 3)
#define ZK_PERM_ADMIN	(1 << 4)
#define ZK_PERM_ALL		0x1F

/* ZooKeeper's Stat.  Times are PostgreSQL timestamps. */
typedef struct ZkStat
{
	ZkZxid		czxid;
	ZkZxid		mzxid;
	TimestampTz ctime;
	TimestampTz mtime;
	int32		version;
	int32		cversion;
	int32		aversion;
	int64		ephemeral_owner;
	int32		data_length;
	int32		num_children;
	ZkZxid		pzxid;
} ZkStat;

/*
 * One op of a request or txn.  Which fields mean something depends on the
 * type and on whether this is a request or a txn; txn_codec.c writes down
 * exactly which are encoded.
 */
typedef struct ZkOp
{
	int16		type;
	char	   *path;
	char	   *data;			/* not NUL-terminated */
	int32		data_len;
	int32		version;		/* expected (request) or new (txn) version */
	int8		mode;			/* create mode */
	int64		ttl_ms;
	int64		token;			/* fence: the holder's token */
	int64		counter;		/* counter: delta (request) or new value (txn) */
	int			nacl;
	char	  **acl;			/* normalized "scheme:id:perms" */
	/* txn only */
	int64		ephemeral_owner;
	int32		parent_creates; /* parent's child-create count after this op */
	int32		err;			/* ZK_OP_ERROR sub-txn of a failed multi */
} ZkOp;

/*
 * The identities a request acts with (ZooKeeper's request.authInfo).  A
 * request carries its "pg:ROLE" identities in ids, as the server the
 * client is on computed them (roles are per server).  A check made on
 * that server itself asks role_member instead, at each check, so that a
 * membership granted or revoked counts at once.
 */
typedef struct ZkAuth
{
	bool		superuser;
	int			nids;
	char	  **ids;			/* "scheme:id" */
	Oid			roleid;			/* with role_member: who "pg:" entries ask for */
	bool		(*role_member) (Oid roleid, const char *role);
} ZkAuth;

/* A request or a txn. */
typedef struct ZkRecord
{
	int64		session_id;
	int32		cxid;
	int16		type;
	/* txn header */
	ZkZxid		zxid;
	TimestampTz time;
	/* session ops */
	int32		timeout_ms;
	int32		owner;			/* server id that holds the session */
	int64		target_session; /* closeSession: the session to close */
	/* error txn */
	int32		err;
	int32		failed_index;	/* 0-based op of a failed multi, else -1 */
	/* request only */
	ZkAuth		auth;
	int			nops;
	ZkOp	   *ops;
} ZkRecord;

/* GUCs (zkpg.c). */
extern char *zk_database;
extern int	zk_myid;
extern char *zk_servers;
extern int	zk_max_data_bytes;
extern int	zk_session_timeout_ms;
extern int	zk_tick_ms;
extern int	zk_request_timeout_ms;
extern int	zk_request_queue_kb;
extern char *zk_peer_conninfo;
extern int	zk_init_limit;
extern int	zk_sync_limit;
extern int	zk_replication;

/* zkpg.replication */
#define ZK_REPLICATION_ZAB	0
#define ZK_REPLICATION_2PC	1
#define ZK_REPLICATION_3PC	2
extern const char *ZkReplicationName(int replication);
extern int	zk_max_watches;
extern int	zk_container_check_ms;
extern int	zk_log_retain;
extern bool zk_force_snapshot_sync;
extern bool zk_read_only;
extern double zk_notify_queue_limit;
extern char *zk_unix_socket_address;
extern char *zk_peer_roles;
extern int	zk_max_sessions_per_role;
extern int	zk_max_watches_per_session;
extern int	zk_max_watches_per_role;

extern int	ZkErrorToSqlstate(int zkerr);
extern const char *ZkErrorName(int zkerr);
extern const char *ZkOpName(int16 type);

#endif							/* ZKPG_H */

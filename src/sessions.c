/*-------------------------------------------------------------------------
 *
 * sessions.c
 *	  The session of a client backend: opened by its first zk_* call with
 *	  a createSession txn, closed by zk_close_session() or, when the
 *	  backend exits in any way that runs exit callbacks, by a closeSession
 *	  request queued from the exit callback.
 *
 * A backend that dies without running its callbacks (kill -9) makes the
 * postmaster restart every backend; the quorum peer then closes, at its
 * start, every session this server owned that no backend holds
 * (session_tracker.c, ZkSessionTrackerStaleCloses).
 *
 * The session id is myid << 56 | seq << 16 | slot, so that the applier
 * finds the slot of a txn's session without a search and ids are unique
 * across the ensemble and across restarts.
 *
 * The identities a session acts with are computed here: the client
 * address (a Unix-socket client has none unless zkpg.unix_socket_address
 * says so), the digests added with zk_add_auth (at most 32) and the roles
 * of the current role.  Checks made here ask role membership of the
 * catalogs at each call; a request carries its "pg:" identities to the
 * leader; the applier checks a watch event against what the session last
 * published in its slot.  DISCARD ALL, a pool's reset between clients,
 * ends the session and drops the identities, as it releases advisory
 * locks.  One role holds at most zkpg.max_sessions_per_role sessions.
 *
 * IDENTIFICATION
 *	  src/sessions.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_authid.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha1.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "request_queue.h"
#include "sessions.h"
#include "shmem.h"
#include "zkpg.h"
#include "watches.h"
#include "zkpg_errcodes.h"

static bool exit_callback_registered = false;

/* identities added with zk_add_auth, "digest:user:hash", for the connection */
static List *added_ids = NIL;

/* the roles the current role is a member of, as "pg:name" */
static List *member_of_ids = NIL;
static Oid	member_of_user = InvalidOid;
static bool member_of_callback_registered = false;

static void member_of_invalidate(Datum arg, int cacheid, uint32 hashvalue);
static List *member_of_roles(void);

/* what this backend last published as its session's identity */
static int64 published_session = 0;
static Oid	published_role = InvalidOid;
static uint64 published_generation = 0;
static char published_addr[48] = "";
static uint64 ids_generation = 1;	/* bumped when added_ids changes */

static ProcessUtility_hook_type prev_process_utility = NULL;

static void session_exit_callback(int code, Datum arg);
static void release_session(bool exiting);
static void session_process_utility(PlannedStmt *pstmt, const char *queryString,
									bool readOnlyTree, ProcessUtilityContext context,
									ParamListInfo params, QueryEnvironment *queryEnv,
									DestReceiver *dest, QueryCompletion *qc);
static int32 session_clamped_timeout(void);
static void my_session(ZkSessionState *state, int64 *sid);
static char *new_channel_name(int64 session_id);
static const char *client_identity(void);
static void publish_identity(void);
static void forget_identities(void);

int64
ZkNewSessionId(int slot)
{
	uint64		seq = pg_atomic_fetch_add_u64(&ZkShmem->next_session_seq, 1);

	return ZK_SESSION_MAKE_ID(zk_myid, seq, slot);
}

/*
 * The channel a session's events arrive on: its id and a random secret,
 * so that no other role can LISTEN to it (and read another session's
 * events) or NOTIFY it (and forge them).  Only the session's own
 * zk_watch_channel() says it.
 */
static char *
new_channel_name(int64 session_id)
{
	uint8		secret[16];
	char		hex[33];
	int			i;

	if (!pg_strong_random(secret, sizeof(secret)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random zkpg channel name")));
	for (i = 0; i < (int) sizeof(secret); i++)
		snprintf(hex + 2 * i, 3, "%02x", secret[i]);
	return psprintf("zk_session_%016llx_%s", (unsigned long long) session_id, hex);
}

/* zkpg.session_timeout clamped to [2, 20] ticks, as ZooKeeper does. */
static int32
session_clamped_timeout(void)
{
	int32		lo = 2 * zk_tick_ms;
	int32		hi = 20 * zk_tick_ms;

	return Min(Max(zk_session_timeout_ms, lo), hi);
}

/*
 * The session of this backend, opened if needed.  ZK112 if it expired.
 */
int64
ZkSessionEnsure(void)
{
	ZkBackendSlot *slot = ZkMySlot();
	int			idx = ZkMySlotIndex();
	ZkSessionState state;
	int64		sid;
	ZkRecord	req;
	ZkRequestResult res;
	char	   *channel;

	sid = ZkSessionCurrent();
	if (sid != 0)
		return sid;

	if (!exit_callback_registered)
	{
		before_shmem_exit(session_exit_callback, (Datum) 0);
		exit_callback_registered = true;
	}

	sid = ZkNewSessionId(idx);
	channel = new_channel_name(sid);
	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	/* one role cannot take every session slot of the server */
	if (zk_max_sessions_per_role > 0 && !superuser())
	{
		Oid			me = GetUserId();
		int			mine = 0;
		int			i;

		for (i = 0; i < ZkShmem->nslots; i++)
			if (i != idx && ZkShmem->slots[i].session_id != 0 &&
				ZkShmem->slots[i].identity.role == me)
				mine++;
		if (mine >= zk_max_sessions_per_role)
		{
			LWLockRelease(ZkShmem->slot_lock);
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("role \"%s\" has %d zkpg sessions on this server, the most zkpg.max_sessions_per_role allows",
							GetUserNameFromId(me, false), mine),
					 errhint("Close sessions with zk_close_session(), or raise zkpg.max_sessions_per_role.")));
		}
	}
	slot->pid = MyProcPid;
	slot->latch = MyLatch;
	slot->session_id = sid;
	slot->session_timeout_ms = session_clamped_timeout();
	slot->session_state = ZK_SESSION_NONE;
	slot->listen_pending = false;
	slot->resend = false;
	slot->nbuffered = 0;
	strlcpy(slot->channel, channel, sizeof(slot->channel));
	memset(&slot->identity, 0, sizeof(slot->identity));
	slot->identity.role = GetUserId();
	LWLockRelease(ZkShmem->slot_lock);
	published_session = 0;		/* the new session's identity is not out yet */

	memset(&req, 0, sizeof(req));
	req.session_id = sid;
	req.type = ZK_OP_CREATESESSION;
	req.timeout_ms = session_clamped_timeout();
	ZkSessionAuth(&req.auth);
	ZkSubmitAndWait(&req, &res);
	if (res.err != ZK_OK)
		ereport(ERROR,
				(errcode(ZkErrorToSqlstate(res.err)),
				 errmsg("could not open a zkpg session: %s", ZkErrorName(res.err))));

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	if (slot->session_id == sid && slot->session_state == ZK_SESSION_NONE)
		slot->session_state = ZK_SESSION_OPEN;
	state = slot->session_state;
	LWLockRelease(ZkShmem->slot_lock);
	if (state != ZK_SESSION_OPEN)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_SESSIONEXPIRED),
				 errmsg("zkpg session 0x%016llx expired as it opened", (unsigned long long) sid)));
	return sid;
}

/* The state and id of this backend's session, as its slot has them. */
static void
my_session(ZkSessionState *state, int64 *sid)
{
	ZkBackendSlot *slot = ZkMySlot();

	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	*state = slot->session_state;
	*sid = slot->session_id;
	LWLockRelease(ZkShmem->slot_lock);
}

/*
 * The session of this backend for a call that needs none (a read without
 * a watch): its id, 0 when none is open.  A read opens no session, so it
 * costs no replicated write and works without a quorum; but after expiry
 * every call fails with ZK112, this one too.
 */
int64
ZkSessionCurrent(void)
{
	ZkSessionState state;
	int64		sid;

	my_session(&state, &sid);
	if (state == ZK_SESSION_EXPIRED)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_SESSIONEXPIRED),
				 errmsg("zkpg session 0x%016llx has expired", (unsigned long long) sid),
				 errhint("Call zk_close_session() or reconnect to start a new session.")));
	return state == ZK_SESSION_OPEN ? sid : 0;
}

int32
ZkSessionTimeoutMs(void)
{
	ZkBackendSlot *slot = ZkMySlot();
	int32		t;

	(void) ZkSessionEnsure();
	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	t = slot->session_timeout_ms;
	LWLockRelease(ZkShmem->slot_lock);
	return t;
}

/*
 * Close this backend's session now (zk_close_session).  Closing an
 * expired session only forgets it; closing no session does nothing.
 */
void
ZkSessionClose(void)
{
	ZkBackendSlot *slot = ZkMySlot();
	ZkSessionState state;
	int64		sid;

	my_session(&state, &sid);
	if (state == ZK_SESSION_OPEN)
	{
		ZkRecord	req;
		ZkRequestResult res;

		memset(&req, 0, sizeof(req));
		req.session_id = sid;
		req.target_session = sid;
		req.type = ZK_OP_CLOSESESSION;
		ZkSessionAuth(&req.auth);
		ZkSubmitAndWait(&req, &res);
	}

	ZkWatchRemoveSession(sid);
	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	slot->session_id = 0;
	slot->session_state = ZK_SESSION_NONE;
	slot->events_lost = false;
	LWLockRelease(ZkShmem->slot_lock);

	/* identities belong to the session, as in ZooKeeper */
	forget_identities();
}

/* Drop the identities added with zk_add_auth. */
static void
forget_identities(void)
{
	list_free_deep(added_ids);
	added_ids = NIL;
	ids_generation++;
}

/*
 * This backend's own session was closed by its own kill: every later
 * call gets ZK112, as after any expiry.
 */
void
ZkSessionMarkExpired(int64 session_id)
{
	ZkBackendSlot *slot = ZkMySlot();

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	if (slot->session_id == session_id)
		slot->session_state = ZK_SESSION_EXPIRED;
	LWLockRelease(ZkShmem->slot_lock);
}

static void
member_of_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	member_of_user = InvalidOid;
}

/*
 * "pg:ROLE" for every role the current role is a member of, itself
 * included.  Computed here, on the server the client is connected to,
 * because roles are per server; cached until role memberships change.
 */
static List *
member_of_roles(void)
{
	Oid			me = GetUserId();
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	MemoryContext old;

	if (member_of_user == me)
		return member_of_ids;
	if (!member_of_callback_registered)
	{
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, member_of_invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, member_of_invalidate, (Datum) 0);
		member_of_callback_registered = true;
	}

	old = MemoryContextSwitchTo(TopMemoryContext);
	list_free_deep(member_of_ids);
	member_of_ids = NIL;
	rel = table_open(AuthIdRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_authid role = (Form_pg_authid) GETSTRUCT(tup);

		if (is_member_of_role(me, role->oid))
			member_of_ids = lappend(member_of_ids,
									psprintf("pg:%s", NameStr(role->rolname)));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	MemoryContextSwitchTo(old);
	member_of_user = me;
	return member_of_ids;
}

/*
 * zk_add_auth: ZooKeeper's DigestAuthenticationProvider turns
 * "user:password" into the id "user:base64(sha1(user:password))".
 */
void
ZkSessionAddAuth(const char *scheme, const char *auth)
{
	const char *colon;
	uint8		digest[SHA1_DIGEST_LENGTH];
	char		b64[64];
	int			len;
	pg_cryptohash_ctx *ctx;
	MemoryContext old;
	char	   *id;

	if (strcmp(scheme, "digest") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("unsupported authentication scheme \"%s\"", scheme),
				 errhint("zk_add_auth supports the digest scheme; ip and pg identities are implicit.")));
	colon = strchr(auth, ':');
	if (colon == NULL || colon == auth)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("digest authentication needs \"user:password\"")));
	/* the identity goes into every request and every "auth" ACL: bounded */
	if (colon - auth > ZK_MAX_DIGEST_USER_BYTES || strlen(colon + 1) > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("digest user or password too long"),
				 errdetail("A user has at most %d bytes, a password at most 1024.",
						   ZK_MAX_DIGEST_USER_BYTES)));

	ctx = pg_cryptohash_create(PG_SHA1);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) auth, strlen(auth)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute a SHA-1 digest: %s", pg_cryptohash_error(ctx));
	pg_cryptohash_free(ctx);
	len = pg_b64_encode((const char *) digest, SHA1_DIGEST_LENGTH, b64, sizeof(b64) - 1);
	if (len < 0)
		elog(ERROR, "could not encode a SHA-1 digest");
	b64[len] = '\0';

	id = psprintf("digest:%.*s:%s", (int) (colon - auth), auth, b64);
	if (list_member(added_ids, makeString(id)))
		return;
	if (list_length(added_ids) >= ZK_MAX_SESSION_DIGESTS)
		ereport(ERROR,
				(errcode(ERRCODE_ZK_BADARGUMENTS),
				 errmsg("a zkpg session may add at most %d identities", ZK_MAX_SESSION_DIGESTS)));
	old = MemoryContextSwitchTo(TopMemoryContext);
	added_ids = lappend(added_ids, makeString(pstrdup(id)));
	MemoryContextSwitchTo(old);
	ids_generation++;
	publish_identity();
}

/*
 * The ip identity of this backend's client, "" if none.  A Unix-socket
 * client has an address only if zkpg.unix_socket_address gives it one:
 * otherwise any local process could satisfy an ACL meant for a host.
 */
static const char *
client_identity(void)
{
	static char tcp[48] = "";
	static bool tcp_known = false;
	static char unix_id[48];
	const struct sockaddr *sa;

	if (MyBEEntry == NULL)
		return "";
	sa = (const struct sockaddr *) &MyBEEntry->st_clientaddr.addr;
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
	{
		if (!tcp_known)
		{
			char		addr[INET6_ADDRSTRLEN] = "";

			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr,
						  addr, sizeof(addr));
			else
				inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr,
						  addr, sizeof(addr));
			snprintf(tcp, sizeof(tcp), "ip:%s", addr);
			tcp_known = true;
		}
		return tcp;
	}
	if (sa->sa_family == AF_UNIX && zk_unix_socket_address != NULL &&
		zk_unix_socket_address[0] != '\0')
	{
		snprintf(unix_id, sizeof(unix_id), "ip:%s", zk_unix_socket_address);
		return unix_id;
	}
	return "";
}

/*
 * Publish this session's identity for the applier's checks (watches.c),
 * when it changed: the current role, the client address and the digests
 * added.  Cheap when nothing changed, which is every call but a few.
 */
static void
publish_identity(void)
{
	ZkBackendSlot *slot = ZkMySlot();
	Oid			role = GetUserId();
	const char *addr = client_identity();
	ListCell   *lc;
	int			n = 0;

	/* no session (a read without one): nobody reads the identity */
	if (slot->session_id == 0 && published_session == 0)
		return;
	if (published_session != 0 && published_session == slot->session_id &&
		published_role == role && published_generation == ids_generation &&
		strcmp(published_addr, addr) == 0)
		return;
	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	if (slot->session_id != 0)
	{
		slot->identity.role = role;
		strlcpy(slot->identity.addr, addr, sizeof(slot->identity.addr));
		foreach(lc, added_ids)
			strlcpy(slot->identity.digests[n++], strVal(lfirst(lc)), ZK_DIGEST_ID_BYTES);
		slot->identity.ndigests = n;
	}
	published_session = slot->session_id;
	LWLockRelease(ZkShmem->slot_lock);
	published_role = role;
	published_generation = ids_generation;
	strlcpy(published_addr, addr, sizeof(published_addr));
}

/* The role_member of a ZkAuth: asked at each check, never cached here. */
bool
ZkRoleIsMember(Oid roleid, const char *role)
{
	Oid			r = get_role_oid(role, true);

	return OidIsValid(r) && is_member_of_role(roleid, r);
}

/* The client address and the digests added with zk_add_auth, into auth. */
static void
session_ids(ZkAuth *auth, int extra)
{
	const char *addr = client_identity();
	ListCell   *lc;

	auth->nids = 0;
	auth->ids = palloc(sizeof(char *) * (1 + list_length(added_ids) + extra));
	if (addr[0] != '\0')
		auth->ids[auth->nids++] = pstrdup(addr);
	foreach(lc, added_ids)
		auth->ids[auth->nids++] = strVal(lfirst(lc));
}

/*
 * The identities a request of this backend carries to the leader:
 * superuser status, the client address, the digests added with
 * zk_add_auth and, as "pg:ROLE", the roles the current role belongs to
 * (the leader cannot know them: roles are per server).
 */
void
ZkSessionAuth(ZkAuth *auth)
{
	List	   *roles = member_of_roles();
	ListCell   *lc;

	publish_identity();
	memset(auth, 0, sizeof(ZkAuth));
	auth->superuser = superuser();
	session_ids(auth, list_length(roles));
	foreach(lc, roles)
		auth->ids[auth->nids++] = (char *) lfirst(lc);
}

/*
 * The identities a check made here, now, acts with: as a request's, but
 * "pg:ROLE" is asked of the catalogs at each check.
 */
void
ZkSessionLocalAuth(ZkAuth *auth)
{
	publish_identity();
	memset(auth, 0, sizeof(ZkAuth));
	auth->superuser = superuser();
	auth->roleid = GetUserId();
	auth->role_member = ZkRoleIsMember;
	session_ids(auth, 0);
}

/*
 * The identities of a session of this server as it last published them,
 * for a check made by another process (the applier delivering a watch
 * event).
 */
void
ZkSessionIdentityAuth(const ZkSessionIdentity *id, ZkAuth *auth)
{
	int			i;

	memset(auth, 0, sizeof(ZkAuth));
	auth->superuser = OidIsValid(id->role) && superuser_arg(id->role);
	auth->roleid = id->role;
	auth->role_member = ZkRoleIsMember;
	auth->ids = palloc(sizeof(char *) * (1 + id->ndigests));
	if (id->addr[0] != '\0')
		auth->ids[auth->nids++] = pstrdup(id->addr);
	for (i = 0; i < id->ndigests; i++)
		auth->ids[auth->nids++] = pstrdup(id->digests[i]);
}

/*
 * Let go of this backend's session without waiting for its close: clear
 * the slot (leaving the process, unless it is exiting) and queue the
 * closeSession; the peer worker submits it.  Never waits long: a session
 * left behind is closed at the next start of the server, or expires.
 */
static void
release_session(bool exiting)
{
	ZkBackendSlot *slot = ZkMySlot();
	int64		sid;
	ZkSessionState state;

	LWLockAcquire(ZkShmem->slot_lock, LW_EXCLUSIVE);
	sid = slot->session_id;
	state = slot->session_state;
	slot->session_id = 0;
	slot->session_state = ZK_SESSION_NONE;
	slot->wait_cxid = -1;
	slot->done = false;
	slot->events_lost = false;
	slot->channel[0] = '\0';
	memset(&slot->identity, 0, sizeof(slot->identity));
	if (exiting)
	{
		slot->latch = NULL;
		slot->pid = 0;
	}
	LWLockRelease(ZkShmem->slot_lock);
	if (sid != 0)
		ZkWatchRemoveSession(sid);

	if (state == ZK_SESSION_OPEN)
	{
		ZkRecord	req;

		memset(&req, 0, sizeof(req));
		req.session_id = sid;
		req.target_session = sid;
		req.type = ZK_OP_CLOSESESSION;
		req.auth.superuser = true;
		if (!ZkEnqueueRequest(&req, 2000))
			elog(WARNING, "zkpg could not queue the close of session 0x%016llx; it will be closed when it expires",
				 (unsigned long long) sid);
	}
}

/* The backend exits: its session goes. */
static void
session_exit_callback(int code, Datum arg)
{
	if (ZkShmem == NULL || MyBackendId == InvalidBackendId)
		return;
	LWLockReleaseAll();
	release_session(true);
}

/*
 * DISCARD ALL, what a connection pool runs before it hands the connection
 * to another client: the next client is another session.  As DISCARD ALL
 * releases advisory locks, it ends the zkpg session (its ephemerals, locks
 * and watches go) and drops the identities added with zk_add_auth.
 */
void
ZkSessionDiscard(void)
{
	if (ZkShmem == NULL || MyBackendId == InvalidBackendId)
		return;
	release_session(false);
	forget_identities();
}

/* ProcessUtility_hook: after a DISCARD ALL, the session goes too */
static void
session_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						ProcessUtilityContext context, ParamListInfo params,
						QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		discard_all = IsA(stmt, DiscardStmt) &&
		((DiscardStmt *) stmt)->target == DISCARD_ALL;

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
	if (discard_all)
		ZkSessionDiscard();
}

/* called from _PG_init */
void
ZkSessionInstallHooks(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = session_process_utility;
}

/*
 * May the current role see the sensitive columns (pids, paths, tokens) of
 * a session's rows in zkpg's views?  As pg_stat_activity decides:
 * superusers, members of pg_read_all_stats, and roles with the privileges
 * of the session's role, which only the server holding the session knows.
 */
bool
ZkSessionDetailsVisible(int64 session_id)
{
	Oid			me = GetUserId();
	Oid			role = InvalidOid;
	int			idx = ZK_SESSION_SLOT(session_id);

	if (has_privs_of_role(me, ROLE_PG_READ_ALL_STATS))
		return true;
	if (session_id == 0 || idx >= ZkShmem->nslots)
		return false;
	LWLockAcquire(ZkShmem->slot_lock, LW_SHARED);
	if (ZkShmem->slots[idx].session_id == session_id)
		role = ZkShmem->slots[idx].identity.role;
	LWLockRelease(ZkShmem->slot_lock);
	return OidIsValid(role) && has_privs_of_role(me, role);
}

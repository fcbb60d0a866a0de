/*-------------------------------------------------------------------------
 *
 * zkpg.c
 *	  Entry point of the zkpg library: settings, shared memory hooks and
 *	  the registration of the background workers (ZooKeeper's
 *	  QuorumPeerMain).  Nothing else lives here.
 *
 * IDENTIFICATION
 *	  src/zkpg.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "bgworker.h"
#include "quorum_config.h"
#include "sessions.h"
#include "shmem.h"
#include "zkpg.h"

PG_MODULE_MAGIC;

char	   *zk_database = NULL;
int			zk_myid = 0;
char	   *zk_servers = NULL;
char	   *zk_peer_conninfo = NULL;
int			zk_tick_ms = 500;
int			zk_init_limit = 10;
int			zk_sync_limit = 5;
int			zk_replication = 0;
int			zk_max_data_bytes = 1024 * 1024;
int			zk_session_timeout_ms = 10000;
int			zk_request_timeout_ms = 30000;
int			zk_request_queue_kb = 16384;
int			zk_max_watches = 10000;
int			zk_container_check_ms = 1000;
int			zk_log_retain = 100000;
bool		zk_force_snapshot_sync = false;
bool		zk_read_only = true;
double		zk_notify_queue_limit = 0.5;
char	   *zk_unix_socket_address = NULL;
char	   *zk_peer_roles = NULL;
int			zk_max_sessions_per_role = 64;
int			zk_max_watches_per_session = 1000;
int			zk_max_watches_per_role = 5000;

static const struct config_enum_entry replication_options[] = {
	{"zab", ZK_REPLICATION_ZAB, false},
	{"2pc", ZK_REPLICATION_2PC, false},
	{"3pc", ZK_REPLICATION_3PC, false},
	{NULL, 0, false}
};

const char *
ZkReplicationName(int replication)
{
	if (replication >= ZK_REPLICATION_ZAB && replication <= ZK_REPLICATION_3PC)
		return replication_options[replication].name;
	return "unknown";
}

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);
static void zk_shmem_request(void);
static void zk_shmem_startup(void);
static void zk_register_worker(const char *name, const char *function);
static bool check_unix_socket_address(char **newval, void **extra, GucSource source);
static bool check_peer_roles(char **newval, void **extra, GucSource source);

/* zkpg.unix_socket_address: empty, or an IPv4 or IPv6 address */
static bool
check_unix_socket_address(char **newval, void **extra, GucSource source)
{
	unsigned char buf[16];

	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (inet_pton(AF_INET, *newval, buf) == 1 || inet_pton(AF_INET6, *newval, buf) == 1)
		return true;
	GUC_check_errdetail("\"%s\" is not an IPv4 or IPv6 address.", *newval);
	return false;
}

/* zkpg.peer_roles: id=role, comma separated */
static bool
check_peer_roles(char **newval, void **extra, GucSource source)
{
	char	   *role;
	const char *reason = ZkPeerRoleFor(*newval, 0, &role);

	if (reason == NULL)
		return true;
	GUC_check_errdetail("%s", reason);
	return false;
}

static void
zk_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	ZkShmemRequest();
}

static void
zk_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	ZkShmemStartup();
}

static void
zk_register_worker(const char *name, const char *function)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "zkpg");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", name);
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("zkpg.database",
							   "Database that holds the znode tree.",
							   "Run CREATE EXTENSION zkpg in this database.",
							   &zk_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.myid",
							"Id of this server in the ensemble (0 when standalone).",
							NULL, &zk_myid, 0, 0, 255,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("zkpg.servers",
							   "The ensemble: id=host:port[:observer], comma separated.",
							   "Empty for a standalone server.",
							   &zk_servers, "",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("zkpg.peer_conninfo",
							   "Extra libpq keywords for connections to peers.",
							   NULL, &zk_peer_conninfo, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.tick_ms",
							"Length of a tick (ZooKeeper's tickTime).",
							NULL, &zk_tick_ms, 500, 10, 60000,
							PGC_POSTMASTER, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.init_limit",
							"Ticks a follower may take to sync with the leader.",
							NULL, &zk_init_limit, 10, 1, 1000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.sync_limit",
							"Ticks a peer may stay silent before it is considered gone.",
							NULL, &zk_sync_limit, 5, 1, 1000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("zkpg.replication",
							 "How writes are replicated: zab, 2pc or 3pc.",
							 NULL, &zk_replication, 0, replication_options,
							 PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.max_data_bytes",
							"Largest data a znode may hold.",
							NULL, &zk_max_data_bytes, 1024 * 1024, 0, 64 * 1024 * 1024,
							PGC_SIGHUP, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.session_timeout",
							"Timeout of sessions opened afterwards, clamped to [2, 20] ticks.",
							NULL, &zk_session_timeout_ms, 10000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.request_timeout",
							"How long a write waits for its result before ZK007.",
							NULL, &zk_request_timeout_ms, 30000, 100, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.request_queue_kb",
							"Size of the shared request queue.",
							NULL, &zk_request_queue_kb, 16384, 1024, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.max_watches",
							"Watches this server can hold at once.",
							NULL, &zk_max_watches, 10000, 16, 10 * 1000 * 1000,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.container_check_interval",
							"How often the leader looks for empty containers and expired TTL nodes.",
							NULL, &zk_container_check_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomRealVariable("zkpg.notify_queue_limit",
							 "NOTIFY queue usage above which the applier sends no watch events.",
							 "Sessions that miss events get one {\"type\":\"EventsLost\"} once usage is below half of this.",
							 &zk_notify_queue_limit, 0.5, 0.0, 0.9,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.log_retain",
							"Applied txns kept in the log for learners that catch up by DIFF.",
							"Older ones are purged; a learner further behind catches up by SNAP.",
							&zk_log_retain, 100000, 0, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("zkpg.force_snapshot_sync",
							 "A leader syncs every learner by SNAP, even when DIFF would do.",
							 "For tests, as ZooKeeper's zookeeper.forceSnapshotSync.",
							 &zk_force_snapshot_sync, false,
							 PGC_SIGHUP, GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);
	DefineCustomBoolVariable("zkpg.read_only",
							 "A server without a quorum serves reads from its applied state.",
							 "As ZooKeeper's read-only mode: writes and session opens still get ZK004 at once.",
							 &zk_read_only, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("zkpg.peer_roles",
							   "The role each server's peer connections log in as: id=role, comma separated.",
							   "Set, a peer connection speaks only for the server whose role it logged in as. Empty: any superuser or member of zkpg_peer may speak for any server.",
							   &zk_peer_roles, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY, check_peer_roles, NULL, NULL);
	DefineCustomStringVariable("zkpg.unix_socket_address",
							   "The ip: identity of clients on a Unix socket.",
							   "Empty (the default): a Unix-socket client has no address, and no ip: ACL entry matches it.",
							   &zk_unix_socket_address, "",
							   PGC_SUSET, 0, check_unix_socket_address, NULL, NULL);
	DefineCustomIntVariable("zkpg.max_sessions_per_role",
							"Sessions one role may hold on this server at once (superusers: any).",
							"0 for no limit.",
							&zk_max_sessions_per_role, 64, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.max_watches_per_session",
							"Watches one session may hold at once (superusers: any).",
							"0 for no limit.",
							&zk_max_watches_per_session, 1000, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("zkpg.max_watches_per_role",
							"Watches the sessions of one role may hold on this server at once (superusers: any).",
							"0 for no limit.",
							&zk_max_watches_per_role, 5000, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	MarkGUCPrefixReserved("zkpg");
	ZkSessionInstallHooks();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = zk_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = zk_shmem_startup;

	zk_register_worker("zkpg quorum peer", "ZkQuorumPeerMain");
	zk_register_worker("zkpg applier", "ZkApplierMain");
}

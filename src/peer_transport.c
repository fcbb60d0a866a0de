/*-------------------------------------------------------------------------
 *
 * peer_transport.c
 *	  The peer worker's connections to the other peers: the only user of
 *	  libpq in zkpg (ZooKeeper's QuorumCnxManager).
 *
 * 1. One long-lived connection per peer, opened with nonblocking libpq
 *	  (PQconnectStart/PQconnectPoll) so that an unreachable peer never
 *	  stalls the worker; a failed one is retried with exponential backoff.
 * 2. A message is a call of the peer's zkpg.peer_message(bytea); its
 *	  result is the peer's answer.  A message waiting for a busy
 *	  connection is replaced by a newer one: notifications are states,
 *	  the latest says it all.
 * 3. ZkTransportWait waits on the worker's latch and every socket in one
 *	  WaitEventSet, drives connections and hands each answer to the
 *	  caller.  A call unanswered for the timeout drops its connection.
 *
 * IDENTIFICATION
 *	  src/peer_transport.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "peer_transport.h"
#include "zkpg.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	5000

typedef enum ConnState
{
	CONN_DOWN,
	CONN_CONNECTING,
	CONN_IDLE,
	CONN_BUSY
} ConnState;

typedef struct PeerConn
{
	PGconn	   *conn;
	ConnState	state;
	PostgresPollingStatusType poll;
	TimestampTz next_attempt;
	int			backoff_ms;
	TimestampTz sent_at;
	StringInfo	pending;		/* latest message not yet sent */
} PeerConn;

static const ZkQuorumConfig *tconfig = NULL;
static PeerConn conns[ZK_MAX_PEERS];

static void conn_drop(int i, const char *why);
static void conn_start(int i);
static void conn_advance(int i);
static void conn_send_pending(int i);
static void conn_read(int i, ZkTransportAnswer answer, void *arg);

void
ZkTransportInit(const ZkQuorumConfig *config)
{
	int			i;

	tconfig = config;
	for (i = 0; i < ZK_MAX_PEERS; i++)
	{
		memset(&conns[i], 0, sizeof(PeerConn));
		conns[i].state = CONN_DOWN;
		conns[i].backoff_ms = BACKOFF_MIN_MS;
	}
}

bool
ZkTransportConnected(int i)
{
	return conns[i].state == CONN_IDLE || conns[i].state == CONN_BUSY;
}

static void
conn_drop(int i, const char *why)
{
	if (conns[i].conn != NULL)
	{
		if (why != NULL && conns[i].state != CONN_CONNECTING)
			elog(LOG, "zkpg lost its connection to server %d: %s",
				 tconfig->peers[i].id, why);
		PQfinish(conns[i].conn);
	}
	conns[i].conn = NULL;
	conns[i].state = CONN_DOWN;
	conns[i].next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														conns[i].backoff_ms);
	conns[i].backoff_ms = Min(conns[i].backoff_ms * 2, BACKOFF_MAX_MS);
}

static void
conn_start(int i)
{
	const ZkPeerConfig *peer = &tconfig->peers[i];
	char	   *conninfo;

	conninfo = psprintf("host='%s' port=%d dbname='%s' application_name='zkpg peer %d' "
						"connect_timeout=%d %s",
						peer->host, peer->port, zk_database, zk_myid,
						Max(1, zk_sync_limit * zk_tick_ms / 1000),
						zk_peer_conninfo ? zk_peer_conninfo : "");
	conns[i].conn = PQconnectStart(conninfo);
	pfree(conninfo);
	if (conns[i].conn == NULL || PQstatus(conns[i].conn) == CONNECTION_BAD)
	{
		conn_drop(i, NULL);
		return;
	}
	conns[i].state = CONN_CONNECTING;
	conns[i].poll = PGRES_POLLING_WRITING;
	conns[i].sent_at = GetCurrentTimestamp();
}

static void
conn_advance(int i)
{
	conns[i].poll = PQconnectPoll(conns[i].conn);
	if (conns[i].poll == PGRES_POLLING_FAILED)
		conn_drop(i, NULL);
	else if (conns[i].poll == PGRES_POLLING_OK)
	{
		if (PQsetnonblocking(conns[i].conn, 1) != 0)
		{
			conn_drop(i, "cannot make the connection nonblocking");
			return;
		}
		conns[i].state = CONN_IDLE;
		conns[i].backoff_ms = BACKOFF_MIN_MS;
		elog(LOG, "zkpg connected to server %d", tconfig->peers[i].id);
		conn_send_pending(i);
	}
}

/*
 * Queue msg for peer i; it replaces any message not sent yet.
 */
void
ZkTransportSend(int i, StringInfo msg)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

	if (conns[i].pending != NULL)
	{
		pfree(conns[i].pending->data);
		pfree(conns[i].pending);
	}
	conns[i].pending = makeStringInfo();
	appendBinaryStringInfo(conns[i].pending, msg->data, msg->len);
	MemoryContextSwitchTo(old);
	if (conns[i].state == CONN_IDLE)
		conn_send_pending(i);
}

static void
conn_send_pending(int i)
{
	const char *values[1];
	int			lengths[1];
	int			formats[1] = {1};
	Oid			types[1] = {17};	/* bytea */

	if (conns[i].state != CONN_IDLE || conns[i].pending == NULL)
		return;
	values[0] = conns[i].pending->data;
	lengths[0] = conns[i].pending->len;
	if (!PQsendQueryParams(conns[i].conn, "SELECT zkpg.peer_message($1)", 1, types,
						   values, lengths, formats, 1))
	{
		conn_drop(i, PQerrorMessage(conns[i].conn));
		return;
	}
	pfree(conns[i].pending->data);
	pfree(conns[i].pending);
	conns[i].pending = NULL;
	conns[i].state = CONN_BUSY;
	conns[i].sent_at = GetCurrentTimestamp();
	if (PQflush(conns[i].conn) < 0)
		conn_drop(i, PQerrorMessage(conns[i].conn));
}

static void
conn_read(int i, ZkTransportAnswer answer, void *arg)
{
	PGconn	   *conn = conns[i].conn;

	if (!PQconsumeInput(conn))
	{
		conn_drop(i, PQerrorMessage(conn));
		return;
	}
	while (conns[i].state == CONN_BUSY && !PQisBusy(conn))
	{
		PGresult   *res = PQgetResult(conn);

		if (res == NULL)
		{
			conns[i].state = CONN_IDLE;
			conn_send_pending(i);
			break;
		}
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			!PQgetisnull(res, 0, 0))
			answer(i, PQgetvalue(res, 0, 0), PQgetlength(res, 0, 0), arg);
		else if (PQresultStatus(res) != PGRES_TUPLES_OK)
			elog(LOG, "zkpg server %d refused a peer message: %s",
				 tconfig->peers[i].id, PQresultErrorMessage(res));
		PQclear(res);
	}
}

/*
 * Wait up to timeout_ms for the latch or peer sockets; drive connections
 * and hand answers to answer().
 */
void
ZkTransportWait(long timeout_ms, ZkTransportAnswer answer, void *arg)
{
	WaitEventSet *set;
	WaitEvent	events[ZK_MAX_PEERS + 2];
	int			owner[ZK_MAX_PEERS + 2];
	int			nevents;
	TimestampTz now = GetCurrentTimestamp();
	long		call_timeout = (long) zk_sync_limit * zk_tick_ms;
	int			i;

	set = CreateWaitEventSet(CurrentMemoryContext, tconfig->npeers + 2);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (i = 0; i < tconfig->npeers; i++)
	{
		int			pos;

		if (i == tconfig->my_index)
			continue;
		if (conns[i].state == CONN_DOWN && now >= conns[i].next_attempt)
			conn_start(i);
		if (conns[i].state == CONN_BUSY &&
			TimestampDifferenceExceeds(conns[i].sent_at, now, call_timeout))
			conn_drop(i, "no answer within zkpg.sync_limit ticks");
		if (conns[i].state == CONN_CONNECTING &&
			TimestampDifferenceExceeds(conns[i].sent_at, now, call_timeout))
			conn_drop(i, NULL);
		if (conns[i].state == CONN_DOWN || conns[i].state == CONN_IDLE)
			continue;
		pos = AddWaitEventToSet(set,
								conns[i].state == CONN_CONNECTING &&
								conns[i].poll == PGRES_POLLING_WRITING ?
								WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE,
								PQsocket(conns[i].conn), NULL, NULL);
		owner[pos] = i;
	}

	nevents = WaitEventSetWait(set, timeout_ms, events, lengthof(events), PG_WAIT_EXTENSION);
	for (i = 0; i < nevents; i++)
	{
		int			peer;

		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			continue;
		}
		peer = owner[events[i].pos];
		if (conns[peer].state == CONN_CONNECTING)
			conn_advance(peer);
		else if (conns[peer].state == CONN_BUSY)
			conn_read(peer, answer, arg);
	}
	FreeWaitEventSet(set);
}


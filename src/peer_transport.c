/*-------------------------------------------------------------------------
 *
 * peer_transport.c
 *	  The peer worker's connections to the other peers: the only user of
 *	  libpq in zkpg (ZooKeeper's QuorumCnxManager and the learners'
 *	  sockets).
 *
 * 1. One long-lived connection per peer, opened with nonblocking libpq
 *	  (PQconnectStart/PQconnectPoll) so that an unreachable peer never
 *	  stalls the worker; a failed one is retried with exponential backoff.
 * 2. A message is a call of the peer's zkpg.peer_message(bytea), sent in
 *	  libpq's pipeline mode with a sync after each call: every call is its
 *	  own transaction on the peer, up to MAX_IN_FLIGHT calls travel at
 *	  once, and they are executed in the order they were sent (the FIFO
 *	  channel ZAB needs).
 * 3. An answer is handed to the caller when the call's sync arrives, that
 *	  is after the peer's transaction committed: an ACK of an append means
 *	  the txns are durable on the peer.  A call that failed, or that was
 *	  in flight or queued when the connection broke, is handed over with
 *	  no data, so that the caller can start over with that peer.
 * 4. A replaceable message (an election notification) waiting to be sent
 *	  is replaced by a newer one: notifications are states, the latest
 *	  says it all.
 * 5. A call unanswered for zkpg.sync_limit ticks (at least 2 s) drops the
 *	  connection.
 * 6. For 2PC and 3PC, a call may be wrapped in SQL sent before the sync
 *	  (BEGIN ... PREPARE TRANSACTION, COMMIT PREPARED ...), and a message
 *	  may be SQL alone, whose answer is the first column of its first row
 *	  (or empty).  A wrapped message that fails drops the connection: the
 *	  peer's transaction block may be left aborted.
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
#define BACKOFF_MAX_MS	1000
#define MAX_IN_FLIGHT	8

typedef enum ConnState
{
	CONN_DOWN,
	CONN_CONNECTING,
	CONN_READY
} ConnState;

typedef struct OutMessage
{
	int64		tag;
	bool		replaceable;
	bool		has_call;		/* else SQL alone */
	char	   *sql_before;		/* sent before the call, or NULL */
	char	   *sql_after;		/* sent after it, or NULL */
	StringInfo	data;
	TimestampTz sent_at;
	bool		failed;			/* an error result came */
	StringInfo	answer;			/* the result row, kept until the sync */
} OutMessage;

typedef struct PeerConn
{
	PGconn	   *conn;
	ConnState	state;
	PostgresPollingStatusType poll;
	TimestampTz next_attempt;
	TimestampTz started_at;
	int			backoff_ms;
	bool		flush_pending;
	bool		peer_exiting;	/* its backend sent a FATAL: it is ending */
	List	   *queued;			/* OutMessage, not sent yet */
	List	   *in_flight;		/* OutMessage, sent, oldest first */
	int64	   *lost;			/* tags of calls failed with no one to tell */
	int			nlost;
	int			maxlost;
} PeerConn;

static const ZkQuorumConfig *tconfig = NULL;
static const Oid prepare_types[1] = {17};	/* bytea */
static PeerConn conns[ZK_MAX_PEERS];
static MemoryContext transport_cxt = NULL;

static void conn_drop(int i, const char *why, ZkTransportAnswer answer, void *arg);
static void conn_start(int i);
static void conn_advance(int i, ZkTransportAnswer answer, void *arg);
static void conn_send_queued(int i, ZkTransportAnswer answer, void *arg);
static void conn_read(int i, ZkTransportAnswer answer, void *arg);
static void message_free(OutMessage *m);
static void conn_notice(void *arg, const PGresult *res);
static bool is_fatal(const PGresult *res);
static bool queue_message(int i, StringInfo msg, int64 tag, bool replaceable,
						  const char *sql_before, const char *sql_after);

void
ZkTransportInit(const ZkQuorumConfig *config)
{
	int			i;

	tconfig = config;
	if (transport_cxt == NULL)
		transport_cxt = AllocSetContextCreate(TopMemoryContext, "zkpg peer transport",
											  ALLOCSET_DEFAULT_SIZES);
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
	return conns[i].state == CONN_READY;
}

/*
 * Does peer i's connection carry a message that is not an election
 * notification (queued or awaiting its answer)?
 */
bool
ZkTransportCarriesWork(int i)
{
	ListCell   *lc;

	foreach(lc, conns[i].queued)
		if (!((OutMessage *) lfirst(lc))->replaceable)
			return true;
	foreach(lc, conns[i].in_flight)
	{
		OutMessage *m = lfirst(lc);

		/* tag -1: the PREPARE of a new connection's call */
		if (!m->replaceable && m->tag != -1)
			return true;
	}
	return false;
}

int
ZkTransportPending(int i)
{
	return list_length(conns[i].queued) + list_length(conns[i].in_flight);
}

static void
message_free(OutMessage *m)
{
	if (m->sql_before)
		pfree(m->sql_before);
	if (m->sql_after)
		pfree(m->sql_after);
	if (m->data)
	{
		pfree(m->data->data);
		pfree(m->data);
	}
	if (m->answer)
	{
		pfree(m->answer->data);
		pfree(m->answer);
	}
	pfree(m);
}

/*
 * Close the connection; every message in flight or queued fails, except
 * a replaceable one, which waits for the next connection.
 */
static void
conn_drop(int i, const char *why, ZkTransportAnswer answer, void *arg)
{
	List	   *failed;
	List	   *kept = NIL;
	ListCell   *lc;
	MemoryContext old;

	if (conns[i].conn != NULL)
	{
		if (why != NULL && conns[i].state == CONN_READY)
			elog(LOG, "zkpg lost its connection to server %d: %s",
				 tconfig->peers[i].id, why);
		PQfinish(conns[i].conn);
	}
	conns[i].conn = NULL;
	conns[i].state = CONN_DOWN;
	conns[i].flush_pending = false;
	conns[i].next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														conns[i].backoff_ms);
	conns[i].backoff_ms = Min(conns[i].backoff_ms * 2, BACKOFF_MAX_MS);

	old = MemoryContextSwitchTo(transport_cxt);
	failed = list_concat(conns[i].in_flight, conns[i].queued);
	conns[i].in_flight = NIL;
	conns[i].queued = NIL;
	MemoryContextSwitchTo(old);
	foreach(lc, failed)
	{
		OutMessage *m = lfirst(lc);

		if (m->replaceable && m->data != NULL)
		{
			old = MemoryContextSwitchTo(transport_cxt);
			kept = lappend(kept, m);
			MemoryContextSwitchTo(old);
			continue;
		}
		if (m->tag != -1 && answer)
			answer(i, m->tag, NULL, 0, arg);
		else if (m->tag != -1)
		{
			/* dropped inside ZkTransportSend: the next wait tells */
			if (conns[i].nlost == conns[i].maxlost)
			{
				conns[i].maxlost = Max(16, conns[i].maxlost * 2);
				conns[i].lost = conns[i].lost ?
					repalloc(conns[i].lost, sizeof(int64) * conns[i].maxlost) :
					MemoryContextAlloc(transport_cxt, sizeof(int64) * conns[i].maxlost);
			}
			conns[i].lost[conns[i].nlost++] = m->tag;
		}
		message_free(m);
	}
	list_free(failed);
	conns[i].queued = kept;
}

static void
conn_start(int i)
{
	const ZkPeerConfig *peer = &tconfig->peers[i];
	char	   *conninfo;

	conninfo = psprintf("host='%s' port=%d dbname='%s' application_name='zkpg peer %d' "
						"connect_timeout=%d keepalives_idle=5 keepalives_interval=2 "
						"keepalives_count=3 %s",
						peer->host, peer->port, zk_database, zk_myid,
						Max(2, zk_sync_limit * zk_tick_ms / 1000),
						zk_peer_conninfo ? zk_peer_conninfo : "");
	conns[i].conn = PQconnectStart(conninfo);
	pfree(conninfo);
	conns[i].started_at = GetCurrentTimestamp();
	if (conns[i].conn == NULL || PQstatus(conns[i].conn) == CONNECTION_BAD)
	{
		conn_drop(i, NULL, NULL, NULL);
		return;
	}
	conns[i].state = CONN_CONNECTING;
	conns[i].poll = PGRES_POLLING_WRITING;
	conns[i].peer_exiting = false;
	PQsetNoticeReceiver(conns[i].conn, conn_notice, &conns[i]);
}

/* a FATAL or PANIC report: the backend at the other end is exiting */
static bool
is_fatal(const PGresult *res)
{
	const char *severity = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);

	return severity != NULL &&
		(strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0);
}

/*
 * libpq hands an error that arrives on an idle connection to the notice
 * receiver.  When a peer's postmaster dies (kill -9) or shuts down, its
 * backend says so with a FATAL before it exits; its socket closes only
 * once the process is gone, which takes a virtual machine ~100 ms with
 * shared memory to unmap.  The FATAL lets us see a lost leader that much
 * sooner.
 */
static void
conn_notice(void *arg, const PGresult *res)
{
	PeerConn   *c = (PeerConn *) arg;

	if (is_fatal(res))
		c->peer_exiting = true;
}

static void
conn_advance(int i, ZkTransportAnswer answer, void *arg)
{
	conns[i].poll = PQconnectPoll(conns[i].conn);
	if (conns[i].poll == PGRES_POLLING_FAILED)
		conn_drop(i, NULL, answer, arg);
	else if (conns[i].poll == PGRES_POLLING_OK)
	{
		if (PQsetnonblocking(conns[i].conn, 1) != 0 ||
			PQenterPipelineMode(conns[i].conn) != 1)
		{
			conn_drop(i, "cannot enter pipeline mode", answer, arg);
			return;
		}
		/*
		 * Prepare the call once per connection, at the head of the
		 * pipeline: every message then skips parsing and planning.
		 */
		if (!PQsendPrepare(conns[i].conn, "zkpg_peer_message", "SELECT zkpg.peer_message($1)",
						   1, prepare_types) || !PQpipelineSync(conns[i].conn))
		{
			conn_drop(i, "cannot prepare the peer call", answer, arg);
			return;
		}
		{
			MemoryContext old = MemoryContextSwitchTo(transport_cxt);
			OutMessage *m = palloc0(sizeof(OutMessage));

			m->tag = -1;		/* the PREPARE: no caller to tell */
			m->sent_at = GetCurrentTimestamp();
			conns[i].in_flight = lappend(conns[i].in_flight, m);
			MemoryContextSwitchTo(old);
		}
		conns[i].state = CONN_READY;
		conns[i].backoff_ms = BACKOFF_MIN_MS;
		elog(DEBUG1, "zkpg connected to server %d", tconfig->peers[i].id);
		conn_send_queued(i, answer, arg);
	}
}

/*
 * Queue msg for peer i.  A replaceable message replaces a replaceable one
 * not sent yet.  Other messages are refused (false) while the connection
 * is not up: the caller starts over with that peer once it is.
 */
bool
ZkTransportSend(int i, StringInfo msg, int64 tag, bool replaceable)
{
	ListCell   *lc;

	if (!replaceable && conns[i].state != CONN_READY)
		return false;
	if (replaceable)
	{
		foreach(lc, conns[i].queued)
		{
			OutMessage *m = lfirst(lc);

			if (m->replaceable)
			{
				conns[i].queued = foreach_delete_current(conns[i].queued, lc);
				message_free(m);
			}
		}
	}
	return queue_message(i, msg, tag, replaceable, NULL, NULL);
}

/*
 * Queue msg (or, when msg is NULL, sql_before alone) for peer i, with
 * sql_before and sql_after around the call, in one pipeline sync.  False
 * while the connection is not up.
 */
bool
ZkTransportSendWrapped(int i, StringInfo msg, int64 tag, const char *sql_before,
					   const char *sql_after)
{
	Assert(msg != NULL || sql_before != NULL);
	if (conns[i].state != CONN_READY)
		return false;
	return queue_message(i, msg, tag, false, sql_before, sql_after);
}

static bool
queue_message(int i, StringInfo msg, int64 tag, bool replaceable,
			  const char *sql_before, const char *sql_after)
{
	MemoryContext old;
	OutMessage *m;

	old = MemoryContextSwitchTo(transport_cxt);
	m = palloc0(sizeof(OutMessage));
	m->tag = tag;
	m->replaceable = replaceable;
	m->has_call = (msg != NULL);
	m->sql_before = sql_before ? pstrdup(sql_before) : NULL;
	m->sql_after = sql_after ? pstrdup(sql_after) : NULL;
	if (msg != NULL)
	{
		m->data = makeStringInfo();
		appendBinaryStringInfo(m->data, msg->data, msg->len);
	}
	conns[i].queued = lappend(conns[i].queued, m);
	MemoryContextSwitchTo(old);
	if (conns[i].state == CONN_READY)
		conn_send_queued(i, NULL, NULL);
	return true;
}

static void
conn_send_queued(int i, ZkTransportAnswer answer, void *arg)
{
	int			formats[1] = {1};
	MemoryContext old = MemoryContextSwitchTo(transport_cxt);

	while (conns[i].state == CONN_READY && conns[i].queued != NIL &&
		   list_length(conns[i].in_flight) < MAX_IN_FLIGHT)
	{
		OutMessage *m = linitial(conns[i].queued);
		const char *values[1];
		int			lengths[1];

		bool		sent = true;

		if (m->sql_before)
			sent = PQsendQueryParams(conns[i].conn, m->sql_before, 0, NULL, NULL, NULL, NULL, 0);
		if (sent && m->has_call)
		{
			values[0] = m->data->data;
			lengths[0] = m->data->len;
			sent = PQsendQueryPrepared(conns[i].conn, "zkpg_peer_message", 1,
									   values, lengths, formats, 1);
		}
		if (sent && m->sql_after)
			sent = PQsendQueryParams(conns[i].conn, m->sql_after, 0, NULL, NULL, NULL, NULL, 0);
		if (!sent || !PQpipelineSync(conns[i].conn))
		{
			MemoryContextSwitchTo(old);
			conn_drop(i, PQerrorMessage(conns[i].conn), answer, arg);
			return;
		}
		conns[i].queued = list_delete_first(conns[i].queued);
		if (m->data)
		{
			pfree(m->data->data);
			pfree(m->data);
			m->data = NULL;
		}
		m->sent_at = GetCurrentTimestamp();
		conns[i].in_flight = lappend(conns[i].in_flight, m);
	}
	MemoryContextSwitchTo(old);
	if (conns[i].state == CONN_READY)
	{
		int			r = PQflush(conns[i].conn);

		if (r < 0)
			conn_drop(i, PQerrorMessage(conns[i].conn), answer, arg);
		else
			conns[i].flush_pending = (r == 1);
	}
}

/*
 * Read what has arrived.  A call's results are its row (or an error),
 * a NULL, then the sync: the answer is handed over at the sync.
 */
static void
conn_read(int i, ZkTransportAnswer answer, void *arg)
{
	PGconn	   *conn = conns[i].conn;

	if (!PQconsumeInput(conn))
	{
		conn_drop(i, PQerrorMessage(conn), answer, arg);
		return;
	}
	while (conns[i].in_flight != NIL && !PQisBusy(conn))
	{
		OutMessage *m = linitial(conns[i].in_flight);
		PGresult   *res = PQgetResult(conn);
		MemoryContext old;

		if (res == NULL)
			continue;
		switch (PQresultStatus(res))
		{
			case PGRES_TUPLES_OK:
				if (m->answer != NULL || PQntuples(res) == 0)
					break;
				if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
				{
					old = MemoryContextSwitchTo(transport_cxt);
					m->answer = makeStringInfo();
					appendBinaryStringInfo(m->answer, PQgetvalue(res, 0, 0),
										   PQgetlength(res, 0, 0));
					MemoryContextSwitchTo(old);
				}
				else
					m->failed = true;
				break;
			case PGRES_COMMAND_OK:
				/* the PREPARE of the call, or wrapping SQL */
				break;
			case PGRES_PIPELINE_SYNC:
				conns[i].in_flight = list_delete_first(conns[i].in_flight);
				if (m->tag == -1)
				{
					if (m->failed)
					{
						PQclear(res);
						message_free(m);
						conn_drop(i, "cannot prepare the peer call", answer, arg);
						return;
					}
				}
				else if (m->failed || (m->answer == NULL && m->has_call))
				{
					bool		wrapped = (m->sql_before || m->sql_after);

					answer(i, m->tag, NULL, 0, arg);
					if (wrapped)
					{
						PQclear(res);
						message_free(m);
						conn_drop(i, "a wrapped peer call failed", answer, arg);
						return;
					}
				}
				else if (m->answer == NULL)
					answer(i, m->tag, "", 0, arg);
				else
					answer(i, m->tag, m->answer->data, m->answer->len, arg);
				message_free(m);
				break;
			case PGRES_PIPELINE_ABORTED:
				m->failed = true;
				break;
			default:
				if (is_fatal(res))
					conns[i].peer_exiting = true;
				else if (!m->failed)
					elog(DEBUG1, "zkpg server %d refused a peer message: %s",
						 tconfig->peers[i].id, PQresultErrorMessage(res));
				m->failed = true;
				break;
		}
		PQclear(res);
		if (conns[i].peer_exiting)
			break;
	}
	/* idle: parse what came anyway, so that a FATAL reaches conn_notice */
	if (conns[i].in_flight == NIL)
		(void) PQisBusy(conn);
	if (conns[i].peer_exiting)
	{
		conn_drop(i, "its backend is exiting (FATAL)", answer, arg);
		return;
	}
	if (conns[i].state == CONN_READY)
		conn_send_queued(i, answer, arg);
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
	/* a loaded peer may take a while to log a large append */
	long		call_timeout = Max((long) zk_sync_limit * zk_tick_ms, 2000);
	int			i;

	for (i = 0; i < tconfig->npeers; i++)
	{
		int			k;

		for (k = 0; k < conns[i].nlost; k++)
			answer(i, conns[i].lost[k], NULL, 0, arg);
		conns[i].nlost = 0;
	}

	set = CreateWaitEventSet(CurrentMemoryContext, tconfig->npeers + 2);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	for (i = 0; i < tconfig->npeers; i++)
	{
		int			pos;
		uint32		wanted;

		if (i == tconfig->my_index)
			continue;
		if (conns[i].state == CONN_DOWN && now >= conns[i].next_attempt)
			conn_start(i);
		if (conns[i].state == CONN_READY && conns[i].in_flight != NIL &&
			TimestampDifferenceExceeds(((OutMessage *) linitial(conns[i].in_flight))->sent_at,
									   now, call_timeout))
			conn_drop(i, "no answer within zkpg.sync_limit ticks", answer, arg);
		if (conns[i].state == CONN_CONNECTING &&
			TimestampDifferenceExceeds(conns[i].started_at, now, call_timeout))
			conn_drop(i, NULL, answer, arg);
		if (conns[i].state == CONN_DOWN)
			continue;
		if (conns[i].state == CONN_CONNECTING)
			wanted = conns[i].poll == PGRES_POLLING_WRITING ?
				WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE;
		else
			wanted = WL_SOCKET_READABLE |
				(conns[i].flush_pending ? WL_SOCKET_WRITEABLE : 0);
		pos = AddWaitEventToSet(set, wanted, PQsocket(conns[i].conn), NULL, NULL);
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
			conn_advance(peer, answer, arg);
		else if (conns[peer].state == CONN_READY)
		{
			if (events[i].events & WL_SOCKET_WRITEABLE)
				conn_send_queued(peer, answer, arg);
			if (conns[peer].state == CONN_READY &&
				(events[i].events & WL_SOCKET_READABLE))
				conn_read(peer, answer, arg);
		}
	}
	FreeWaitEventSet(set);
}

/*
 * Drop peer i's connection (and fail what it carries), e.g. when a new
 * leadership must not share a pipeline with the old one.
 */
void
ZkTransportReset(int i, ZkTransportAnswer answer, void *arg)
{
	if (conns[i].state != CONN_DOWN)
	{
		conn_drop(i, NULL, answer, arg);
		conns[i].next_attempt = 0;
		conns[i].backoff_ms = BACKOFF_MIN_MS;
	}
}

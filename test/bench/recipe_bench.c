/*-------------------------------------------------------------------------
 *
 * recipe_bench.c
 *	  Benchmark of zkpg's lock recipe (zk_lock / zk_unlock) beside the same
 *	  lock done client-side with plain zk_create / zk_delete and beside
 *	  pg_advisory_lock: lock + unlock round trips per second, and the
 *	  hand-over latency from one holder's unlock to the next waiter's
 *	  return under contention.
 *
 * Each session is one connection (one zkpg session) driven by a thread of
 * its own with blocking libpq.  Sessions are spread round-robin over the
 * given conninfo strings, so one process can drive every peer of an
 * ensemble.
 *
 * Usage:
 *	  recipe_bench [-d CONNINFO]... [-c SESSIONS] [-T SECONDS] [-w WORKLOAD]
 *				   [--prefix PATH] [--warmup SECONDS] [--csv]
 *
 *	  recipe_bench -d 'host=127.0.0.1 port=5581' -d 'port=5582' -c 32 -w lock
 *	  recipe_bench -d 'port=5581' -c 32 -w handover-advisory --csv
 *
 * Workloads.  Uncontended: every session works on a path (or key) of its
 * own, and one operation is a lock + unlock pair, timed from sending the
 * first statement to the second's result:
 *	  lock				 SELECT zk_lock(P); SELECT zk_unlock(P)
 *						 with P = PREFIX/run-<pid>/s<i>
 *	  createdelete		 the same done the classic way from the client:
 *						 SELECT zk_create(P || '/lock-', NULL,
 *						 'ephemeral_sequential'); SELECT zk_delete(<that>)
 *	  advisory			 SELECT pg_advisory_lock(K); pg_advisory_unlock(K)
 *						 with K = (pid << 32) + i + 1
 * Contended: every session loops acquire / release on ONE lock, holding
 * it for no time; one operation is a hand-over:
 *	  handover			 zk_lock / zk_unlock on PREFIX/run-<pid>/h
 *	  handover-advisory	 pg_advisory_lock / unlock on K = pid << 32
 *	  handover-createdelete
 *						 Curator's algorithm with plain calls: create an
 *						 ephemeral_sequential child lock- of PREFIX/run-<pid>/h,
 *						 zk_get_children; the lowest holds the lock, any other
 *						 sets zk_exists(<its predecessor>, true) and waits for
 *						 the notification on its session's channel (poll on
 *						 PQsocket), then looks again; unlock is zk_delete
 *
 * The hand-over latency runs from the moment the holder SENDS its unlock
 * to the moment the next holder's acquisition returns.  The holder stamps
 * an in-process, mutex-protected "last unlock sent at" and its identity
 * just before it sends the unlock; the next holder reads both as soon as
 * its acquisition returns and records now - stamp when the previous
 * holder was another session (a session that gets the lock again right
 * after its own unlock is counted apart, not as a hand-over).  Tokens of
 * zk_lock must increase strictly from holder to holder (per path for the
 * uncontended run): a token that does not counts as an error "order".
 *
 * Before timing starts, the zk workloads create PREFIX and its ancestors
 * and PREFIX/run-<pid> (persistent; ZK110 ignored) on the first server,
 * and each session zk_syncs on its own server, opens its zkpg session and
 * creates its own path s<i> (persistent), or, contended, PREFIX/run-<pid>/h
 * exists.  Afterwards each session deletes s<i> and the run's nodes are
 * deleted (best effort: a warning if that fails, e.g. a lock recipe that
 * left a node behind).  Each session runs with statement_timeout set to
 * warmup + duration + 60 s, so that a waiter that is never woken ends as
 * an error 57014 instead of hanging.
 *
 * Only operations that complete inside the timed window (after --warmup)
 * count.  Latency is kept in a log-bucket histogram (HDR-like, under 1%
 * relative error).  Failed statements are counted by SQLSTATE ("conn" for
 * a lost connection, "null" for a zk_lock that returned NULL, "unheld"
 * for an unlock that returned false, "order" for a token out of order,
 * "vanished" for a lock node gone from the children list) over the whole
 * run, warmup and wind-down included.
 *
 * With --csv, one line is printed, with these fields:
 *	  workload,sessions,duration_s,ops,errors,ops_per_s,p50_ms,p99_ms,max_ms
 * where ops are pairs or hand-overs and the percentiles are those of the
 * pair latency or of the hand-over latency.
 *
 * Build (no Makefile rule):
 *	  gcc -O2 -Wall -Werror -I$(pg_config --includedir) -o recipe_bench \
 *		  test/bench/recipe_bench.c -L$(pg_config --libdir) -lpq -lpthread -lm
 *
 * Exit status: 0 on success; 1 on a usage error, a failed setup or
 * connection, a connection lost during the run, or when no operation
 * succeeded.
 *
 * IDENTIFICATION
 *	  test/bench/recipe_bench.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

#define BENCH_PROGNAME "recipe_bench"
#include "../benchstats.h"

#define MAX_SESSIONS		256
#define MAX_PREFIX_LEN		512
#define RUN_PATH_LEN		(MAX_PREFIX_LEN + 32)
#define PATH_BUF_LEN		(RUN_PATH_LEN + 64)
#define CHANNEL_LEN			128

/* statement_timeout beyond the end of the run, as a guard against hangs */
#define GUARD_TIMEOUT_S		60

/* How long the cleanup retries a delete that finds children (ZK111). */
#define CLEANUP_RETRY_NS	(UINT64_C(5) * 1000000000)

typedef enum Workload
{
	WL_LOCK,
	WL_CREATEDELETE,
	WL_ADVISORY,
	WL_HANDOVER,
	WL_HANDOVER_ADVISORY,
	WL_HANDOVER_CREATEDELETE,
	NUM_WORKLOADS
} Workload;

static const char *const workload_names[NUM_WORKLOADS] = {
	"lock", "createdelete", "advisory",
	"handover", "handover-advisory", "handover-createdelete"
};

/*
 * Prepared statements.  Every workload prepares "acquire" and "release";
 * the client-side lock also "children" and "watch".
 */
#define SQL_ZK_LOCK			"SELECT zk_lock($1::text)"
#define SQL_ZK_UNLOCK		"SELECT zk_unlock($1::text)"
#define SQL_ZK_CREATE		"SELECT zk_create($1::text || '/lock-', NULL::bytea, 'ephemeral_sequential')"
#define SQL_ZK_DELETE		"SELECT zk_delete($1::text)"
#define SQL_ADV_LOCK		"SELECT pg_advisory_lock($1::bigint)"
#define SQL_ADV_UNLOCK		"SELECT pg_advisory_unlock($1::bigint)"
#define SQL_ZK_CHILDREN		"SELECT zk_get_children($1::text)"
#define SQL_ZK_WATCH		"SELECT zk_exists($1::text, true) IS NULL"

/* One session: a connection, its thread, and what it measured. */
typedef struct Session
{
	int			id;
	const char *conninfo;
	pthread_t	thread;
	PGconn	   *conn;
	bool		setup_failed;
	bool		lost;			/* its connection broke during the run */
	char		path[PATH_BUF_LEN]; /* its lock path: s<i>, or h */
	char		node[PATH_BUF_LEN]; /* createdelete: its current lock- node */
	char		key[32];		/* advisory lock key, as text */
	char		channel[CHANNEL_LEN];	/* zk_watch_channel() */
	bool		created_path;	/* it created its own path s<i> */
	long long	last_token;		/* lock: last token seen on its path */
	uint64_t	ops;			/* pairs or hand-overs inside the window */
	uint64_t	acquisitions;	/* contended: acquisitions inside the window */
	uint64_t	reacquired;		/* contended: of which right after its own */
	uint64_t	wakeups;		/* handover-createdelete: notifications */
	Histogram	hist;
	ErrorTable	errors;
} Session;

/* Options; read-only once the threads start. */
static int	nsessions = 1;
static int	duration_s = 10;
static int	warmup_s = 0;
static Workload workload = WL_LOCK;
static const char *prefix = "/bench/recipes";
static bool csv_output = false;

static char run_path[RUN_PATH_LEN];
static char handover_path[PATH_BUF_LEN];
static long long key_base;

/*
 * The timed window, in CLOCK_MONOTONIC nanoseconds.  Set by the main thread
 * between the two barriers, which also publish it to the sessions.
 */
static uint64_t t_start_ns;
static uint64_t t_end_ns;
static bool abort_run = false;

static pthread_barrier_t setup_barrier;
static pthread_barrier_t start_barrier;

/* Only the first session that fails its setup says why. */
static pthread_mutex_t setup_error_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool setup_error_reported = false;

/* The contended lock's last release, for the hand-over latency. */
static pthread_mutex_t handover_mutex = PTHREAD_MUTEX_INITIALIZER;
static int	handover_last_holder = -1;
static uint64_t handover_unlock_sent_ns;
static long long handover_last_token = 0;

static void usage(FILE *out);
static bool in_window(uint64_t t);
static bool is_contended(void);
static bool uses_zk(void);
static void copy_message(char *dst, size_t len, const char *src);
static bool exec_command(PGconn *conn, const char *sql, int nparams,
						 const char *const *values, bool ignore_exists,
						 char *errbuf, size_t errlen);
static void create_persistent(PGconn *conn, const char *path);
static void setup_run(void);
static void cleanup_run(void);
static bool delete_retrying(PGconn *conn, const char *path);
static bool session_setup(Session *s, char *errbuf, size_t errlen);
static void session_lost(Session *s);
static PGresult *run_stmt(Session *s, const char *stmt, int nparams,
						  const char *const *values);
static bool acquire(Session *s, long long *token);
static bool release(Session *s);
static bool acquire_classic(Session *s);
static bool wait_notification(Session *s);
static void drain_notifications(Session *s);
static void pair_loop(Session *s);
static void handover_loop(Session *s);
static void *session_main(void *arg);
static int	hist_index(uint64_t v);
static uint64_t hist_value(int idx);
static void hist_add(Histogram *h, uint64_t us);
static void hist_merge(Histogram *dst, const Histogram *src);
static double hist_percentile_ms(const Histogram *h, double p);
static void errors_add(ErrorTable *t, const char *code, const char *message,
					   uint64_t count);
static void errors_merge(ErrorTable *dst, const ErrorTable *src);
static void format_errors(const ErrorTable *t, char *buf, size_t len,
						  const char *sep, const char *kv);
static uint64_t report(Session *sessions);


static void
usage(FILE *out)
{
	fprintf(out,
			"recipe_bench: zk_lock / zk_unlock beside a client-side lock and\n"
			"pg_advisory_lock: round trips per second and hand-over latency\n\n"
			"Usage:\n"
			"  recipe_bench [OPTION]...\n\n"
			"Options:\n"
			"  -d CONNINFO       server to connect to; repeat it, or give a comma-separated\n"
			"                    list, to spread the sessions round-robin over several peers\n"
			"  -c SESSIONS       number of sessions (connections, threads; default 1)\n"
			"  -T SECONDS        duration of the timed run (default 10)\n"
			"  -w WORKLOAD       lock, createdelete, advisory (uncontended lock + unlock\n"
			"                    pairs, each session on its own path or key), handover,\n"
			"                    handover-createdelete, handover-advisory (every session\n"
			"                    on one lock; hand-over latency); default lock\n"
			"  -p, --prefix PATH znode under which the run's nodes go (default /bench/recipes)\n"
			"  --warmup SECONDS  run the load this long before timing it (default 0)\n"
			"  --csv             print one line: workload,sessions,duration_s,ops,errors,\n"
			"                    ops_per_s,p50_ms,p99_ms,max_ms\n"
			"  -h, --help        show this help\n");
}

static bool
in_window(uint64_t t)
{
	return t >= t_start_ns && t < t_end_ns;
}

static bool
is_contended(void)
{
	return workload == WL_HANDOVER || workload == WL_HANDOVER_ADVISORY ||
		workload == WL_HANDOVER_CREATEDELETE;
}

static bool
uses_zk(void)
{
	return workload != WL_ADVISORY && workload != WL_HANDOVER_ADVISORY;
}

/*
 * Run one statement synchronously; ZK110 (node exists) counts as success
 * when ignore_exists is set.
 */
static bool
exec_command(PGconn *conn, const char *sql, int nparams,
			 const char *const *values, bool ignore_exists,
			 char *errbuf, size_t errlen)
{
	PGresult   *res;
	bool		ok;

	res = PQexecParams(conn, sql, nparams, NULL, values, NULL, NULL, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK ||
		PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok && ignore_exists && PQresultStatus(res) == PGRES_FATAL_ERROR &&
		strcmp(result_sqlstate(res), "ZK110") == 0)
		ok = true;
	if (!ok)
		snprintf(errbuf, errlen, "%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/*
 * Create a persistent node unless it exists; fatal on any other error.
 * Asking first keeps the usual case (it exists) out of the server's log;
 * a concurrent run may still win the race, hence ZK110 is ignored.
 */
static void
create_persistent(PGconn *conn, const char *path)
{
	const char *values[1] = {path};
	char		errbuf[1024];
	PGresult   *res;
	bool		exists;

	res = PQexecParams(conn, "SELECT zk_exists($1::text) IS NOT NULL", 1,
					   NULL, values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fatal("could not look up \"%s\": %s", path, PQresultErrorMessage(res));
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!exists &&
		!exec_command(conn, "SELECT zk_create($1::text)", 1, values, true,
					  errbuf, sizeof(errbuf)))
		fatal("could not create \"%s\": %s", path, errbuf);
}

/*
 * Create PREFIX with its ancestors, the run's parent PREFIX/run-<pid> and,
 * contended, PREFIX/run-<pid>/h, on the first server.  The sessions'
 * own paths are created by the sessions.
 */
static void
setup_run(void)
{
	PGconn	   *conn;
	char		path[PATH_BUF_LEN];
	size_t		len = strlen(prefix);

	snprintf(run_path, sizeof(run_path), "%s/run-%d",
			 strcmp(prefix, "/") == 0 ? "" : prefix, (int) getpid());
	snprintf(handover_path, sizeof(handover_path), "%s/h", run_path);

	conn = connect_to(conninfos[0]);
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("could not connect to \"%s\": %s", conninfos[0],
			  PQerrorMessage(conn));

	for (size_t i = 1; i <= len && len > 1; i++)
	{
		if (i == len || prefix[i] == '/')
		{
			memcpy(path, prefix, i);
			path[i] = '\0';
			create_persistent(conn, path);
		}
	}
	create_persistent(conn, run_path);
	if (is_contended())
		create_persistent(conn, handover_path);
	PQfinish(conn);
}

/*
 * Delete a node, retrying while it still has children (ZK111): the last
 * deletes of the other peers' sessions may not be applied here yet.
 */
static bool
delete_retrying(PGconn *conn, const char *path)
{
	const char *values[1] = {path};
	uint64_t	give_up = now_ns() + CLEANUP_RETRY_NS;

	for (;;)
	{
		PGresult   *res;
		bool		ok;
		bool		retry;

		res = PQexecParams(conn, "SELECT zk_sync($1::text), zk_delete($1::text)",
						   1, NULL, values, NULL, NULL, 0);
		ok = PQresultStatus(res) == PGRES_TUPLES_OK;
		retry = !ok && strcmp(result_sqlstate(res), "ZK111") == 0 &&
			now_ns() < give_up;
		if (!ok && !retry)
			fprintf(stderr, "recipe_bench: warning: could not delete \"%s\": %s",
					path, PQresultErrorMessage(res));
		PQclear(res);
		if (!retry)
			return ok;
		usleep(100 * 1000);
	}
}

/* Delete the run's nodes: best effort, a warning when that fails. */
static void
cleanup_run(void)
{
	PGconn	   *conn = connect_to(conninfos[0]);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "recipe_bench: warning: cleanup: could not connect to \"%s\": %s",
				conninfos[0], PQerrorMessage(conn));
		PQfinish(conn);
		return;
	}
	if (!is_contended() || delete_retrying(conn, handover_path))
		delete_retrying(conn, run_path);
	PQfinish(conn);
}

/*
 * Connect one session, guard it with a statement_timeout, prepare its
 * statements and, for the zk workloads, catch up with the run's nodes,
 * open the zkpg session and create its own path.
 */
static bool
session_setup(Session *s, char *errbuf, size_t errlen)
{
	const char *acquire_sql;
	const char *release_sql;
	const char *values[1];
	char		sql[128];
	PGresult   *res;

	s->conn = connect_to(s->conninfo);
	if (PQstatus(s->conn) != CONNECTION_OK)
	{
		snprintf(errbuf, errlen, "could not connect to \"%s\": %s",
				 s->conninfo, PQerrorMessage(s->conn));
		return false;
	}

	snprintf(sql, sizeof(sql), "SET statement_timeout = '%ds'",
			 warmup_s + duration_s + GUARD_TIMEOUT_S);
	if (!exec_command(s->conn, sql, 0, NULL, false, errbuf, errlen))
		return false;

	switch (workload)
	{
		case WL_LOCK:
		case WL_HANDOVER:
			acquire_sql = SQL_ZK_LOCK;
			release_sql = SQL_ZK_UNLOCK;
			break;
		case WL_CREATEDELETE:
		case WL_HANDOVER_CREATEDELETE:
			acquire_sql = SQL_ZK_CREATE;
			release_sql = SQL_ZK_DELETE;
			break;
		default:
			acquire_sql = SQL_ADV_LOCK;
			release_sql = SQL_ADV_UNLOCK;
			break;
	}

	{
		const char *const names[] = {"acquire", "release", "children", "watch"};
		const char *const texts[] = {acquire_sql, release_sql,
		SQL_ZK_CHILDREN, SQL_ZK_WATCH};
		int			n = workload == WL_HANDOVER_CREATEDELETE ? 4 : 2;

		for (int i = 0; i < n; i++)
		{
			res = PQprepare(s->conn, names[i], texts[i], 1, NULL);
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
			{
				snprintf(errbuf, errlen, "could not prepare \"%s\": %s",
						 texts[i], PQresultErrorMessage(res));
				PQclear(res);
				return false;
			}
			PQclear(res);
		}
	}

	if (!uses_zk())
	{
		snprintf(s->key, sizeof(s->key), "%lld",
				 key_base + (workload == WL_ADVISORY ? s->id + 1 : 0));
		return true;
	}

	/* this server has applied the run's nodes; the zkpg session is open */
	values[0] = run_path;
	if (!exec_command(s->conn, "SELECT zk_sync($1::text), zk_session_id()",
					  1, values, false, errbuf, errlen))
		return false;

	if (is_contended())
		snprintf(s->path, sizeof(s->path), "%s", handover_path);
	else
	{
		snprintf(s->path, sizeof(s->path), "%s/s%d", run_path, s->id);
		values[0] = s->path;
		if (!exec_command(s->conn, "SELECT zk_create($1::text)", 1, values,
						  true, errbuf, errlen))
			return false;
		s->created_path = true;
	}

	if (workload == WL_HANDOVER_CREATEDELETE)
	{
		res = PQexec(s->conn, "SELECT zk_watch_channel()");
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		{
			snprintf(errbuf, errlen, "zk_watch_channel(): %s",
					 PQresultErrorMessage(res));
			PQclear(res);
			return false;
		}
		snprintf(s->channel, sizeof(s->channel), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return true;
}

static void
session_lost(Session *s)
{
	char		msg[256];

	if (s->lost)
		return;
	copy_message(msg, sizeof(msg), PQerrorMessage(s->conn));
	fprintf(stderr, "recipe_bench: session %d: connection to \"%s\" lost: %s\n",
			s->id, s->conninfo, msg);
	s->lost = true;
}

/*
 * Run a prepared statement.  Its result when it returned rows; else the
 * error is counted, a broken connection noticed, and NULL returned.
 */
static PGresult *
run_stmt(Session *s, const char *stmt, int nparams, const char *const *values)
{
	PGresult   *res = PQexecPrepared(s->conn, stmt, nparams, values, NULL, NULL, 0);

	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) >= 1)
		return res;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		errors_add(&s->errors, "norow", "the statement returned no row", 1);
	else
		errors_add(&s->errors, result_sqlstate(res), result_message(res), 1);
	PQclear(res);
	if (PQstatus(s->conn) == CONNECTION_BAD)
		session_lost(s);
	return NULL;
}

/*
 * Take the session's lock: zk_lock, pg_advisory_lock, or the client-side
 * lock (ephemeral-sequential node, then waiting for the predecessor).
 * *token is zk_lock's token, else 0.  False when it failed (counted) or,
 * client-side, when the time ran out while waiting.
 */
static bool
acquire(Session *s, long long *token)
{
	const char *values[1];
	PGresult   *res;

	*token = 0;
	switch (workload)
	{
		case WL_LOCK:
		case WL_HANDOVER:
			values[0] = s->path;
			if ((res = run_stmt(s, "acquire", 1, values)) == NULL)
				return false;
			if (PQgetisnull(res, 0, 0))
			{
				errors_add(&s->errors, "null",
						   "zk_lock returned NULL without a timeout", 1);
				PQclear(res);
				return false;
			}
			*token = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
			PQclear(res);
			return true;

		case WL_CREATEDELETE:
			values[0] = s->path;
			if ((res = run_stmt(s, "acquire", 1, values)) == NULL)
				return false;
			snprintf(s->node, sizeof(s->node), "%s", PQgetvalue(res, 0, 0));
			PQclear(res);
			return true;

		case WL_HANDOVER_CREATEDELETE:
			return acquire_classic(s);

		case WL_ADVISORY:
		case WL_HANDOVER_ADVISORY:
			values[0] = s->key;
			if ((res = run_stmt(s, "acquire", 1, values)) == NULL)
				return false;
			PQclear(res);
			return true;

		case NUM_WORKLOADS:
			break;
	}
	return false;
}

/* Release what acquire() took; false when it failed (counted). */
static bool
release(Session *s)
{
	const char *values[1];
	PGresult   *res;
	bool		held;

	switch (workload)
	{
		case WL_CREATEDELETE:
		case WL_HANDOVER_CREATEDELETE:
			values[0] = s->node;
			break;
		case WL_ADVISORY:
		case WL_HANDOVER_ADVISORY:
			values[0] = s->key;
			break;
		default:
			values[0] = s->path;
			break;
	}
	if ((res = run_stmt(s, "release", 1, values)) == NULL)
		return false;

	/* zk_unlock and pg_advisory_unlock say whether a hold was released */
	held = PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 0), "f") != 0;
	PQclear(res);
	if (!held)
	{
		errors_add(&s->errors, "unheld", "the unlock found no hold to release", 1);
		return false;
	}
	return true;
}

/* Throw away notifications already received: a fresh read follows. */
static void
drain_notifications(Session *s)
{
	PGnotify   *n;

	while ((n = PQnotifies(s->conn)) != NULL)
		PQfreemem(n);
}

/*
 * Wait for a notification on the session's watch channel.  Any event
 * there wakes the waiter, which then looks at the children again (as
 * Curator does).  False when the time is up or the connection broke.
 */
static bool
wait_notification(Session *s)
{
	for (;;)
	{
		PGnotify   *n;
		bool		woken = false;
		uint64_t	now;
		struct pollfd pfd;
		int			rc;

		while ((n = PQnotifies(s->conn)) != NULL)
		{
			if (strcmp(n->relname, s->channel) == 0)
				woken = true;
			PQfreemem(n);
		}
		if (woken)
		{
			s->wakeups++;
			return true;
		}

		now = now_ns();
		if (now >= t_end_ns)
			return false;
		pfd.fd = PQsocket(s->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* wake at the end of the window, and at least every 100 ms */
		rc = poll(&pfd, 1, t_end_ns - now > UINT64_C(100000000) ? 100 :
				  (int) ((t_end_ns - now) / 1000000) + 1);
		if (rc < 0 && errno != EINTR)
			fatal("poll failed: %s", strerror(errno));
		if (rc > 0 && !PQconsumeInput(s->conn))
		{
			errors_add(&s->errors, "conn", PQerrorMessage(s->conn), 1);
			session_lost(s);
			return false;
		}
	}
}

/*
 * The classic client-side lock (ZooKeeper's lock recipe, as Curator's
 * InterProcessMutex does it): an ephemeral-sequential lock- child; the
 * lowest child holds the lock; any other watches only its predecessor
 * with exists(watch) and looks again when that fires.  On failure, or
 * when the time runs out while waiting, the node is deleted again.
 */
static bool
acquire_classic(Session *s)
{
	const char *values[1];
	PGresult   *res;
	const char *name;

	values[0] = s->path;
	if ((res = run_stmt(s, "acquire", 1, values)) == NULL)
		return false;
	snprintf(s->node, sizeof(s->node), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	name = strrchr(s->node, '/') + 1;

	for (;;)
	{
		char		pred[2 * PATH_BUF_LEN];
		int			n;
		int			mine = -1;
		bool		absent;

		/* what arrived so far is covered by the read that follows */
		drain_notifications(s);

		values[0] = s->path;
		if ((res = run_stmt(s, "children", 1, values)) == NULL)
			break;
		/* sorted ascending; all named lock-%010d, so in sequence order */
		n = PQntuples(res);
		for (int i = 0; i < n; i++)
		{
			if (strcmp(PQgetvalue(res, i, 0), name) == 0)
			{
				mine = i;
				break;
			}
		}
		if (mine < 0)
		{
			PQclear(res);
			errors_add(&s->errors, "vanished",
					   "the session's lock node is not among the children", 1);
			return false;
		}
		if (mine == 0)
		{
			PQclear(res);
			return true;
		}
		snprintf(pred, sizeof(pred), "%s/%s", s->path,
				 PQgetvalue(res, mine - 1, 0));
		PQclear(res);

		values[0] = pred;
		if ((res = run_stmt(s, "watch", 1, values)) == NULL)
			break;
		absent = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (absent)
			continue;			/* gone already: look again */
		if (!wait_notification(s))
			break;
	}

	/* give up: remove the node (unless the connection is gone with it) */
	if (!s->lost)
	{
		values[0] = s->node;
		res = run_stmt(s, "release", 1, values);
		PQclear(res);
	}
	return false;
}

/* Uncontended: lock + unlock pairs on the session's own path or key. */
static void
pair_loop(Session *s)
{
	while (!s->lost && now_ns() < t_end_ns)
	{
		uint64_t	t0 = now_ns();
		uint64_t	t1;
		long long	token;

		if (!acquire(s, &token))
			continue;
		if (workload == WL_LOCK)
		{
			if (token <= s->last_token)
				errors_add(&s->errors, "order",
						   "a zk_lock token did not exceed the last one", 1);
			s->last_token = token;
		}
		if (!release(s))
			continue;
		t1 = now_ns();
		if (in_window(t1))
		{
			s->ops++;
			hist_add(&s->hist, (t1 - t0) / 1000);
		}
	}
}

/*
 * Contended: acquire, note the hand-over from the previous holder, and
 * release at once, stamping the time just before the unlock is sent.
 * After the window, a session that still gets the lock releases it and
 * stops, so that the waiters behind it unwind.
 */
static void
handover_loop(Session *s)
{
	while (!s->lost && now_ns() < t_end_ns)
	{
		long long	token;
		uint64_t	acquired;
		uint64_t	sent;
		int			previous;
		bool		in_order = true;

		if (!acquire(s, &token))
			continue;
		acquired = now_ns();

		pthread_mutex_lock(&handover_mutex);
		previous = handover_last_holder;
		sent = handover_unlock_sent_ns;
		if (workload == WL_HANDOVER)
		{
			in_order = token > handover_last_token;
			handover_last_token = token;
		}
		pthread_mutex_unlock(&handover_mutex);

		if (!in_order)
			errors_add(&s->errors, "order",
					   "a zk_lock token did not exceed the previous holder's", 1);
		if (in_window(acquired))
		{
			s->acquisitions++;
			if (previous >= 0 && previous != s->id)
			{
				s->ops++;
				hist_add(&s->hist, (acquired - sent) / 1000);
			}
			else if (previous == s->id)
				s->reacquired++;
		}

		pthread_mutex_lock(&handover_mutex);
		handover_last_holder = s->id;
		handover_unlock_sent_ns = now_ns();
		pthread_mutex_unlock(&handover_mutex);
		release(s);
	}
}

static void *
session_main(void *arg)
{
	Session    *s = (Session *) arg;
	char		errbuf[1024];

	if (!session_setup(s, errbuf, sizeof(errbuf)))
	{
		/* the sessions usually fail alike: say it once */
		pthread_mutex_lock(&setup_error_mutex);
		if (!setup_error_reported)
			fprintf(stderr, "recipe_bench: session %d: %s\n", s->id, chomp(errbuf));
		setup_error_reported = true;
		pthread_mutex_unlock(&setup_error_mutex);
		s->setup_failed = true;
	}

	/* let the main thread see every session's setup, then set the window */
	pthread_barrier_wait(&setup_barrier);
	pthread_barrier_wait(&start_barrier);

	if (!abort_run)
	{
		if (is_contended())
			handover_loop(s);
		else
			pair_loop(s);
	}

	/* its own path goes with it (a warning if a lock node is left) */
	if (s->created_path && !s->lost)
	{
		const char *values[1] = {s->path};

		if (!exec_command(s->conn, "SELECT zk_delete($1::text)", 1, values,
						  false, errbuf, sizeof(errbuf)))
			fprintf(stderr, "recipe_bench: warning: session %d: %s\n",
					s->id, chomp(errbuf));
	}

	if (s->conn != NULL)
		PQfinish(s->conn);
	s->conn = NULL;
	return NULL;
}

/* Print the results; returns the number of operations measured. */
static uint64_t
report(Session *sessions)
{
	Histogram  *all = calloc(1, sizeof(Histogram));
	ErrorTable *errors = calloc(1, sizeof(ErrorTable));
	uint64_t	failed = 0;
	uint64_t	acquisitions = 0;
	uint64_t	reacquired = 0;
	uint64_t	wakeups = 0;
	uint64_t	ops;
	double		secs = (double) duration_s;
	char		errtext[1024];

	if (all == NULL || errors == NULL)
		fatal("out of memory");

	for (int i = 0; i < nsessions; i++)
	{
		hist_merge(all, &sessions[i].hist);
		errors_merge(errors, &sessions[i].errors);
		acquisitions += sessions[i].acquisitions;
		reacquired += sessions[i].reacquired;
		wakeups += sessions[i].wakeups;
	}
	for (int i = 0; i < errors->n; i++)
		failed += errors->e[i].count;
	ops = all->count;

	if (csv_output)
		printf("%s,%d,%d,%" PRIu64 ",%" PRIu64 ",%.1f,%.3f,%.3f,%.3f\n",
			   workload_names[workload], nsessions, duration_s, ops, failed,
			   ops / secs, hist_percentile_ms(all, 0.50),
			   hist_percentile_ms(all, 0.99), all->max_us / 1000.0);
	else
	{
		const char *what = is_contended() ? "hand-overs" : "lock+unlock pairs";

		format_errors(errors, errtext, sizeof(errtext), ", ", " ");
		printf("workload:   %s\n", workload_names[workload]);
		printf("sessions:   %d (%d server%s)\n", nsessions, nconninfos,
			   nconninfos == 1 ? "" : "s");
		printf("duration:   %d s (warmup %d s)\n", duration_s, warmup_s);
		printf("ops:        %" PRIu64 " %s\n", ops, what);
		printf("errors:     %" PRIu64 "%s%s%s\n", failed,
			   failed ? " (" : "", errtext, failed ? ")" : "");
		printf("ops/s:      %.1f %s/s\n", ops / secs, what);
		printf("%-11s p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
			   is_contended() ? "hand-over:" : "pair ms:",
			   hist_percentile_ms(all, 0.50), hist_percentile_ms(all, 0.90),
			   hist_percentile_ms(all, 0.99), all->max_us / 1000.0,
			   ops ? (double) all->sum_us / ops / 1000.0 : 0.0);
		if (is_contended())
		{
			printf("acquired:   %" PRIu64 " (%.1f/s), %" PRIu64
				   " by the session that had just released it\n",
				   acquisitions, acquisitions / secs, reacquired);
			if (workload == WL_HANDOVER_CREATEDELETE)
				printf("wake-ups:   %" PRIu64 " watch notifications\n", wakeups);
		}
	}

	/* the first message of each error code says what went wrong */
	for (int i = 0; i < errors->n; i++)
		fprintf(stderr, "recipe_bench: %s x%" PRIu64 ": %s\n", errors->e[i].code,
				errors->e[i].count, errors->e[i].message);

	free(all);
	free(errors);
	return ops;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"prefix", required_argument, NULL, 'p'},
		{"warmup", required_argument, NULL, 1},
		{"csv", no_argument, NULL, 2},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	Session    *sessions;
	bool		failed = false;
	size_t		prefix_len;
	int			opt;

	while ((opt = getopt_long(argc, argv, "d:c:T:w:p:h", long_options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'd':
				add_conninfos(optarg);
				break;
			case 'c':
				nsessions = parse_int(optarg, "number of sessions", 1, MAX_SESSIONS);
				break;
			case 'T':
				duration_s = parse_int(optarg, "duration", 1, 86400);
				break;
			case 'w':
				{
					int			i;

					for (i = 0; i < NUM_WORKLOADS; i++)
						if (strcmp(optarg, workload_names[i]) == 0)
							break;
					if (i == NUM_WORKLOADS)
						fatal("invalid workload \"%s\": use lock, createdelete, advisory, handover, handover-createdelete or handover-advisory",
							  optarg);
					workload = (Workload) i;
				}
				break;
			case 'p':
				prefix = optarg;
				break;
			case 1:
				warmup_s = parse_int(optarg, "warmup", 0, 86400);
				break;
			case 2:
				csv_output = true;
				break;
			case 'h':
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(1);
		}
	}
	if (optind < argc)
		fatal("unexpected argument \"%s\"", argv[optind]);

	/* no -d: libpq's defaults (PGHOST, PGPORT, ...) */
	if (nconninfos == 0)
		add_conninfos("");

	/* a trailing slash would make "//run-..." below; "/" itself is fine */
	prefix_len = strlen(prefix);
	if (prefix[0] != '/' || prefix_len > MAX_PREFIX_LEN ||
		(prefix_len > 1 && prefix[prefix_len - 1] == '/'))
		fatal("invalid prefix \"%s\": must be an absolute znode path without a trailing slash",
			  prefix);

	/* advisory keys of this run: (pid << 32) + session, like run-<pid> */
	key_base = (long long) getpid() << 32;

	if (uses_zk())
		setup_run();

	sessions = calloc(nsessions, sizeof(Session));
	if (sessions == NULL)
		fatal("out of memory");
	for (int i = 0; i < nsessions; i++)
	{
		sessions[i].id = i;
		sessions[i].conninfo = conninfos[i % nconninfos];
	}

	if (pthread_barrier_init(&setup_barrier, NULL, nsessions + 1) != 0 ||
		pthread_barrier_init(&start_barrier, NULL, nsessions + 1) != 0)
		fatal("could not create barriers");
	for (int i = 0; i < nsessions; i++)
	{
		int			rc = pthread_create(&sessions[i].thread, NULL, session_main,
										&sessions[i]);

		if (rc != 0)
			fatal("could not create thread: %s", strerror(rc));
	}

	pthread_barrier_wait(&setup_barrier);
	for (int i = 0; i < nsessions; i++)
		if (sessions[i].setup_failed)
			abort_run = true;
	if (!abort_run)
	{
		t_start_ns = now_ns() + (uint64_t) warmup_s * 1000000000;
		t_end_ns = t_start_ns + (uint64_t) duration_s * 1000000000;
	}
	pthread_barrier_wait(&start_barrier);

	for (int i = 0; i < nsessions; i++)
		pthread_join(sessions[i].thread, NULL);

	if (abort_run)
	{
		int			nfailed = 0;

		for (int i = 0; i < nsessions; i++)
			nfailed += sessions[i].setup_failed ? 1 : 0;
		fprintf(stderr, "recipe_bench: setup failed in %d of %d sessions, nothing measured\n",
				nfailed, nsessions);
		failed = true;
	}
	else
	{
		if (report(sessions) == 0)
		{
			fprintf(stderr, "recipe_bench: no operation succeeded\n");
			failed = true;
		}
		for (int i = 0; i < nsessions; i++)
			if (sessions[i].lost)
				failed = true;
	}

	if (uses_zk())
		cleanup_run();

	return failed ? 1 : 0;
}

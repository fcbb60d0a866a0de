/*-------------------------------------------------------------------------
 *
 * zkbench.c
 *	  Load generator for zkpg: drives zk_create / zk_set / zk_get over
 *	  libpq and prints throughput and latency percentiles.
 *
 * Each client is one connection (one zkpg session).  Clients are spread
 * round-robin over the given conninfo strings, so an ensemble of several
 * peers can be driven from one process, and over a few threads, each of
 * which multiplexes its connections with nonblocking libpq and poll().
 * A client keeps up to DEPTH operations in flight: depth 1 is the plain
 * protocol (one prepared statement, wait for its result), a larger depth
 * uses libpq pipeline mode with a Sync after every statement, so that an
 * error only fails the statement that caused it.
 *
 * Usage:
 *	  zkbench [-d CONNINFO]... [-c CLIENTS] [-T SECONDS] [-w WORKLOAD]
 *			  [-P DEPTH] [-s BYTES] [-p PREFIX] [-j THREADS]
 *			  [--warmup SECONDS] [--csv] [--cleanup]
 *
 *	  zkbench -d 'host=/tmp port=5432 dbname=postgres' -c 32 -T 10 -w create
 *	  zkbench -d 'port=5001,port=5002,port=5003' -c 30 -w mixed -P 8
 *
 * Workloads: create (new persistent nodes with unique names), set and get
 * (on one pre-created node per client), mixed (10% set, 90% get), nextid
 * (zk_next_id on one path, PREFIX/run-.../id, shared by every client).
 *
 * Before timing starts, zkbench creates PREFIX (and its ancestors) if
 * missing, a parent PREFIX/run-<pid>-<time> for this run and, for set, get
 * and mixed, one node PREFIX/run-.../n<client> per client, created on that
 * client's own connection so that its reads see it.  Creates are named
 * PREFIX/run-.../c<client>-<seq>.  --cleanup deletes the run's parent and
 * its children afterwards.
 *
 * Latency is measured per operation from the moment it is handed to libpq
 * to the moment its result is read, and kept in a log-bucket histogram
 * (HDR-like, under 1% relative error).  Only operations that complete
 * inside the timed window count; a --warmup period runs the same load
 * first without recording it.  ops and ops/s count successful operations;
 * failed ones are counted by SQLSTATE ("conn" for a lost connection,
 * "aborted" for a statement skipped after an error in its pipeline).
 *
 * With --csv, one line is printed, with these fields:
 *	  workload,clients,threads,depth,data_bytes,duration_s,ops,errors,
 *	  ops_per_s,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,error_detail
 * where error_detail is "SQLSTATE:count" pairs separated by ';'.
 *
 * Exit status: 0 on success; 1 on a usage error, a failed setup or
 * connection, a connection lost during the run, or when every operation
 * failed.
 *
 * IDENTIFICATION
 *	  test/zkbench.c
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

#define BENCH_PROGNAME "zkbench"
#include "benchstats.h"

#define MAX_DEPTH			4096
#define MAX_CLIENTS			10000
#define MAX_DATA_BYTES		(16 * 1024 * 1024)
#define MAX_PREFIX_LEN		512
#define RUN_PATH_LEN		(MAX_PREFIX_LEN + 64)
#define PATH_BUF_LEN		(RUN_PATH_LEN + 64)

/* How long to wait for in-flight operations once the time is up. */
#define DRAIN_TIMEOUT_NS	(UINT64_C(30) * 1000000000)

/* Statements kept in flight per connection by the cleanup. */
#define CLEANUP_BATCH		256

typedef enum OpKind
{
	OP_CREATE,
	OP_SET,
	OP_GET,
	OP_NEXTID,
	NUM_OP_KINDS
} OpKind;

static const char *const op_names[NUM_OP_KINDS] = {"create", "set", "get", "nextid"};

/* Prepared statement names and texts, indexed by OpKind. */
static const char *const op_stmt[NUM_OP_KINDS] = {
	"zkbench_create", "zkbench_set", "zkbench_get", "zkbench_nextid"
};
static const char *const op_sql[NUM_OP_KINDS] = {
	"SELECT zk_create($1::text, $2::bytea)",
	"SELECT zk_set($1::text, $2::bytea)",
	"SELECT data FROM zk_get($1::text)",
	"SELECT zk_next_id($1::text)"
};

typedef enum Workload
{
	WL_CREATE,
	WL_SET,
	WL_GET,
	WL_MIXED,
	WL_NEXTID
} Workload;

static const char *const workload_names[] = {"create", "set", "get", "mixed", "nextid"};

/* One operation sent and not yet completed. */
typedef struct InFlight
{
	uint64_t	send_ns;
	OpKind		kind;
	bool		answered;		/* its result (or error) has been read */
} InFlight;

/* One connection and its share of the load. */
typedef struct Client
{
	int			id;
	const char *conninfo;
	PGconn	   *conn;
	bool		alive;
	bool		pipeline;		/* in libpq pipeline mode (depth > 1) */
	bool		want_write;		/* libpq holds output not yet sent */
	uint64_t	seq;			/* next create's sequence number */
	uint64_t	rng;			/* xorshift state for the mixed workload */
	char		node_path[PATH_BUF_LEN];	/* n<id>, for set and get */
	char		path_buf[PATH_BUF_LEN];		/* scratch for create names */
	InFlight   *ring;			/* depth slots, oldest at head */
	int			head;
	int			count;
} Client;

/* One thread: its connections and what it measured. */
typedef struct Worker
{
	int			index;
	pthread_t	thread;
	int			nclients;
	Client	  **clients;
	bool		setup_failed;
	bool		conn_lost;
	uint64_t	ok[NUM_OP_KINDS];
	uint64_t	failed;
	Histogram	hist[NUM_OP_KINDS];
	ErrorTable	errors;
} Worker;

/* Options; read-only once the threads start. */
static int	nclients = 1;
static int	duration_s = 10;
static int	warmup_s = 0;
static Workload workload = WL_CREATE;
static int	depth = 1;
static int	data_bytes = 16;
static const char *prefix = "/zkbench";
static int	nthreads = 0;
static bool csv_output = false;
static bool do_cleanup = false;
static int	timeline_ms = 0;
static uint64_t timeline_ok = 0;	/* updated atomically by the workers */
static uint64_t timeline_failed = 0;

static char run_path[RUN_PATH_LEN];
static char counter_path[RUN_PATH_LEN + 8];	/* nextid's one shared path */
static char *payload;

/*
 * The timed window, in CLOCK_MONOTONIC nanoseconds.  Set by the main thread
 * between the two barriers, which also publish it to the workers.
 */
static uint64_t t_start_ns;
static uint64_t t_end_ns;
static bool abort_run = false;

static pthread_barrier_t setup_barrier;
static pthread_barrier_t start_barrier;

static void usage(FILE *out);
static void copy_message(char *dst, size_t len, const char *src);
static bool create_node(PGconn *conn, const char *path, bool ignore_exists,
						char *errbuf, size_t errlen);
static void setup_run(void);
static bool client_setup(Client *c, char *errbuf, size_t errlen);
static OpKind choose_op(Client *c);
static bool send_op(Client *c);
static void record_answer(Worker *w, Client *c, const PGresult *res,
						  const char *code);
static void complete_head(Worker *w, Client *c);
static void client_lost(Worker *w, Client *c, const char *why);
static void process_results(Worker *w, Client *c);
static void flush_client(Worker *w, Client *c);
static void worker_run(Worker *w);
static void *worker_main(void *arg);
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
static void report(Worker *workers);
static void print_timeline(void);
static bool cleanup_run(void);


static void
usage(FILE *out)
{
	fprintf(out,
			"zkbench: load generator for zkpg\n\n"
			"Usage:\n"
			"  zkbench [OPTION]...\n\n"
			"Options:\n"
			"  -d CONNINFO       server to connect to; repeat it, or give a comma-separated\n"
			"                    list, to spread the clients round-robin over several peers\n"
			"  -c CLIENTS        number of connections (default 1)\n"
			"  -T SECONDS        duration of the timed run (default 10)\n"
			"  -w WORKLOAD       create, set, get, mixed (10%% set, 90%% get) or nextid\n"
			"                    (zk_next_id on one shared path); default create\n"
			"  -P DEPTH          operations in flight per connection; >1 uses libpq\n"
			"                    pipeline mode (default 1)\n"
			"  -s BYTES          data size (default 16)\n"
			"  -p PREFIX         znode under which the run's nodes go (default /zkbench)\n"
			"  -j THREADS        threads (default min(CLIENTS, 4))\n"
			"  --warmup SECONDS  run the load this long before timing it (default 0)\n"
			"  --csv             print one line: workload,clients,threads,depth,data_bytes,\n"
			"                    duration_s,ops,errors,ops_per_s,p50_ms,p90_ms,p99_ms,\n"
			"                    max_ms,mean_ms,error_detail\n"
			"  --cleanup         delete the run's nodes afterwards\n"
			"  --timeline MS     also print, every MS milliseconds of the timed run, a line\n"
			"                    timeline,ELAPSED_MS,OK,FAILED (operations completed in it)\n"
			"  -h, --help        show this help\n");
}

/*
 * Create one persistent node with the payload, synchronously.  ZK110
 * (node exists) counts as success when ignore_exists is set.
 */
static bool
create_node(PGconn *conn, const char *path, bool ignore_exists,
			char *errbuf, size_t errlen)
{
	const char *values[2] = {path, payload};
	int			lengths[2] = {0, data_bytes};
	int			formats[2] = {0, 1};
	PGresult   *res;
	bool		ok;

	res = PQexecParams(conn, op_sql[OP_CREATE], 2, NULL, values, lengths,
					   formats, 0);
	ok = PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok && ignore_exists && PQresultStatus(res) == PGRES_FATAL_ERROR &&
		strcmp(result_sqlstate(res), "ZK110") == 0)
		ok = true;
	if (!ok)
		snprintf(errbuf, errlen, "could not create \"%s\": %s", path,
				 PQresultErrorMessage(res));
	PQclear(res);
	return ok;
}

/*
 * Create PREFIX with its ancestors, then this run's parent, on the first
 * server.  Everything below the run's parent is created by the clients.
 */
static void
setup_run(void)
{
	PGconn	   *conn;
	char		path[PATH_BUF_LEN];
	char		errbuf[1024];
	size_t		len;

	conn = connect_to(conninfos[0]);
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("could not connect to \"%s\": %s", conninfos[0],
			  PQerrorMessage(conn));

	/*
	 * Walk the prefix, creating each missing ancestor in turn.  Asking
	 * first keeps the usual case (it exists) out of the server's log; a
	 * concurrent zkbench may still win the race, hence ignore ZK110.
	 */
	len = strlen(prefix);
	for (size_t i = 1; i <= len; i++)
	{
		if (i == len || prefix[i] == '/')
		{
			const char *values[1] = {path};
			PGresult   *res;
			bool		exists;

			memcpy(path, prefix, i);
			path[i] = '\0';
			res = PQexecParams(conn, "SELECT zk_exists($1::text) IS NOT NULL",
							   1, NULL, values, NULL, NULL, 0);
			if (PQresultStatus(res) != PGRES_TUPLES_OK)
				fatal("could not look up \"%s\": %s", path,
					  PQresultErrorMessage(res));
			exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
			PQclear(res);
			if (!exists && !create_node(conn, path, true, errbuf, sizeof(errbuf)))
				fatal("%s", errbuf);
		}
	}

	snprintf(run_path, sizeof(run_path), "%s/run-%d-%ld",
			 strcmp(prefix, "/") == 0 ? "" : prefix,
			 (int) getpid(), (long) time(NULL));
	if (!create_node(conn, run_path, false, errbuf, sizeof(errbuf)))
		fatal("%s", errbuf);
	snprintf(counter_path, sizeof(counter_path), "%s/id", run_path);
	PQfinish(conn);
}

/*
 * Connect one client, prepare the statements and create its own node for
 * set/get.  Done in blocking mode; the timed loop switches to nonblocking.
 */
static bool
client_setup(Client *c, char *errbuf, size_t errlen)
{
	static const int nparams[NUM_OP_KINDS] = {2, 2, 1, 1};

	c->conn = connect_to(c->conninfo);
	if (PQstatus(c->conn) != CONNECTION_OK)
	{
		snprintf(errbuf, errlen, "could not connect to \"%s\": %s",
				 c->conninfo, PQerrorMessage(c->conn));
		return false;
	}

	for (int k = 0; k < NUM_OP_KINDS; k++)
	{
		PGresult   *res = PQprepare(c->conn, op_stmt[k], op_sql[k],
									nparams[k], NULL);

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			snprintf(errbuf, errlen, "could not prepare \"%s\": %s",
					 op_sql[k], PQresultErrorMessage(res));
			PQclear(res);
			return false;
		}
		PQclear(res);
	}

	if (workload != WL_CREATE && workload != WL_NEXTID &&
		!create_node(c->conn, c->node_path, false, errbuf, errlen))
		return false;

	if (PQsetnonblocking(c->conn, 1) != 0)
	{
		snprintf(errbuf, errlen, "could not set nonblocking mode: %s",
				 PQerrorMessage(c->conn));
		return false;
	}
	if (depth > 1)
	{
		if (!PQenterPipelineMode(c->conn))
		{
			snprintf(errbuf, errlen, "could not enter pipeline mode: %s",
					 PQerrorMessage(c->conn));
			return false;
		}
		c->pipeline = true;
	}
	c->alive = true;
	return true;
}

static OpKind
choose_op(Client *c)
{
	switch (workload)
	{
		case WL_CREATE:
			return OP_CREATE;
		case WL_SET:
			return OP_SET;
		case WL_GET:
			return OP_GET;
		case WL_NEXTID:
			return OP_NEXTID;
		case WL_MIXED:
			/* xorshift64*: cheap, and per client so threads share nothing */
			c->rng ^= c->rng >> 12;
			c->rng ^= c->rng << 25;
			c->rng ^= c->rng >> 27;
			return ((c->rng * UINT64_C(2685821657736338717)) >> 32) % 10 == 0 ?
				OP_SET : OP_GET;
	}
	return OP_GET;				/* keep the compiler quiet */
}

/* Queue one operation on the connection; false if the connection failed. */
static bool
send_op(Client *c)
{
	OpKind		kind = choose_op(c);
	const char *values[2];
	int			lengths[2] = {0, data_bytes};
	int			formats[2] = {0, 1};
	InFlight   *slot;

	if (kind == OP_CREATE)
	{
		snprintf(c->path_buf, sizeof(c->path_buf), "%s/c%d-%" PRIu64,
				 run_path, c->id, c->seq++);
		values[0] = c->path_buf;
	}
	else if (kind == OP_NEXTID)
		values[0] = counter_path;
	else
		values[0] = c->node_path;
	values[1] = payload;

	slot = &c->ring[(c->head + c->count) % depth];
	slot->kind = kind;
	slot->answered = false;
	slot->send_ns = now_ns();

	/* binary results: a get's data then comes back as is, not hex-encoded */
	if (!PQsendQueryPrepared(c->conn, op_stmt[kind],
							 kind == OP_GET || kind == OP_NEXTID ? 1 : 2,
							 values, lengths, formats, 1))
		return false;

	/*
	 * A Sync per statement makes each one its own implicit transaction, as
	 * at depth 1: an error skips nothing but the statement that failed.
	 */
	if (c->pipeline && !PQpipelineSync(c->conn))
		return false;

	c->count++;
	c->want_write = true;
	return true;
}

/*
 * The oldest unanswered operation got its result (code NULL) or failed
 * with code.  Only operations that complete inside the window count.
 */
static void
record_answer(Worker *w, Client *c, const PGresult *res, const char *code)
{
	InFlight   *op = NULL;
	uint64_t	now = now_ns();

	for (int i = 0; i < c->count; i++)
	{
		InFlight   *candidate = &c->ring[(c->head + i) % depth];

		if (!candidate->answered)
		{
			op = candidate;
			break;
		}
	}
	if (op == NULL)
		return;					/* a second result for one statement: ignore */
	op->answered = true;

	if (now < t_start_ns || now >= t_end_ns)
		return;

	if (code == NULL)
	{
		w->ok[op->kind]++;
		hist_add(&w->hist[op->kind], (now - op->send_ns) / 1000);
		if (timeline_ms > 0)
			__atomic_fetch_add(&timeline_ok, 1, __ATOMIC_RELAXED);
	}
	else
	{
		if (timeline_ms > 0)
			__atomic_fetch_add(&timeline_failed, 1, __ATOMIC_RELAXED);
		w->failed++;
		errors_add(&w->errors, code,
				   res != NULL ? result_message(res) : NULL, 1);
	}
}

/* The oldest operation is over: free its slot for the next one. */
static void
complete_head(Worker *w, Client *c)
{
	if (c->count == 0)
		return;
	if (!c->ring[c->head].answered)
		record_answer(w, c, NULL, "noresult");
	c->head = (c->head + 1) % depth;
	c->count--;
}

/*
 * The connection broke: its in-flight operations fail, and it is dropped
 * from the run.  The run carries on with the others, but exits non-zero.
 */
static void
client_lost(Worker *w, Client *c, const char *why)
{
	char		msg[256];

	copy_message(msg, sizeof(msg), why);
	fprintf(stderr, "zkbench: connection %d to \"%s\" lost: %s\n",
			c->id, c->conninfo, msg);
	while (c->count > 0)
	{
		if (!c->ring[c->head].answered)
			errors_add(&w->errors, "conn", msg, 1);
		c->ring[c->head].answered = true;
		complete_head(w, c);
	}
	c->alive = false;
	w->conn_lost = true;
}

/*
 * Read every result libpq has ready.  At depth 1 a statement's results end
 * with a NULL; in pipeline mode they end with a NULL and then the Sync's
 * PGRES_PIPELINE_SYNC, and a NULL with nothing queued means "wait".
 */
static void
process_results(Worker *w, Client *c)
{
	int			nulls = 0;

	while (c->alive && c->count > 0 && !PQisBusy(c->conn))
	{
		PGresult   *res = PQgetResult(c->conn);

		if (res == NULL)
		{
			if (!c->pipeline)
				complete_head(w, c);
			else if (++nulls > 1)
				break;
			continue;
		}
		nulls = 0;

		switch (PQresultStatus(res))
		{
			case PGRES_PIPELINE_SYNC:
				complete_head(w, c);
				break;
			case PGRES_TUPLES_OK:
			case PGRES_COMMAND_OK:
				record_answer(w, c, res, NULL);
				break;
			case PGRES_PIPELINE_ABORTED:
				record_answer(w, c, res, "aborted");
				break;
			default:
				record_answer(w, c, res, result_sqlstate(res));
				break;
		}
		PQclear(res);
	}

	if (c->alive && PQstatus(c->conn) == CONNECTION_BAD)
		client_lost(w, c, PQerrorMessage(c->conn));
}

static void
flush_client(Worker *w, Client *c)
{
	int			rc;

	if (!c->alive || !c->want_write)
		return;
	rc = PQflush(c->conn);
	if (rc < 0)
		client_lost(w, c, PQerrorMessage(c->conn));
	else
		c->want_write = (rc == 1);
}

/*
 * The timed loop: keep every connection's window full until the time is
 * up, then wait (bounded) for what is still in flight.
 */
static void
worker_run(Worker *w)
{
	struct pollfd *pfds = calloc(w->nclients, sizeof(struct pollfd));
	Client	  **polled = calloc(w->nclients, sizeof(Client *));

	if (pfds == NULL || polled == NULL)
		fatal("out of memory");

	for (;;)
	{
		uint64_t	now = now_ns();
		bool		stopping = now >= t_end_ns;
		int			nfds = 0;
		int			alive = 0;
		int			inflight = 0;
		uint64_t	wait_ns;
		int			rc;

		for (int i = 0; i < w->nclients; i++)
		{
			Client	   *c = w->clients[i];

			if (!c->alive)
				continue;
			while (!stopping && c->count < depth)
			{
				if (!send_op(c))
				{
					client_lost(w, c, PQerrorMessage(c->conn));
					break;
				}
			}
			flush_client(w, c);
			if (!c->alive)
				continue;

			alive++;
			inflight += c->count;
			if (c->count > 0 || c->want_write)
			{
				pfds[nfds].fd = PQsocket(c->conn);
				pfds[nfds].events = POLLIN | (c->want_write ? POLLOUT : 0);
				pfds[nfds].revents = 0;
				polled[nfds++] = c;
			}
		}

		if (alive == 0 || (stopping && inflight == 0))
			break;
		if (stopping && now >= t_end_ns + DRAIN_TIMEOUT_NS)
		{
			fprintf(stderr, "zkbench: thread %d: gave up waiting for %d operations still in flight\n",
					w->index, inflight);
			break;
		}
		if (nfds == 0)
			continue;

		/* wake at the end of the window, and at least once a second */
		wait_ns = stopping ? t_end_ns + DRAIN_TIMEOUT_NS - now : t_end_ns - now;
		if (wait_ns > UINT64_C(1000000000))
			wait_ns = UINT64_C(1000000000);
		rc = poll(pfds, nfds, (int) (wait_ns / 1000000) + 1);
		if (rc < 0)
		{
			if (errno == EINTR)
				continue;
			fatal("poll failed: %s", strerror(errno));
		}

		for (int i = 0; i < nfds; i++)
		{
			Client	   *c = polled[i];

			if (pfds[i].revents & (POLLIN | POLLERR | POLLHUP))
			{
				if (!PQconsumeInput(c->conn))
				{
					client_lost(w, c, PQerrorMessage(c->conn));
					continue;
				}
			}
			if (pfds[i].revents & POLLOUT)
				flush_client(w, c);
			process_results(w, c);
		}
	}

	free(pfds);
	free(polled);
}

static void *
worker_main(void *arg)
{
	Worker	   *w = (Worker *) arg;
	char		errbuf[1024];

	for (int i = 0; i < w->nclients; i++)
	{
		if (!client_setup(w->clients[i], errbuf, sizeof(errbuf)))
		{
			fprintf(stderr, "zkbench: client %d: %s\n", w->clients[i]->id,
					chomp(errbuf));
			w->setup_failed = true;
			break;
		}
	}

	/* let the main thread see every worker's setup, then set the window */
	pthread_barrier_wait(&setup_barrier);
	pthread_barrier_wait(&start_barrier);

	if (!abort_run)
		worker_run(w);

	for (int i = 0; i < w->nclients; i++)
	{
		if (w->clients[i]->conn != NULL)
			PQfinish(w->clients[i]->conn);
		w->clients[i]->conn = NULL;
	}
	return NULL;
}

static void
report(Worker *workers)
{
	Histogram  *kind_hist = calloc(NUM_OP_KINDS, sizeof(Histogram));
	Histogram  *all = calloc(1, sizeof(Histogram));
	ErrorTable *errors = calloc(1, sizeof(ErrorTable));
	double		secs = (double) duration_s;

	if (kind_hist == NULL || all == NULL || errors == NULL)
		fatal("out of memory");

	for (int t = 0; t < nthreads; t++)
	{
		for (int k = 0; k < NUM_OP_KINDS; k++)
			hist_merge(&kind_hist[k], &workers[t].hist[k]);
		errors_merge(errors, &workers[t].errors);
	}
	for (int k = 0; k < NUM_OP_KINDS; k++)
		hist_merge(all, &kind_hist[k]);

	/* the error table also counts the operations of lost connections */
	{
		RunReport	report = {
			.workload = workload_names[workload],
			.clients = nclients,
			.threads = nthreads,
			.servers = nconninfos,
			.depth = depth,
			.depth_note = depth > 1 ? " (pipeline mode)" : "",
			.data_bytes = data_bytes,
			.duration_s = duration_s,
			.warmup_s = warmup_s,
			.all = all,
			.errors = errors,
			.csv = csv_output,
		};

		print_run_report(&report);
	}
	if (!csv_output)
	{
		if (workload == WL_MIXED)
		{
			for (int k = OP_SET; k <= OP_GET; k++)
				printf("  %-8s  %" PRIu64 " ops, %.1f ops/s, p50 %.3f  p99 %.3f  max %.3f\n",
					   op_names[k], kind_hist[k].count, kind_hist[k].count / secs,
					   hist_percentile_ms(&kind_hist[k], 0.50),
					   hist_percentile_ms(&kind_hist[k], 0.99),
					   kind_hist[k].max_us / 1000.0);
		}
	}

	/* the first message of each error code says what went wrong */
	for (int i = 0; i < errors->n; i++)
		fprintf(stderr, "zkbench: %s x%" PRIu64 ": %s\n", errors->e[i].code,
				errors->e[i].count, errors->e[i].message);

	free(kind_hist);
	free(all);
	free(errors);
}

/*
 * Delete the run's children, then its parent, over one pipelined
 * connection with a Sync per statement (a failed delete skips nothing).
 * Best effort: failures are reported, not fatal.
 */
static bool
cleanup_run(void)
{
	PGconn	   *conn;
	PGresult   *res;
	const char *values[1];
	char	  **paths;
	int			npaths;
	int			failures = 0;
	bool		ok = true;

	conn = connect_to(conninfos[0]);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		fprintf(stderr, "zkbench: cleanup: could not connect to \"%s\": %s",
				conninfos[0], PQerrorMessage(conn));
		PQfinish(conn);
		return false;
	}

	/*
	 * With several servers, this one may not yet have applied the other
	 * peers' creates: catch up first, as a ZooKeeper client would.
	 */
	values[0] = run_path;
	if (nconninfos > 1)
	{
		res = PQexecParams(conn, "SELECT zk_sync($1::text)", 1, NULL, values,
						   NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fprintf(stderr, "zkbench: cleanup: zk_sync failed: %s",
					PQresultErrorMessage(res));
		PQclear(res);
	}

	res = PQexecParams(conn, "SELECT zk_get_children($1::text)", 1, NULL,
					   values, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, "zkbench: cleanup: could not list \"%s\": %s",
				run_path, PQresultErrorMessage(res));
		PQclear(res);
		PQfinish(conn);
		return false;
	}
	npaths = PQntuples(res);
	paths = calloc(npaths + 1, sizeof(char *));
	if (paths == NULL)
		fatal("out of memory");
	for (int i = 0; i < npaths; i++)
	{
		size_t		len = strlen(run_path) + PQgetlength(res, i, 0) + 2;

		paths[i] = malloc(len);
		if (paths[i] == NULL)
			fatal("out of memory");
		snprintf(paths[i], len, "%s/%s", run_path, PQgetvalue(res, i, 0));
	}
	PQclear(res);
	/* the parent goes last, in a batch of its own */
	paths[npaths] = run_path;

	res = PQprepare(conn, "zkbench_delete", "SELECT zk_delete($1::text)", 1, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "zkbench: cleanup: %s", PQresultErrorMessage(res));
		ok = false;
	}
	PQclear(res);

	/*
	 * Batches are small enough that the results fit in the socket buffers,
	 * so a blocking connection cannot deadlock against the server.
	 */
	if (ok && !PQenterPipelineMode(conn))
		ok = false;
	for (int start = 0; ok && start <= npaths;)
	{
		int			end = start + CLEANUP_BATCH;

		if (start < npaths && end > npaths)
			end = npaths;
		if (start == npaths)
			end = npaths + 1;
		for (int i = start; i < end; i++)
		{
			values[0] = paths[i];
			if (!PQsendQueryPrepared(conn, "zkbench_delete", 1, values,
									 NULL, NULL, 0) ||
				!PQpipelineSync(conn))
			{
				ok = false;
				break;
			}
		}
		for (int i = start; ok && i < end; i++)
		{
			int			nulls = 0;

			/* the statement's result, a NULL, then the Sync's result */
			res = PQgetResult(conn);
			if (res == NULL)
			{
				ok = false;
				break;
			}
			if (PQresultStatus(res) != PGRES_TUPLES_OK && failures++ == 0)
				fprintf(stderr, "zkbench: cleanup: could not delete \"%s\": %s",
						paths[i], PQresultErrorMessage(res));
			PQclear(res);
			for (;;)
			{
				bool		sync;

				res = PQgetResult(conn);
				if (res == NULL)
				{
					if (++nulls > 1)
					{
						ok = false;
						break;
					}
					continue;
				}
				sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
				PQclear(res);
				if (sync)
					break;
			}
		}
		start = end;
	}
	if (!ok)
		fprintf(stderr, "zkbench: cleanup failed: %s", PQerrorMessage(conn));
	else if (failures > 0)
		fprintf(stderr, "zkbench: cleanup: %d deletes failed\n", failures);

	PQfinish(conn);
	for (int i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	return ok && failures == 0;
}

/*
 * Operations completed (and failed) in each interval of the timed run, as
 * they happen: the shape of throughput around a failure.
 */
static void
print_timeline(void)
{
	uint64_t	prev_ok = 0;
	uint64_t	prev_failed = 0;
	uint64_t	next = t_start_ns + (uint64_t) timeline_ms * 1000000;

	while (next <= t_end_ns)
	{
		uint64_t	now = now_ns();
		uint64_t	ok;
		uint64_t	failed;

		if (now < next)
		{
			struct timespec ts = {(time_t) ((next - now) / 1000000000),
			(long) ((next - now) % 1000000000)};

			nanosleep(&ts, NULL);
			continue;
		}
		ok = __atomic_load_n(&timeline_ok, __ATOMIC_RELAXED);
		failed = __atomic_load_n(&timeline_failed, __ATOMIC_RELAXED);
		printf("timeline,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
			   (next - t_start_ns) / 1000000, ok - prev_ok, failed - prev_failed);
		fflush(stdout);
		prev_ok = ok;
		prev_failed = failed;
		next += (uint64_t) timeline_ms * 1000000;
	}
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"warmup", required_argument, NULL, 1},
		{"csv", no_argument, NULL, 2},
		{"cleanup", no_argument, NULL, 3},
		{"timeline", required_argument, NULL, 4},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	Client	   *clients;
	Worker	   *workers;
	bool		failed = false;
	uint64_t	total_ok = 0;
	uint64_t	total_failed = 0;
	size_t		prefix_len;
	int			opt;

	while ((opt = getopt_long(argc, argv, "d:c:T:w:P:s:p:j:h", long_options, NULL)) != -1)
	{
		switch (opt)
		{
			case 'd':
				add_conninfos(optarg);
				break;
			case 'c':
				nclients = parse_int(optarg, "number of clients", 1, MAX_CLIENTS);
				break;
			case 'T':
				duration_s = parse_int(optarg, "duration", 1, 86400);
				break;
			case 'w':
				{
					int			i;

					for (i = 0; i < (int) (sizeof(workload_names) / sizeof(workload_names[0])); i++)
						if (strcmp(optarg, workload_names[i]) == 0)
							break;
					if (i == (int) (sizeof(workload_names) / sizeof(workload_names[0])))
						fatal("invalid workload \"%s\": use create, set, get, mixed or nextid", optarg);
					workload = (Workload) i;
				}
				break;
			case 'P':
				depth = parse_int(optarg, "pipeline depth", 1, MAX_DEPTH);
				break;
			case 's':
				data_bytes = parse_int(optarg, "data size", 0, MAX_DATA_BYTES);
				break;
			case 'p':
				prefix = optarg;
				break;
			case 'j':
				nthreads = parse_int(optarg, "number of threads", 1, MAX_CLIENTS);
				break;
			case 1:
				warmup_s = parse_int(optarg, "warmup", 0, 86400);
				break;
			case 2:
				csv_output = true;
				break;
			case 3:
				do_cleanup = true;
				break;
			case 4:
				timeline_ms = parse_int(optarg, "--timeline", 10, 60000);
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
	if (nthreads == 0)
		nthreads = nclients < 4 ? nclients : 4;
	if (nthreads > nclients)
		nthreads = nclients;

	/* a trailing slash would make "//run-..." below; "/" itself is fine */
	prefix_len = strlen(prefix);
	if (prefix[0] != '/' || prefix_len > MAX_PREFIX_LEN ||
		(prefix_len > 1 && prefix[prefix_len - 1] == '/'))
		fatal("invalid prefix \"%s\": must be an absolute znode path without a trailing slash",
			  prefix);

	/*
	 * Random bytes, so that nothing on the way can compress them; at least
	 * one byte so that the parameter is never a SQL NULL.
	 */
	payload = malloc(data_bytes + 1);
	if (payload == NULL)
		fatal("out of memory");
	srandom((unsigned) getpid());
	for (int i = 0; i < data_bytes; i++)
		payload[i] = (char) (random() & 0xff);

	setup_run();

	clients = calloc(nclients, sizeof(Client));
	workers = calloc(nthreads, sizeof(Worker));
	if (clients == NULL || workers == NULL)
		fatal("out of memory");
	for (int t = 0; t < nthreads; t++)
	{
		workers[t].index = t;
		workers[t].clients = calloc(nclients / nthreads + 1, sizeof(Client *));
		if (workers[t].clients == NULL)
			fatal("out of memory");
	}
	for (int i = 0; i < nclients; i++)
	{
		Client	   *c = &clients[i];
		Worker	   *w = &workers[i % nthreads];

		c->id = i;
		c->conninfo = conninfos[i % nconninfos];
		c->rng = UINT64_C(0x9E3779B97F4A7C15) * (uint64_t) (i + 1);
		c->ring = calloc(depth, sizeof(InFlight));
		if (c->ring == NULL)
			fatal("out of memory");
		snprintf(c->node_path, sizeof(c->node_path), "%s/n%d", run_path, i);
		w->clients[w->nclients++] = c;
	}

	if (pthread_barrier_init(&setup_barrier, NULL, nthreads + 1) != 0 ||
		pthread_barrier_init(&start_barrier, NULL, nthreads + 1) != 0)
		fatal("could not create barriers");
	for (int t = 0; t < nthreads; t++)
	{
		if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0)
			fatal("could not create thread: %s", strerror(errno));
	}

	pthread_barrier_wait(&setup_barrier);
	for (int t = 0; t < nthreads; t++)
		if (workers[t].setup_failed)
			abort_run = true;
	if (!abort_run)
	{
		t_start_ns = now_ns() + (uint64_t) warmup_s * 1000000000;
		t_end_ns = t_start_ns + (uint64_t) duration_s * 1000000000;
	}
	pthread_barrier_wait(&start_barrier);

	if (timeline_ms > 0 && !abort_run)
		print_timeline();
	for (int t = 0; t < nthreads; t++)
		pthread_join(workers[t].thread, NULL);

	if (abort_run)
	{
		fprintf(stderr, "zkbench: setup failed, nothing measured\n");
		failed = true;
	}
	else
	{
		report(workers);
		for (int t = 0; t < nthreads; t++)
		{
			for (int k = 0; k < NUM_OP_KINDS; k++)
				total_ok += workers[t].ok[k];
			total_failed += workers[t].failed;
			if (workers[t].conn_lost)
				failed = true;
		}
		if (total_ok == 0)
		{
			fprintf(stderr, "zkbench: no operation succeeded (%" PRIu64 " failed)\n",
					total_failed);
			failed = true;
		}
	}

	if (do_cleanup)
	{
		if (!cleanup_run())
			failed = true;
	}
	else if (!csv_output)
		fprintf(stderr, "zkbench: nodes left under %s (use --cleanup to delete them)\n",
				run_path);

	return failed ? 1 : 0;
}

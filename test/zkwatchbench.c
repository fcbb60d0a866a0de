/*-------------------------------------------------------------------------
 *
 * zkwatchbench.c
 *	  How many watch events per second does a zkpg server deliver?
 *
 * L listener connections each add a persistent watch (zk_add_watch) on
 * one node and LISTEN on their session's channel; W writer connections
 * set that node as fast as they can for T seconds.  Every set must reach
 * every listener as one NodeDataChanged notification: the tool reports
 * sets/s, events delivered/s, the events missing at the end (should be
 * 0) and the delivery latency (set acknowledged -> event received)
 * percentiles, matching events to sets by zxid.
 *
 *	  zkwatchbench -d CONNINFO [-l LISTENERS] [-w WRITERS] [-T SECONDS]
 *
 * Build: make test/zkwatchbench (libpq only).  Runs in one thread: the
 * writers are pipelined one set at a time each, the listeners polled.
 *
 * IDENTIFICATION
 *	  test/zkwatchbench.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

#define MAX_CONNS 1024
#define MAX_SETS (4 * 1024 * 1024)

typedef struct SetRecord
{
	long long	zxid;
	uint64_t	acked_ns;
} SetRecord;

static SetRecord *sets;
static int	nsets = 0;
static uint64_t *latencies;
static long long nlatencies = 0;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void
die(const char *msg, PGconn *conn)
{
	fprintf(stderr, "zkwatchbench: %s%s%s\n", msg, conn ? ": " : "",
			conn ? PQerrorMessage(conn) : "");
	exit(1);
}

static PGresult *
exec_ok(PGconn *conn, const char *sql)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "zkwatchbench: %s: %s", sql, PQresultErrorMessage(res));
		exit(1);
	}
	return res;
}

/* the ack time of the set with this zxid (sets are appended in order) */
static uint64_t
acked_at(long long zxid)
{
	int			lo = 0;
	int			hi = nsets - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (sets[mid].zxid == zxid)
			return sets[mid].acked_ns;
		if (sets[mid].zxid < zxid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a;
	uint64_t	y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static long long
drain_notifies(PGconn *conn, uint64_t now)
{
	PGnotify   *n;
	long long	got = 0;

	while ((n = PQnotifies(conn)) != NULL)
	{
		const char *z = strstr(n->extra, "\"zxid\":");

		if (z != NULL && strstr(n->extra, "NodeDataChanged") != NULL)
		{
			uint64_t	acked = acked_at(atoll(z + 7));

			got++;
			if (acked != 0 && nlatencies < (long long) MAX_SETS * 4)
				latencies[nlatencies++] = now > acked ? now - acked : 0;
		}
		PQfreemem(n);
	}
	return got;
}

int
main(int argc, char **argv)
{
	const char *conninfo = NULL;
	int			nlisteners = 100;
	int			nwriters = 1;
	int			seconds = 10;
	PGconn	   *listeners[MAX_CONNS];
	PGconn	   *writers[MAX_CONNS];
	bool		busy[MAX_CONNS];
	struct pollfd pfds[2 * MAX_CONNS];
	char		path[128];
	char		sql[512];
	long long	events = 0;
	uint64_t	t0;
	uint64_t	t_end;
	int			opt;
	int			i;

	while ((opt = getopt(argc, argv, "d:l:w:T:")) != -1)
	{
		switch (opt)
		{
			case 'd':
				conninfo = optarg;
				break;
			case 'l':
				nlisteners = atoi(optarg);
				break;
			case 'w':
				nwriters = atoi(optarg);
				break;
			case 'T':
				seconds = atoi(optarg);
				break;
			default:
				fprintf(stderr, "usage: zkwatchbench -d CONNINFO [-l LISTENERS] [-w WRITERS] [-T SECONDS]\n");
				return 2;
		}
	}
	if (conninfo == NULL || nlisteners < 1 || nlisteners > MAX_CONNS ||
		nwriters < 1 || nwriters > MAX_CONNS || seconds < 1)
		die("need -d, 1..1024 listeners and writers, T >= 1", NULL);
	sets = malloc(sizeof(SetRecord) * MAX_SETS);
	latencies = malloc(sizeof(uint64_t) * (size_t) MAX_SETS * 4);
	if (sets == NULL || latencies == NULL)
		die("out of memory", NULL);

	snprintf(path, sizeof(path), "/zkwatchbench-%d", (int) getpid());
	for (i = 0; i < nwriters; i++)
	{
		writers[i] = PQconnectdb(conninfo);
		if (PQstatus(writers[i]) != CONNECTION_OK)
			die("cannot connect", writers[i]);
	}
	snprintf(sql, sizeof(sql), "SELECT zk_create('%s', 'x')", path);
	PQclear(exec_ok(writers[0], sql));
	for (i = 0; i < nlisteners; i++)
	{
		listeners[i] = PQconnectdb(conninfo);
		if (PQstatus(listeners[i]) != CONNECTION_OK)
			die("cannot connect", listeners[i]);
		snprintf(sql, sizeof(sql), "SELECT zk_add_watch('%s')", path);
		PQclear(exec_ok(listeners[i], sql));
		PQsetnonblocking(listeners[i], 1);
	}
	for (i = 0; i < nwriters; i++)
	{
		PGresult   *res = PQprepare(writers[i], "set",
									"SELECT (zk_set($1::text, 'y')).mzxid", 1, NULL);

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die("prepare failed", writers[i]);
		PQclear(res);
		busy[i] = false;
	}

	t0 = now_ns();
	t_end = t0 + (uint64_t) seconds * 1000000000ULL;
	for (;;)
	{
		uint64_t	now = now_ns();
		bool		writing = now < t_end;
		bool		any_busy = false;
		int			n = 0;

		for (i = 0; i < nwriters; i++)
		{
			if (!busy[i] && writing && nsets < MAX_SETS)
			{
				const char *params[1] = {path};

				if (!PQsendQueryPrepared(writers[i], "set", 1, params, NULL, NULL, 0))
					die("send failed", writers[i]);
				busy[i] = true;
			}
			any_busy |= busy[i];
			pfds[n].fd = PQsocket(writers[i]);
			pfds[n].events = POLLIN;
			n++;
		}
		for (i = 0; i < nlisteners; i++)
		{
			pfds[n].fd = PQsocket(listeners[i]);
			pfds[n].events = POLLIN;
			n++;
		}
		if (!writing && !any_busy && events >= (long long) nsets * nlisteners)
			break;
		if (!writing && now > t_end + 10000000000ULL)
			break;				/* give the stragglers 10 s */
		if (poll(pfds, n, 100) < 0 && errno != EINTR)
			die("poll failed", NULL);
		now = now_ns();

		for (i = 0; i < nwriters; i++)
		{
			if (!(pfds[i].revents & POLLIN))
				continue;
			if (!PQconsumeInput(writers[i]))
				die("writer lost", writers[i]);
			while (busy[i] && !PQisBusy(writers[i]))
			{
				PGresult   *res = PQgetResult(writers[i]);

				if (res == NULL)
				{
					busy[i] = false;
					break;
				}
				if (PQresultStatus(res) == PGRES_TUPLES_OK)
				{
					/* zxids from several writers arrive nearly in order */
					long long	zxid = atoll(PQgetvalue(res, 0, 0));
					int			at = nsets;

					while (at > 0 && sets[at - 1].zxid > zxid)
					{
						sets[at] = sets[at - 1];
						at--;
					}
					sets[at].zxid = zxid;
					sets[at].acked_ns = now;
					nsets++;
				}
				else
					die(PQresultErrorMessage(res), NULL);
				PQclear(res);
			}
		}
		for (i = 0; i < nlisteners; i++)
		{
			if (!(pfds[nwriters + i].revents & POLLIN))
				continue;
			if (!PQconsumeInput(listeners[i]))
				die("listener lost", listeners[i]);
			events += drain_notifies(listeners[i], now);
		}
	}

	{
		double		secs = (double) (t_end - t0) / 1e9;
		long long	expected = (long long) nsets * nlisteners;

		qsort(latencies, nlatencies, sizeof(uint64_t), cmp_u64);
		printf("listeners %d, writers %d, %d s: %d sets (%.0f/s), %lld events (%.0f/s), %lld missing",
			   nlisteners, nwriters, seconds, nsets, nsets / secs, events, events / secs,
			   expected - events);
		if (nlatencies > 0)
			printf(", delivery latency p50 %.2f ms p99 %.2f ms max %.2f ms",
				   latencies[nlatencies / 2] / 1e6,
				   latencies[(long long) (nlatencies * 0.99)] / 1e6,
				   latencies[nlatencies - 1] / 1e6);
		printf("\n");
		snprintf(sql, sizeof(sql), "SELECT zk_delete('%s')", path);
		PQclear(PQexec(writers[0], sql));
		return expected == events ? 0 : 1;
	}
}

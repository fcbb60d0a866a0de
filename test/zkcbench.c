/*-------------------------------------------------------------------------
 *
 * zkcbench.c
 *	  Load generator for Apache ZooKeeper, built on its C client
 *	  (libzookeeper_mt): the same workloads, client model and output as
 *	  test/zkbench.c, so that test/bench/run_side_by_side.sh can put the two
 *	  systems next to each other.
 *
 * The client model is zkbench's: each client is one ZooKeeper handle (one
 * session, one TCP connection); clients are spread round-robin over the
 * given servers (one -z each) and over a few threads (-j, 4 by default, as
 * zkbench), each of which multiplexes its handles with poll() through the
 * single-threaded library's zookeeper_interest()/zookeeper_process().  So
 * completions run on the thread that owns the handle, and no hand-off
 * between the library's own I/O and completion threads (libzookeeper_mt's
 * model: two threads per handle) costs the client machine CPU that zkbench
 * does not spend.  A client keeps up to DEPTH asynchronous operations in
 * flight: depth 1 waits for each result before the next request, like
 * zkbench's plain protocol; a larger depth is ZooKeeper's own pipelining
 * of one connection.
 *
 * The library is libzookeeper_st (Debian libzookeeper-st2), compiled
 * against the header of libzookeeper-mt-dev: the two -dev packages cannot
 * be installed together and their header is the same.
 *
 * Usage:
 *	  zkcbench [-z HOST:PORT]... [-c CLIENTS] [-T SECONDS] [-w WORKLOAD]
 *			   [-P DEPTH] [-s BYTES] [-p PREFIX] [-j THREADS]
 *			   [--warmup SECONDS] [--csv]
 *
 * Workloads: create (new persistent nodes with unique names), set and get
 * (on one node per client, created first), as in zkbench.  Before timing,
 * PREFIX and a parent PREFIX/run-<pid>-<time> are created; nodes are left
 * behind (the benchmark's servers are throwaway).
 *
 * With --csv, one line is printed with zkbench's fields:
 *	  workload,clients,threads,depth,data_bytes,duration_s,ops,errors,
 *	  ops_per_s,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,error_detail
 * where error_detail holds ZooKeeper's error codes ("zk-110:3").
 *
 * IDENTIFICATION
 *	  test/zkcbench.c
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zookeeper/zookeeper.h>

#define BENCH_PROGNAME "zkcbench"
#include "benchstats.h"

#define MAX_DEPTH			4096
#define MAX_CLIENTS			2000
#define MAX_SERVERS			16
#define MAX_DATA_BYTES		(1024 * 1024)
#define PATH_LEN			640
#define CONNECT_TIMEOUT_NS	(15 * UINT64_C(1000000000))

typedef enum Workload
{
	WL_CREATE,
	WL_SET,
	WL_GET
} Workload;

static const char *const workload_names[] = {"create", "set", "get"};

typedef struct Client Client;

/* One operation slot: an operation in flight, and when it was sent. */
typedef struct Slot
{
	Client	   *client;
	uint64_t	started_ns;
} Slot;

struct Client
{
	int			id;
	zhandle_t  *zh;
	int			state;			/* last session state seen */
	char		node_path[PATH_LEN];	/* for set and get */
	uint64_t	seq;			/* next create's name */
	Slot	   *slots;
	int			in_flight;
	int			setup_rc;		/* result of a setup create; 1 while waiting */
	Histogram	hist;
	ErrorTable	errors;
};

typedef struct Worker
{
	pthread_t	thread;
	Client	  **clients;
	int			nclients;
	struct pollfd *pfds;
	bool		setup_failed;
} Worker;

static Workload workload = WL_CREATE;
static int	nclients = 1;
static int	nthreads = 0;
static int	depth = 1;
static int	duration_s = 10;
static int	warmup_s = 1;
static int	data_bytes = 16;
static bool csv_output = false;
static const char *prefix = "/zkbench";
static char run_path[PATH_LEN - 64];
static char *servers[MAX_SERVERS];
static int	nservers = 0;
static char *payload;

/* the timed window, in CLOCK_MONOTONIC ns, set between the barriers */
static uint64_t window_start_ns;
static uint64_t window_end_ns;
static pthread_barrier_t setup_barrier;
static pthread_barrier_t start_barrier;

static void issue(Slot *slot);

static void
record_result(Slot *slot, int rc)
{
	Client	   *c = slot->client;
	uint64_t	now = now_ns();

	c->in_flight--;
	if (now >= window_start_ns && now <= window_end_ns)
	{
		if (rc == ZOK)
			hist_add(&c->hist, (now - slot->started_ns) / 1000);
		else
		{
			char		code[16];

			snprintf(code, sizeof(code), "zk%d", rc);
			errors_add(&c->errors, code, zerror(rc), 1);
		}
	}
	if (now < window_end_ns)
		issue(slot);
}

static void
string_done(int rc, const char *value, const void *data)
{
	record_result((Slot *) data, rc);
}

static void
stat_done(int rc, const struct Stat *stat, const void *data)
{
	record_result((Slot *) data, rc);
}

static void
data_done(int rc, const char *value, int value_len, const struct Stat *stat,
		  const void *data)
{
	record_result((Slot *) data, rc);
}

static void
issue(Slot *slot)
{
	Client	   *c = slot->client;
	char		path[PATH_LEN];
	int			rc;

	c->in_flight++;
	slot->started_ns = now_ns();
	switch (workload)
	{
		case WL_CREATE:
			snprintf(path, sizeof(path), "%s/c%d-%" PRIu64, run_path, c->id,
					 c->seq++);
			rc = zoo_acreate(c->zh, path, payload, data_bytes,
							 &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT,
							 string_done, slot);
			break;
		case WL_SET:
			rc = zoo_aset(c->zh, c->node_path, payload, data_bytes, -1,
						  stat_done, slot);
			break;
		case WL_GET:
		default:
			rc = zoo_aget(c->zh, c->node_path, 0, data_done, slot);
			break;
	}
	if (rc != ZOK)
	{
		/* not sent: the handle is closing or lost */
		c->in_flight--;
		errors_add(&c->errors, "notsent", zerror(rc), 1);
	}
}

static void
session_watcher(zhandle_t *zh, int type, int state, const char *path,
				void *ctx)
{
	if (type == ZOO_SESSION_EVENT)
		((Client *) ctx)->state = state;
}

/*
 * One round of I/O for a set of handles: wait until one of them can make
 * progress (or a ping is due), then let the library read, write, run
 * completions and send pings for each.
 */
static void
drive(Client **cs, int n, struct pollfd *pfds)
{
	int			timeout_ms = 100;

	for (int i = 0; i < n; i++)
	{
		int			fd = -1;
		int			interest = 0;
		struct timeval tv = {0, 0};

		pfds[i].fd = -1;
		pfds[i].events = 0;
		pfds[i].revents = 0;
		if (zookeeper_interest(cs[i]->zh, &fd, &interest, &tv) != ZOK && fd < 0)
			continue;
		pfds[i].fd = fd;
		if (interest & ZOOKEEPER_READ)
			pfds[i].events |= POLLIN;
		if (interest & ZOOKEEPER_WRITE)
			pfds[i].events |= POLLOUT;
		if (tv.tv_sec * 1000 + tv.tv_usec / 1000 < timeout_ms)
			timeout_ms = tv.tv_sec * 1000 + tv.tv_usec / 1000;
	}
	if (poll(pfds, n, timeout_ms) < 0 && errno != EINTR)
		fatal("poll failed: %s", strerror(errno));
	for (int i = 0; i < n; i++)
	{
		int			events = 0;

		if (pfds[i].revents & (POLLIN | POLLHUP | POLLERR))
			events |= ZOOKEEPER_READ;
		if (pfds[i].revents & POLLOUT)
			events |= ZOOKEEPER_WRITE;
		zookeeper_process(cs[i]->zh, events);
	}
}

static bool
all_connected(Client **cs, int n)
{
	for (int i = 0; i < n; i++)
		if (cs[i]->state != ZOO_CONNECTED_STATE)
			return false;
	return true;
}

static void
setup_done(int rc, const char *value, const void *data)
{
	((Client *) data)->setup_rc = rc;
}

/* Create path on c's handle, accepting an existing node; false on error. */
static bool
create_and_wait(Client *c, const char *path, struct pollfd *pfd)
{
	uint64_t	give_up = now_ns() + CONNECT_TIMEOUT_NS;
	int			rc;

	c->setup_rc = 1;
	rc = zoo_acreate(c->zh, path, payload, data_bytes, &ZOO_OPEN_ACL_UNSAFE,
					 ZOO_PERSISTENT, setup_done, c);
	if (rc != ZOK)
		c->setup_rc = rc;
	while (c->setup_rc == 1 && now_ns() < give_up)
		drive(&c, 1, pfd);
	if (c->setup_rc != ZOK && c->setup_rc != ZNODEEXISTS)
	{
		fprintf(stderr, "zkcbench: could not create \"%s\": %s\n", path,
				c->setup_rc == 1 ? "timed out" : zerror(c->setup_rc));
		return false;
	}
	return true;
}

static Client *
new_client(int id)
{
	Client	   *c = calloc(1, sizeof(Client));

	if (c == NULL || (c->slots = calloc(depth, sizeof(Slot))) == NULL)
		fatal("out of memory");
	c->id = id;
	for (int k = 0; k < depth; k++)
		c->slots[k].client = c;
	c->zh = zookeeper_init(servers[id % nservers], session_watcher, 30000,
						   NULL, c, 0);
	if (c->zh == NULL)
		fatal("client %d: zookeeper_init(\"%s\") failed: %s", id,
			  servers[id % nservers], strerror(errno));
	return c;
}

static void *
worker_main(void *arg)
{
	Worker	   *w = arg;
	uint64_t	give_up = now_ns() + CONNECT_TIMEOUT_NS;

	while (!all_connected(w->clients, w->nclients) && now_ns() < give_up)
		drive(w->clients, w->nclients, w->pfds);
	if (!all_connected(w->clients, w->nclients))
	{
		fprintf(stderr, "zkcbench: not every client connected within 15 s\n");
		w->setup_failed = true;
	}
	for (int i = 0; i < w->nclients && !w->setup_failed; i++)
	{
		if (workload != WL_CREATE &&
			!create_and_wait(w->clients[i], w->clients[i]->node_path, w->pfds))
			w->setup_failed = true;
	}
	pthread_barrier_wait(&setup_barrier);
	pthread_barrier_wait(&start_barrier);
	if (window_end_ns == 0)
		return NULL;

	for (int i = 0; i < w->nclients; i++)
		for (int k = 0; k < depth; k++)
			issue(&w->clients[i]->slots[k]);

	/* past the window nothing is issued; drain what is in flight */
	for (;;)
	{
		int			in_flight = 0;

		for (int i = 0; i < w->nclients; i++)
			in_flight += w->clients[i]->in_flight;
		if (in_flight == 0 || now_ns() > window_end_ns + CONNECT_TIMEOUT_NS)
			break;
		drive(w->clients, w->nclients, w->pfds);
	}
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr,
			"usage: zkcbench [-z HOST:PORT]... [-c CLIENTS] [-T SECONDS] "
			"[-w create|set|get]\n"
			"                [-P DEPTH] [-s BYTES] [-p PREFIX] [-j THREADS] "
			"[--warmup SECONDS] [--csv]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"warmup", required_argument, NULL, 1},
		{"csv", no_argument, NULL, 2},
		{NULL, 0, NULL, 0}
	};
	Worker	   *workers;
	Client	   *setup;
	struct pollfd setup_pfd;
	Histogram  *all;
	ErrorTable *errors;
	bool		abort_run = false;
	int			opt;

	while ((opt = getopt_long(argc, argv, "z:c:T:w:P:s:p:j:", long_options,
							  NULL)) != -1)
	{
		switch (opt)
		{
			case 'z':
				if (nservers == MAX_SERVERS)
					fatal("at most %d servers", MAX_SERVERS);
				servers[nservers++] = optarg;
				break;
			case 'c':
				nclients = parse_int(optarg, "clients", 1, MAX_CLIENTS);
				break;
			case 'j':
				nthreads = parse_int(optarg, "threads", 1, MAX_CLIENTS);
				break;
			case 'T':
				duration_s = parse_int(optarg, "duration", 1, 86400);
				break;
			case 'w':
				{
					int			i;

					for (i = 0; i < 3; i++)
						if (strcmp(optarg, workload_names[i]) == 0)
							break;
					if (i == 3)
						fatal("unknown workload \"%s\"", optarg);
					workload = (Workload) i;
					break;
				}
			case 'P':
				depth = parse_int(optarg, "depth", 1, MAX_DEPTH);
				break;
			case 's':
				data_bytes = parse_int(optarg, "data size", 0, MAX_DATA_BYTES);
				break;
			case 'p':
				if (optarg[0] != '/' || strlen(optarg) > 256)
					fatal("prefix must be an absolute path of at most 256 bytes");
				prefix = optarg;
				break;
			case 1:
				warmup_s = parse_int(optarg, "warmup", 0, 3600);
				break;
			case 2:
				csv_output = true;
				break;
			default:
				usage();
		}
	}
	if (optind < argc)
		usage();
	if (nservers == 0)
		servers[nservers++] = "127.0.0.1:2181";
	if (nthreads == 0)
		nthreads = nclients < 4 ? nclients : 4;
	if (nthreads > nclients)
		nthreads = nclients;

	zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
	if ((payload = malloc(data_bytes + 1)) == NULL)
		fatal("out of memory");
	memset(payload, 'x', data_bytes);

	/* the run's parent, on a handle of its own */
	setup = new_client(0);
	{
		uint64_t	give_up = now_ns() + CONNECT_TIMEOUT_NS;

		while (setup->state != ZOO_CONNECTED_STATE && now_ns() < give_up)
			drive(&setup, 1, &setup_pfd);
		if (setup->state != ZOO_CONNECTED_STATE)
			fatal("could not connect to \"%s\"", servers[0]);
	}
	snprintf(run_path, sizeof(run_path), "%s/run-%d-%ld", prefix,
			 (int) getpid(), (long) time(NULL));
	if (!create_and_wait(setup, prefix, &setup_pfd) ||
		!create_and_wait(setup, run_path, &setup_pfd))
		fatal("setup failed, nothing measured");
	zookeeper_close(setup->zh);

	workers = calloc(nthreads, sizeof(Worker));
	if (workers == NULL)
		fatal("out of memory");
	for (int t = 0; t < nthreads; t++)
	{
		workers[t].clients = calloc(nclients / nthreads + 1, sizeof(Client *));
		workers[t].pfds = calloc(nclients / nthreads + 1, sizeof(struct pollfd));
		if (workers[t].clients == NULL || workers[t].pfds == NULL)
			fatal("out of memory");
	}
	for (int i = 0; i < nclients; i++)
	{
		Client	   *c = new_client(i);
		Worker	   *w = &workers[i % nthreads];

		snprintf(c->node_path, sizeof(c->node_path), "%s/n%d", run_path, i);
		w->clients[w->nclients++] = c;
	}

	if (pthread_barrier_init(&setup_barrier, NULL, nthreads + 1) != 0 ||
		pthread_barrier_init(&start_barrier, NULL, nthreads + 1) != 0)
		fatal("could not create barriers");
	for (int t = 0; t < nthreads; t++)
		if (pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]) != 0)
			fatal("could not create thread: %s", strerror(errno));
	pthread_barrier_wait(&setup_barrier);
	for (int t = 0; t < nthreads; t++)
		if (workers[t].setup_failed)
			abort_run = true;
	if (!abort_run)
	{
		window_start_ns = now_ns() + (uint64_t) warmup_s * 1000000000;
		window_end_ns = window_start_ns + (uint64_t) duration_s * 1000000000;
	}
	pthread_barrier_wait(&start_barrier);
	for (int t = 0; t < nthreads; t++)
		pthread_join(workers[t].thread, NULL);
	if (abort_run)
		fatal("setup failed, nothing measured");

	all = calloc(1, sizeof(Histogram));
	errors = calloc(1, sizeof(ErrorTable));
	if (all == NULL || errors == NULL)
		fatal("out of memory");
	for (int t = 0; t < nthreads; t++)
		for (int i = 0; i < workers[t].nclients; i++)
		{
			Client	   *c = workers[t].clients[i];

			hist_merge(all, &c->hist);
			errors_merge(errors, &c->errors);
			zookeeper_close(c->zh);
		}
	{
		RunReport	report = {
			.workload = workload_names[workload],
			.clients = nclients,
			.threads = nthreads,
			.servers = nservers,
			.depth = depth,
			.depth_note = "",
			.data_bytes = data_bytes,
			.duration_s = duration_s,
			.warmup_s = warmup_s,
			.all = all,
			.errors = errors,
			.csv = csv_output,
		};

		print_run_report(&report);
	}
	return all->count > 0 ? 0 : 1;
}

/*-------------------------------------------------------------------------
 *
 * benchstats.h
 *	  What the load generators (test/zkbench.c, test/bench/recipe_bench.c)
 *	  share: a latency histogram, a table of errors by SQLSTATE, and their
 *	  argument, clock and connection helpers.  Header-only: each tool is
 *	  one C file compiled on its own; it defines BENCH_PROGNAME first.
 *
 * IDENTIFICATION
 *	  test/benchstats.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_BENCHSTATS_H
#define ZKPG_BENCHSTATS_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libpq-fe.h"

#ifndef BENCH_PROGNAME
#error "define BENCH_PROGNAME before including benchstats.h"
#endif

/*
 * Log-bucket histogram of latencies in microseconds.  Values below
 * HIST_SUB_COUNT get a bucket each; above, every power of two is split
 * into HIST_HALF_COUNT buckets, so a bucket is at most 1/64 of its value
 * wide.  That is HdrHistogram's layout with two significant digits.
 */
#define HIST_SUB_BITS		7
#define HIST_SUB_COUNT		(1 << HIST_SUB_BITS)
#define HIST_HALF_COUNT		(HIST_SUB_COUNT / 2)
#define HIST_BUCKETS		((64 - HIST_SUB_BITS + 2) * HIST_HALF_COUNT)

typedef struct Histogram
{
	uint64_t	count;
	uint64_t	sum_us;
	uint64_t	max_us;
	uint64_t	buckets[HIST_BUCKETS];
} Histogram;

/* Distinct error codes tracked per thread; the rest go under "other". */
#define MAX_ERROR_CODES		32

typedef struct ErrorCount
{
	char		code[16];		/* SQLSTATE, or "conn", "aborted", ... */
	uint64_t	count;
	char		message[160];	/* first message seen, for diagnosis */
} ErrorCount;

typedef struct ErrorTable
{
	int			n;
	ErrorCount	e[MAX_ERROR_CODES];
} ErrorTable;

/* Copy an error message, first line only, so it fits in a report line. */
static inline void
copy_message(char *dst, size_t len, const char *src)
{
	size_t		n = 0;

	if (src == NULL)
		src = "";
	while (src[n] != '\0' && src[n] != '\n' && n + 1 < len)
	{
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

static inline int
hist_index(uint64_t v)
{
	int			shift;

	if (v < HIST_SUB_COUNT)
		return (int) v;
	/* shift so that the value keeps HIST_SUB_BITS - 1 bits below its top */
	shift = (63 - __builtin_clzll(v)) - (HIST_SUB_BITS - 1);
	return shift * HIST_HALF_COUNT + (int) (v >> shift);
}

/* The middle of a bucket, which stands for every value in it. */
static inline uint64_t
hist_value(int idx)
{
	int			shift;
	uint64_t	mantissa;

	if (idx < HIST_SUB_COUNT)
		return (uint64_t) idx;
	shift = idx / HIST_HALF_COUNT - 1;
	mantissa = (uint64_t) (idx - shift * HIST_HALF_COUNT);
	return (mantissa << shift) + ((UINT64_C(1) << shift) >> 1);
}

static inline void
hist_add(Histogram *h, uint64_t us)
{
	h->count++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
	h->buckets[hist_index(us)]++;
}

static inline void
hist_merge(Histogram *dst, const Histogram *src)
{
	dst->count += src->count;
	dst->sum_us += src->sum_us;
	if (src->max_us > dst->max_us)
		dst->max_us = src->max_us;
	for (int i = 0; i < HIST_BUCKETS; i++)
		dst->buckets[i] += src->buckets[i];
}

static inline double
hist_percentile_ms(const Histogram *h, double p)
{
	uint64_t	rank;
	uint64_t	seen = 0;

	if (h->count == 0)
		return 0.0;
	rank = (uint64_t) (p * (double) h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	for (int i = 0; i < HIST_BUCKETS; i++)
	{
		seen += h->buckets[i];
		if (seen >= rank)
		{
			uint64_t	v = hist_value(i);

			/* a bucket's middle can lie above the largest value seen */
			return (v > h->max_us ? h->max_us : v) / 1000.0;
		}
	}
	return h->max_us / 1000.0;
}

static inline void
errors_add(ErrorTable *t, const char *code, const char *message,
		   uint64_t count)
{
	ErrorCount *e = NULL;

	for (int i = 0; i < t->n; i++)
	{
		if (strcmp(t->e[i].code, code) == 0)
		{
			e = &t->e[i];
			break;
		}
	}
	if (e == NULL)
	{
		/* once the table is full, its last slot gathers the rest */
		if (t->n == MAX_ERROR_CODES)
			e = &t->e[MAX_ERROR_CODES - 1];
		else
		{
			e = &t->e[t->n++];
			if (t->n == MAX_ERROR_CODES)
			{
				code = "other";
				message = "(more distinct error codes than the tool tracks)";
			}
			snprintf(e->code, sizeof(e->code), "%s", code);
			copy_message(e->message, sizeof(e->message), message);
		}
	}
	e->count += count;
}

static inline void
errors_merge(ErrorTable *dst, const ErrorTable *src)
{
	for (int i = 0; i < src->n; i++)
		errors_add(dst, src->e[i].code, src->e[i].message, src->e[i].count);
}

/* "ZK101<kv>3<sep>conn<kv>1" */
static inline void
format_errors(const ErrorTable *t, char *buf, size_t len,
			  const char *sep, const char *kv)
{
	size_t		used = 0;

	buf[0] = '\0';
	for (int i = 0; i < t->n && used < len; i++)
		used += snprintf(buf + used, len - used, "%s%s%s%" PRIu64,
						 i > 0 ? sep : "", t->e[i].code, kv, t->e[i].count);
}

/* the servers given with -d, clients spread over them round-robin */
static char **conninfos;
static int	nconninfos;

/* Drop the newlines libpq leaves at the end of its messages. */
static inline char *
chomp(char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	return s;
}

static inline void fatal(const char *fmt,...) __attribute__((format(printf, 1, 2), noreturn));

static inline void
fatal(const char *fmt,...)
{
	va_list		ap;
	char		buf[2048];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", BENCH_PROGNAME, chomp(buf));
	exit(1);
}

static inline int
parse_int(const char *arg, const char *what, int min, int max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max)
		fatal("invalid %s \"%s\": must be an integer in [%d, %d]",
			  what, arg, min, max);
	return (int) v;
}

/*
 * Split a -d argument on commas.  A conninfo that itself needs a comma
 * (a multi-host list) cannot be given this way; use one -d per server.
 */
static inline void
add_conninfos(const char *arg)
{
	const char *p = arg;

	for (;;)
	{
		const char *comma = strchr(p, ',');
		size_t		len = comma ? (size_t) (comma - p) : strlen(p);

		conninfos = realloc(conninfos, sizeof(char *) * (nconninfos + 1));
		if (conninfos == NULL)
			fatal("out of memory");
		conninfos[nconninfos] = strndup(p, len);
		if (conninfos[nconninfos] == NULL)
			fatal("out of memory");
		nconninfos++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

/*
 * Connect in blocking mode.  The conninfo goes in as "dbname" with
 * expand_dbname, which is how it may also be a URI, and lets us supply an
 * application_name the user can still override.
 */
static inline PGconn *
connect_to(const char *conninfo)
{
	const char *const keywords[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {conninfo, BENCH_PROGNAME, NULL};

	return PQconnectdbParams(keywords, values, 1);
}

static inline const char *
result_sqlstate(const PGresult *res)
{
	const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	/* libpq reports a broken connection without a SQLSTATE */
	return code != NULL ? code : "conn";
}

/* An error's primary message, without libpq's "ERROR:  " decoration. */
static inline const char *
result_message(const PGresult *res)
{
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	return msg != NULL ? msg : PQresultErrorMessage(res);
}

/* What a load generator ran and measured, for print_run_report(). */
typedef struct RunReport
{
	const char *workload;
	int			clients;
	int			threads;
	int			servers;
	int			depth;
	const char *depth_note;		/* after the depth: " (pipeline mode)", "" */
	int			data_bytes;
	int			duration_s;
	int			warmup_s;
	const Histogram *all;
	const ErrorTable *errors;
	bool		csv;
} RunReport;

/*
 * The run's line (--csv: workload,clients,threads,depth,data_bytes,
 * duration_s,ops,errors,ops_per_s,p50_ms,p90_ms,p99_ms,max_ms,mean_ms,
 * error_detail) or its summary, the same for zkbench and zkcbench so that
 * test/bench/run_side_by_side.sh reads both alike.
 */
static inline void
print_run_report(const RunReport *r)
{
	const Histogram *all = r->all;
	double		secs = r->duration_s;
	double		mean = all->count ? (double) all->sum_us / all->count / 1000.0 : 0.0;
	uint64_t	failed = 0;
	char		errtext[1024];

	for (int i = 0; i < r->errors->n; i++)
		failed += r->errors->e[i].count;
	format_errors(r->errors, errtext, sizeof(errtext), r->csv ? ";" : ", ",
				  r->csv ? ":" : " ");
	if (r->csv)
	{
		printf("%s,%d,%d,%d,%d,%d,%" PRIu64 ",%" PRIu64 ",%.1f,%.3f,%.3f,%.3f,%.3f,%.3f,%s\n",
			   r->workload, r->clients, r->threads, r->depth, r->data_bytes,
			   r->duration_s, all->count, failed, all->count / secs,
			   hist_percentile_ms(all, 0.50), hist_percentile_ms(all, 0.90),
			   hist_percentile_ms(all, 0.99), all->max_us / 1000.0, mean, errtext);
		return;
	}
	printf("workload:   %s\n", r->workload);
	printf("clients:    %d (%d threads, %d server%s)\n", r->clients, r->threads,
		   r->servers, r->servers == 1 ? "" : "s");
	printf("depth:      %d%s\n", r->depth, r->depth_note);
	printf("data:       %d bytes\n", r->data_bytes);
	printf("duration:   %d s (warmup %d s)\n", r->duration_s, r->warmup_s);
	printf("ops:        %" PRIu64 "\n", all->count);
	printf("errors:     %" PRIu64 "%s%s%s\n", failed,
		   failed ? " (" : "", failed ? errtext : "", failed ? ")" : "");
	printf("ops/s:      %.1f\n", all->count / secs);
	printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  mean %.3f\n",
		   hist_percentile_ms(all, 0.50), hist_percentile_ms(all, 0.90),
		   hist_percentile_ms(all, 0.99), all->max_us / 1000.0, mean);
}

#endif							/* ZKPG_BENCHSTATS_H */

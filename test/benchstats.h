/*-------------------------------------------------------------------------
 *
 * benchstats.h
 *	  What the load generators (test/zkbench.c, test/bench/recipe_bench.c)
 *	  share: a latency histogram and a table of errors by SQLSTATE.
 *	  Header-only: each tool is one C file compiled on its own.
 *
 * IDENTIFICATION
 *	  test/benchstats.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_BENCHSTATS_H
#define ZKPG_BENCHSTATS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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

#endif							/* ZKPG_BENCHSTATS_H */

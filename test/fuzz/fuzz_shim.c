/*-------------------------------------------------------------------------
 *
 * fuzz_shim.c
 *	  The PostgreSQL backend symbols that zkpg's decoders (txn_codec.c,
 *	  record_check.c, acl.c, path.c) call, over malloc, so that they can
 *	  be fuzzed outside a server.
 *
 * Memory: every palloc is its own malloc block, linked into one list (the
 * arena of the current input), so that AddressSanitizer sees the bounds
 * of each allocation as it would see them in a real allocator without
 * pooling.  FuzzArenaReset() frees them all after each input, as the
 * caller's memory context reset does in the server: what a decoder leaves
 * allocated is not a leak there, and is not reported as one here.
 *
 * Errors: a decoder never throws for bad input (txn_codec.c), so an
 * elog/ereport of ERROR or worse, or a failed Assert (the decoders are
 * built with USE_ASSERT_CHECKING), aborts: libFuzzer reports the input.
 * Lower levels are printed and ignored.
 *
 * The encoding functions (pg_utf_mblen, utf8_to_unicode, pg_utf8_islegal,
 * pg_encoding_verifymbstr) are PostgreSQL's own, from libpgcommon.a;
 * GetDatabaseEncoding() returns FuzzDatabaseEncoding, which a target may
 * set per input.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_shim.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/memutils.h"

#include "fuzz_common.h"

/* port.h points these at src/port's versions; libc's do for %s and %d */
#undef vsnprintf
#undef snprintf
#undef fprintf
#undef vfprintf

int			FuzzDatabaseEncoding = PG_UTF8;

/* ---- memory ---- */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	max_align_t align;			/* the user's bytes follow, max-aligned */
} Chunk;

#define CHUNK_HDR offsetof(Chunk, align)

static Chunk arena = {&arena, &arena, 0};

static void *
chunk_alloc(size_t size, bool zero)
{
	Chunk	   *c;

	if (!AllocSizeIsValid(size))
	{
		fprintf(stderr, "fuzz shim: invalid memory alloc request size %zu\n", size);
		abort();
	}
	c = zero ? calloc(1, CHUNK_HDR + size) : malloc(CHUNK_HDR + size);
	if (c == NULL)
	{
		fprintf(stderr, "fuzz shim: out of memory (%zu bytes)\n", size);
		abort();
	}
	c->size = size;
	c->next = arena.next;
	c->prev = &arena;
	arena.next->prev = c;
	arena.next = c;
	return (char *) c + CHUNK_HDR;
}

static Chunk *
chunk_of(void *p)
{
	return (Chunk *) ((char *) p - CHUNK_HDR);
}

void
FuzzArenaReset(void)
{
	Chunk	   *c = arena.next;

	while (c != &arena)
	{
		Chunk	   *next = c->next;

		free(c);
		c = next;
	}
	arena.next = arena.prev = &arena;
}

void *
palloc(Size size)
{
	return chunk_alloc(size, false);
}

void *
palloc0(Size size)
{
	return chunk_alloc(size, true);
}

void *
palloc_extended(Size size, int flags)
{
	return chunk_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

void
pfree(void *pointer)
{
	Chunk	   *c = chunk_of(pointer);

	c->prev->next = c->next;
	c->next->prev = c->prev;
	free(c);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = chunk_of(pointer);
	Chunk	   *n;

	if (!AllocSizeIsValid(size))
	{
		fprintf(stderr, "fuzz shim: invalid memory alloc request size %zu\n", size);
		abort();
	}
	c->prev->next = c->next;
	c->next->prev = c->prev;
	n = realloc(c, CHUNK_HDR + size);
	if (n == NULL)
	{
		fprintf(stderr, "fuzz shim: out of memory (%zu bytes)\n", size);
		abort();
	}
	n->size = size;
	n->next = arena.next;
	n->prev = &arena;
	arena.next->prev = n;
	arena.next = n;
	return (char *) n + CHUNK_HDR;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

char *
psprintf(const char *fmt,...)
{
	va_list		args;
	int			need;
	char	   *out;

	va_start(args, fmt);
	need = vsnprintf(NULL, 0, fmt, args);
	va_end(args);
	if (need < 0)
		abort();
	out = palloc(need + 1);
	va_start(args, fmt);
	vsnprintf(out, need + 1, fmt, args);
	va_end(args);
	return out;
}

/* ---- StringInfo (lib/stringinfo.h), as src/common/stringinfo.c ---- */

StringInfo
makeStringInfo(void)
{
	StringInfo	res = palloc(sizeof(StringInfoData));

	initStringInfo(res);
	return res;
}

void
initStringInfo(StringInfo str)
{
	int			size = 1024;

	str->data = palloc(size);
	str->maxlen = size;
	resetStringInfo(str);
}

void
resetStringInfo(StringInfo str)
{
	str->data[0] = '\0';
	str->len = 0;
	str->cursor = 0;
}

void
enlargeStringInfo(StringInfo str, int needed)
{
	int			newlen;

	if (needed < 0 || ((Size) needed) >= (MaxAllocSize - (Size) str->len))
	{
		fprintf(stderr, "fuzz shim: out of memory: cannot enlarge a string buffer "
				"of %d bytes by %d more\n", str->len, needed);
		abort();
	}
	needed += str->len + 1;
	if (needed <= str->maxlen)
		return;
	newlen = 2 * str->maxlen;
	while (needed > newlen)
		newlen = 2 * newlen;
	if (newlen > (int) MaxAllocSize)
		newlen = (int) MaxAllocSize;
	str->data = repalloc(str->data, newlen);
	str->maxlen = newlen;
}

int
appendStringInfoVA(StringInfo str, const char *fmt, va_list args)
{
	int			avail = str->maxlen - str->len;
	int			n = vsnprintf(str->data + str->len, avail, fmt, args);

	if (n < 0)
		abort();
	if (n < avail)
	{
		str->len += n;
		return 0;
	}
	str->data[str->len] = '\0';
	return n + 1;
}

void
appendStringInfo(StringInfo str, const char *fmt,...)
{
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(str, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(str, needed);
	}
}

void
appendStringInfoString(StringInfo str, const char *s)
{
	appendBinaryStringInfo(str, s, strlen(s));
}

void
appendStringInfoChar(StringInfo str, char ch)
{
	if (str->len + 1 >= str->maxlen)
		enlargeStringInfo(str, 1);
	str->data[str->len] = ch;
	str->len++;
	str->data[str->len] = '\0';
}

void
appendBinaryStringInfo(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
	str->data[str->len] = '\0';
}

void
appendBinaryStringInfoNT(StringInfo str, const char *data, int datalen)
{
	enlargeStringInfo(str, datalen);
	memcpy(str->data + str->len, data, datalen);
	str->len += datalen;
}

/* ---- errors ---- */

static int	error_level;
static char error_message[1024];

bool
errstart(int elevel, const char *domain)
{
	error_level = elevel;
	error_message[0] = '\0';
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

int
errcode(int sqlerrcode)
{
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(error_message, sizeof(error_message), fmt, args);
	va_end(args);
	return 0;
}

int
errmsg(const char *fmt,...)
{
	va_list		args;

	va_start(args, fmt);
	vsnprintf(error_message, sizeof(error_message), fmt, args);
	va_end(args);
	return 0;
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	fprintf(stderr, "fuzz shim: %s at %s:%d (%s): %s\n",
			error_level >= ERROR ? "ERROR" : "message",
			filename, lineno, funcname ? funcname : "?", error_message);
	/* a decoder must refuse bad input with a reason, never throw */
	if (error_level >= ERROR)
		abort();
}

void
pg_re_throw(void)
{
	fprintf(stderr, "fuzz shim: pg_re_throw outside a server\n");
	abort();
}

void
ExceptionalCondition(const char *conditionName, const char *errorType,
					 const char *fileName, int lineNumber)
{
	fprintf(stderr, "fuzz shim: %s(\"%s\", File: \"%s\", Line: %d)\n",
			errorType ? errorType : "?", conditionName ? conditionName : "?",
			fileName ? fileName : "?", lineNumber);
	abort();
}

/* ---- the database encoding (mb/pg_wchar.h) ---- */

int
GetDatabaseEncoding(void)
{
	return FuzzDatabaseEncoding;
}

/*-------------------------------------------------------------------------
 *
 * path.c
 *	  ZooKeeper's path validation (PathUtils.validatePath) and the few
 *	  path computations the tree needs.
 *
 * Pure functions: no catalog access, no errors thrown.  A validator
 * returns the reason a path is refused so that the caller picks the
 * error (ZK008 in a backend, an error txn in the request processor).
 *
 * ZooKeeper works on Java chars (UTF-16 code units) and refuses the
 * surrogate range; a code point above U+FFFF is a surrogate pair in Java,
 * so it is refused here too.
 *
 * IDENTIFICATION
 *	  src/path.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "path.h"
#include "zkpg.h"

static bool path_char_is_invalid(pg_wchar c);

/*
 * Is this code point one that ZooKeeper refuses in a path?
 */
static bool
path_char_is_invalid(pg_wchar c)
{
	return (c > 0x0000 && c <= 0x001f) ||
		(c >= 0x007f && c <= 0x009f) ||
		(c >= 0xd800 && c <= 0xf8ff) ||
		(c >= 0xfff0);
}

/*
 * Returns NULL when path is valid, else why it is not.  A sequential
 * create may name a path ending in '/' or '.': ZooKeeper validates the
 * path with a digit appended, and so do we, logically.
 */
const char *
ZkValidatePath(const char *path, bool sequential)
{
	size_t		len;
	size_t		i;
	bool		utf8 = (GetDatabaseEncoding() == PG_UTF8);

	if (path == NULL)
		return "path must not be null";
	len = strlen(path);
	if (len == 0)
		return "path length must be > 0";
	if (path[0] != '/')
		return "path must start with / character";
	if (len > ZK_MAX_PATH_BYTES)
		return "path is longer than the maximum of 1024 bytes";
	if (len == 1)
		return NULL;
	if (path[len - 1] == '/' && !sequential)
		return "path must not end with / character";

	for (i = 1; i < len;)
	{
		unsigned char c = (unsigned char) path[i];
		pg_wchar	cp;
		int			clen;

		if (c == '/' && path[i - 1] == '/')
			return "empty node name specified";
		if (c == '.')
		{
			bool		ends = (i + 1 == len) ? !sequential : (path[i + 1] == '/');

			if (path[i - 1] == '.' && i >= 2 && path[i - 2] == '/' && ends)
				return "relative paths not allowed";
			if (path[i - 1] == '/' && ends)
				return "relative paths not allowed";
		}

		if (utf8 && c >= 0x80)
		{
			clen = pg_utf_mblen((const unsigned char *) path + i);
			/* a decoded path (txn_codec.c) is not known to be valid UTF-8 */
			if (i + clen > len ||
				!pg_utf8_islegal((const unsigned char *) path + i, clen))
				return "invalid character in path";
			cp = utf8_to_unicode((const unsigned char *) path + i);
		}
		else
		{
			clen = 1;
			cp = c;
			if (!utf8 && c >= 0x80)
				cp = 0x41;		/* no code point known: accept the byte */
		}
		if (path_char_is_invalid(cp))
			return "invalid character in path";
		i += clen;
	}
	return NULL;
}

/*
 * The parent of a valid path other than "/".
 */
char *
ZkParentPath(const char *path)
{
	const char *slash = strrchr(path, '/');

	Assert(slash != NULL && strcmp(path, "/") != 0);
	if (slash == path)
		return pstrdup("/");
	return pnstrdup(path, slash - path);
}

/*
 * The nodes that exist from the start and can never be deleted.
 */
bool
ZkIsProtectedPath(const char *path)
{
	return strcmp(path, "/") == 0 ||
		strcmp(path, "/zookeeper") == 0 ||
		strcmp(path, "/zookeeper/quota") == 0 ||
		strcmp(path, "/zookeeper/config") == 0;
}

/* parent/name, for a child name of parent */
char *
ZkJoinPath(const char *parent, const char *name)
{
	if (strcmp(parent, "/") == 0)
		return psprintf("/%s", name);
	return psprintf("%s/%s", parent, name);
}

/*-------------------------------------------------------------------------
 *
 * acl.c
 *	  ZooKeeper ACLs: syntax, normalization and the permission check.
 *
 * An entry is "scheme:id:perms"; the id may itself contain ':' (digest
 * ids are "user:base64(sha1(user:password))"), so the scheme is what
 * precedes the first ':' and the perms what follows the last one.  Perms
 * are stored in ZooKeeper's letter order, "cdrwa", because ZooKeeper
 * keeps them as a bit mask and the input order carries no meaning.
 *
 * The "auth" scheme is expanded when an ACL is set (ZooKeeper's
 * fixupACL): it stands for every identity the session has authenticated,
 * and is an invalid ACL when the session has none.
 *
 * Pure functions: the caller supplies the identities (ZkAuth) and turns a
 * returned reason into ZK114 or an error txn.
 *
 * IDENTIFICATION
 *	  src/acl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>

#include "lib/stringinfo.h"

#include "acl.h"
#include "zkpg.h"

typedef struct ParsedAcl
{
	char	   *scheme;
	char	   *id;
	int			perms;
} ParsedAcl;

static const char *acl_parse_entry(const char *entry, ParsedAcl *out);
static const char *acl_check_id(const char *scheme, const char *id);
static char *acl_format(const char *scheme, const char *id, int perms);
static bool acl_ip_matches(const char *pattern, const char *addr);
static bool acl_ip_parse(const char *text, unsigned char *bytes, int *nbytes);

static const char perm_letters[] = "cdrwa";
static const int perm_bits[] = {
	ZK_PERM_CREATE, ZK_PERM_DELETE, ZK_PERM_READ, ZK_PERM_WRITE, ZK_PERM_ADMIN
};

const char *
ZkAclDefault(void)
{
	return "world:anyone:cdrwa";
}

/*
 * Split and check one entry.
 */
static const char *
acl_parse_entry(const char *entry, ParsedAcl *out)
{
	const char *first = strchr(entry, ':');
	const char *last = strrchr(entry, ':');
	const char *p;
	const char *reason;

	if (first == NULL || first == last)
		return "an ACL entry must have the form scheme:id:perms";
	out->scheme = pnstrdup(entry, first - entry);
	out->id = pnstrdup(first + 1, last - first - 1);
	out->perms = 0;
	if (last[1] == '\0')
		return "an ACL entry must grant at least one permission of cdrwa";
	for (p = last + 1; *p; p++)
	{
		const char *l = strchr(perm_letters, *p);

		if (l == NULL)
			return "ACL permissions must be letters of cdrwa";
		out->perms |= perm_bits[l - perm_letters];
	}
	reason = acl_check_id(out->scheme, out->id);
	return reason;
}

/*
 * The id rules of each authentication provider (isValid()).
 */
static const char *
acl_check_id(const char *scheme, const char *id)
{
	if (strcmp(scheme, "world") == 0)
		return strcmp(id, "anyone") == 0 ? NULL :
			"the world scheme has the single id \"anyone\"";
	if (strcmp(scheme, "auth") == 0)
		return NULL;
	if (strcmp(scheme, "digest") == 0)
	{
		const char *colon = strchr(id, ':');

		if (colon == NULL || colon == id || colon[1] == '\0' ||
			strchr(colon + 1, ':') != NULL)
			return "a digest id must have the form user:base64(sha1(user:password))";
		return NULL;
	}
	if (strcmp(scheme, "ip") == 0)
	{
		unsigned char bytes[16];
		int			nbytes;

		return acl_ip_parse(id, bytes, &nbytes) ? NULL :
			"an ip id must be an IPv4 or IPv6 address with an optional /bits";
	}
	if (strcmp(scheme, "pg") == 0)
		return id[0] != '\0' ? NULL : "a pg id must name a role";
	return "unknown ACL scheme (expected world, auth, digest, ip or pg)";
}

static char *
acl_format(const char *scheme, const char *id, int perms)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%s:%s:", scheme, id);
	for (i = 0; i < 5; i++)
		if (perms & perm_bits[i])
			appendStringInfoChar(&buf, perm_letters[i]);
	return buf.data;
}

/*
 * Check an ACL list and return it normalized (perms in cdrwa order,
 * "auth" expanded to the session's identities, duplicates dropped), or
 * the reason it is invalid.  A NULL or empty input is invalid: the
 * caller substitutes the default ACL for an absent one.
 */
const char *
ZkAclNormalize(int nacl, char **acl, const ZkAuth *auth,
			   int *out_nacl, char ***out_acl)
{
	char	  **result;
	int			n = 0;
	int			cap;
	int			i;

	if (nacl <= 0)
		return "an ACL must have at least one entry";
	if (nacl > ZK_MAX_ACL_ENTRIES)
		return "an ACL may have at most " CppAsString2(ZK_MAX_ACL_ENTRIES) " entries";

	cap = nacl + (auth ? auth->nids * nacl : 0);
	result = palloc(sizeof(char *) * Max(cap, 1));
	for (i = 0; i < nacl; i++)
	{
		ParsedAcl	p;
		const char *reason;
		int			j;

		if (acl[i] == NULL)
			return "an ACL entry must not be null";
		reason = acl_parse_entry(acl[i], &p);
		if (reason)
			return reason;
		if (strcmp(p.scheme, "auth") == 0)
		{
			bool		any = false;

			for (j = 0; auth != NULL && j < auth->nids; j++)
			{
				const char *colon = strchr(auth->ids[j], ':');
				char	   *scheme;

				if (colon == NULL)
					continue;
				scheme = pnstrdup(auth->ids[j], colon - auth->ids[j]);
				/* ip identities are implicit and never "authenticated" */
				if (strcmp(scheme, "ip") == 0 || strcmp(scheme, "pg") == 0)
					continue;
				result[n++] = acl_format(scheme, colon + 1, p.perms);
				any = true;
			}
			if (!any)
				return "the auth scheme needs an identity added with zk_add_auth";
		}
		else
			result[n++] = acl_format(p.scheme, p.id, p.perms);
	}

	/* drop exact duplicates, keeping the first */
	{
		int			k = 0;

		for (i = 0; i < n; i++)
		{
			int			j;
			bool		dup = false;

			for (j = 0; j < k; j++)
				if (strcmp(result[j], result[i]) == 0)
					dup = true;
			if (!dup)
				result[k++] = result[i];
		}
		n = k;
	}
	/* what a txn can carry (record_check.c): "auth" must not expand past it */
	if (n > ZK_MAX_ACL_ENTRIES)
		return psprintf("the ACL expands to %d entries, more than the %d allowed", n,
						ZK_MAX_ACL_ENTRIES);
	for (i = 0; i < n; i++)
		if (strlen(result[i]) > ZK_MAX_ACL_ENTRY_BYTES)
			return "an ACL entry has at most " CppAsString2(ZK_MAX_ACL_ENTRY_BYTES) " bytes";
	*out_nacl = n;
	*out_acl = result;
	return NULL;
}

/*
 * ZooKeeper's checkACL: does this ACL grant perm to these identities?
 * An empty ACL grants everything, as in ZooKeeper.
 */
bool
ZkAclPermits(int nacl, char **acl, int perm, const ZkAuth *auth)
{
	int			i;

	if (auth != NULL && auth->superuser)
		return true;
	if (nacl == 0)
		return true;
	for (i = 0; i < nacl; i++)
	{
		ParsedAcl	p;
		int			j;

		if (acl_parse_entry(acl[i], &p) != NULL)
			continue;
		if ((p.perms & perm) == 0)
			continue;
		if (strcmp(p.scheme, "world") == 0 && strcmp(p.id, "anyone") == 0)
			return true;
		if (strcmp(p.scheme, "pg") == 0 && auth != NULL && auth->role_member != NULL)
		{
			if (auth->role_member(auth->roleid, p.id))
				return true;
			continue;
		}
		for (j = 0; auth != NULL && j < auth->nids; j++)
		{
			const char *id = auth->ids[j];
			size_t		slen = strlen(p.scheme);

			if (strncmp(id, p.scheme, slen) != 0 || id[slen] != ':')
				continue;
			id += slen + 1;
			if (strcmp(p.scheme, "ip") == 0 ? acl_ip_matches(p.id, id) :
				strcmp(p.id, id) == 0)
				return true;
		}
	}
	return false;
}

/*
 * Parse "addr[/bits]" into network bytes, the mask applied.
 */
static bool
acl_ip_parse(const char *text, unsigned char *bytes, int *nbytes)
{
	char		addr[INET6_ADDRSTRLEN + 1];
	const char *slash = strchr(text, '/');
	size_t		alen = slash ? (size_t) (slash - text) : strlen(text);
	int			bits;
	int			i;

	if (alen == 0 || alen > INET6_ADDRSTRLEN)
		return false;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bytes) == 1)
		*nbytes = 4;
	else if (inet_pton(AF_INET6, addr, bytes) == 1)
		*nbytes = 16;
	else
		return false;

	bits = *nbytes * 8;
	if (slash)
	{
		char	   *end;
		long		v = strtol(slash + 1, &end, 10);

		if (slash[1] == '\0' || *end != '\0' || v < 0 || v > *nbytes * 8)
			return false;
		bits = (int) v;
	}
	for (i = 0; i < *nbytes; i++)
	{
		int			keep = Min(Max(bits - i * 8, 0), 8);

		bytes[i] &= (unsigned char) (0xFF << (8 - keep));
	}
	return true;
}

static bool
acl_ip_matches(const char *pattern, const char *addr)
{
	unsigned char pbytes[16];
	unsigned char abytes[16];
	int			pn;
	int			an;
	const char *slash = strchr(pattern, '/');
	int			bits;
	int			i;

	if (!acl_ip_parse(pattern, pbytes, &pn) || !acl_ip_parse(addr, abytes, &an) || pn != an)
		return false;
	bits = slash ? atoi(slash + 1) : pn * 8;
	for (i = 0; i < pn; i++)
	{
		int			keep = Min(Max(bits - i * 8, 0), 8);
		unsigned char mask = (unsigned char) (0xFF << (8 - keep));

		if ((pbytes[i] & mask) != (abytes[i] & mask))
			return false;
	}
	return true;
}

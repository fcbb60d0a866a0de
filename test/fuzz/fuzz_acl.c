/*-------------------------------------------------------------------------
 *
 * fuzz_acl.c
 *	  libFuzzer target: the ACL text parsers of acl.c, ZkAclNormalize and
 *	  ZkAclPermits, on entries and identities as untrusted as they come:
 *	  the ACLs of forwarded requests and of proposed txns (decoded by
 *	  txn_codec.c and checked by record_check.c), the identities a
 *	  forwarded request carries, and the ACL arrays of the tree, which a
 *	  SNAP copies from the leader (snap.c) and the watches and the request
 *	  processor check.
 *
 * Input: one control byte, then lines separated by '\n'.  A line that
 * starts with '@' is an identity ("scheme:id") of the session, any other
 * line an ACL entry.  Control bit 0: normalize with the identities (a
 * request's ACL, "auth" expands) or without (a txn's); bit 1: the session
 * is a superuser; bits 2-6: the permissions ZkAclPermits is asked for.
 *
 * Checks: a normalized ACL keeps the promises of FuzzCheckAcl
 * (fuzz_common.c: well formed, bounded, idempotent, grants the same);
 * ZkAclPermits grants a superuser everything and an empty ACL to anyone,
 * and grants a set of permissions when it grants one of them (ZooKeeper's
 * checkACL tests perms & mask).
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_acl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "acl.h"
#include "fuzz_common.h"

/*
 * Past ZK_MAX_ACL_ENTRIES a list is refused whole, and the identities
 * only repeat the same comparisons: more lines are ignored, to keep each
 * execution cheap.
 */
#define MAX_ACL (ZK_MAX_ACL_ENTRIES + 8)
#define MAX_IDS 128

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	  **acl;
	char	  **ids;
	int			nacl = 0;
	int			nids = 0;
	uint8_t		control;
	size_t		at;
	ZkAuth		auth;
	int			perms;
	int			n;
	char	  **out;
	int			bit;
	bool		any;

	if (size < 1 || size > 64 * 1024)
		return 0;
	control = data[0];
	acl = palloc(sizeof(char *) * MAX_ACL);
	ids = palloc(sizeof(char *) * MAX_IDS);
	at = 1;
	while (at <= size)
	{
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t		end = nl ? (size_t) (nl - data) : size;

		if (end > at && data[at] == '@')
		{
			if (nids < MAX_IDS)
				ids[nids++] = pnstrdup((const char *) data + at + 1, end - at - 1);
		}
		else if (nacl < MAX_ACL)
			acl[nacl++] = pnstrdup((const char *) data + at, end - at);
		at = end + 1;
	}

	memset(&auth, 0, sizeof(auth));
	auth.superuser = (control & 2) != 0;
	auth.nids = nids;
	auth.ids = ids;
	perms = (control >> 2) & ZK_PERM_ALL;

	/* a request's ACL is checked with its identities, a txn's without */
	if (ZkAclNormalize(nacl, acl, (control & 1) ? &auth : NULL, &n, &out) == NULL)
	{
		ZkAuth		plain = auth;

		plain.superuser = false;
		FuzzCheckAcl(nacl, acl, (control & 1) ? &plain : NULL);
	}

	/* the permission check, on whatever the tree holds */
	if (auth.superuser || nacl == 0)
		FUZZ_CHECK(ZkAclPermits(nacl, acl, perms, &auth), "superuser or empty ACL refused");
	auth.superuser = false;
	any = false;
	for (bit = 0; bit < 5; bit++)
		if (perms & (1 << bit))
			any |= ZkAclPermits(nacl, acl, 1 << bit, &auth);
	if (perms != 0)
		FUZZ_CHECK(ZkAclPermits(nacl, acl, perms, &auth) == any,
				   "ZkAclPermits of a set of permissions is not the union of its members");

	FuzzArenaReset();
	return 0;
}

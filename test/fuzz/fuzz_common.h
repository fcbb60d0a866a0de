/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *	  What the libFuzzer targets of zkpg's decoders share: the arena that
 *	  the PostgreSQL shim (fuzz_shim.c) allocates from, the database
 *	  encoding the shim reports, and the checks that a decoded record
 *	  must pass (fuzz_common.c).
 *
 * The targets are built outside the extension (test/fuzz/Makefile): the
 * decoders' sources are compiled as they are, and fuzz_shim.c gives them
 * the few backend symbols they call, over malloc.  A failed check calls
 * abort() through FUZZ_CHECK, which libFuzzer reports as a crash with the
 * input that caused it.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_FUZZ_COMMON_H
#define ZKPG_FUZZ_COMMON_H

#include "lib/stringinfo.h"

#include "txn_codec.h"
#include "zkpg.h"

/* fuzz_shim.c */
extern void FuzzArenaReset(void);
extern int	FuzzDatabaseEncoding;

/* fuzz_common.c */
extern void FuzzFail(const char *file, int line, const char *what) pg_attribute_noreturn();
extern void FuzzCheckRequest(const ZkRecord *req);
extern void FuzzCheckTxn(const ZkRecord *txn);
extern void FuzzRoundTripRequest(const char *data, int len, const ZkRecord *req);
extern void FuzzRoundTripTxn(const char *data, int len, const ZkRecord *txn);
extern void FuzzCheckPath(const char *path, bool sequential);
extern void FuzzCheckAcl(int nacl, char **acl, const ZkAuth *auth);
extern bool FuzzSameBytes(const StringInfo a, const char *data, int len);

#define FUZZ_CHECK(cond, what) \
	do { \
		if (!(cond)) \
			FuzzFail(__FILE__, __LINE__, (what)); \
	} while (0)

#endif							/* ZKPG_FUZZ_COMMON_H */

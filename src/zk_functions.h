/*-------------------------------------------------------------------------
 *
 * zk_functions.h
 *	  What the SQL API shares with the recipes: argument checks, reads
 *	  with ACL checks, and the errors of API.md.
 *
 * IDENTIFICATION
 *	  src/zk_functions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_ZK_FUNCTIONS_H
#define ZKPG_ZK_FUNCTIONS_H

#include "utils/array.h"

#include "datatree.h"
#include "zkpg.h"

extern void ZkCheckUsable(void);
extern ZkAuth *ZkMyAuth(void);
extern char *ZkPathArg(text *t, bool sequential, const char *what);
extern void ZkDataFromBytea(bytea *b, ZkOp *op);
extern void ZkAclFromArray(ArrayType *arr, int *nacl, char ***acl, const char *path);
extern void ZkSync(void);
extern void ZkWaitForInflightBatch(void);
extern void ZkReadNode(const char *path, int perm, bool with_data, ZkNode *node);
extern void ZkWatchRegister(int64 sid, const char *path, int kind, bool existed,
							const ZkNode *seen);
extern void ZkReportError(int err, const char *path, int op_index, const char *opname) pg_attribute_noreturn();

#endif							/* ZKPG_ZK_FUNCTIONS_H */

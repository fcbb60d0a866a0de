/*-------------------------------------------------------------------------
 *
 * datatree.h
 *	  The znode tree in tables: reads with a fresh snapshot, and the
 *	  changes the applier makes.
 *
 * IDENTIFICATION
 *	  src/datatree.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_DATATREE_H
#define ZKPG_DATATREE_H

#include "nodes/pg_list.h"
#include "zkpg.h"

/* A znode as stored; cversion is derived (2 * creates - num_children). */
typedef struct ZkNode
{
	ZkZxid		czxid;
	ZkZxid		mzxid;
	ZkZxid		pzxid;
	TimestampTz ctime;
	TimestampTz mtime;
	int32		version;
	int32		aversion;
	int32		creates;
	int32		num_children;
	int64		ephemeral_owner;
	int16		kind;
	int64		ttl_ms;
	int32		data_len;
	char	   *data;			/* NULL unless asked for */
	int			nacl;
	char	  **acl;
} ZkNode;

typedef struct ZkSessionRow
{
	int64		session_id;
	int32		owner;
	int32		timeout_ms;
} ZkSessionRow;

/* A child and its node, from ZkTreeGetChildNodes. */
typedef struct ZkChildNode
{
	char	   *name;
	ZkNode		node;			/* with data */
} ZkChildNode;

typedef struct ZkTree ZkTree;

extern ZkTree *ZkTreeMain(void);
extern ZkTree *ZkTreeCreateScratch(void);
extern void ZkTreeDropScratch(ZkTree *tree);
extern void ZkNodeToStat(const ZkNode *node, ZkStat *stat);

/* reads: called by client backends and the request processor */
extern bool ZkTreeGetNode(ZkTree *tree, const char *path, bool with_data, ZkNode *node);
extern List *ZkTreeGetChildren(ZkTree *tree, const char *path);
extern List *ZkTreeGetChildNodes(ZkTree *tree, const char *path);
extern List *ZkTreeEphemeralParents(ZkTree *tree);
extern int64 ZkTreeCountDescendants(ZkTree *tree, const char *path);
extern List *ZkTreeSessionEphemerals(ZkTree *tree, int64 session_id);
extern List *ZkTreeSessions(ZkTree *tree);
extern int64 ZkTreeCountNodes(ZkTree *tree);
extern char *ZkTreeDigest(ZkTree *tree);
extern List *ZkTreeExpiredContainers(ZkTree *tree, TimestampTz now);

/* writes: called by the applier; ZkTreeFlush before commit */
extern void ZkTreeCreate(ZkTree *tree, const ZkOp *op, ZkZxid zxid,
						 TimestampTz time, ZkStat *stat);
extern void ZkTreeDelete(ZkTree *tree, const char *path, ZkZxid zxid,
						 int *nacl_out, char ***acl_out);
extern void ZkTreeSetData(ZkTree *tree, const ZkOp *op, ZkZxid zxid,
						  TimestampTz time, ZkStat *stat, ZkNode *after);
extern void ZkTreeSetAcl(ZkTree *tree, const ZkOp *op, ZkStat *stat);
extern void ZkTreeAddSession(ZkTree *tree, int64 session_id, int32 owner,
							 int32 timeout_ms, ZkZxid zxid);
extern void ZkTreeRemoveSession(ZkTree *tree, int64 session_id);
extern void ZkTreeInitialize(ZkTree *tree);
extern void ZkTreeFlush(ZkTree *tree);

#endif							/* ZKPG_DATATREE_H */

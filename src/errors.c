/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  ZooKeeper's error codes as SQLSTATEs and names.
 *
 * IDENTIFICATION
 *	  src/errors.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "zkpg.h"
#include "zkpg_errcodes.h"

int
ZkErrorToSqlstate(int zkerr)
{
	switch (zkerr)
	{
		case ZK_ERR_CONNECTIONLOSS:
			return ERRCODE_ZK_CONNECTIONLOSS;
		case ZK_ERR_OPERATIONTIMEOUT:
			return ERRCODE_ZK_OPERATIONTIMEOUT;
		case ZK_ERR_BADARGUMENTS:
			return ERRCODE_ZK_BADARGUMENTS;
		case ZK_ERR_NONODE:
			return ERRCODE_ZK_NONODE;
		case ZK_ERR_NOAUTH:
			return ERRCODE_ZK_NOAUTH;
		case ZK_ERR_BADVERSION:
			return ERRCODE_ZK_BADVERSION;
		case ZK_ERR_NOCHILDRENFOREPHEMERALS:
			return ERRCODE_ZK_NOCHILDRENFOREPHEMERALS;
		case ZK_ERR_NODEEXISTS:
			return ERRCODE_ZK_NODEEXISTS;
		case ZK_ERR_NOTEMPTY:
			return ERRCODE_ZK_NOTEMPTY;
		case ZK_ERR_SESSIONEXPIRED:
			return ERRCODE_ZK_SESSIONEXPIRED;
		case ZK_ERR_INVALIDACL:
			return ERRCODE_ZK_INVALIDACL;
		case ZK_ERR_NOWATCHER:
			return ERRCODE_ZK_NOWATCHER;
	}
	return ERRCODE_INTERNAL_ERROR;
}

const char *
ZkErrorName(int zkerr)
{
	switch (zkerr)
	{
		case ZK_OK:
			return "ok";
		case ZK_ERR_RUNTIMEINCONSISTENCY:
			return "runtime inconsistency";
		case ZK_ERR_CONNECTIONLOSS:
			return "connection loss";
		case ZK_ERR_OPERATIONTIMEOUT:
			return "operation timeout";
		case ZK_ERR_BADARGUMENTS:
			return "bad arguments";
		case ZK_ERR_NONODE:
			return "no node";
		case ZK_ERR_NOAUTH:
			return "not authorized";
		case ZK_ERR_BADVERSION:
			return "bad version";
		case ZK_ERR_NOCHILDRENFOREPHEMERALS:
			return "ephemeral nodes may not have children";
		case ZK_ERR_NODEEXISTS:
			return "node exists";
		case ZK_ERR_NOTEMPTY:
			return "node has children";
		case ZK_ERR_SESSIONEXPIRED:
			return "session expired";
		case ZK_ERR_INVALIDACL:
			return "invalid ACL";
		case ZK_ERR_NOWATCHER:
			return "no watcher";
	}
	return "unknown error";
}

const char *
ZkOpName(int16 type)
{
	switch (type)
	{
		case ZK_OP_CREATE:
			return "create";
		case ZK_OP_DELETE:
			return "delete";
		case ZK_OP_SETDATA:
			return "set";
		case ZK_OP_SETACL:
			return "set_acl";
		case ZK_OP_CHECK:
			return "check";
		case ZK_OP_FENCE:
			return "fence";
		case ZK_OP_COUNTER:
			return "counter_add";
		case ZK_OP_MULTI:
			return "multi";
		case ZK_OP_CREATESESSION:
			return "create_session";
		case ZK_OP_CLOSESESSION:
			return "close_session";
		case ZK_OP_ERROR:
			return "error";
	}
	return "unknown";
}

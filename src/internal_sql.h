/*-------------------------------------------------------------------------
 *
 * internal_sql.h
 *	  How zkpg runs its own SQL on a caller's behalf.
 *
 * IDENTIFICATION
 *	  src/internal_sql.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_INTERNAL_SQL_H
#define ZKPG_INTERNAL_SQL_H

#include "utils/palloc.h"

/*
 * The search_path of every statement zkpg runs itself: nothing a caller
 * created can be found by name.  Temporary relations come last, and
 * functions and operators are never looked up in pg_temp.
 */
#define ZK_SAFE_SEARCH_PATH "pg_catalog, zkpg, pg_temp"

/*
 * Operators as internal SQL writes them: qualified, so that even a
 * search_path gone wrong cannot hand them to a caller's function.
 */
#define ZK_EQ	" OPERATOR(pg_catalog.=) "
#define ZK_NE	" OPERATOR(pg_catalog.<>) "
#define ZK_LT	" OPERATOR(pg_catalog.<) "
#define ZK_LE	" OPERATOR(pg_catalog.<=) "
#define ZK_GT	" OPERATOR(pg_catalog.>) "
#define ZK_GE	" OPERATOR(pg_catalog.>=) "
#define ZK_PLUS " OPERATOR(pg_catalog.+) "
#define ZK_MUL	" OPERATOR(pg_catalog.*) "

typedef struct ZkInternalSql
{
	Oid			save_user;
	int			save_sec;
	int			save_nestlevel;
	MemoryContext caller;		/* where results for the caller go */
} ZkInternalSql;

/* called by anyone who runs SPI: client backends, workers, peer backends */
extern void ZkInternalSqlBegin(ZkInternalSql *s, bool restricted);
extern void ZkInternalSqlEnd(ZkInternalSql *s);
extern void ZkPinSearchPath(void);

#endif							/* ZKPG_INTERNAL_SQL_H */

/*-------------------------------------------------------------------------
 *
 * internal_sql.c
 *	  How zkpg runs its own SQL (SPI) on a caller's behalf.
 *
 * zkpg's tables are out of reach of ordinary roles, so the statements that
 * read and write them run as the bootstrap superuser, whoever called the
 * zk_* function.  That makes them maintenance code run on a user's
 * behalf, and they take the precautions PostgreSQL takes for such code
 * (VACUUM, ANALYZE, index builds):
 *
 * 1. The search_path is pinned for the duration, at a GUC nest level of
 *	  its own, to pg_catalog, zkpg and pg_temp last: a function or
 *	  operator that a caller created in a schema of its search_path can
 *	  never be chosen, whatever the caller set.  A plan prepared once is
 *	  revalidated against the current search_path by the plan cache, so
 *	  the pin must hold at every execution, not only at preparation.
 * 2. Every function and operator in internal SQL is schema-qualified too
 *	  (ZK_EQ and friends), so that the statements mean the same even where
 *	  a search_path was not pinned (the peer's side of a libpq call).
 * 3. The statements run under SECURITY_RESTRICTED_OPERATION: nothing in
 *	  them may change the session's state on the caller's behalf.
 *
 * IDENTIFICATION
 *	  src/internal_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "internal_sql.h"

/*
 * Connect to SPI as the bootstrap superuser with the pinned search_path.
 * restricted: under SECURITY_RESTRICTED_OPERATION (everything but the
 * creation of the log replay check's temporary tables).
 */
void
ZkInternalSqlBegin(ZkInternalSql *s, bool restricted)
{
	s->caller = CurrentMemoryContext;
	GetUserIdAndSecContext(&s->save_user, &s->save_sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   s->save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   (restricted ? SECURITY_RESTRICTED_OPERATION : 0));

	/* a worker pinned it for good at start (ZkPinSearchPath) */
	if (namespace_search_path != NULL &&
		strcmp(namespace_search_path, ZK_SAFE_SEARCH_PATH) == 0)
		s->save_nestlevel = -1;
	else
	{
		s->save_nestlevel = NewGUCNestLevel();
		(void) set_config_option("search_path", ZK_SAFE_SEARCH_PATH,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "zkpg: SPI_connect failed");
}

void
ZkInternalSqlEnd(ZkInternalSql *s)
{
	SPI_finish();
	if (s->save_nestlevel >= 0)
		AtEOXact_GUC(true, s->save_nestlevel);
	SetUserIdAndSecContext(s->save_user, s->save_sec);
}

/* A worker runs nothing but internal SQL: pin the search_path for good. */
void
ZkPinSearchPath(void)
{
	SetConfigOption("search_path", ZK_SAFE_SEARCH_PATH, PGC_SUSET, PGC_S_OVERRIDE);
}

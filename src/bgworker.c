/*-------------------------------------------------------------------------
 *
 * bgworker.c
 *	  What every zkpg background worker does at start: signals, the
 *	  connection to zkpg.database, transaction settings, and waiting for
 *	  CREATE EXTENSION zkpg.
 *
 * IDENTIFICATION
 *	  src/bgworker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "bgworker.h"
#include "internal_sql.h"
#include "shmem.h"
#include "zkpg.h"

void
ZkWorkerStart(const char *name)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(zk_database, NULL, 0);
	pgstat_report_appname(name);

	/* the workers read with fresh snapshots whatever the server default */
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	/* whatever ALTER DATABASE or ALTER ROLE set: only zkpg's own SQL runs here */
	ZkPinSearchPath();
}

void
ZkWorkerCheckSignals(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * Sleep until the extension exists in zkpg.database.
 */
void
ZkWorkerWaitForExtension(void)
{
	bool		logged = false;

	for (;;)
	{
		bool		installed;

		StartTransactionCommand();
		installed = OidIsValid(get_extension_oid("zkpg", true));
		CommitTransactionCommand();
		if (installed)
		{
			/* requests wait for us from now, not from the server's start */
			if (logged)
				ZkSetNotServingReason(NULL, true);
			return;
		}
		if (!logged)
		{
			elog(LOG, "zkpg worker waiting for CREATE EXTENSION zkpg in database \"%s\"",
				 zk_database);
			ZkSetNotServingReason(psprintf("waiting for CREATE EXTENSION zkpg in database \"%s\"",
										   zk_database), false);
			logged = true;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 200, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		ZkWorkerCheckSignals();
	}
}

/*
 * Stay idle and never serve: a configuration the operator must fix.
 * zkpg.status says why (reason), as the log did.
 */
void
ZkWorkerIdle(const char *reason)
{
	LWLockAcquire(ZkShmem->state_lock, LW_EXCLUSIVE);
	ZkSetServingLocked(ZK_STATE_STARTING, false);
	ZkShmem->leader_id = -1;
	LWLockRelease(ZkShmem->state_lock);
	ZkSetNotServingReason(reason, false);
	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_EXIT_ON_PM_DEATH, -1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		ZkWorkerCheckSignals();
	}
}

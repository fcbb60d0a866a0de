/*-------------------------------------------------------------------------
 *
 * bgworker.h
 *	  What every zkpg background worker does at start.
 *
 * IDENTIFICATION
 *	  src/bgworker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_BGWORKER_H
#define ZKPG_BGWORKER_H

extern void ZkWorkerStart(const char *name);
extern void ZkWorkerWaitForExtension(void);
extern void ZkWorkerCheckSignals(void);
extern void ZkWorkerIdle(const char *reason) pg_attribute_noreturn();

/* worker entry points */
extern PGDLLEXPORT void ZkQuorumPeerMain(Datum arg);
extern PGDLLEXPORT void ZkApplierMain(Datum arg);

#endif							/* ZKPG_BGWORKER_H */

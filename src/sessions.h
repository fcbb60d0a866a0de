/*-------------------------------------------------------------------------
 *
 * sessions.h
 *	  A backend's ZooKeeper session: open, close, identities.
 *
 * IDENTIFICATION
 *	  src/sessions.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_SESSIONS_H
#define ZKPG_SESSIONS_H

#include "shmem.h"
#include "zkpg.h"

/* called from _PG_init */
extern void ZkSessionInstallHooks(void);

/* called by client backends */
extern int64 ZkSessionEnsure(void);
extern int64 ZkSessionCurrent(void);
extern void ZkSessionClose(void);
extern void ZkSessionMarkExpired(int64 session_id);
extern int32 ZkSessionTimeoutMs(void);
extern void ZkSessionAuth(ZkAuth *auth);
extern void ZkSessionLocalAuth(ZkAuth *auth);
extern void ZkSessionAddAuth(const char *scheme, const char *auth);
extern int64 ZkNewSessionId(int slot);
extern void ZkSessionDiscard(void);

/* called by the views */
extern bool ZkSessionDetailsVisible(int64 session_id);

/* called by the applier */
extern void ZkSessionIdentityAuth(const ZkSessionIdentity *id, ZkAuth *auth);
extern bool ZkRoleIsMember(Oid roleid, const char *role);

#endif							/* ZKPG_SESSIONS_H */

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

#include "zkpg.h"

/* called by client backends */
extern int64 ZkSessionEnsure(void);
extern void ZkSessionClose(void);
extern void ZkSessionMarkExpired(int64 session_id);
extern int32 ZkSessionTimeoutMs(void);
extern void ZkSessionAuth(ZkAuth *auth);
extern void ZkSessionAddAuth(const char *scheme, const char *auth);
extern int64 ZkNewSessionId(int slot);

#endif							/* ZKPG_SESSIONS_H */

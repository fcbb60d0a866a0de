/*-------------------------------------------------------------------------
 *
 * acl.h
 *	  ZooKeeper ACLs: parsing, normalizing and checking "scheme:id:perms".
 *
 * IDENTIFICATION
 *	  src/acl.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_ACL_H
#define ZKPG_ACL_H

#include "zkpg.h"

extern const char *ZkAclNormalize(int nacl, char **acl, const ZkAuth *auth,
								  int *out_nacl, char ***out_acl);
extern bool ZkAclPermits(int nacl, char **acl, int perm, const ZkAuth *auth);
extern const char *ZkAclDefault(void);

#endif							/* ZKPG_ACL_H */

/*-------------------------------------------------------------------------
 *
 * path.h
 *	  ZooKeeper's path rules (PathUtils) and path arithmetic.
 *
 * IDENTIFICATION
 *	  src/path.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_PATH_H
#define ZKPG_PATH_H

extern const char *ZkValidatePath(const char *path, bool sequential);
extern char *ZkParentPath(const char *path);
extern char *ZkJoinPath(const char *parent, const char *name);
extern bool ZkIsProtectedPath(const char *path);

#endif							/* ZKPG_PATH_H */

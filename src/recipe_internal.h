/*-------------------------------------------------------------------------
 *
 * recipe_internal.h
 *	  What the recipe files share (recipes.c, recipe_*.c): the recipe
 *	  nodes, deadlines and holds, and the helpers of recipes.c.
 *
 * IDENTIFICATION
 *	  src/recipe_internal.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_RECIPE_INTERNAL_H
#define ZKPG_RECIPE_INTERNAL_H

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "nodes/pg_list.h"

#include "datatree.h"
#include "request_queue.h"
#include "zkpg.h"

/* the kinds of recipe node, by name prefix */
typedef enum RecipeKind
{
	RK_LOCK,
	RK_READ,
	RK_WRITE,
	RK_WAIT,
	RK_LEASE,
	RK_CANDIDATE,
	RK_TAKER,
	RK_NONE
} RecipeKind;

/* the name prefix of each kind but RK_NONE (recipes.c) */
extern const char *const recipe_kind_prefix[];

#define SEQ_DIGITS 10
#define BARRIER_READY "ready"
#define QUEUE_PREFIX "qn-"

/* a recipe node of a directory */
typedef struct RecipeNode
{
	char	   *name;
	char	   *path;
	RecipeKind	kind;
	int64		seq;
	ZkNode		node;
} RecipeNode;

/* when a waiting call gives up; forever when no timeout was given */
typedef struct Deadline
{
	bool		forever;
	TimestampTz at;
} Deadline;

/* one hold of this backend's session (point 5 of recipes.c's header) */
typedef struct Hold
{
	char	   *path;			/* the recipe's path */
	char	   *node;			/* the node that stands for the hold */
	RecipeKind	kind;
	int64		token;
} Hold;

/* this backend's holds, oldest first (recipes.c) */
extern List *recipe_holds;

/* recipe nodes (recipes.c) */
extern List *recipe_nodes(const char *dir, bool check_acl, ZkNode *dir_node);
extern RecipeNode *recipe_find_node(List *nodes, const char *path);
extern RecipeNode *recipe_waiting_node(List *nodes, const char *path);
extern RecipeNode *recipe_lock_blocker(List *nodes, const RecipeNode *me);
extern RecipeNode *recipe_nearest_before(List *nodes, const RecipeNode *me, RecipeKind kind);

/* writes (recipes.c) */
extern void recipe_set_create_op(ZkOp *op, const char *path, const char *data, int len, int mode);
extern void recipe_set_delete_op(ZkOp *op, const char *path, int32 version);
extern int	recipe_submit_ops(ZkOp *ops, int n, ZkRequestResult *res);
extern void recipe_ensure_containers(const char *path);
extern char *recipe_create_node(const char *dir, const char *name, int mode,
								const char *data, int len, ZkStat *stat);
extern bool recipe_delete_node(const char *path, int32 version);
extern void recipe_abandon_node(const char *path);

/* waiting (recipes.c) */
extern Deadline recipe_deadline_arg(FunctionCallInfo fcinfo, int argno);
extern bool recipe_wait_for_change(int64 sid, const char *watched, int kind,
								   const ZkNode *seen, const char *own, const Deadline *dl);
extern void recipe_mark_waiting(const char *node);

/* holds (recipes.c) */
extern void recipe_holds_for_session(int64 sid);
extern void recipe_holds_forget_node(const char *node);
extern void recipe_hold_push(const char *path, const char *node, RecipeKind kind, int64 token);
extern Hold *recipe_hold_newest(const char *path, bool semaphore);
extern bool recipe_hold_release(Hold *h);

/* arguments (recipes.c) */
extern char *recipe_path_arg(FunctionCallInfo fcinfo, int argno);
extern char *recipe_member_arg(FunctionCallInfo fcinfo, int argno);
extern void recipe_acl_arg(FunctionCallInfo fcinfo, int argno, const char *path);
extern void recipe_require_child_read(const char *dir, const ZkChildNode *c);

#endif							/* ZKPG_RECIPE_INTERNAL_H */

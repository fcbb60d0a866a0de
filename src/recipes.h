/*-------------------------------------------------------------------------
 *
 * recipes.h
 *	  What the applier asks of the recipes: judging fired election watches
 *	  (recipe_election.c).
 *
 * IDENTIFICATION
 *	  src/recipes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_RECIPES_H
#define ZKPG_RECIPES_H

#include "nodes/pg_list.h"

extern void ZkRecipeJudgeElections(List **events);

#endif							/* ZKPG_RECIPES_H */

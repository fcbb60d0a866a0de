/*-------------------------------------------------------------------------
 *
 * zkpg_test.c
 *	  The zkpg_test library: SQL functions that only the tests and a
 *	  superuser's checks call, kept out of the server's zkpg.so.
 *
 *		codec_fuzz.c		zkpg.fuzz_codec: the codecs fed random and
 *							mutated records
 *		pipeline_check.c	zkpg.check_pipeline: "a logged txn always
 *							applies", as a property test
 *		election_script.c	zkpg.election_script: FastLeaderElection's
 *							state machine driven by a script
 *
 * Their code calls zkpg's, which they find in the zkpg.so that
 * shared_preload_libraries loaded.
 *
 * IDENTIFICATION
 *	  src/test/zkpg_test.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

PG_MODULE_MAGIC;

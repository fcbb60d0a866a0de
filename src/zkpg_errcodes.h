/*-------------------------------------------------------------------------
 *
 * zkpg_errcodes.h
 *	  SQLSTATEs of the zkpg API: class ZK, ZooKeeper's code in the last
 *	  three digits (API.md, "Errors").
 *
 * IDENTIFICATION
 *	  src/zkpg_errcodes.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ZKPG_ERRCODES_H
#define ZKPG_ERRCODES_H

#include "utils/elog.h"

#define ERRCODE_ZK_CONNECTIONLOSS			MAKE_SQLSTATE('Z','K','0','0','4')
#define ERRCODE_ZK_OPERATIONTIMEOUT			MAKE_SQLSTATE('Z','K','0','0','7')
#define ERRCODE_ZK_BADARGUMENTS				MAKE_SQLSTATE('Z','K','0','0','8')
#define ERRCODE_ZK_NONODE					MAKE_SQLSTATE('Z','K','1','0','1')
#define ERRCODE_ZK_NOAUTH					MAKE_SQLSTATE('Z','K','1','0','2')
#define ERRCODE_ZK_BADVERSION				MAKE_SQLSTATE('Z','K','1','0','3')
#define ERRCODE_ZK_NOCHILDRENFOREPHEMERALS	MAKE_SQLSTATE('Z','K','1','0','8')
#define ERRCODE_ZK_NODEEXISTS				MAKE_SQLSTATE('Z','K','1','1','0')
#define ERRCODE_ZK_NOTEMPTY					MAKE_SQLSTATE('Z','K','1','1','1')
#define ERRCODE_ZK_SESSIONEXPIRED			MAKE_SQLSTATE('Z','K','1','1','2')
#define ERRCODE_ZK_INVALIDACL				MAKE_SQLSTATE('Z','K','1','1','4')
#define ERRCODE_ZK_NOWATCHER				MAKE_SQLSTATE('Z','K','1','2','1')

#endif							/* ZKPG_ERRCODES_H */

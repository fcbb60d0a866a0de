/*-------------------------------------------------------------------------
 *
 * fuzz_path.c
 *	  libFuzzer target: ZkValidatePath (path.c), ZooKeeper's path rules,
 *	  which every path of a decoded request or txn passes (record_check.c)
 *	  before the leader's request processor and the applier use it, and
 *	  ZkParentPath/ZkJoinPath on the paths it accepts.
 *
 * Input: one control byte, then the path (up to its first NUL byte, as a
 * decoder refuses a path with a NUL).  Control bit 0: the path is the
 * prefix of a sequential create; bit 1: the database encoding is
 * SQL_ASCII instead of UTF8 (path.c only decodes UTF-8 in a UTF8
 * database).
 *
 * A path the validator accepts must keep ZooKeeper's rules as checked
 * independently on the raw bytes by FuzzCheckPath (fuzz_common.c): it is
 * absolute and at most ZK_MAX_PATH_BYTES long, no node name is empty, "."
 * or "..", in a UTF8 database it is valid UTF-8 with no character
 * ZooKeeper refuses, and its parent is a valid path.
 *
 * IDENTIFICATION
 *	  test/fuzz/fuzz_path.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "fuzz_common.h"
#include "path.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool		sequential;
	char	   *path;

	if (size < 1 || size > 4 * ZK_MAX_PATH_BYTES)
		return 0;
	sequential = (data[0] & 1) != 0;
	FuzzDatabaseEncoding = (data[0] & 2) ? PG_SQL_ASCII : PG_UTF8;
	path = pnstrdup((const char *) data + 1, size - 1);
	if (ZkValidatePath(path, sequential) == NULL)
	{
		FuzzCheckPath(path, sequential);
		/* a node name that a sequential prefix accepts, with the counter */
		if (sequential)
		{
			char	   *named = psprintf("%s0000000001", path);

			if (strlen(named) <= ZK_MAX_PATH_BYTES)
			{
				FUZZ_CHECK(ZkValidatePath(named, false) == NULL,
						   "a sequential prefix's node name is invalid");
				FuzzCheckPath(named, false);
			}
		}
	}
	(void) ZkValidatePath(NULL, sequential);
	FuzzDatabaseEncoding = PG_UTF8;
	FuzzArenaReset();
	return 0;
}

# zkpg: ZooKeeper rebuilt as a PostgreSQL extension (PGXS)

MODULE_big = zkpg
OBJS = \
	src/zkpg.o \
	src/bgworker.o \
	src/errors.o \
	src/shmem.o \
	src/internal_sql.o \
	src/path.o \
	src/acl.o \
	src/record_check.o \
	src/txn_codec.o \
	src/request_queue.o \
	src/sessions.o \
	src/datatree.o \
	src/prep_processor.o \
	src/txnlog.o \
	src/quorum_peer.o \
	src/applier.o \
	src/zk_functions.o \
	src/status.o \
	src/watches.o \
	src/codec_fuzz.o \
	src/pipeline_check.o \
	src/test_hooks.o \
	src/election_script.o \
	src/quorum_config.o \
	src/election.o \
	src/leader.o \
	src/learner.o \
	src/snap.o \
	src/peer_transport.o \
	src/peer_functions.o \
	src/recipes.o \
	src/recipe_locks.o \
	src/recipe_election.o \
	src/recipe_naming.o \
	src/recipe_queues.o \
	src/twophase.o

EXTENSION = zkpg
DATA = sql/zkpg--0.1.sql
PGFILEDESC = "zkpg - ZooKeeper as a PostgreSQL extension"

PG_CPPFLAGS = -I$(libpq_srcdir) -Isrc
# -MMD: rebuild an object when a header it includes changes (in CFLAGS,
# not CPPFLAGS, so that the bitcode compile does not overwrite the .d)
PG_CFLAGS = -Wall -Werror -MMD -MP
SHLIB_LINK_INTERNAL = $(libpq)

REGRESS = zk_basic zk_paths zk_stat zk_multi zk_errors zk_reads zk_security zk_sessions zk_watches zk_acl zk_codec zk_containers zk_recipes zk_trust_search_path zk_trust_limits zk_trust_watches zk_trust_recipes zk_election
REGRESS_OPTS = --temp-config=$(srcdir)/test/zkpg_regress.conf --temp-instance=./tmp_check_regress

ISOLATION = ephemeral_cleanup watch_delivery sequential_names watch_register_race recipe_lock recipe_rwlock recipe_semaphore recipe_queue recipe_election
ISOLATION_OPTS = --temp-config=$(srcdir)/test/zkpg_regress.conf --temp-instance=./tmp_check_iso \
	--load-extension=zkpg

EXTRA_CLEAN = tmp_check tmp_check_regress tmp_check_iso output_iso test/zkbench test/zkcbench test/zkwatchbench $(OBJS:.o=.d)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(OBJS:.o=.d)

# after the include: Makefile.global empties PROVE_FLAGS, and pgxs.mk
# would run the isolation specs in another database than zkpg.database
PROVE_FLAGS = -I $(srcdir)/test
ISOLATION_TESTDB = contrib_regression

# The TAP suites live in test/t rather than t/.
prove-installcheck:
	rm -rf '$(CURDIR)'/tmp_check && mkdir -p '$(CURDIR)'/tmp_check && \
	cd $(srcdir)/test && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" \
	   PGPORT='6$(DEF_PGPORT)' PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
	   $(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) $(if $(PROVE_TESTS),$(PROVE_TESTS),t/*.pl)

test/zkbench: test/zkbench.c
	$(CC) $(CFLAGS) -O2 -Wall -Werror -I$(includedir) -o $@ $< -L$(libdir) -lpq -lpthread -lm

# the same load against Apache ZooKeeper, on its single-threaded C client
# (libzookeeper-st2, with the header of libzookeeper-mt-dev: see zkcbench.c)
test/zkcbench: test/zkcbench.c test/benchstats.h
	$(CC) $(CFLAGS) -O2 -Wall -Werror -I$(includedir) -o $@ $< -L$(libdir) \
		-l:libzookeeper_st.so.2 -lpq -lpthread -lm

test/zkwatchbench: test/zkwatchbench.c
	$(CC) $(CFLAGS) -O2 -Wall -Werror -I$(includedir) -o $@ $< -L$(libdir) -lpq

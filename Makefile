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
	src/session_tracker.o \
	src/container_manager.o \
	src/sync_processor.o \
	src/quorum_peer.o \
	src/applier.o \
	src/zk_functions.o \
	src/status.o \
	src/watches.o \
	src/test_hooks.o \
	src/quorum_config.o \
	src/election.o \
	src/leader.o \
	src/learner.o \
	src/snap.o \
	src/peer_transport.o \
	src/peer_messages.o \
	src/replication.o \
	src/peer_functions.o \
	src/learner_receiver.o \
	src/learner_handler.o \
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

# Test-only SQL functions (zkpg.fuzz_codec, zkpg.check_pipeline,
# zkpg.election_script) live in a library of their own, so that the
# server's zkpg.so carries none of them.  It resolves zkpg's symbols from
# the zkpg.so that shared_preload_libraries loaded (PostgreSQL loads
# libraries RTLD_GLOBAL); its functions are for superusers and the tests.
TEST_MODULE = zkpg_test
TEST_OBJS = \
	src/test/zkpg_test.o \
	src/test/codec_fuzz.o \
	src/test/pipeline_check.o \
	src/test/election_script.o

EXTRA_CLEAN = tmp_check tmp_check_regress tmp_check_iso output_iso test/zkbench test/zkcbench test/zkwatchbench $(OBJS:.o=.d) \
	$(TEST_OBJS) $(TEST_OBJS:.o=.d) $(TEST_MODULE)$(DLSUFFIX)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: $(TEST_MODULE)$(DLSUFFIX)

$(TEST_MODULE)$(DLSUFFIX): $(TEST_OBJS)
	$(CC) $(CFLAGS) $(TEST_OBJS) $(LDFLAGS) $(LDFLAGS_SL) -shared -o $@

install: install-test-module
install-test-module: $(TEST_MODULE)$(DLSUFFIX)
	$(INSTALL_SHLIB) $(TEST_MODULE)$(DLSUFFIX) '$(DESTDIR)$(pkglibdir)/$(TEST_MODULE)$(DLSUFFIX)'

uninstall: uninstall-test-module
uninstall-test-module:
	rm -f '$(DESTDIR)$(pkglibdir)/$(TEST_MODULE)$(DLSUFFIX)'

-include $(TEST_OBJS:.o=.d)

.PHONY: install-test-module uninstall-test-module

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

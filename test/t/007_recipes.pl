# The recipes on a three-peer ensemble, where they fail in interesting
# ways (API.md "Recipes"):
#
#  1. no herd effect: 100 sessions, spread over the peers, wait on one
#     lock; each lock node is watched by at most one waiter; a release
#     wakes exactly one backend, and the 100 hand-overs wake 100; tokens
#     increase from holder to holder
#  2. a holder whose backend dies releases at once (well before its
#     session timeout)
#  3. a holder whose peer is killed with kill -9 releases after the session
#     timeout, and the waiter on another peer acquires with a larger token
#  4. fencing: a holder paused with SIGSTOP past its session timeout loses
#     the lock; zk_op_fence refuses its token once the next holder has the
#     lock, and the stale holder, resumed, cannot write
#  5. the queue delivers every item to exactly one taker, takers on every
#     peer; waiting takers form a line: only its head watches the queue,
#     and a put wakes the head (which then wakes the next), not every taker
#  6. election: one leader among live sessions; when the leader's peer is
#     killed, LeadershipAcquired reaches the candidate that timed out
#  7. stress: 32 sessions over the peers take the same lock 200 times each
#     and increment a counter inside it with a plain read-then-write: the
#     counter ends at exactly 6,400
#  8. read-write lock under load, readers and writers on every peer: no
#     writer overlaps a reader or another writer (each side records what it
#     sees inside its critical section), and readers do share
#  9. zk_next_id under contention: 24 sessions over the peers take 100 ids
#     each from one path; every id from 1 to 2,400 is handed out exactly
#     once, and no add was refused and sent again: the log holds no error
#     txn (a compare-and-set counter logs a ZK103 for every lost race)
#
# Every part ends with the peers' trees compared.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use ZkpgNode;

my $db = $ZkpgNode::dbname;

# a 250 ms tick allows session timeouts up to 5 s (20 ticks)
my @nodes = ZkpgNode::create_ensemble(3,
	tick_ms => 250,
	conf => "zkpg.session_timeout = 2000\nzkpg.request_timeout = 10000\n"
	  . "max_connections = 160\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "one leader ($leader)");
ZkpgNode::wait_serving($_) for @nodes;
$_->safe_psql($db, "CREATE EXTENSION dblink") for @nodes;

sub connstr
{
	my ($node) = @_;
	return "host=" . $node->host . " port=" . $node->port . " dbname=$db";
}

sub sum_wakeups
{
	my $sum = 0;
	$sum += $_->safe_psql($db, "SELECT zkpg.recipe_wakeups()") for @_;
	return $sum;
}

# poll $sql on $node until it returns $want (or 60 s)
sub wait_for_value
{
	my ($node, $sql, $want) = @_;
	my $got;
	for (1 .. 600)
	{
		$got = $node->safe_psql($db, $sql);
		return 1 if $got eq $want;
		usleep(100_000);
	}
	diag "waited for '$want', last got '$got' from: $sql";
	return 0;
}

# Run pgbench jobs [node, clients, script, transactions per client] at
# once; the number of transactions they made, all together.
sub run_pgbench
{
	my @runs;
	for my $job (@_)
	{
		my ($node, $clients, $script, $tx) = @$job;
		my ($out, $err) = ('', '');
		my $h = IPC::Run::start(
			[
				$node->installed_command('pgbench'), '-n', '-c', $clients,
				'-j', 1, '-t', $tx, '-f', $script, connstr($node)
			],
			'>', \$out, '2>', \$err);
		push @runs, [ $h, \$out, \$err ];
	}
	my $total = 0;
	for my $r (@runs)
	{
		$r->[0]->finish;
		my ($n) = ${ $r->[1] } =~ /number of transactions actually processed: (\d+)/;
		$total += $n // 0;
		diag ${ $r->[2] } if ${ $r->[2] } =~ /error/i;
	}
	return $total;
}

my $driver_node = $nodes[0];

# --- 1. no herd effect ---------------------------------------------------
{
	my $holder = $nodes[1]->background_psql($db, on_error_stop => 1);
	my $t0 = $holder->query_safe("SELECT zk_lock('/herd')");
	ok($t0 > 0, "the first holder has a token");

	my @conns = map { connstr($nodes[ $_ % 3 ]) } 0 .. 99;
	my $driver = $driver_node->background_psql($db, on_error_stop => 1);
	$driver->query_safe(
		"CREATE TEMP TABLE grants (ord serial, conn int, token bigint);");
	for my $i (0 .. 99)
	{
		$driver->query_safe(
			"SELECT dblink_connect('w$i', '$conns[$i]'); "
			  . "SELECT dblink_send_query('w$i', 'SELECT zk_lock(''/herd'')');");
	}
	ok( wait_for_value(
			$driver_node,
			"SELECT count(*) FROM zkpg.locks WHERE path = '/herd' AND NOT granted",
			'100'),
		"100 waiters queue on /herd");
	# every waiter watches before we count
	my $watching = 0;
	for (1 .. 300)
	{
		$watching = 0;
		$watching += $_->safe_psql($db,
			"SELECT count(*) FROM zkpg.watches WHERE kind = 'recipe' AND path LIKE '/herd/%'")
		  for @nodes;
		last if $watching == 100;
		usleep(100_000);
	}
	is($watching, 100, "100 recipe watches across the peers");
	my $max_per_node = 0;
	for my $n (@nodes)
	{
		my $m = $n->safe_psql($db,
			"SELECT coalesce(max(c), 0) FROM (SELECT path, count(*) c FROM zkpg.watches "
			  . "WHERE kind = 'recipe' GROUP BY path) s");
		$max_per_node = $m if $m > $max_per_node;
	}
	is($max_per_node, 1, "each lock node is watched by at most one waiter");
	my $watched_paths = join(',', map {
		$_->safe_psql($db,
			"SELECT string_agg(path, ',') FROM zkpg.watches WHERE kind = 'recipe'")
	} @nodes);
	my %distinct = map { $_ => 1 } grep { $_ ne '' } split /,/, $watched_paths;
	is(scalar(keys %distinct), 100, "the 100 waiters watch 100 different nodes");

	my $w0 = sum_wakeups(@nodes);
	$holder->query_safe("SELECT zk_unlock('/herd')");
	ok( wait_for_value(
			$driver_node,
			"SELECT count(*) FROM zkpg.locks WHERE path = '/herd' AND granted",
			'1'),
		"one waiter holds /herd after the release");
	usleep(500_000);
	is(sum_wakeups(@nodes) - $w0, 1, "the release woke exactly one backend");

	# hand the lock down the line: each holder, once seen, unlocks
	$driver->query_safe(q{
DO $$
DECLARE
	pending int[] := array(SELECT g FROM generate_series(0, 99) g);
	i int;
	tok bigint;
	deadline timestamptz := clock_timestamp() + interval '120 s';
BEGIN
	WHILE cardinality(pending) > 0 AND clock_timestamp() < deadline LOOP
		FOREACH i IN ARRAY pending LOOP
			IF dblink_is_busy('w' || i) = 0 THEN
				SELECT t INTO tok FROM dblink_get_result('w' || i) AS r(t bigint);
				PERFORM * FROM dblink_get_result('w' || i) AS r(t bigint);
				INSERT INTO grants (conn, token) VALUES (i, tok);
				PERFORM * FROM dblink('w' || i, 'SELECT zk_unlock(''/herd'')') AS u(ok boolean);
				pending := array_remove(pending, i);
			END IF;
		END LOOP;
		PERFORM pg_sleep(0.005);
	END LOOP;
END
$$;});
	is($driver->query_safe("SELECT count(*) FROM grants"), '100', "all 100 waiters got the lock");
	is( $driver->query_safe(
			"SELECT count(*) FROM (SELECT token, lag(token) OVER (ORDER BY ord) prev FROM grants) s "
			  . "WHERE prev IS NOT NULL AND token <= prev"),
		'0',
		"tokens increase from holder to holder");
	ok($driver->query_safe("SELECT min(token) FROM grants") > $t0,
		"every later token is above the first holder's");
	usleep(300_000);
	is(sum_wakeups(@nodes) - $w0, 100, "100 hand-overs woke 100 backends");
	$driver->query_safe("SELECT dblink_disconnect('w' || g) FROM generate_series(0, 99) g");
	$driver->quit;
	$holder->quit;
	ZkpgNode::converged('after the herd test', @nodes);
}

# --- 2. a holder whose backend dies releases at once ---------------------
{
	my $holder = $nodes[1]->background_psql($db, on_error_stop => 1);
	$holder->query_safe("SET zkpg.session_timeout = 5000");
	my $t1 = $holder->query_safe("SELECT zk_lock('/die')");
	my $pid = $holder->query_safe("SELECT pg_backend_pid()");
	my $waiter = $nodes[2]->background_psql($db, on_error_stop => 1);
	$waiter->query_until(qr/sent/, "\\echo sent\nSELECT zk_lock('/die');\n");
	ok( wait_for_value(
			$nodes[2],
			"SELECT count(*) FROM zkpg.locks WHERE path = '/die'", '2'),
		"a waiter queues behind the holder");
	my $start = time();
	$nodes[1]->safe_psql($db, "SELECT pg_terminate_backend($pid)");
	ok( wait_for_value(
			$nodes[2],
			"SELECT count(*) FROM zkpg.locks WHERE path = '/die' AND granted AND pid IS NOT NULL",
			'1'),
		"the waiter holds the lock after the holder's backend died");
	my $elapsed = time() - $start;
	ok($elapsed < 4.5,
		sprintf("released at the backend's exit (%.1f s), not at its 5 s session timeout", $elapsed));
	my $t2 = $waiter->query_safe("SELECT token FROM zkpg.locks WHERE path = '/die'");
	ok($t2 > $t1, "the next holder's token is larger");
	$waiter->query_safe("SELECT zk_unlock('/die')");
	$waiter->quit;
	eval { $holder->quit; };
}

# --- 3. a holder whose peer is killed ------------------------------------
my @followers = grep { $_ != $leader } 1 .. 3;
{
	my $victim = $nodes[ $followers[0] - 1 ];
	my $other = $nodes[ $followers[1] - 1 ];
	my $holder = $victim->background_psql($db, on_error_stop => 1);
	my $t1 = $holder->query_safe("SELECT zk_lock('/peerdie')");
	my $waiter = $other->background_psql($db, on_error_stop => 1);
	$waiter->query_until(qr/sent/, "\\echo sent\nSELECT zk_lock('/peerdie');\n");
	ok(wait_for_value($other, "SELECT count(*) FROM zkpg.locks WHERE path = '/peerdie'", '2'),
		"a waiter on another peer queues");
	ZkpgNode::kill9_server($victim);
	eval { $holder->quit; };
	ok( wait_for_value(
			$other,
			"SELECT count(*) FROM zkpg.locks WHERE path = '/peerdie' AND granted AND pid IS NOT NULL",
			'1'),
		"after the session timeout, the waiter on another peer holds the lock");
	my $t2 = $other->safe_psql($db, "SELECT token FROM zkpg.locks WHERE path = '/peerdie'");
	ok($t2 > $t1, "with a larger token ($t2 > $t1)");
	$waiter->query_safe("SELECT zk_unlock('/peerdie')");
	$waiter->quit;
	$victim->start;
	ZkpgNode::wait_serving($victim);
	ZkpgNode::converged('after a holder\'s peer was killed', @nodes);
}

# --- 4. fencing a paused holder ------------------------------------------
{
	my $f = $nodes[ $followers[0] - 1 ];
	my $g = $nodes[ $followers[1] - 1 ];
	$f->safe_psql($db, "SELECT zk_create('/resource', 'initial')");
	my $stale = $f->background_psql($db, on_error_stop => 0);
	my $ta = $stale->query_safe("SELECT zk_lock('/fenced')");
	my $pid = $stale->query_safe("SELECT pg_backend_pid()");
	is( $g->safe_psql($db,
			"SELECT zk_sync('/'); SELECT count(*) FROM zk_multi(zk_op_fence('/fenced', $ta), "
			  . "zk_op_set('/resource', 'by A'))"),
		"\n2",
		"while A holds the lock, a write fenced by A's token succeeds");
	my $next = $g->background_psql($db, on_error_stop => 1);
	$next->query_until(qr/sent/, "\\echo sent\nSELECT zk_lock('/fenced');\n");
	ok(wait_for_value($g, "SELECT zk_sync('/'); SELECT count(*) FROM zkpg.locks WHERE path = '/fenced'", "\n2"),
		"B waits behind A");
	kill 'STOP', $pid;
	ok( wait_for_value(
			$g,
			"SELECT count(*) FROM zkpg.locks WHERE path = '/fenced' AND granted AND pid IS NOT NULL",
			'1'),
		"A, paused past its session timeout, lost the lock to B");
	my $tb = $g->safe_psql($db, "SELECT token FROM zkpg.locks WHERE path = '/fenced'");
	ok($tb > $ta, "B's token is larger ($tb > $ta)");
	my ($ret, $out, $err) = $g->psql($db,
		"SELECT * FROM zk_multi(zk_op_fence('/fenced', $ta), zk_op_set('/resource', 'stale A'))",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ZK101/, "zk_op_fence refuses A's stale token with ZK101");
	is( $g->safe_psql($db,
			"SELECT count(*) FROM zk_multi(zk_op_fence('/fenced', $tb), zk_op_set('/resource', 'by B'))"),
		'2',
		"B's token passes the fence");
	kill 'CONT', $pid;
	my $res = $stale->query(
		"SELECT * FROM zk_multi(zk_op_fence('/fenced', $ta), zk_op_set('/resource', 'stale A'))");
	like($stale->{stderr}, qr/expired|ZK112|holder no longer holds/,
		"A, resumed, cannot write: its session expired");
	is($g->safe_psql($db, "SELECT zk_sync('/'); SELECT convert_from(data, 'UTF8') FROM zk_get('/resource')"),
		"\nby B", "the resource has B's write, not A's");
	$next->query_safe("SELECT zk_unlock('/fenced')");
	$next->quit;
	eval { $stale->quit; };
	ZkpgNode::converged('after fencing', @nodes);
}

# --- 5. the queue: every item to exactly one taker ------------------------
{
	my $items = 300;
	$nodes[0]->safe_psql($db,
		"SELECT zk_queue_put('/jobs', ('job-' || g)::bytea) FROM generate_series(1, $items) g");
	my @takers;
	for my $i (0 .. 8)
	{
		my $n = $nodes[ $i % 3 ];
		my ($stdout, $stderr) = ('', '');
		my $h = IPC::Run::start(
			[
				$n->installed_command('psql'), '-XAtq', '-d', connstr($n), '-c',
				"SELECT zk_sync('/'); DO \$\$DECLARE d bytea; BEGIN LOOP "
				  . "d := zk_queue_take('/jobs', '1 s'); EXIT WHEN d IS NULL; "
				  . "RAISE NOTICE 'took %', convert_from(d, 'UTF8'); END LOOP; END\$\$"
			],
			'>', \$stdout, '2>', \$stderr);
		push @takers, [ $h, \$stdout, \$stderr ];
	}
	my %seen;
	my $dups = 0;
	my $per_peer = '';
	for my $t (@takers)
	{
		$t->[0]->finish;
		my @got = ${ $t->[2] } =~ /NOTICE:  took (job-\d+)/g;
		$per_peer .= scalar(@got) . ' ';
		for (@got) { $dups++ if $seen{$_}++; }
		diag ${ $t->[2] } if ${ $t->[2] } =~ /ERROR/;
	}
	is($dups, 0, "no item went to two takers");
	is(scalar(keys %seen), $items, "every item was taken ($per_peer per taker)");
	ZkpgNode::converged('after the queue', @nodes);
}

# --- 5b. waiting takers form a line: no herd on a put -----------------------
{
	my $driver = $driver_node->background_psql($db, on_error_stop => 1);
	for my $i (0 .. 5)
	{
		my $c = connstr($nodes[ $i % 3 ]);
		$driver->query_safe(
			"SELECT dblink_connect('t$i', '$c'); "
			  . "SELECT dblink_send_query('t$i', 'SELECT convert_from(zk_queue_take(''/line''), ''UTF8'')');");
	}
	my ($on_queue, $all) = (0, 0);
	for (1 .. 300)
	{
		($on_queue, $all) = (0, 0);
		for my $n (@nodes)
		{
			my ($q, $a) = split /\|/, $n->safe_psql($db,
				"SELECT count(*) FILTER (WHERE path = '/line'), count(*) FROM zkpg.watches "
				  . "WHERE kind = 'recipe' AND path LIKE '/line%'");
			$on_queue += $q;
			$all += $a;
		}
		last if $all == 6;
		usleep(100_000);
	}
	is($all, 6, "six takers wait on an empty queue");
	is($on_queue, 1, "only the head of the line watches the queue");
	my $w0 = sum_wakeups(@nodes);
	$nodes[1]->safe_psql($db, "SELECT zk_queue_put('/line', 'first')");
	my $done = 0;
	for (1 .. 300)
	{
		$done = $driver->query_safe(
			"SELECT count(*) FROM generate_series(0, 5) g WHERE dblink_is_busy('t' || g) = 0");
		last if $done >= 1;
		usleep(50_000);
	}
	is($done, '1', "one taker got the item");
	usleep(500_000);
	my $woken = sum_wakeups(@nodes) - $w0;
	ok($woken <= 2, "a put woke the head and handed the line on ($woken backends), not six");
	$nodes[2]->safe_psql($db,
		"SELECT zk_queue_put('/line', ('item-' || g)::bytea) FROM generate_series(1, 5) g");
	my $got = $driver->query_safe(q{
DO $$
DECLARE
	deadline timestamptz := clock_timestamp() + interval '60 s';
BEGIN
	CREATE TEMP TABLE line_got (item text);
	WHILE clock_timestamp() < deadline LOOP
		EXIT WHEN (SELECT count(*) FROM generate_series(0, 5) g WHERE dblink_is_busy('t' || g) = 0) = 6;
		PERFORM pg_sleep(0.05);
	END LOOP;
	INSERT INTO line_got
		SELECT r.item FROM generate_series(0, 5) g,
			LATERAL dblink_get_result('t' || g) AS r(item text);
END
$$;
SELECT count(*) || ' ' || count(DISTINCT item) FROM line_got;});
	is($got, '6 6', "six takers, six different items");
	$driver->query_safe("SELECT dblink_disconnect('t' || g) FROM generate_series(0, 5) g");
	$driver->quit;
	ZkpgNode::converged('after the line of takers', @nodes);
}

# --- 6. election across peers ----------------------------------------------
{
	my $victim = $nodes[ $followers[0] - 1 ];
	my $other = $nodes[ $followers[1] - 1 ];
	my $c1 = $victim->background_psql($db, on_error_stop => 1);
	my $tok1 = $c1->query_safe("SELECT zk_elect('/election', 'c1')");
	ok($tok1 > 0, "the first candidate leads");
	my $c2 = $other->background_psql($db, on_error_stop => 1);
	is($c2->query_safe("SELECT zk_sync('/'); SELECT zk_elect('/election', 'c2', '300 ms') IS NULL"),
		"\nt", "the second candidate times out, still a candidate");
	is($other->safe_psql($db, "SELECT candidate FROM zk_leader('/election')"),
		'c1', "zk_leader names c1 on every peer");
	ZkpgNode::kill9_server($victim);
	eval { $c1->quit; };
	my $got = 0;
	for (1 .. 100)
	{
		my $o = $c2->query("SELECT 1");
		if ($o =~ /LeadershipAcquired/) { $got = 1; last; }
		usleep(100_000);
	}
	ok($got, "LeadershipAcquired reached c2 after c1's peer died");
	is($other->safe_psql($db, "SELECT candidate FROM zk_leader('/election')"),
		'c2', "c2 leads");
	my $tok2 = $c2->query_safe("SELECT zk_elect('/election', 'c2')");
	ok($tok2 > $tok1, "zk_elect returns c2's token at once, larger than c1's");
	is($other->safe_psql($db,
			"SELECT count(*) FROM zkpg.locks WHERE path = '/election' AND granted"),
		'1', "exactly one leader");
	$c2->quit;
	$victim->start;
	ZkpgNode::wait_serving($victim);
	ZkpgNode::converged('after the election', @nodes);
}

# --- 7. stress: 32 sessions x 200 increments under one lock --------------
{
	$nodes[0]->safe_psql($db, "SELECT zk_create('/stress'); SELECT zk_create('/stress/counter', '0')");
	ZkpgNode::wait_serving($_) for @nodes;
	my $script = PostgreSQL::Test::Utils::tempdir() . "/stress.sql";
	PostgreSQL::Test::Utils::append_to_file($script, q{
SELECT zk_lock('/stress/lock') AS tok \gset
SELECT convert_from(data, 'UTF8')::int + 1 AS v FROM zk_get('/stress/counter') \gset
SELECT 1 FROM zk_set('/stress/counter', convert_to(:v::text, 'UTF8'));
SELECT zk_unlock('/stress/lock');
});
	my $tx = run_pgbench(map { [ $nodes[$_], $_ == 2 ? 10 : 11, $script, 200 ] } 0 .. 2);
	is($tx, 6400, "32 sessions made 6,400 locked increments");
	is( $nodes[0]->safe_psql($db,
			"SELECT zk_sync('/'); SELECT convert_from(data, 'UTF8') FROM zk_get('/stress/counter')"),
		"\n6400",
		"the counter is exactly 6,400");
	is($nodes[0]->safe_psql($db, "SELECT count(*) FROM zkpg.locks WHERE path = '/stress/lock'"),
		'0', "no lock node is left");
	ZkpgNode::converged('after the stress test', @nodes);
}

# --- 8. read-write lock: writers exclude everyone, readers share ----------
{
	$nodes[0]->safe_psql($db,
		"SELECT zk_create('/rw'); SELECT zk_create('/rw/writer', 'idle'); "
		  . "SELECT zk_create('/rw/readers', '0'); SELECT zk_create('/rw/violations'); "
		  . "SELECT zk_create('/rw/shared')");
	ZkpgNode::wait_serving($_) for @nodes;
	my $dir = PostgreSQL::Test::Utils::tempdir();
	# a reader: no writer may be inside; it notes when another reader is
	PostgreSQL::Test::Utils::append_to_file("$dir/reader.sql", q{
SELECT zk_lock_shared('/rw/lock');
SELECT zk_counter_add('/rw/readers', 1) AS inside \gset
SELECT zk_create('/rw/violations/r-', NULL, 'persistent_sequential')
  FROM zk_get('/rw/writer') g WHERE convert_from(g.data, 'UTF8') <> 'idle';
SELECT zk_create('/rw/shared/s-', NULL, 'persistent_sequential') WHERE :inside > 1;
SELECT zk_counter_add('/rw/readers', -1);
SELECT zk_unlock('/rw/lock');
});
	# a writer: no reader and no other writer may be inside
	PostgreSQL::Test::Utils::append_to_file("$dir/writer.sql", q{
SELECT zk_lock_exclusive('/rw/lock');
SELECT zk_create('/rw/violations/w-', NULL, 'persistent_sequential')
  FROM zk_get('/rw/writer') g WHERE convert_from(g.data, 'UTF8') <> 'idle';
SELECT zk_create('/rw/violations/x-', NULL, 'persistent_sequential')
  FROM zk_get('/rw/readers') g WHERE convert_from(g.data, 'UTF8') <> '0';
SELECT 1 FROM zk_set('/rw/writer', 'busy');
SELECT 1 FROM zk_set('/rw/writer', 'idle');
SELECT zk_unlock('/rw/lock');
});
	my $tx = run_pgbench(
		map { ([ $nodes[$_], 4, "$dir/reader.sql", 25 ], [ $nodes[$_], 2, "$dir/writer.sql", 25 ]) }
		  0 .. 2);
	is($tx, 450, "18 sessions made 450 read or write critical sections");
	my $n = $nodes[0];
	is($n->safe_psql($db, "SELECT zk_sync('/'); SELECT zk_count_children('/rw/violations')"),
		"\n0", "no writer overlapped a reader or another writer");
	ok($n->safe_psql($db, "SELECT zk_count_children('/rw/shared')") > 0,
		"readers held the lock together");
	ZkpgNode::converged('after the read-write lock test', @nodes);
}

# --- 9. zk_next_id: one request per id, whatever the contention ----------
{
	my $n = $nodes[0];
	$n->safe_psql($db, "SELECT zk_create('/ids'); SELECT zk_create('/ids/got')");
	ZkpgNode::wait_serving($_) for @nodes;
	my $before = $n->safe_psql($db, "SELECT zk_sync('/'); SELECT max(zxid) FROM zkpg.txnlog");
	$before =~ s/^\s+//;
	my $script = PostgreSQL::Test::Utils::tempdir() . "/ids.sql";
	# a duplicate id would fail its create, and its pgbench transaction
	PostgreSQL::Test::Utils::append_to_file($script, q{
SELECT zk_next_id('/ids/n') AS id \gset
SELECT zk_create('/ids/got/' || lpad(:id::text, 5, '0'));
});
	my $tx = run_pgbench(map { [ $nodes[$_], 8, $script, 100 ] } 0 .. 2);
	is($tx, 2400, "24 sessions took 2,400 ids, none twice");
	is( $n->safe_psql($db,
			"SELECT zk_sync('/'); SELECT count(*) || ' ' || min(name) || ' ' || max(name) "
			  . "FROM zk_get_children('/ids/got') AS name"),
		"\n2400 00001 02400",
		"the ids are exactly 1 to 2,400");
	is( $n->safe_psql($db,
			"SELECT convert_from(data, 'UTF8') || ' ' || version FROM zk_get('/ids/n')"),
		"2400 2399", "the counter holds 2400, one version per add after its create");
	# an error txn has type -1 (txn_codec.c: magic, version, session,
	# cxid, zxid, time, then the big-endian type at byte 30)
	is( $n->safe_psql($db,
			"SELECT count(*) FROM zkpg.txnlog WHERE zxid > $before "
			  . "AND get_byte(txn, 30) = 255 AND get_byte(txn, 31) = 255"),
		'0', "no add was refused and retried: no error txn in the log");
	ZkpgNode::converged('after the zk_next_id test', @nodes);
}

done_testing();

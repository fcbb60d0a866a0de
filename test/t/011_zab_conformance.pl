# ZAB conformance, each defect forced with a pause point (zkpg.test_pause_
# point) or a test hook rather than a sleep: three peers over NetSplit
# relays, so that any one can be cut off.
#
# 1. A request a follower forwarded, held at the leader while the leader
#    loses its role and is elected again, is never decided under the later
#    role: the client that was told ZK004, checked and wrote again, keeps
#    its later write.
# 2. A role that ends says LOOKING at once in the server's answers.
# 3. A leader elected but cut off before it heard a quorum takes no epoch,
#    so the real leader's epoch is not refused when it comes back.
# 4. A SNAP install tells this server's sessions what DIFF would have: the
#    sessions the leader closed meanwhile expire here, a lock waiter of one
#    ends with ZK112 instead of waiting forever; the watches of a session
#    that lives through it fire for what the copy changed, and only those;
#    a copy whose source no longer leads its epoch is not installed.
# 5. The end of an epoch's zxids: a leader whose counter is near 2^32 starts
#    a new epoch instead of wrapping, in the client path and the
#    housekeeping path (container deletes), and nothing acknowledged is lost.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use ZkpgNode;

my $db = $ZkpgNode::dbname;
my $SYNC = "DO \$\$BEGIN PERFORM zk_sync('/'); END\$\$;";

# 150 ms ticks: a session may live 3 s (20 ticks), what part 4b needs
my @nodes = ZkpgNode::create_ensemble(3, relays => 1, tick_ms => 150,
	conf => "zkpg.session_timeout = 2000\nzkpg.request_timeout = 5000\nzkpg.container_check_interval = 100\n");
ZkpgNode::start_and_create_extension($_) for @nodes;
my $leader = ZkpgNode::wait_for_leader(\@nodes);
ok(defined $leader, "a leader ($leader)");
ok(ZkpgNode::wait_serving($_), $_->name . ' serves') for @nodes;

sub node_by_id { return $nodes[ $_[0] - 1 ]; }
sub others { my ($id) = @_; return grep { $_ != $id } 1 .. 3; }

sub pause
{
	my ($node, $point, $action) = @_;
	return $node->safe_psql($db, "SELECT zkpg.test_pause_point('$point', '$action')");
}

sub send_async
{
	my ($h, $sql) = @_;
	$h->query_until(qr/sent/, "\\echo sent\n$sql;\n\\echo done\n");
	return;
}

sub wait_async
{
	my ($h) = @_;
	my $ok = eval { pump_until($h->{run}, $h->{timeout}, \$h->{stdout}, qr/done/) };
	my $out = $h->{stdout} . $h->{stderr};
	$out .= "\n[wait_async: " . ($@ || 'psql ended or timed out') . ']' unless $ok;
	$h->{stdout} = '';
	$h->{stderr} = '';
	return $out;
}

# wait until $node's log, from byte $from on, matches $re
sub wait_log
{
	my ($node, $re, $from) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		return 1 if substr(slurp_file($node->logfile), $from) =~ $re;
		usleep(100_000);
	}
	return 0;
}

sub sync_all { $_->safe_psql($db, $SYNC) for @_; return; }
sub epoch_of { return $_[0]->safe_psql($db, 'SELECT epoch FROM zkpg.status'); }

# --- 1. a forwarded request held across a change of role -------------------
{
	# the leader must win the election after it steps down: server 3, the
	# highest id, with everyone's history equal
	if ($leader != 3)
	{
		my $old = node_by_id($leader);
		ZkpgNode::kill9_server($old);
		$leader = ZkpgNode::wait_for_leader([ grep { $_ != $old } @nodes ]);
		$old->start;
		ok(ZkpgNode::wait_serving($_), '1: ' . $_->name . ' serves') for @nodes;
	}
	is($leader, 3, '1: server 3 leads');
	my $L = node_by_id(3);
	my $F = node_by_id(1);
	my $epoch = epoch_of($L);
	$F->safe_psql($db, "SELECT zk_create('/x', 'v0')");
	sync_all(@nodes);

	# (its session first: the held request must be the write)
	my $c = $F->background_psql($db, on_error_stop => 0);
	$c->query_safe('SELECT zk_session_id()');
	pause($L, 'forward_before_push', 'arm');
	send_async($c, "SELECT (zk_set('/x', 'v1')).version");
	ok($L->poll_query_until($db, "SELECT zkpg.test_pause_point('forward_before_push', 'reached')"),
		'1: the leader holds the forwarded write A between its check and its push');

	# its epoch ends (no zxid left): it steps down, and is elected again
	$L->safe_psql($db, 'SELECT zkpg.test_jump_zxid_counter(4294967294)');
	like(wait_async($c), qr/lost its leader|did not complete/, '1: the client of A learns the outcome is unknown (ZK004)');
	ok(ZkpgNode::wait_serving($_), '1: ' . $_->name . ' serves again') for @nodes;
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	is($leader, 3, '1: the same server leads');
	cmp_ok(epoch_of($L), '>', $epoch, '1: in a later epoch');
	# the same client, in the same session
	is($c->query_safe("$SYNC SELECT convert_from(data, 'UTF8') FROM zk_get('/x')"), 'v0',
		'1: after zk_sync, A is not applied');
	is($c->query_safe("SELECT (zk_set('/x', 'v2')).version"), '1', '1: the client writes B');

	my $from = -s $L->logfile;
	pause($L, 'forward_before_push', 'release');
	ok(wait_log($L, qr/zkpg goes on from "forward_before_push"/, $from),
		'1: the held backend goes on to its push');
	# a write behind anything the leader queued: A, if it pushed it
	$L->safe_psql($db, "SELECT zk_create('/marker1')");
	sync_all(@nodes);
	for my $n (@nodes)
	{
		is($n->safe_psql($db, "SELECT convert_from(data, 'UTF8') || ' ' || version FROM zk_get('/x')"),
			'v2 1', '1: ' . $n->name . ': B stands, A was never decided');
	}
	$c->quit;
	ZkpgNode::converged('after 1', @nodes);
}

# --- 2. a role that ends says LOOKING at once -------------------------------
{
	my $L = node_by_id($leader);
	my ($oid) = others($leader);
	pause($L, 'role_ended', 'arm');
	ZkpgNode::isolate(\@nodes, $leader);
	ok($L->poll_query_until($db, "SELECT zkpg.test_pause_point('role_ended', 'reached')"),
		'2: the isolated leader stepped down; its worker is held before its next election');
	ZkpgNode::heal_all(\@nodes);
	# a peer's notification, as server $oid would send it: the answer's
	# byte 6 is the answering server's state (2 looking, 4 leading)
	my $note = pack('a c c l> c c q> l> q> q> q>', 'P', 1, 1, $oid, 2, 0, 0, $oid, 0, 0, 0);
	my $answer = $L->safe_psql($db,
		"SELECT get_byte(zkpg.peer_message('\\x" . unpack('H*', $note) . "'::bytea), 6)");
	is($answer, '2', '2: its answers say looking, not leading');
	pause($L, 'role_ended', 'release');
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	ok(defined $leader, "2: a leader again ($leader)");
	ok(ZkpgNode::wait_serving($_), '2: ' . $_->name . ' serves') for @nodes;
}

# --- 3. an elected leader cut off before a quorum answers takes no epoch ----
{
	my $old = $leader;
	my @rest = others($old);
	pause(node_by_id($_), 'lead_start', 'arm') for @rest;
	ZkpgNode::kill9_server(node_by_id($old));
	my $x;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (!defined $x && time() < $deadline)
	{
		for my $id (@rest)
		{
			$x = $id if pause(node_by_id($id), 'lead_start', 'reached') eq 't';
		}
		usleep(50_000) unless defined $x;
	}
	ok(defined $x, '3: a new leader is elected and held before discovery');
	my ($y) = grep { $_ != $x } @rest;
	pause(node_by_id($y), 'lead_start', 'release');
	my $X = node_by_id($x);
	my $accepted_before = $X->safe_psql($db, "SELECT value FROM zkpg.peer_state WHERE key = 'accepted_epoch'");
	ZkpgNode::isolate(\@nodes, $x);
	pause($X, 'lead_start', 'release');
	my $from = -s $X->logfile;
	ok(wait_log($X, qr/heard from no quorum within zkpg.init_limit ticks; it took no epoch|found no quorum/, $from),
		'3: cut off, it gives up its role');
	is($X->safe_psql($db, "SELECT value FROM zkpg.peer_state WHERE key = 'accepted_epoch'"),
		$accepted_before, '3: and accepted no epoch meanwhile');

	node_by_id($old)->start;
	ok(ZkpgNode::wait_serving(node_by_id($y)), '3: the other two elect a leader');
	my $now = ZkpgNode::wait_for_leader([ node_by_id($old), node_by_id($y) ]);
	my $N = node_by_id($now);
	my $nlog = -s $N->logfile;
	ZkpgNode::heal_all(\@nodes);
	ok(ZkpgNode::wait_serving($X), '3: the cut-off server rejoins');
	is($N->safe_psql($db, 'SELECT state FROM zkpg.status'), 'leading', '3: under the same leader');
	unlike(substr(slurp_file($N->logfile), $nlog), qr/accepted epoch \d+ already; leader \d+ steps down/,
		'3: which no server refused');
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	ZkpgNode::converged('after 3', @nodes);
}

# --- 4. a SNAP tells the sessions what DIFF would have ----------------------
{
	my $L = node_by_id($leader);
	my ($fid) = others($leader);
	my $F = node_by_id($fid);
	my $holder = $F->background_psql($db, on_error_stop => 0);
	$holder->query_safe("SELECT zk_lock('/slock') > 0");
	my $waiter = $F->background_psql($db, on_error_stop => 0);
	$waiter->query_safe('\set VERBOSITY verbose');
	$waiter->query_safe('SELECT zk_session_id()');
	send_async($waiter, "SELECT zk_lock('/slock')");
	ok($F->poll_query_until($db, "SELECT count(*) = 2 FROM zkpg.locks WHERE path = '/slock'"),
		'4: a holder and a waiter of one lock, both on a follower');
	my $f_last = $F->safe_psql($db, 'SELECT last_logged_zxid FROM zkpg.status');

	$L->safe_psql($db, "ALTER SYSTEM SET zkpg.log_retain = 0; SELECT pg_reload_conf()");
	ZkpgNode::isolate(\@nodes, $fid);
	# the leader expires both sessions, and purges its log past the follower
	ok($L->poll_query_until($db, "SELECT count(*) = 0 FROM zkpg.sessions WHERE owner_id = $fid"),
		'4: the leader expires the cut-off server\'s sessions');
	$L->safe_psql($db, "SELECT zk_create('/after_purge_$_')") for 1 .. 3;
	ok($L->poll_query_until($db,
			"SELECT value > $f_last FROM zkpg.peer_state WHERE key = 'log_base'"),
		'4: and purges its log past what the cut-off server has');
	my $llog = -s $L->logfile;
	ZkpgNode::heal_all(\@nodes);
	ok(wait_log($L, qr/zkpg server $fid syncs by SNAP/, $llog), '4: the server rejoins by SNAP');
	like(wait_async($waiter), qr/ZK112/, '4: the waiter\'s call ends: its session expired');
	$holder->{stderr} = '';
	$holder->query("\\set VERBOSITY verbose\nSELECT zk_unlock('/slock')");
	like($holder->{stderr}, qr/ZK112/, '4: the holder learns its session expired');
	$holder->quit;
	$waiter->quit;
	ok(ZkpgNode::wait_serving($F), '4: the server serves again');
	$L->safe_psql($db, "ALTER SYSTEM RESET zkpg.log_retain; SELECT pg_reload_conf()");
	ZkpgNode::converged('after 4', @nodes);
}

# --- 4b. a SNAP fires the watches of what the copy changed, and no other ----
sub notifications
{
	my ($out) = @_;
	return map { /"type":"([^"]*)".*"path":"([^"]*)"/ ? "$1 $2" : () }
	  grep { /^Asynchronous notification / } split /\n/, $out // '';
}
{
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	my $L = node_by_id($leader);
	my ($fid) = others($leader);
	my $F = node_by_id($fid);
	$L->safe_psql($db, "SELECT zk_create('/wdata', 'a'), zk_create('/wsame'), "
		  . "zk_create('/wkids'), zk_create('/wgone')");
	sync_all(@nodes);
	my $w = $F->background_psql($db, on_error_stop => 0);
	# the longest session there is: it must outlive the cut below
	$w->query_safe('SET zkpg.session_timeout = 3000');
	$w->query_safe("SELECT zk_get('/wdata', true) IS NOT NULL, zk_get('/wsame', true) IS NOT NULL, "
		  . "(SELECT count(*) FROM zk_get_children('/wkids', true)), zk_exists('/wnew', true) IS NULL, "
		  . "zk_get('/wgone', true) IS NOT NULL, zk_exists('/wsame/x', true) IS NULL");
	my $sid = $w->query_safe('SELECT zk_session_id()');
	$L->safe_psql($db, "ALTER SYSTEM SET zkpg.force_snapshot_sync = on; SELECT pg_reload_conf()");
	my $llog = -s $L->logfile;
	ZkpgNode::isolate(\@nodes, $fid);
	$L->safe_psql($db, "SELECT zk_set('/wdata', 'b'), zk_create('/wkids/k'), zk_create('/wnew'), "
		  . "zk_delete('/wgone')");
	ok($F->poll_query_until($db, "SELECT state <> 'following' FROM zkpg.status"),
		'4b: the cut-off server loses its leader');
	ZkpgNode::heal_all(\@nodes);
	ok(wait_log($L, qr/zkpg server $fid syncs by SNAP/, $llog), '4b: and rejoins by SNAP');
	ok(ZkpgNode::wait_serving($F), '4b: and serves');
	my @events;
	my $out = $w->query_safe('SELECT zk_session_id()');
	push @events, notifications($out);
	is((split /\n/, $out)[0], $sid, '4b: the watching session lived through it');
	# a sentinel set after the install: once it fires, nothing of the install is still to come
	push @events, notifications($w->query_safe("SELECT zk_exists('/wsentinel', true) IS NULL"));
	$L->safe_psql($db, "SELECT zk_create('/wsentinel')");
	for (1 .. 300)
	{
		push @events, notifications($w->query_safe('SELECT 1'));
		last if grep { $_ eq 'NodeCreated /wsentinel' } @events;
		usleep(20_000);
	}
	is_deeply([ sort @events ],
		[ 'NodeChildrenChanged /wkids', 'NodeCreated /wnew', 'NodeCreated /wsentinel',
		  'NodeDataChanged /wdata', 'NodeDeleted /wgone' ],
		'4b: the watches of what changed fired, once each, and no other');
	$w->quit;
	$L->safe_psql($db, "ALTER SYSTEM RESET zkpg.force_snapshot_sync; SELECT pg_reload_conf()");
	ZkpgNode::converged('after 4b', @nodes);
}

# --- 4c. a SNAP whose source no longer leads its epoch is not installed -----
{
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	my $L = node_by_id($leader);
	my ($fid) = others($leader);
	my $F = node_by_id($fid);
	my $epoch = epoch_of($L);
	$L->safe_psql($db, "ALTER SYSTEM SET zkpg.force_snapshot_sync = on; SELECT pg_reload_conf()");
	pause($F, 'snap_before_install', 'arm');
	my $flog = -s $F->logfile;
	# the follower's worker starts over; the leader syncs it by SNAP
	$F->safe_psql($db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'zkpg quorum peer'");
	ok($F->poll_query_until($db, "SELECT zkpg.test_pause_point('snap_before_install', 'reached')"),
		'4c: the follower copied the leader\'s tree and is held before installing it');
	# the leader's role ends; the ensemble goes on in a later epoch
	$L->safe_psql($db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'zkpg quorum peer'");
	ok($L->poll_query_until($db, "SELECT state IN ('leading', 'following') AND epoch > $epoch FROM zkpg.status"),
		'4c: the ensemble is in a later epoch');
	pause($F, 'snap_before_install', 'release');
	ok(wait_log($F, qr/zkpg leader $leader no longer leads epoch $epoch: its snapshot is not installed/, $flog),
		'4c: the follower does not install the snapshot');
	$L->safe_psql($db, "ALTER SYSTEM RESET zkpg.force_snapshot_sync; SELECT pg_reload_conf()");
	ok(ZkpgNode::wait_serving($_), '4c: ' . $_->name . ' serves') for @nodes;
	ZkpgNode::converged('after 4c', @nodes);
}

# --- 5. the end of an epoch's zxids -----------------------------------------
{
	my %logpos = map { $_->name => -s $_->logfile } @nodes;
	# (a) the housekeeping path: a thousand empty containers (as many as
	# one look for them finds), their deletes one batch that does not fit
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	my $L = node_by_id($leader);
	my ($fid) = others($leader);
	my $F = node_by_id($fid);
	my $epoch = epoch_of($L);
	my $nc = 1000;
	# (zk_multi takes 1000 ops)
	$F->safe_psql($db, "SELECT count(*) FROM zk_multi(VARIADIC ARRAY(SELECT o FROM generate_series($_, least($_ + 399, $nc)) i, "
		  . "LATERAL (VALUES (zk_op_create('/c' || i, NULL, 'container', NULL)), "
		  . "(zk_op_create('/c' || i || '/k', NULL, 'persistent', NULL))) v(o)))") for (1, 401, 801);
	# empty them while the leader looks for empty containers only hourly
	$L->safe_psql($db, "ALTER SYSTEM SET zkpg.container_check_interval = '1h'; SELECT pg_reload_conf()");
	$F->safe_psql($db, "SELECT count(*) FROM zk_multi(VARIADIC ARRAY(SELECT zk_op_delete('/c' || i || '/k') "
		  . "FROM generate_series($_, least($_ + 399, $nc)) i))") for (1, 401, 801);
	sync_all(@nodes);
	# room for 500 more zxids (the last counter is 2^32 - 2)
	$L->safe_psql($db, 'SELECT zkpg.test_jump_zxid_counter(4294966794)');
	my $llog = -s $L->logfile;
	$L->safe_psql($db, "ALTER SYSTEM RESET zkpg.container_check_interval; SELECT pg_reload_conf()");
	ok(wait_log($L, qr/zkpg leader $leader used up the zxids of epoch $epoch: a batch of \d{4} txns does not fit/, $llog),
		'5a: the leader refuses the batch of deletes that does not fit in its epoch');
	ok(ZkpgNode::wait_serving($_), '5a: ' . $_->name . ' serves') for @nodes;
	ok($L->poll_query_until($db,
			"SELECT count(*) = 0 FROM generate_series(1, $nc) i WHERE zk_exists('/c' || i) IS NOT NULL"),
		'5a: the containers were deleted');
	$leader = ZkpgNode::wait_for_leader(\@nodes);
	cmp_ok(epoch_of(node_by_id($leader)), '>', $epoch,
		'5a: by a new epoch: the old one had no zxids left for them');
	sync_all(@nodes);
	ZkpgNode::converged('after 5a', @nodes);

	# (b) the client path: writes forwarded by a follower across the end
	$L = node_by_id($leader);
	($fid) = others($leader);
	$F = node_by_id($fid);
	$epoch = epoch_of($L);
	# room for 9: the leader takes 9 more requests, then steps down
	$L->safe_psql($db, 'SELECT zkpg.test_jump_zxid_counter(4294967285)');
	my @acked;
	for my $i (1 .. 20)
	{
		my ($ret) = $F->psql($db, "SELECT zk_create('/after_end_$i')");
		push @acked, $i if $ret == 0;
	}
	ok(ZkpgNode::wait_serving($_), '5b: ' . $_->name . ' serves') for @nodes;
	cmp_ok(epoch_of(node_by_id(ZkpgNode::wait_for_leader(\@nodes))), '>', $epoch,
		'5b: a new epoch began at the end of the old one\'s zxids');
	cmp_ok(scalar(@acked), '>=', 10, '5b: writes went on in the new epoch (' . scalar(@acked) . ' of 20 acknowledged)');
	sync_all(@nodes);
	for my $n (@nodes)
	{
		is($n->safe_psql($db,
				"SELECT count(*) FROM unnest(ARRAY[" . join(',', @acked) . "]) i "
				  . "WHERE zk_exists('/after_end_' || i) IS NOT NULL"),
			scalar(@acked), '5b: ' . $n->name . ': every acknowledged write is there');
		is($n->safe_psql($db,
				"SELECT bool_and(z.czxid > p.czxid) FROM generate_series(2, 20) i "
				  . "CROSS JOIN LATERAL zk_exists('/after_end_' || i) z "
				  . "CROSS JOIN LATERAL zk_exists('/after_end_' || (i - 1)) p "
				  . "WHERE z IS NOT NULL AND p IS NOT NULL"),
			't', '5b: ' . $n->name . ': zxids strictly increase across the new epoch');
	}
	ZkpgNode::converged('after 5b', @nodes);
	for my $n (@nodes)
	{
		unlike(substr(slurp_file($n->logfile), $logpos{ $n->name }),
			qr/duplicate key value violates unique constraint "txnlog_pkey"|txn zxids are not increasing/,
			'5: ' . $n->name . ': no zxid was numbered twice');
	}
}

ZkpgNode::stop_relays(\@nodes);
$_->stop for @nodes;
done_testing();


# Copyright (c) zkpg authors

=pod

=head1 NAME

ZkpgNode - zkpg servers for TAP tests, over PostgreSQL::Test::Cluster

=head1 SYNOPSIS

  use lib 'test';    # prove -I test, as "make prove-installcheck" does
  use ZkpgNode;

  # One standalone zkpg server, extension created, state 'standalone'.
  my $node = ZkpgNode::new_standalone('alpha');

  my $st = ZkpgNode::status($node);           # hashref of the zkpg.status row
  print $st->{last_logged_zxid};
  my $d = ZkpgNode::tree_digest($node);       # SELECT zkpg.tree_digest()

  $node->kill9;
  $node->start;
  ZkpgNode::wait_for_state($node, 'standalone') or die;

=head1 DESCRIPTION

Every function takes or returns plain PostgreSQL::Test::Cluster objects, so
all of Cluster.pm (safe_psql, background_psql, kill9, stop, start,
poll_query_until, logfile ...) applies.  The tree lives in the database named
by C<$ZkpgNode::dbname> (zkpg.database).

A node is made in three steps, so that an ensemble helper (new_ensemble(n):
n nodes, then C<zkpg.myid>/C<zkpg.servers> written into each before any is
started, then wait until one is 'leading' and the rest 'following') can reuse
them:

  create_node($name, %params)   init + the common zkpg configuration
  start_and_create_extension($node)
  wait_for_state($node, $state_or_regexp)

=cut

package ZkpgNode;

use strict;
use warnings;

use Carp;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# The database that holds the tree (zkpg.database).
our $dbname = 'postgres';

# States of zkpg.status.state, for callers that wait on a set of them.
our @states = qw(standalone looking following leading observing
  coordinating participating);

=pod

=head1 FUNCTIONS

=over

=item create_node($name, %params)

init()s a new PostgreSQL::Test::Cluster node and appends the configuration
every zkpg server needs: C<shared_preload_libraries = 'zkpg'> and
C<zkpg.database>.  Does not start it.

Parameters: C<init> (hashref passed to Cluster's init), C<conf> (extra
postgresql.conf text appended after ours, e.g. C<"restart_after_crash = on">).

=cut

sub create_node
{
	my ($name, %params) = @_;

	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $params{init} // {} });
	$node->append_conf(
		'postgresql.conf', qq(
# Added by ZkpgNode.pm
shared_preload_libraries = 'zkpg'
zkpg.database = '$dbname'
));
	$node->append_conf('postgresql.conf', $params{conf})
	  if defined $params{conf};
	return $node;
}

=pod

=item start_and_create_extension($node)

Starts the node and runs C<CREATE EXTENSION zkpg> in C<$dbname>.

=cut

sub start_and_create_extension
{
	my ($node) = @_;

	$node->start;
	$node->safe_psql($dbname, 'CREATE EXTENSION zkpg');
	return $node;
}

=pod

=item wait_for_state($node, $state)

Polls C<SELECT state FROM zkpg.status> until it equals C<$state> (a string),
for up to the TAP default timeout (PG_TEST_TIMEOUT_DEFAULT, 180 s).  Returns
true on success, false (with a diagnostic from poll_query_until) on timeout.
Connection failures while the server is (re)starting are retried.

=cut

sub wait_for_state
{
	my ($node, $state) = @_;

	croak "unknown zkpg state '$state'" unless grep { $_ eq $state } @states;
	return $node->poll_query_until($dbname,
		'SELECT state FROM zkpg.status', $state);
}

=pod

=item new_standalone($name, %params)

A started standalone zkpg server (myid 0, no servers): create_node, start,
CREATE EXTENSION, then wait until zkpg.status says 'standalone'.  Dies if it
never does.  %params as for create_node.

=cut

sub new_standalone
{
	my ($name, %params) = @_;

	my $node = create_node($name, %params);
	start_and_create_extension($node);
	wait_for_state($node, 'standalone')
	  or croak "zkpg server \"$name\" never reached state 'standalone'";
	return $node;
}

=pod

=item tree_digest($node)

C<SELECT zkpg.tree_digest()>: the digest of the node's whole tree, as text.

=cut

sub tree_digest
{
	my ($node) = @_;

	return $node->safe_psql($dbname, 'SELECT zkpg.tree_digest()');
}

=pod

=item status($node)

The row of C<zkpg.status> as a hashref keyed by column name (all columns,
as text; NULL as undef).

=cut

sub status
{
	my ($node) = @_;

	my $json = $node->safe_psql($dbname,
		'SELECT row_to_json(s)::text FROM zkpg.status s');
	return _decode_flat_json($json);
}

# row_to_json of zkpg.status is a flat object of numbers, strings, booleans
# and nulls; decode it without depending on a JSON module being installed.
sub _decode_flat_json
{
	my ($json) = @_;
	my %h;

	while ($json =~ /"((?:[^"\\]|\\.)*)"\s*:\s*("(?:[^"\\]|\\.)*"|[^,}]+)/g)
	{
		my ($k, $v) = ($1, $2);
		$v =~ s/\s+$//;
		if ($v eq 'null')
		{
			$v = undef;
		}
		elsif ($v =~ /^"(.*)"$/s)
		{
			$v = $1;
			$v =~ s/\\(.)/$1/g;
		}
		$h{$k} = $v;
	}
	return \%h;
}

=pod

=item server_pids($node)

The pids of the node's postmaster and of all its children (backends,
auxiliary processes, background workers), postmaster first, read from
/proc.  Empty when the node is not running.

=cut

sub server_pids
{
	my ($node) = @_;
	my $pidfile = $node->data_dir . '/postmaster.pid';

	open my $fh, '<', $pidfile or return ();
	my $pm = <$fh>;
	close $fh;
	chomp $pm;
	return () unless $pm =~ /^\d+$/ && kill(0, $pm);

	my @children;
	opendir my $dh, '/proc' or return ($pm);
	foreach my $p (grep { /^\d+$/ } readdir $dh)
	{
		open my $st, '<', "/proc/$p/stat" or next;
		my $line = <$st>;
		close $st;
		next unless defined $line;
		# pid (comm) state ppid ...; comm may contain spaces and parens
		push @children, $p if $line =~ /\)\s+\S+\s+(\d+)/ && $1 == $pm;
	}
	closedir $dh;
	return ($pm, sort { $a <=> $b } @children);
}

=pod

=item wait_pids_gone($timeout_s, @pids)

Waits until none of @pids exists any more (zombies count as gone).  Returns
the list of those still alive after $timeout_s seconds (empty on success).

=cut

sub wait_pids_gone
{
	my ($timeout, @pids) = @_;
	my $deadline = time() + $timeout;

	for (;;)
	{
		my @alive = grep { _pid_alive($_) } @pids;
		return @alive if !@alive || time() >= $deadline;
		select(undef, undef, undef, 0.05);
	}
}

sub _pid_alive
{
	my ($pid) = @_;

	open my $st, '<', "/proc/$pid/stat" or return 0;
	my $line = <$st>;
	close $st;
	return 0 unless defined $line;
	return $line !~ /\)\s+[ZX]\s/;
}

=pod

=item kill9_server($node, children => 0|1, timeout => $s, after_kill => sub)

Crashes the node: kill -9 of its postmaster ($node->kill9), and with
C<children> of every child process at the same moment.  C<after_kill>, if
given, runs right then, while the node's processes are still exiting (a
client's first move after the crash).  Then waits (up to
C<timeout> seconds, default a sixth of the TAP timeout) for the children to
exit by themselves, as they must when their postmaster is gone
(WL_EXIT_ON_PM_DEATH); stragglers are killed with -9 so that the node can be
started again, and described ("pid (cmdline)") in the returned list, which
is empty when all went well.  Finally waits until the dead postmaster has
been reaped, since a new postmaster refuses to start while the pid in
postmaster.pid still exists (even as a zombie).

=cut

sub kill9_server
{
	my ($node, %params) = @_;
	my $timeout = $params{timeout} // $PostgreSQL::Test::Utils::timeout_default / 6;

	my ($pm, @children) = server_pids($node);
	$node->kill9;
	kill 'KILL', @children if $params{children};
	$params{after_kill}->() if $params{after_kill};

	my @alive = wait_pids_gone($timeout, @children);
	my @stragglers = map { describe_pid($_) } @alive;
	if (@alive)
	{
		kill 'KILL', @alive;
		wait_pids_gone(30, @alive);
	}
	_wait_reaped($timeout, $pm) if defined $pm;
	return @stragglers;
}

sub _wait_reaped
{
	my ($timeout, $pid) = @_;
	my $deadline = time() + $timeout;

	while (kill(0, $pid) && time() < $deadline)
	{
		select(undef, undef, undef, 0.05);
	}
	return;
}

=pod

=item describe_pid($pid)

"pid (command line)", for diagnostics.

=cut

sub describe_pid
{
	my ($pid) = @_;
	my $cmd = '';

	if (open my $fh, '<', "/proc/$pid/cmdline")
	{
		local $/;
		$cmd = <$fh> // '';
		close $fh;
		$cmd =~ s/\0/ /g;
		$cmd =~ s/\s+$//;
	}
	return "$pid ($cmd)";
}

=pod

=back

=cut

=pod

=item create_ensemble($n, %params)

Creates (does not start) C<$n> nodes named C<peer1>..C<peerN> (C<name>
replaces "peer") with
C<zkpg.myid> 1..n and one C<zkpg.servers> naming every node by its socket
directory and port.  C<observers> (arrayref of ids) marks observers;
C<tick_ms> (default 100) and C<conf> are appended to every node.  Returns
the list of nodes (index 0 is id 1).

=cut

sub create_ensemble
{
	my ($n, %params) = @_;
	return _create_relayed_ensemble($n, %params) if $params{relays};
	my %observer = map { $_ => 1 } @{ $params{observers} // [] };
	my $prefix = $params{name} // 'peer';
	my @nodes = map { create_node("$prefix$_", conf => $params{conf}) } 1 .. $n;
	my $servers = join(',',
		map {
			my $id = $_ + 1;
			"$id=" . $nodes[$_]->host . ':' . $nodes[$_]->port
			  . ($observer{$id} ? ':observer' : '')
		} 0 .. $#nodes);
	my $tick = $params{tick_ms} // 100;

	for my $i (0 .. $#nodes)
	{
		my $id = $i + 1;
		$nodes[$i]->append_conf(
			'postgresql.conf', qq(
zkpg.myid = $id
zkpg.servers = '$servers'
zkpg.tick_ms = $tick
));
	}
	return @nodes;
}

# With relays => 1: peers talk over TCP, each directed link i -> j through
# a NetSplit relay, so that tests can cut the network between any two.
# The relays are in $node->{_links}{$j} of node i.
sub _create_relayed_ensemble
{
	my ($n, %params) = @_;
	require NetSplit;
	my %observer = map { $_ => 1 } @{ $params{observers} // [] };
	my $prefix = $params{name} // 'peer';
	my @nodes = map { create_node("$prefix$_", conf => $params{conf}) } 1 .. $n;
	my $tick = $params{tick_ms} // 100;

	for my $i (0 .. $#nodes)
	{
		my $id = $i + 1;
		my @servers;
		for my $j (0 .. $#nodes)
		{
			my $jid = $j + 1;
			my $port = $nodes[$j]->port;
			if ($j != $i)
			{
				$port = PostgreSQL::Test::Cluster::get_free_port();
				$nodes[$i]{_links}{$jid} = NetSplit::start_link($port, $nodes[$j]->port);
			}
			push @servers,
			  "$jid=127.0.0.1:$port" . ($observer{$jid} ? ':observer' : '');
		}
		my $servers = join(',', @servers);
		$nodes[$i]->append_conf(
			'postgresql.conf', qq(
listen_addresses = '127.0.0.1'
zkpg.myid = $id
zkpg.servers = '$servers'
zkpg.tick_ms = $tick
));
	}
	return @nodes;
}

=pod

=item isolate(\@nodes, $id) / heal_all(\@nodes)

Cut (heal) every link to and from server C<$id> of a relayed ensemble.

=cut

sub isolate
{
	my ($nodes, $id) = @_;
	for my $i (0 .. $#$nodes)
	{
		my $links = $nodes->[$i]{_links} // {};
		if ($i + 1 == $id) { NetSplit::cut($_) for values %$links; }
		elsif ($links->{$id}) { NetSplit::cut($links->{$id}); }
	}
}

sub heal_all
{
	my ($nodes) = @_;
	for my $node (@$nodes)
	{
		NetSplit::heal($_) for values %{ $node->{_links} // {} };
	}
}

sub stop_relays
{
	my ($nodes) = @_;
	for my $node (@$nodes)
	{
		NetSplit::stop($_) for values %{ $node->{_links} // {} };
	}
}

=pod

=item wait_serving($node)

Polls until C<$node> is an ensemble member that serves: zk_sync needs a
leader, so it waits for one or fails, and the poll tries again.

=cut

sub wait_serving
{
	my ($node) = @_;
	return $node->poll_query_until($dbname,
		"SELECT state IN ('leading','following','observing','coordinating','participating') FROM zkpg.status, "
		  . "(SELECT zk_sync('/')) s");
}

=pod

=item converged($msg, @nodes)

Two checks (Test::More): within 60 s every node has applied the same zxid
and has the same tree (C<zkpg.tree_digest()>); and no node has an
ephemeral whose session no longer exists.

=cut

sub converged
{
	my ($msg, @running) = @_;
	my $deadline = time() + 60;
	my %d;
	while (time() < $deadline)
	{
		%d = ();
		for my $n (@running)
		{
			my ($ret, $row) = $n->psql($dbname,
				"SELECT applied_zxid || ' ' || zkpg.tree_digest() FROM zkpg.status");
			$d{ $ret == 0 ? $row : "error" }++;
		}
		last if keys %d == 1 && !$d{error};
		select(undef, undef, undef, 0.2);
	}
	is(scalar(keys %d), 1, "$msg: all peers applied the same zxid and have the same tree")
	  or diag explain \%d;
	for my $n (@running)
	{
		is($n->safe_psql($dbname,
				"SELECT count(*) FROM zkpg.znode z WHERE ephemeral_owner <> 0 AND NOT EXISTS "
				  . "(SELECT 1 FROM zkpg.session s WHERE s.session_id = z.ephemeral_owner)"),
			'0', "$msg: no ephemeral of a dead session on " . $n->name);
	}
	return;
}

=pod

=item leaders(@nodes)

The state and leader each running node reports, as a hashref
{ myid => [state, leader_id] } (nodes that do not answer are left out).

=cut

sub leaders
{
	my (@nodes) = @_;
	my %out;

	for my $node (@nodes)
	{
		next unless defined $node->{_pid};
		my ($ret, $stdout) = $node->psql($dbname,
			"SELECT myid || ' ' || state || ' ' || coalesce(leader_id, -1) FROM zkpg.status");
		next if $ret != 0 || !defined $stdout || $stdout eq '';
		my ($id, @rest) = split / /, $stdout;
		$out{$id} = \@rest;
	}
	return \%out;
}

=pod

=item wait_for_leader(\@running, $expected_leader)

Waits until every node of C<@running> agrees on one leader (the one given,
if defined), that leader says 'leading' and the others 'following' or
'observing'.  Returns the leader's id, or undef on timeout.

=cut

sub wait_for_leader
{
	my ($running, $expected) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;

	while (time() < $deadline)
	{
		my $l = leaders(@$running);
		my %leader_ids = map { $_->[1] => 1 } values %$l;
		if (keys(%$l) == grep({ defined $_->{_pid} } @$running) && keys(%leader_ids) == 1)
		{
			my ($leader) = keys %leader_ids;
			my $ok = $leader > 0 && exists $l->{$leader}
			  && (!defined $expected || $leader == $expected);
			for my $id (keys %$l)
			{
				my $want = $id == $leader ? 'leading' : qr/^(following|observing)$/;
				$ok &&= ref $want ? $l->{$id}[0] =~ $want : $l->{$id}[0] eq $want;
			}
			return $leader if $ok;
		}
		select(undef, undef, undef, 0.1);
	}
	diag explain leaders(@$running);
	return undef;
}

1;

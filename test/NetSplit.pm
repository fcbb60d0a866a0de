
# Copyright (c) zkpg authors

=pod

=head1 NAME

NetSplit - cut the network between zkpg peers in TAP tests

=head1 SYNOPSIS

  my $link = NetSplit::start_link($listen_port, $target_port);
  NetSplit::cut($link);     # packets are black-holed
  NetSplit::heal($link);    # they flow again
  NetSplit::stop($link);

=head1 DESCRIPTION

Each directed link between two peers is a TCP relay of its own (one process
group: a listener that forks a pump per connection).  Peer i reaches peer j
at i's relay port for j, so the network between any two peers can be cut
without root: C<cut> stops the relay's process group, so bytes in flight
and new connections go nowhere (the TCP stack still accepts connections
into the backlog, as a black-holing network does), and C<heal> resumes it.
zkpg itself runs unchanged: it only sees a network that stops delivering.

=cut

package NetSplit;

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use POSIX ();

my %live_links;          # listener pid => 1, for every relay not stopped
my $owner_pid = $$;      # END cleans up in the test process only

sub start_link
{
	my ($listen_port, $target_port) = @_;
	my $listener = IO::Socket::INET->new(
		LocalAddr => '127.0.0.1',
		LocalPort => $listen_port,
		Listen => 64,
		ReuseAddr => 1,
		Proto => 'tcp') or die "listen on $listen_port: $!";
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		# the relay must not hold the test's output open: prove waits for
		# EOF on it, so a test that dies would otherwise never end
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		POSIX::setpgid(0, 0);
		$SIG{CHLD} = 'IGNORE';
		while (1)
		{
			my $client = $listener->accept or next;
			my $child = fork();
			next unless defined $child;
			if ($child == 0)
			{
				close $listener;
				_pump($client, $target_port);
				POSIX::_exit(0);
			}
			close $client;
		}
	}
	close $listener;
	# the parent also sets it, so that cut() works at once
	POSIX::setpgid($pid, $pid);
	$live_links{$pid} = 1;
	return { pid => $pid, port => $listen_port, target => $target_port };
}

sub _pump
{
	my ($client, $target_port) = @_;
	my $server = IO::Socket::INET->new(
		PeerAddr => '127.0.0.1',
		PeerPort => $target_port,
		Proto => 'tcp') or return;
	my $sel = IO::Select->new($client, $server);
	while (1)
	{
		for my $fh ($sel->can_read)
		{
			my $buf;
			my $n = sysread($fh, $buf, 65536);
			return unless $n;
			my $to = $fh == $client ? $server : $client;
			my $off = 0;
			while ($off < $n)
			{
				my $w = syswrite($to, $buf, $n - $off, $off);
				return unless defined $w;
				$off += $w;
			}
		}
	}
}

sub cut { kill 'STOP', -$_[0]{pid}; }
sub heal { kill 'CONT', -$_[0]{pid}; }

sub stop
{
	my ($link) = @_;
	_kill_group($link->{pid});
	waitpid($link->{pid}, 0);
}

sub _kill_group
{
	my ($pid) = @_;
	kill 'CONT', -$pid;
	kill 'KILL', -$pid;
	delete $live_links{$pid};
}

# A relay that outlives the process that started it (the benchmark
# scripts start relays from a one-line perl): END leaves it alone.
sub detach { delete $live_links{ $_[0]{pid} }; return $_[0]; }

# a test that dies before stop() leaves no relay behind (cut ones are
# stopped processes that would live forever)
END
{
	if ($$ == $owner_pid)
	{
		_kill_group($_) for keys %live_links;
	}
}

1;

# test/setup.sh: shared set-up steps, sourced by bin/zkpg-demo and
# test/run_tests.sh.  Run as root on Debian 12.

# Install the Debian packages given that are missing.
zkpg_install_packages() {
	local missing=""
	local p
	for p in "$@"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq $missing >/dev/null
	fi
}

# What building and testing zkpg needs.
zkpg_install_prereqs() {
	zkpg_install_packages postgresql-15 postgresql-server-dev-15 postgresql-contrib \
		libpq-dev libipc-run-perl build-essential make perl python3-psycopg \
		python3-psycopg2 python3-hypothesis clang-14 libfuzzer-14-dev iproute2 \
		iptables openssl
}

# What test/bench/run_side_by_side.sh needs to run Apache ZooKeeper next
# to zkpg: the server (a JVM), the C client's header (libzookeeper-mt-dev)
# and the single-threaded library zkcbench links (libzookeeper-st2).
zkpg_install_zookeeper() {
	zkpg_install_packages zookeeper libzookeeper-mt-dev libzookeeper-st2
}

# Build and install the extension from the source tree $1.
zkpg_build_install() {
	make -s -C "$1" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	make -s -C "$1" PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config install >/dev/null
}

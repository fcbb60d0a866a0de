#!/usr/bin/env bash
#
# test/nemesis/run.sh -- the zkpg nemesis suite (Jepsen-style).
#
#   sudo test/nemesis/run.sh --minutes 30          # on a fresh Debian 12
#   sudo test/nemesis/run.sh --smoke --no-install  # ~2 minutes of faults
#   test/nemesis/run.sh --smoke --out /tmp/nem     # as a non-root user
#
# As root: installs the Debian packages it needs (only those missing),
# builds and installs the extension from this repository unless
# --no-install is given, makes the output directory owned by postgres and
# runs nemesis.py as postgres.  As another user: runs nemesis.py as that
# user (the extension must be installed).  Every other option goes to
# nemesis.py (--minutes N, --smoke, --seed S, --out DIR, --only 3|5,
# --interval S, ...; see nemesis.py --help).  Ends with "violations: N"
# and exits non-zero when N > 0 or the harness failed.

set -eu
set -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PYTHON=/usr/bin/python3

install=1
out=""
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-install) install=0 ;;
	--out) out="$2"; args+=("$1" "$2"); shift ;;
	--out=*) out="${1#--out=}"; args+=("$1") ;;
	*) args+=("$1") ;;
	esac
	shift
done
if [ -z "$out" ]; then
	out="/var/tmp/zkpg-nemesis-$(date +%Y%m%d-%H%M%S)"
	args+=(--out "$out")
fi

if [ "$(id -u)" -ne 0 ]; then
	exec "$PYTHON" "$HERE/nemesis.py" "${args[@]}"
fi

# shellcheck source=test/setup.sh
. "$REPO/test/setup.sh"
zkpg_install_prereqs
if [ "$install" -eq 1 ]; then
	zkpg_build_install "$REPO"
fi

mkdir -p "$out"
chown postgres: "$out"
# postgres must be able to reach the harness (a checkout under /root is not)
if ! runuser -u postgres -- test -r "$HERE/nemesis.py"; then
	copy="$out/harness"
	mkdir -p "$copy"
	cp "$HERE"/*.py "$copy/"
	chown -R postgres: "$copy"
	HERE="$copy"
fi
exec runuser -u postgres -- env -C "$out" "$PYTHON" "$HERE/nemesis.py" "${args[@]}"

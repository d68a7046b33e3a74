#!/usr/bin/env bash
# The TypeScript SDK's client against `rudder acp`, every message checked against the SDK's schema.
# Not a test (CI has no node): run by hand after changing rudder/acp. Needs node >= 18 and npm.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
[ -d node_modules/@agentclientprotocol/sdk ] || npm install --no-audit --no-fund --silent
RUDDER="${RUDDER:-$here/../../.venv/bin/rudder}" node client.mjs

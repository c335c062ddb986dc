#!/usr/bin/env bash
# Set up Arena, seed a demo challenge with three submissions, and serve it at http://127.0.0.1:8000.
# Data goes to ARENA_HOME (default ./var/demo); run again to serve the same demo. Ctrl-C stops it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/setup.sh"

export ARENA_HOME=${ARENA_HOME:-$ROOT/var/demo}
PORT=${ARENA_PORT:-8000}
export ARENA_URL="http://127.0.0.1:$PORT"
ARENA="$ROOT/.venv/bin/arena"
mkdir -p "$ARENA_HOME"

ARENA_PUBLIC_URL=${ARENA_PUBLIC_URL:-http://127.0.0.1:$PORT} "$ARENA" serve --port "$PORT" 2>>"$ARENA_HOME/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
trap 'exit 0' INT TERM
for _ in $(seq 1 60); do
  "$ROOT/.venv/bin/python" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" \
    "$ARENA_URL/api/health" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { echo "arena serve stopped; see $ARENA_HOME/serve.log" >&2; exit 1; }
  sleep 0.5
done

TOKENS="$ARENA_HOME/demo-tokens.txt"
if [ ! -f "$ARENA_HOME/.demo-seeded" ]; then
  echo "[arena demo] seeding: two challenges (one interactive), three teams, four submissions"
  ORGANISER=$("$ARENA" admin create-organiser "Demo Organiser" 2>/dev/null)
  ARENA_TOKEN=$ORGANISER "$ARENA" challenge create "$ROOT/examples/challenges/gpu-faults" >/dev/null
  umask 077
  : >"$TOKENS"
  echo "organiser Demo Organiser: $ORGANISER" >>"$TOKENS"
  seed_team() {  # NAME IMAGE FACTORY...
    local name=$1 image=$2; shift 2
    local args=() token
    for f in "$@"; do args+=(--factory "$f"); done
    token=$(ARENA_TOKEN=$ORGANISER "$ARENA" team create "$name" "${args[@]}")
    echo "team $name: $token" >>"$TOKENS"
    ARENA_TOKEN=$token "$ARENA" submit gpu-faults "arena-example/$image" --wait 2>/dev/null || true
  }
  seed_team "Telemetry Titans" good "LUMI AI Factory"
  seed_team "Thermal Alliance" weak "MareNostrum AI Factory" "IT4LIA AI Factory"
  seed_team "Broken Bytes" broken "JUPITER AI Factory"
  # An interactive challenge too: the example chat model serves its API and is sent each item.
  ARENA_TOKEN=$ORGANISER "$ARENA" challenge create "$ROOT/examples/challenges/chat-basics" >/dev/null
  TITANS=$(sed -n 's/^team Telemetry Titans: //p' "$TOKENS")
  ARENA_TOKEN=$TITANS "$ARENA" submit chat-basics arena-example/chat --wait 2>/dev/null || true
  touch "$ARENA_HOME/.demo-seeded"
fi

cat <<TXT

Arena is serving at $ARENA_URL
  leaderboard:  $ARENA_URL/challenges/gpu-faults
  interactive:  $ARENA_URL/challenges/chat-basics  (a chat model, sent each item over its socket)
  team view:    $ARENA_URL/team  (paste a team token from $TOKENS;
                "Broken Bytes" sees why its submission failed)
  CLI:          ARENA_URL=$ARENA_URL $ARENA leaderboard gpu-faults
Ctrl-C stops it.
TXT
wait $SERVER

#!/usr/bin/env bash
# D1 regression (fixed): `.`/`..` ids must be refused (exit 2, nothing sent) for flags, arguments and
# --input FILE, and become failed InvalidTarget records (nothing sent for them) from stdin or --all.
# Exits 1 if anything differs from that.
#   REVOKE_BIN  binary under test (default <repo>/target/release/revoke)
#   PYTHON      python with no special packages needed (default python3)
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
R=${REVOKE_BIN:-$HERE/../target/release/revoke}
PY=${PYTHON:-python3}
[ -x "$R" ] || { echo "revoke binary not found at $R (cargo build --release, or set REVOKE_BIN)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/revoke-interop-dots.XXXXXX")
REC=
cleanup() { [ -n "$REC" ] && kill "$REC" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
export HOME=$W   # no real credential files
unset HUAWEICLOUD_SDK_CREDENTIALS_FILE HUAWEICLOUD_SDK_SECURITY_TOKEN HUAWEICLOUD_SDK_PROJECT_ID SMH_LIBRARY_SECRET \
      http_proxy https_proxy all_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY 2>/dev/null || true

LIST_BODY='{"bearer_tokens":[{"token_id":"tok-1"},{"token_id":"."},{"token_id":".."},{"token_id":"..."}]}' \
  PYTHONPATH=$HERE "$PY" "$HERE/recorder.py" 120 > "$W/rec.log" 2>&1 &
REC=$!
P=
for _ in $(seq 50); do P=$(awk '/^PORT/{print $2}' "$W/rec.log"); [ -n "$P" ] && break; sleep 0.1; done
[ -n "$P" ] || { echo "recorder did not start:"; cat "$W/rec.log"; exit 1; }
E=http://127.0.0.1:$P
export HUAWEICLOUD_SDK_AK=AK HUAWEICLOUD_SDK_SK=SK
FAIL=0
bad() { echo "FAIL: $*"; FAIL=1; }

# must exit 2 with "cannot be an id" and send nothing
t() { desc=$1; shift; "$@" >"$W/out" 2>"$W/err"; rc=$?
      why=$(grep -m1 -o 'cannot be an id.*' "$W/err")
      echo "$desc: exit=$rc  stderr: $why"
      [ "$rc" = 2 ] && [ -n "$why" ] || bad "$desc: want exit 2 and 'cannot be an id'"; }
t "is tokens . .."         "$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id t-1 -o json -- . ..
t "is tokens tok-1 ' .. '" "$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id t-1 -o json -- tok-1 ' .. '
t "is store/tenant .."     "$R" identity-store --endpoint "$E" --identity-store-id .. --tenant-id .. -o json -- tok
t "is tenant ."            "$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id . -o json -- tok
printf 'tok-1\n..\n' > "$W/dots_input.txt"
t "is --input FILE with .." "$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id t-1 -o json --input "$W/dots_input.txt"
t "is --dry-run -- tok .." "$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id t-1 -o json --dry-run -- tok ..
t "smh --library-id=.."    env SMH_LIBRARY_SECRET=s "$R" smh --endpoint "$E" --library-id=.. -o json u1
t "smh --library-id=."     env SMH_LIBRARY_SECRET=s "$R" smh --endpoint "$E" --library-id=. -o json u1

# must exit 1 with the given (status, token_id, error code) records
# (in input order: records are written in completion order, and `index` puts them back)
records() { grep -v '"summary"' "$W/out" | "$PY" -c '
import sys, json
rs = sorted((json.loads(l) for l in sys.stdin), key=lambda r: r["index"])
for r in rs:
    print(r["status"], r["target"]["token_id"], (r.get("error") or {}).get("code"))'; }
printf 'tok-1\n.\ntok-2\n' | "$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id t-1 -o json --input - > "$W/out" 2>/dev/null
rc=$?; got=$(records); echo "is --input - (tok-1 . tok-2): exit=$rc"; echo "$got" | sed 's/^/    /'
[ "$rc" = 1 ] && [ "$got" = "$(printf 'revoked tok-1 None\nfailed . InvalidTarget\nrevoked tok-2 None')" ] \
  || bad "is --input -: want exit 1 and revoked / InvalidTarget / revoked"
"$R" identity-store --endpoint "$E" --identity-store-id d-1 --tenant-id t-1 -o json --all > "$W/out" 2>/dev/null
rc=$?; got=$(records); echo "is --all (list: tok-1 . .. ...): exit=$rc"; echo "$got" | sed 's/^/    /'
[ "$rc" = 1 ] && [ "$got" = "$(printf 'revoked tok-1 None\nfailed . InvalidTarget\nfailed .. InvalidTarget\nrevoked ... None')" ] \
  || bad "is --all: want exit 1 and revoked / InvalidTarget / InvalidTarget / revoked"

sleep 0.3; kill "$REC" 2>/dev/null; wait "$REC" 2>/dev/null; REC=
saw=$(grep -v '^PORT' "$W/rec.log")
echo "=== what the server saw"; echo "$saw" | sed 's/^/    /'
want='DELETE /v1/identity-stores/d-1/tenant/t-1/bearer-token/tok-1
DELETE /v1/identity-stores/d-1/tenant/t-1/bearer-token/tok-2
GET /v1/identity-stores/d-1/tenant/t-1/bearer-token
DELETE /v1/identity-stores/d-1/tenant/t-1/bearer-token/tok-1
DELETE /v1/identity-stores/d-1/tenant/t-1/bearer-token/...'
[ "$(echo "$saw" | sort)" = "$(echo "$want" | sort)" ] || bad "the server saw other requests than expected"
if [ "$FAIL" = 0 ]; then echo "repro_dots: OK"; else echo "repro_dots: FAIL"; fi
exit "$FAIL"

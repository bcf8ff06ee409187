#!/usr/bin/env bash
# Optional interop check: revoke against the vendors' own SDK verifiers, a real OAuth 2.0 server
# (authlib) and exact-wire servers. Needs PyPI access the first time (to fill the venv), so it is
# not part of .ci/run / cargo test. All servers listen on loopback only.
#
#   cargo build --release && bash interop/run.sh
#
# Environment:
#   REVOKE_BIN    binary under test            (default: <repo>/target/release/revoke)
#   INTEROP_VENV  venv to create / reuse        (default: ${TMPDIR:-/tmp}/revoke-interop-venv)
#   INTEROP_RUNS  randomized runs per check     (default: 30)
#   INTEROP_SEED  random seed for the checks    (default: 1)
#   INTEROP_OUT   where out_*.txt / problems_*.json go (default: a new temporary directory)
#   PYTHON        interpreter used to create the venv (default: python3)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export REVOKE_BIN=${REVOKE_BIN:-$HERE/../target/release/revoke}
VENV=${INTEROP_VENV:-${TMPDIR:-/tmp}/revoke-interop-venv}
RUNS=${INTEROP_RUNS:-30}
SEED=${INTEROP_SEED:-1}
export INTEROP_OUT=${INTEROP_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/revoke-interop-out.XXXXXX")}
mkdir -p "$INTEROP_OUT"

if [ ! -x "$REVOKE_BIN" ]; then
  echo "revoke binary not found at $REVOKE_BIN (run cargo build --release, or set REVOKE_BIN)" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating venv $VENV"
  "${PYTHON:-python3}" -m venv "$VENV"
fi
echo "== pip install -r requirements.txt into $VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"

PY=$VENV/bin/python
export PYTHON=$PY PYTHONDONTWRITEBYTECODE=1
echo "== revoke: $REVOKE_BIN; $RUNS runs per check, seed $SEED; output in $INTEROP_OUT"

FAILED=()
step() {  # step NAME COMMAND...: run, keep its output in $INTEROP_OUT/out_NAME.txt, remember failures
  local name=$1; shift
  echo
  echo "== $name"
  if (cd "$HERE" && "$@") 2>&1 | tee "$INTEROP_OUT/out_$name.txt"; then
    echo "== $name: passed"
  else
    echo "== $name: FAILED (see $INTEROP_OUT/out_$name.txt)"
    FAILED+=("$name")
  fi
}

step tc3           "$PY" check_tc3.py "$RUNS" "$SEED"
step huawei        "$PY" check_huawei.py "$RUNS" "$SEED"
step ciam          "$PY" check_ciam.py "$RUNS" "$SEED"
step smh_cloudbase "$PY" check_smh_cloudbase.py "$RUNS" "$SEED"
step verify        "$PY" check_verify.py
step oauth         "$PY" check_oauth.py "$RUNS" "$SEED"
step repro_dots        bash repro_dots.sh
step repro_tc3_prefix  "$PY" repro_tc3_prefix.py
step repro_ciam_basic  "$PY" repro_ciam_basic.py

echo
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "interop: FAILED: ${FAILED[*]} (output in $INTEROP_OUT)"
  exit 1
fi
echo "interop: all 9 steps passed (output in $INTEROP_OUT)"

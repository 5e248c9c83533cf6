# Shared helpers for the CLI/integration test scripts. The environment (set by CTest) gives
# SAGD (the binary), MPIEXEC, PYTHON (the system python with h5py) and SRC (the source tree).
set -u
: "${SAGD:?SAGD must point at the sagd binary}" "${MPIEXEC:=mpiexec}" "${PYTHON:=/usr/bin/python3}"
: "${SRC:?SRC must point at the source tree}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sagd-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
FAILS=0

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# sagd_np NP args...: run sagd on NP ranks
sagd_np() { local np=$1; shift; "$MPIEXEC" --oversubscribe -n "$np" "$SAGD" "$@"; }

# expect_bad "what" "text the message must contain" sagd-run-args...: run `sagd run ARGS` on 2
# ranks and check that bad input is refused cleanly: exit status 2, exactly one "sagd: error"
# line that contains the wanted text, and no output directory created (each call uses its own
# $TMP/outN). Records pass/fail; does not exit.
BAD_N=0
expect_bad() {
  local what=$1 want=$2; shift 2
  BAD_N=$((BAD_N + 1))
  local out="$TMP/out$BAD_N"
  sagd_np 2 run "$@" --out "$out" --quiet > "$TMP/stdout" 2> "$TMP/stderr"
  local st=$?
  local msg; msg=$(grep "sagd: error" "$TMP/stderr")
  if [ "$st" -ne 2 ]; then fail "$what: exit status $st, expected 2"; cat "$TMP/stderr"; return; fi
  if ! grep -qF -- "$want" <<< "$msg"; then fail "$what: message lacks '$want': $msg"; return; fi
  if [ "$(grep -c "sagd: error" "$TMP/stderr")" -ne 1 ]; then fail "$what: message printed more than once"; fi
  if [ -e "$out" ]; then fail "$what: output directory was created"; return; fi
  pass "$what -> $msg"
}

finish() {
  if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
  echo "all checks passed"; exit 0
}

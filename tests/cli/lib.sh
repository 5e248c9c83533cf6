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

finish() {
  if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed" >&2; exit 1; fi
  echo "all checks passed"; exit 0
}

# Preamble shared by the root-only study tests (tests/slurm/run.sh, tests/multinode/run.sh),
# which also run by hand outside CTest: locate the tree and the binary, the comparison
# helpers, MPI-as-root settings, and skip/fail/pass (exit 77 = CTest "skipped").
# The caller sets HERE (its own directory) before sourcing this file.
SRC=${SRC:-$(cd "$HERE/../.." && pwd)}
SAGD=${SAGD:-$SRC/build/sagd}
MPIEXEC=${MPIEXEC:-mpiexec}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
. "$SRC/tests/slurm/compare.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_rmaps_base_oversubscribe=1

skip() { echo "SKIP: $*"; exit 77; }
FAILS=0
PASSES=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; PASSES=$((PASSES + 1)); }

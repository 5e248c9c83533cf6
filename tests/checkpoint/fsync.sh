#!/usr/bin/env bash
# Durability of run files, observed through a stand-in for fsync(2) preloaded into sagd
# (fsync_shim.c, its path is $1; it logs each synced path and never touches the disk):
#  - by default every checkpoint.h5.tmp and result.h5.tmp is synced by every rank (each
#    rank's writes, as on a parallel file system where one client's fsync covers only its own
#    pages) before its rename, and the run directory after it;
#  - SAGD_FSYNC=0 (the rest of the suite runs with it) syncs nothing; a value other than 0 or 1
#    is refused with exit 2 before anything is created;
#  - a failing fsync of the result ends the run with a message naming the file, result.h5 is
#    not published, and the same command then finishes from the run's checkpoint, with the
#    bits of an uninterrupted run; a failing fsync of a checkpoint ends the run the same way.
. "$(dirname "$0")/../cli/lib.sh"
SHIM=${1:?usage: fsync.sh path/to/fsync_shim.so}
CFG="$SRC/data/em_gamma.ini"
args=(--quiet --set em.msteps=2 --set em.updates=20 --set checkpoint.every=10)

# run_shim OUT LOG [VAR=value...]: sagd on 2 ranks with the shim, SAGD_FSYNC unset unless given
run_shim() {
  local out=$1 log=$2; shift 2
  rm -f "$log"
  env -u SAGD_FSYNC LD_PRELOAD="$SHIM" FSYNC_SHIM_LOG="$log" "$@" \
    "$MPIEXEC" --oversubscribe -n 2 "$SAGD" run "$CFG" --out "$out" "${args[@]}" \
    2> "$out.err"
}
# count LOG PATH: how many times PATH was synced; procs LOG PATH: by how many processes
count() { [ -f "$1" ] && awk -v p="$2" '$2 == p' "$1" | wc -l || echo 0; }
procs() { [ -f "$1" ] && awk -v p="$2" '$2 == p { print $1 }' "$1" | sort -u | wc -l || echo 0; }

sagd_np 2 run "$CFG" --out "$TMP/ref" "${args[@]}" || fail "reference run failed"

run_shim "$TMP/on" "$TMP/on.log"; st=$?
d="$TMP/on"
nck=$(count "$TMP/on.log" "$d/checkpoint.h5.tmp"); pck=$(procs "$TMP/on.log" "$d/checkpoint.h5.tmp")
nres=$(count "$TMP/on.log" "$d/result.h5.tmp"); pres=$(procs "$TMP/on.log" "$d/result.h5.tmp")
ndir=$(count "$TMP/on.log" "$d")
last=$(tail -n 2 "$TMP/on.log" 2> /dev/null | awk '{ print $2 }' | tr '\n' ' ')
if [ $st -eq 0 ] && [ "$pck" -eq 2 ] && [ "$pres" -eq 2 ] && [ "$ndir" -ge 3 ] \
   && [ "$last" = "$d/result.h5.tmp $d " ]; then
  pass "default: each checkpoint ($nck syncs) and the result ($nres) synced by both ranks, the directory after each rename ($ndir), last the result then its directory"
else
  fail "default: status $st; checkpoint.h5.tmp synced $nck x by $pck processes, result.h5.tmp $nres x by $pres, directory $ndir x; last two: $last"
  cat "$TMP/on.err" "$TMP/on.log" 2> /dev/null
fi

run_shim "$TMP/off" "$TMP/off.log" SAGD_FSYNC=0; st=$?
if [ $st -eq 0 ] && [ ! -s "$TMP/off.log" ] && h5diff -q "$TMP/ref/result.h5" "$TMP/off/result.h5" \
     /results /results; then
  pass "SAGD_FSYNC=0: nothing synced, same results"
else
  fail "SAGD_FSYNC=0: status $st, synced: $(cat "$TMP/off.log" 2> /dev/null | tr '\n' ' ')"
fi

run_shim "$TMP/bad" "$TMP/bad.log" SAGD_FSYNC=yes; st=$?
if [ $st -eq 2 ] && grep -q "SAGD_FSYNC = 'yes': expected 1 .* or 0" "$TMP/bad.err" \
     && [ ! -e "$TMP/bad" ]; then
  pass "SAGD_FSYNC=yes refused -> $(grep 'sagd: error' "$TMP/bad.err")"
else
  fail "SAGD_FSYNC=yes: status $st, output dir $( [ -e "$TMP/bad" ] && echo created || echo absent)"
  cat "$TMP/bad.err"
fi

run_shim "$TMP/eio" "$TMP/eio.log" FSYNC_SHIM_FAIL=result.h5.tmp; st=$?
if [ $st -ne 0 ] && grep "sagd: error" "$TMP/eio.err" | grep -q "$TMP/eio/result.h5.tmp.*sync.*failed" \
     && [ ! -e "$TMP/eio/result.h5" ] && [ -e "$TMP/eio/checkpoint.h5" ]; then
  pass "failing fsync of the result: status $st, $(grep -m1 'sagd: error' "$TMP/eio.err"), not published"
else
  fail "failing fsync of the result: status $st"; cat "$TMP/eio.err"; ls "$TMP/eio"
fi
run_shim "$TMP/eio" "$TMP/eio2.log"; st=$?
if [ $st -eq 0 ] && h5diff -q "$TMP/ref/result.h5" "$TMP/eio/result.h5" /results /results; then
  pass "the same command then finishes, bit-identical to the uninterrupted run"
else
  fail "rerun after the failed fsync: status $st"; cat "$TMP/eio.err"
fi

run_shim "$TMP/eck" "$TMP/eck.log" FSYNC_SHIM_FAIL=checkpoint.h5.tmp; st=$?
if [ $st -ne 0 ] && grep "sagd: error" "$TMP/eck.err" | grep -q "$TMP/eck/checkpoint.h5.tmp.*sync.*failed" \
     && [ ! -e "$TMP/eck/checkpoint.h5" ] && [ ! -e "$TMP/eck/result.h5" ]; then
  pass "failing fsync of a checkpoint: status $st, $(grep -m1 'sagd: error' "$TMP/eck.err")"
else
  fail "failing fsync of a checkpoint: status $st"; cat "$TMP/eck.err"; ls "$TMP/eck"
fi
finish

#!/usr/bin/env bash
# Damaged checkpoints, wrong configs, finished runs, and `sagd inspect`:
#  - a truncated, a zeroed, and two bit-flipped (in the chain data; in the stored config
#    text) checkpoint.h5 are each detected (inspect exits 2), the run falls back to
#    checkpoint.h5.prev saying so, and finishes bit-identical to an uninterrupted run;
#  - both damaged: exit 2, both files byte-identical before and after (cmp), no result;
#  - a different config is refused naming the keys (files untouched); a [checkpoint] key
#    alone may differ;
#  - a complete result is reported and not recomputed; another config's result is refused;
#    --resume never needs --force; --resume FILE resumes from FILE;
#  - a finished result with a flipped bit (in a dataset; in the config text) is named and
#    recomputed from the run's checkpoints, bit-identical; with no checkpoint, exit 2 with
#    --force as the way out and the file left as it was.
# Work in /dev/shm when possible: these tests kill processes (the page cache survives), so
# they do not need a disk's fsync, which costs ~50 ms per checkpoint on a busy disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/cklib.sh"
CFG="$SRC/data/em_gamma.ini"
common=(--quiet --set em.msteps=2 --set em.updates=20)
run=( "${common[@]}" --set checkpoint.every=10 )
REF="$TMP/ref/result.h5"

sagd_np 2 run "$CFG" --out "$TMP/ref" "${common[@]}" --set checkpoint.every=0 \
  || fail "uninterrupted reference run failed"

# A stopped run with checkpoint.h5 (written on SIGUSR1) and checkpoint.h5.prev.
touch "$TMP/marker"; sleep 0.01
bg_start 2 "$TMP/stopped" "$TMP/stopped.log" "${run[@]}"
wait_fresh "$TMP/stopped/checkpoint.h5" "$TMP/marker" 30000 && kill -USR1 "$BG"
bg_wait
[ "$BG_STATUS" = 75 ] || { fail "the run to be stopped exited with $BG_STATUS"; cat "$TMP/stopped.log" >&2; }
G="$TMP/stopped"
[ -e "$G/checkpoint.h5" ] && [ -e "$G/checkpoint.h5.prev" ] \
  || fail "expected checkpoint.h5 and checkpoint.h5.prev in $G"
"$SAGD" inspect "$G/checkpoint.h5" > "$TMP/inspect_good.txt" 2>&1 \
  && grep -q "^checksums: *all [0-9]* verify" "$TMP/inspect_good.txt" \
  && grep -q "^theta: *sagd/theta = \[" "$TMP/inspect_good.txt" \
  && grep -q "^chains: *100 " "$TMP/inspect_good.txt" \
  && pass "inspect: a good checkpoint verifies (phase, theta, chains shown)" \
  || { fail "inspect on a good checkpoint"; cat "$TMP/inspect_good.txt" >&2; }

fresh_copy() { rm -rf "$1"; mkdir -p "$1"; cp "$G/checkpoint.h5" "$G/checkpoint.h5.prev" "$1/"; }

# flip BIT of the byte at OFFSET
flip() { "$PYTHON" - "$1" "$2" <<'EOF'
import sys
path, off = sys.argv[1], int(sys.argv[2])
with open(path, "r+b") as f:
    f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x04]))
EOF
}
data_offset() { "$PYTHON" -c "import h5py,sys; f=h5py.File(sys.argv[1],'r'); print(f['/state/chains/xi'].id.get_offset() + 8*37)" "$1"; }
text_offset() { "$PYTHON" -c "import sys; print(open(sys.argv[1],'rb').read().index(b'progress_every') + 3)" "$1"; }

for how in truncated zeroed flipped-data flipped-meta; do
  d="$TMP/$how"; fresh_copy "$d"
  f="$d/checkpoint.h5"
  case $how in
    truncated) truncate -s $(( $(stat -c %s "$f") / 2 )) "$f" ;;
    zeroed) dd if=/dev/zero of="$f" bs="$(stat -c %s "$f")" count=1 conv=notrunc status=none ;;
    flipped-data) flip "$f" "$(data_offset "$f")" ;;
    flipped-meta) flip "$f" "$(text_offset "$f")" ;;
  esac
  "$SAGD" inspect "$f" > "$TMP/inspect_$how.txt" 2>&1; st=$?
  [ $st = 2 ] && pass "$how: inspect exits 2 ($(grep -o 'checksum\|damaged\|metadata' "$TMP/inspect_$how.txt" | head -1))" \
    || { fail "$how: inspect exited $st"; cat "$TMP/inspect_$how.txt" >&2; }
  "$SAGD" inspect "$d/checkpoint.h5.prev" > /dev/null 2>&1 || fail "$how: inspect of .prev failed"
  # the run directory: both files are reported, and the damaged one makes it exit 2
  "$SAGD" inspect "$d" > "$TMP/inspect_dir_$how.txt" 2>&1; st=$?
  [ $st = 2 ] && [ "$(grep -c '^file:' "$TMP/inspect_dir_$how.txt")" -ge 1 ] &&
    grep -q 'checkpoint.h5.prev' "$TMP/inspect_dir_$how.txt" &&
    pass "$how: inspect DIR reports checkpoint.h5.prev and exits 2" ||
    { fail "$how: inspect DIR exited $st"; cat "$TMP/inspect_dir_$how.txt" >&2; }
  sagd_np 2 run "$CFG" --out "$d" "${run[@]}" > "$TMP/$how.log" 2>&1; st=$?
  if [ $st = 0 ] && grep -q "falling back to the previous checkpoint" "$TMP/$how.log"; then
    pass "$how: detected, fell back to checkpoint.h5.prev: $(grep -o 'warning: .\{0,90\}' "$TMP/$how.log" | head -1)..."
    check_same "$REF" "$d/result.h5" "$how newest checkpoint"
  else
    fail "$how: run exited $st without falling back"; cat "$TMP/$how.log" >&2
  fi
done

# Both damaged: refused, files untouched, nothing written.
d="$TMP/both"; fresh_copy "$d"
truncate -s 1000 "$d/checkpoint.h5"
dd if=/dev/zero of="$d/checkpoint.h5.prev" bs="$(stat -c %s "$d/checkpoint.h5.prev")" count=1 \
  conv=notrunc status=none
cp "$d/checkpoint.h5" "$TMP/both_newest"; cp "$d/checkpoint.h5.prev" "$TMP/both_prev"
sagd_np 2 run "$CFG" --out "$d" "${run[@]}" > "$TMP/both.log" 2>&1; st=$?
[ $st = 2 ] && grep -q "both checkpoints are damaged" "$TMP/both.log" \
  && pass "both damaged: refused with exit status 2" \
  || { fail "both damaged: exit $st"; cat "$TMP/both.log" >&2; }
cmp -s "$d/checkpoint.h5" "$TMP/both_newest" && cmp -s "$d/checkpoint.h5.prev" "$TMP/both_prev" \
  && pass "both damaged: both files byte-identical afterwards" || fail "both damaged: a file changed"
[ ! -e "$d/result.h5" ] && [ ! -e "$d/checkpoint.h5.tmp" ] \
  && pass "both damaged: nothing written" || fail "both damaged: something was written"

# Another config: refused, naming the keys; files untouched.
d="$TMP/config"; fresh_copy "$d"; cp "$d/checkpoint.h5" "$TMP/config_newest"
sagd_np 2 run "$CFG" --out "$d" "${run[@]}" --set sagd.delta=0.05 --set em.result=average \
  > "$TMP/config.log" 2>&1; st=$?
[ $st = 2 ] && grep -q "sagd.delta" "$TMP/config.log" && grep -q "em.result" "$TMP/config.log" \
  && pass "another config refused naming its keys: $(grep -o '2 key(s) differ: [a-z., ]*' "$TMP/config.log")" \
  || { fail "config mismatch: exit $st"; cat "$TMP/config.log" >&2; }
cmp -s "$d/checkpoint.h5" "$TMP/config_newest" || fail "config mismatch: the checkpoint changed"
# a [checkpoint] key alone may differ (it cannot change results)
sagd_np 2 run "$CFG" --out "$d" "${common[@]}" --set checkpoint.every=7 > "$TMP/neutral.log" 2>&1 \
  && check_same "$REF" "$d/result.h5" "resumed with another checkpoint.every" \
  || { fail "resume with another checkpoint.every failed"; cat "$TMP/neutral.log" >&2; }

# A complete result: reported, not recomputed; another config's result refused.
cp "$d/result.h5" "$TMP/complete_copy"
sagd_np 2 run "$CFG" --out "$d" "${run[@]}" > "$TMP/complete.log" 2>&1; st=$?
[ $st = 0 ] && grep -q "is complete" "$TMP/complete.log" && cmp -s "$d/result.h5" "$TMP/complete_copy" \
  && pass "a finished run: reported complete, exit 0, result.h5 untouched" \
  || { fail "finished run rerun: exit $st"; cat "$TMP/complete.log" >&2; }
sagd_np 1 run "$CFG" --out "$d" "${run[@]}" --set sagd.gamma=3 > "$TMP/other.log" 2>&1; st=$?
[ $st = 2 ] && grep -q "sagd.gamma" "$TMP/other.log" \
  && pass "another config's result refused naming sagd.gamma" || { fail "exit $st"; cat "$TMP/other.log" >&2; }
# --resume never needs --force
sagd_np 1 run "$CFG" --out "$d" "${run[@]}" --resume never > "$TMP/never.log" 2>&1; st=$?
[ $st = 2 ] && grep -q "add --force" "$TMP/never.log" \
  && pass "--resume never without --force refused: $(grep -o "would discard '[^']*'" "$TMP/never.log")" \
  || { fail "--resume never: exit $st"; cat "$TMP/never.log" >&2; }
sagd_np 2 run "$CFG" --out "$d" "${run[@]}" --resume never --force > "$TMP/force.log" 2>&1 \
  && check_same "$REF" "$d/result.h5" "--resume never --force (started over)" \
  || { fail "--resume never --force failed"; cat "$TMP/force.log" >&2; }

# --resume FILE: a named checkpoint (here the .prev of the stopped run), into an empty DIR.
sagd_np 2 run "$CFG" --out "$TMP/named" "${run[@]}" --resume "$G/checkpoint.h5.prev" \
  > "$TMP/named.log" 2>&1 \
  && check_same "$REF" "$TMP/named/result.h5" "--resume FILE" \
  || { fail "--resume FILE failed"; cat "$TMP/named.log" >&2; }
sagd_np 1 run "$CFG" --out "$TMP/named2" "${run[@]}" --resume "$TMP/both_newest" \
  > "$TMP/named2.log" 2>&1; st=$?
[ $st = 2 ] && pass "--resume of a damaged FILE refused (no fallback)" \
  || { fail "--resume damaged FILE: exit $st"; cat "$TMP/named2.log" >&2; }

# inspect on a result file and on something that is not HDF5
"$SAGD" inspect "$REF" > "$TMP/inspect_result.txt" 2>&1 && grep -q "^kind: *result" "$TMP/inspect_result.txt" \
  && grep -q "^theta: *sagd_theta = \[" "$TMP/inspect_result.txt" \
  && pass "inspect: a result file" || { fail "inspect result"; cat "$TMP/inspect_result.txt" >&2; }
grep -q "^checksums: *all [1-9][0-9]* datasets verify (arrays: HDF5 Fletcher32; scalars:" "$TMP/inspect_result.txt" &&
  pass "inspect: every dataset of the result carries a checksum: $(grep -o 'all [0-9]* datasets verify' "$TMP/inspect_result.txt")" ||
  fail "inspect: no Fletcher32 checksums in the result file"
# A result with one flipped bit in a dataset's stored data, and one in its metadata (the
# config attribute): both are refused with exit 2, the first naming the dataset.
PY=${PYTHON:-/usr/bin/python3}
"$PY" - "$REF" "$TMP/flip_data.h5" "$TMP/flip_meta.h5" <<'PYEOF'
import sys, h5py
src, out_data, out_meta = sys.argv[1:4]
with h5py.File(src, "r") as f:
    off = f["/trace/sagd/theta"].id.get_chunk_info(0).byte_offset + 8
b = bytearray(open(src, "rb").read())
d = bytearray(b); d[off] ^= 0x04
open(out_data, "wb").write(d)
m = bytearray(b); i = m.find(b"[em]"); m[i + 1] ^= 0x01
open(out_meta, "wb").write(m)
with h5py.File(src, "r") as f:  # a scalar's value (stored compact, in its object header)
    v = f["/results/max_loglik"][()]
import struct
c = bytearray(b); i = c.find(struct.pack("<d", v)); c[i] ^= 0x01
open(out_data + ".scalar", "wb").write(c)
PYEOF
"$SAGD" inspect "$TMP/flip_data.h5.scalar" > "$TMP/flip_scalar.txt" 2>&1; st=$?
[ $st = 2 ] && grep -q "metadata checksum" "$TMP/flip_scalar.txt" &&
  pass "result with a flipped bit in a scalar's value: inspect exits 2 (object header checksum)" ||
  { cat "$TMP/flip_scalar.txt"; fail "flipped scalar bit in result.h5: exit $st"; }
"$SAGD" inspect "$TMP/flip_data.h5" > "$TMP/flip_data.txt" 2>&1; st=$?
[ $st = 2 ] && grep -q "dataset '/trace/sagd/theta' is damaged (its Fletcher32 checksum does not match)" "$TMP/flip_data.txt" &&
  pass "result with a flipped data bit: inspect exits 2 naming /trace/sagd/theta" ||
  { cat "$TMP/flip_data.txt"; fail "flipped data bit in result.h5: exit $st"; }
"$SAGD" inspect "$TMP/flip_meta.h5" > "$TMP/flip_meta.txt" 2>&1; st=$?
[ $st = 2 ] && grep -q "metadata checksum" "$TMP/flip_meta.txt" &&
  pass "result with a flipped metadata bit: inspect exits 2 (HDF5 metadata checksum)" ||
  { cat "$TMP/flip_meta.txt"; fail "flipped metadata bit in result.h5: exit $st"; }
echo "not hdf5" > "$TMP/junk.h5"
"$SAGD" inspect "$TMP/junk.h5" > /dev/null 2>&1; st=$?
[ $st = 2 ] && pass "inspect: a non-HDF5 file exits 2" || fail "inspect junk: exit $st"
# A finished run whose result.h5 is damaged: `sagd run` names the damage and recomputes the
# result from the run's checkpoints (bit-identical); with no checkpoint left it refuses.
for dmg in flip_data flip_meta; do
  R="$TMP/redo_$dmg"; rm -rf "$R"; cp -r "$TMP/ref" "$R"; cp "$TMP/$dmg.h5" "$R/result.h5"
  sagd_np 2 run "$CFG" --out "$R" "${common[@]}" --set checkpoint.every=0 > "$TMP/redo.log" 2>&1; st=$?
  if [ $st = 0 ] && grep -q "warning: the finished result is damaged (.*): recomputing it from the checkpoints" "$TMP/redo.log"; then
    check_same "$REF" "$R/result.h5" "result with $dmg, recomputed from the checkpoints"
  else
    fail "result with $dmg: exit $st"; cat "$TMP/redo.log" >&2
  fi
done
R="$TMP/redo_nock"; rm -rf "$R"; mkdir -p "$R"; cp "$TMP/flip_data.h5" "$R/result.h5"
sagd_np 2 run "$CFG" --out "$R" "${common[@]}" --set checkpoint.every=0 > "$TMP/redo.log" 2>&1; st=$?
[ $st = 2 ] && grep -q "sagd: error: the finished result is damaged (.*/trace/sagd/theta.*) and there is no checkpoint to recompute it from: --force" "$TMP/redo.log" \
  && cmp -s "$TMP/flip_data.h5" "$R/result.h5" && [ "$(ls "$R")" = result.h5 ] \
  && pass "damaged result, no checkpoint: exit 2 naming the dataset and --force, nothing touched" \
  || { fail "damaged result without checkpoints: exit $st"; cat "$TMP/redo.log" >&2; }
finish

#!/usr/bin/env bash
# Bad input gets one clear message naming the key/value and what was expected, exit
# status 2, and nothing written (the output directory is not even created).
. "$(dirname "$0")/lib.sh"
cfg="$SRC/data/em_gamma.ini"

printf '[run]\nexperiment = em_gamma\n[bogus]\nx = 1\n' > "$TMP/unknown_section.ini"
printf '[sagd]\ndeltaa = 0.1\n' > "$TMP/unknown_key.ini"
printf '[sagd]\ndelta = fast\n' > "$TMP/bad_type.ini"
printf '[sagd\ndelta = 0.1\n' > "$TMP/syntax.ini"
printf '1.5\n2.0 3.1\n-0.5\n' > "$TMP/neg.txt"
printf '1.5\n0\n' > "$TMP/zero.txt"
printf '1.5 abc\n' > "$TMP/nan.txt"
mkdir -p "$TMP/dir.ini"

expect_bad "missing config" "nonexistent.ini" "$TMP/nonexistent.ini"
expect_bad "unreadable config (a directory)" "dir.ini" "$TMP/dir.ini"
expect_bad "unknown section" "bogus" "$TMP/unknown_section.ini"
expect_bad "unknown key" "deltaa" "$TMP/unknown_key.ini"
expect_bad "wrong type in file" "sagd.delta" "$TMP/bad_type.ini"
expect_bad "syntax error" "syntax.ini" "$TMP/syntax.ini"
expect_bad "wrong type (--set)" "sagd.delta" "$cfg" --set sagd.delta=abc
expect_bad "integer expected" "data.n" "$cfg" --set data.n=1.5
expect_bad "delta = 0" "sagd.delta" "$cfg" --set sagd.delta=0
expect_bad "theta0 outside the box" "model.theta0[0] = 50 is outside" "$cfg" --set model.theta0=50,1
expect_bad "delta < 0" "sagd.delta" "$cfg" --set sagd.delta=-0.1
expect_bad "gamma = 0" "sagd.gamma" "$cfg" --set sagd.gamma=0
expect_bad "gamma < 0" "sagd.gamma" "$cfg" --set sagd.gamma=-2
expect_bad "K < 1 (constant schedule)" "K0" "$cfg" --set sagd.schedule=constant --set sagd.K0=0
expect_bad "n = 0" "data.n" "$cfg" --set data.n=0
expect_bad "negative data" "-0.5" "$cfg" --set data.file="$TMP/neg.txt"
expect_bad "zero data" "x[1]" "$cfg" --set data.file="$TMP/zero.txt"
expect_bad "non-numeric data" "abc" "$cfg" --set data.file="$TMP/nan.txt"
expect_bad "missing data file" "nothere.txt" "$cfg" --set data.file="$TMP/nothere.txt"
expect_bad "malformed --set" "sagd.delta" "$cfg" --set sagd.delta
expect_bad "unknown experiment" "nosuch" "$cfg" --set run.experiment=nosuch
expect_bad "unknown sampler" "sagd.sampler = 'hamiltonian': expected one of underdamped, symplectic, overdamped" \
  "$cfg" --set sagd.sampler=hamiltonian
expect_bad "unknown schedule" "sagd.schedule = 'cosine': expected one of constant, thm3, thm4, em, power" \
  "$cfg" --set sagd.schedule=cosine
expect_bad "unknown optimizer" "sagd.optimizer = 'lbfgs': expected one of sgd, adam" \
  "$cfg" --set sagd.optimizer=lbfgs
expect_bad "theta0 wrong length" "model.theta0" "$cfg" --set model.theta0=1,2,3
expect_bad "too few quadrature nodes" "exact.nodes" "$cfg" --set exact.nodes=10
expect_bad "replication beyond the RNG's 48 bits" "run.replication = 281474976710656: expected a number below 2^48" \
  "$cfg" --set run.replication=281474976710656
# sizes that cannot fit in memory: refused before anything is allocated, naming the keys
expect_bad "data.n too large for memory" "data 40 TB (data.n)" "$cfg" --set data.n=1000000000000
expect_bad "sagd.chains too large for memory" "chains 5.12 TB (data.n, sagd.chains)" \
  "$cfg" --set sagd.chains=4000000000
# the limit is the node's physical memory (SAGD_MEMORY_BYTES stands in for it)
SAGD_MEMORY_BYTES=1000000 expect_bad "a node with 1 MB" "but the node has 1 MB" "$cfg" --set data.n=100000
expect_bad "unknown option" "--bogus" "$cfg" --bogus
expect_bad "bad --seed" "--seed" "$cfg" --seed abc
# keys the experiment does not read would be ignored silently: refused, naming who reads them
expect_bad "a deconv_vae key on em_gamma" "vae.methods = 'sagd' (read by deconv_vae)" "$cfg" \
  --set vae.methods=sagd
expect_bad "an em_gamma key on deconv_vae" "sagd.schedule = 'thm3' (read by em_gamma, em_plugin)" \
  "$SRC/data/table1-exp.ini" --set sagd.schedule=thm3
printf '[run]\nexperiment = em_gamma\n[hmc]\nleapfrog = 3\n' > "$TMP/unread.ini"
expect_bad "an unread key in the file" "hmc.leapfrog = '3' (read by deconv_vae with hmc in vae.methods; by mnist_vae with hmc in vae.finetune)" "$TMP/unread.ini"
# a type's own keys are read only when the run chooses that type
expect_bad "friction without momentum" \
  "sagd.gamma = '2' (read by deconv_vae, em_gamma, mnist_vae, em_plugin with sagd.sampler = underdamped or symplectic)" \
  "$cfg" --set sagd.sampler=overdamped
expect_bad "adam's betas with sgd" "sagd.beta1 = '0.8' (read by deconv_vae, em_gamma, mnist_vae, em_plugin with sagd.optimizer = adam)" \
  "$cfg" --set sagd.beta1=0.8
expect_bad "a schedule parameter the schedule does not use" \
  "sagd.c2 = '2' (read by em_gamma, em_plugin with sagd.schedule = thm3, thm4 or power)" "$cfg" --set sagd.c2=2
expect_bad "iwae.k without the iwae method" "iwae.k = '50' (read by deconv_vae with iwae in vae.methods)" \
  "$SRC/data/table1-exp.ini" --set vae.methods=vae,sagd
expect_bad "a method list with a blank-separated unknown name" "vae.methods: unknown name 'gibbs'" \
  "$SRC/data/table1-exp.ini" --set "vae.methods=vae gibbs"
expect_bad "--set-if-read checks the key" "--set-if-read sagd.deltaa=1: unknown key 'deltaa'" \
  "$cfg" --set-if-read sagd.deltaa=1
# --set-if-read: applied where read, a note where not
sagd_np 1 run "$cfg" --set em.msteps=1 --set em.updates=3 --set exact.enabled=false \
  --set-if-read vae.methods=sagd --set-if-read sagd.delta=0.07 --out "$TMP/ifread" --quiet \
  2> "$TMP/ifread.err"; st=$?
if [ $st -eq 0 ] && grep -q "note: --set-if-read vae.methods=sagd: not applied, em_gamma does not read it" "$TMP/ifread.err" \
   && h5dump -a /meta/config "$TMP/ifread/result.h5" 2>/dev/null | grep -q "delta = 0.07"; then
  pass "--set-if-read: applied to a key em_gamma reads, noted for one it does not"
else
  fail "--set-if-read: status $st"; cat "$TMP/ifread.err"
fi
expect_bad "progress_every beyond an int" "run.progress_every = 3000000000: expected 0 .. 2147483647" "$cfg" --set run.progress_every=3000000000

# Output path that cannot be written (a regular file in the way).
touch "$TMP/afile"
sagd_np 2 run "$cfg" --out "$TMP/afile/sub" --quiet 2> "$TMP/stderr"; st=$?
if [ $st -eq 2 ] && grep -q "afile" "$TMP/stderr" && [ ! -e "$TMP/afile/sub" ]; then
  pass "unwritable output -> $(grep 'sagd: error' "$TMP/stderr")"
else
  fail "unwritable output: status $st"; cat "$TMP/stderr"
fi
# An existing result is not overwritten by a run that fails on bad input.
mkdir -p "$TMP/keep" && echo precious > "$TMP/keep/result.h5"
sagd_np 2 run "$cfg" --out "$TMP/keep" --set sagd.delta=-1 --quiet 2> /dev/null
[ "$(cat "$TMP/keep/result.h5")" = precious ] && [ "$(ls "$TMP/keep")" = result.h5 ] \
  && pass "existing result untouched by a failed run" || fail "existing result was touched"
# --help lists each key once; a type's own keys are shown with the types that read them
sagd_np 1 run --help > "$TMP/help.txt" 2>&1
if [ "$(grep -c '^  sagd.gamma ' "$TMP/help.txt")" = 1 ] \
   && grep -q '^  sagd.gamma .*\[sagd.sampler = underdamped or symplectic\]' "$TMP/help.txt" \
   && grep -q '^  iwae.k .*\[with iwae in vae.methods\]' "$TMP/help.txt" \
   && grep -q '^  vae.methods .*any of: vae, iwae, hmc, sagd' "$TMP/help.txt"; then
  pass "--help: each key once, the types' keys with their owners, choices from the registries"
else
  fail "--help"; grep -E '^  (sagd.gamma|iwae.k|vae.methods) ' "$TMP/help.txt"
fi
finish

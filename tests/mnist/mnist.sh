#!/usr/bin/env bash
# mnist_vae on a reduced setting (tests/mnist/small.ini), by mode:
#   ranks  : 1, 2 and 3 ranks give bit-identical result.h5 (single precision; double on 1 and
#            2; fine-tuned by sagd and by coupled), and the result holds what README
#            documents: finite held-out scores with
#            SEs, per-digit scores, the traced estimates, the figure's arrays (means in
#            [0, 1]); jobs/figures.py draws figure3.png and `sagd table` its table;
#   resume : SIGKILLed after checkpoints (2 ranks), resumed on 3: bit-identical;
#   bad    : damaged image files and bad keys exit 2 naming the problem, nothing written;
#   idx    : Debian's Fashion-MNIST IDX files (gzip) as data.file / data.test_file;
#   full   : data/mnist.ini (label long, ~8 min on 2 ranks): SAGD's gain over the VAE > 3 SE.
. "$SRC/tests/cli/lib.sh"
. "$SRC/tests/checkpoint/cklib.sh"
mode=$1
CFG="$SRC/tests/mnist/small.ini"
common=(--quiet --set data.file="$SRC/data/mnist/mnist.h5")
[ -e "$SRC/data/mnist/mnist.h5" ] || { fail "data/mnist/mnist.h5 is missing: run jobs/setup-debian.sh"; finish; }
same() { # REF NEW WHAT
  local ex=(--exclude-path /meta --exclude-path /trace/pretrain/seconds
            --exclude-path /results/pretrain/seconds) m
  for m in sagd coupled; do
    ex+=(--exclude-path "/trace/$m/seconds" --exclude-path "/trace/${m}_refit/seconds"
         --exclude-path "/results/$m/seconds" --exclude-path "/results/$m/refit_seconds")
  done
  if h5diff -q "${ex[@]}" "$1" "$2"; then
    pass "$3"
  else
    fail "$3: result.h5 differs"
    h5diff -r --exclude-path /meta "$1" "$2" | grep -v "^0 differences" | head -6 >&2
  fi
}
run_np() { # NP DIR args...
  local np=$1 dir=$2; shift 2
  sagd_np "$np" run "$CFG" --out "$dir" "${common[@]}" "$@" > "$dir.log" 2>&1 \
    || { fail "$np-rank run failed"; cat "$dir.log" >&2; finish; }
}
case "$mode" in
ranks)
  for np in 1 2 3; do run_np "$np" "$TMP/s$np"; done
  same "$TMP/s1/result.h5" "$TMP/s2/result.h5" "single precision: 2 ranks = 1 rank, bit for bit"
  same "$TMP/s1/result.h5" "$TMP/s3/result.h5" "single precision: 3 ranks = 1 rank, bit for bit"
  for np in 1 2; do run_np "$np" "$TMP/d$np" --set model.precision=double; done
  same "$TMP/d1/result.h5" "$TMP/d2/result.h5" "double precision: 2 ranks = 1 rank, bit for bit"
  "$PYTHON" - "$TMP/s3/result.h5" <<'PY' && pass "result.h5 contents" || fail "result.h5 contents"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
ok = True
def check(cond, what):
    global ok
    if not cond:
        print("bad:", what); ok = False
for g in ("pretrain", "sagd", "coupled"):
    ll, se = f[f"results/{g}/test_loglik"][()], f[f"results/{g}/test_loglik_se"][()]
    d = f[f"results/{g}/test_loglik_digits"][:]
    check(np.isfinite(ll) and ll < 0 and se > 0, f"{g} score {ll} ({se})")
    check(d.shape == (20,) and abs(d.mean() - ll) < 1e-9 * abs(ll), f"{g} digits mean")
    check(abs(d.std(ddof=1) / np.sqrt(20) - se) < 1e-9 * se, f"{g} SE")
for m in ("sagd", "coupled"):
    g = f[f"results/{m}/gain_over_pretrain"][()]
    check(abs(g - (f[f"results/{m}/test_loglik"][()] - f["results/pretrain/test_loglik"][()])) < 1e-9,
          f"{m} gain")
    check(f[f"results/{m}/test_loglik_pretrain_encoder"][()] == f[f"trace/{m}/test_loglik"][-1],
          f"{m}: the pre-trained encoder's score ends its trace")
for ph, T in (("pretrain", 6), ("sagd", 4), ("sagd_refit", 4), ("coupled", 4), ("coupled_refit", 4)):
    it = f[f"trace/{ph}/test_loglik_iter"][:]
    check(list(it) == list(range(3, T, 3)) + [T], f"{ph} trace iterations {list(it)}")
    check(len(f[f"trace/{ph}/grad_norm"]) == T, f"{ph} trace length")
check(f["trace/pretrain/test_loglik"][-1] == f["results/pretrain/test_loglik"][()], "trace end")
for k, shape in (("latent", (100, 8)), ("pretrain_means", (100, 28, 28)), ("sagd_means", (100, 28, 28)),
                 ("coupled_means", (100, 28, 28)), ("test_digits", (10, 28, 28)),
                 ("pretrain_reconstructions", (10, 28, 28)), ("sagd_reconstructions", (10, 28, 28)),
                 ("coupled_reconstructions", (10, 28, 28))):
    a = f["figure/" + k][...]
    check(a.shape == shape, f"figure/{k} shape {a.shape}")
    if k != "latent":
        check(a.min() >= 0 and a.max() <= 1, f"figure/{k} in [0, 1]")
check(not np.array_equal(f["figure/pretrain_means"][...], f["figure/sagd_means"][...]), "SAGD moved the generator")
check(not np.array_equal(f["figure/pretrain_means"][...], f["figure/coupled_means"][...]),
      "the coupled method moved the generator")
check(f["chains/sagd/xi"].shape == (400, 8), "chains")
tau = f["results/coupled/meeting_time"][...]
check(tau.shape == (200, 1) and tau.min() >= 1 and np.all(tau == np.round(tau)),
      f"meeting times {tau.shape} in [{tau.min()}, {tau.max()}]")
mt = f["trace/coupled/meeting_time"][:]
check(len(mt) == 4 and np.all(mt >= 1) and f["trace/coupled/capped"][:].sum() == 0, "meeting-time trace")
print("pretrain %.3f (%.3f), sagd %.3f (%.3f), coupled %.3f (%.3f), mean tau %.2f" % (
      f["results/pretrain/test_loglik"][()], f["results/pretrain/test_loglik_se"][()],
      f["results/sagd/test_loglik"][()], f["results/sagd/test_loglik_se"][()],
      f["results/coupled/test_loglik"][()], f["results/coupled/test_loglik_se"][()], tau.mean()))
sys.exit(0 if ok else 1)
PY
  "$PYTHON" "$SRC/jobs/figures.py" --out "$TMP/fig" "$TMP/s3" > "$TMP/fig.log" 2>&1 \
    && [ -s "$TMP/fig/figure3.png" ] && pass "jobs/figures.py drew figure3.png" \
    || { fail "figure3.png"; cat "$TMP/fig.log" >&2; }
  "$SAGD" table "$TMP/s1" "$TMP/s2" "$TMP/s3" > "$TMP/table.md" 2>&1 \
    && grep -q "| SAGD - VAE |" "$TMP/table.md" && grep -q "| Coupled - VAE |" "$TMP/table.md" \
    && pass "sagd table: the mnist_vae table" \
    || { fail "sagd table on mnist_vae runs"; cat "$TMP/table.md" >&2; }
  ;;
full)
  # the default-size run of README (data/mnist.ini, minutes): SAGD must raise the held-out
  # log-likelihood by more than 3 SE of the paired difference
  D="$TMP/full"
  sagd_np 2 run "$SRC/data/mnist.ini" --out "$D" --set data.file="$SRC/data/mnist/mnist.h5" \
    > "$D.log" 2>&1 || { fail "data/mnist.ini run failed"; cat "$D.log" >&2; finish; }
  tail -6 "$D.log"
  "$PYTHON" -c "
import h5py, sys
f = h5py.File('$D/result.h5', 'r')
g, se = f['results/sagd/gain_over_pretrain'][()], f['results/sagd/gain_over_pretrain_se'][()]
print('SAGD - VAE = %.3f (SE %.3f)' % (g, se))
sys.exit(0 if g > 3 * se else 1)" && pass "SAGD improves the held-out log-likelihood" \
    || fail "SAGD does not improve the held-out log-likelihood by 3 SE"
  "$PYTHON" "$SRC/jobs/figures.py" --out "$D" "$D" && [ -s "$D/figure3.png" ] \
    && pass "figure3.png" || fail "figure3.png"
  ;;
resume)
  run_np 1 "$TMP/ref"
  D="$TMP/killed"
  run=("${common[@]}" --set checkpoint.every=2)
  kill_repeatedly 2 "$D" "${run[@]}"
  kills=$KILLS
  SAGD_CHECKPOINT_DELAY_MS=0 sagd_np 3 run "$CFG" --out "$D" "${run[@]}" > "$TMP/final.log" 2>&1 \
    || { fail "final resume (3 ranks) failed"; cat "$TMP/final.log" >&2; }
  [ "$kills" -ge 2 ] && pass "$kills kills" || fail "only $kills kills (runs ended too soon)"
  same "$TMP/ref/result.h5" "$D/result.h5" \
    "killed $kills times and resumed (last on 3 ranks): result.h5 identical to an uninterrupted run"
  ;;
bad)
  F=/usr/share/datasets/fashion-mnist
  gzip -dc "$F/t10k-images-idx3-ubyte.gz" > "$TMP/t10k"
  head -c 100000 "$TMP/t10k" > "$TMP/truncated"
  { printf '\0\0\10\1'; tail -c +5 "$TMP/t10k"; } > "$TMP/magic"
  head -c 5000 "$F/t10k-images-idx3-ubyte.gz" > "$TMP/truncated.gz"
  echo '{"data": [0, 1' > "$TMP/not-images.json"
  expect_bad "truncated IDX" "is truncated" "$CFG" --set data.file="$TMP/truncated" --set data.test_file="$TMP/t10k"
  expect_bad "truncated gzip IDX" "truncated" "$CFG" --set data.file="$TMP/t10k" --set data.test_file="$TMP/truncated.gz"
  expect_bad "wrong magic" "magic number 0x00000801: expected 0x00000803" "$CFG" --set data.file="$TMP/magic" --set data.test_file="$TMP/t10k"
  expect_bad "a JSON file as images" "magic number" "$CFG" --set data.file="$TMP/not-images.json" --set data.test_file="$TMP/t10k"
  expect_bad "missing file" "cannot read image file" "$CFG" --set data.file="$TMP/none.h5"
  expect_bad "empty data.file" "data.file is empty" "$CFG" --set data.file=
  expect_bad "IDX without test file" "expected data.test_file" "$CFG" --set data.file="$TMP/t10k"
  expect_bad "test file with HDF5" "expected data.test_file empty" "$CFG" "${common[@]}" --set data.test_file="$TMP/t10k"
  expect_bad "data.n above the split" "data.n = 9001: expected at most the 9000" "$CFG" "${common[@]}" --set data.n=9001
  expect_bad "data.test_n above the split" "data.test_n = 1001" "$CFG" "${common[@]}" --set data.test_n=1001
  expect_bad "gaussian likelihood" "model.likelihood = 'gaussian'" "$CFG" "${common[@]}" --set model.likelihood=gaussian
  expect_bad "bad layer" "model.generator_layers: item 2 'pool'" "$CFG" "${common[@]}" --set model.generator_layers="dense 64; pool 2"
  expect_bad "generator output size" "expected one per pixel, 784" "$CFG" "${common[@]}" --set model.generator_layers="dense 100"
  expect_bad "encoder output size" "expected 2 x model.latent = 16" "$CFG" "${common[@]}" --set model.encoder_layers="dense 20"
  expect_bad "a fine-tuning that trains the encoder" "vae.finetune: unknown name 'iwae': expected a comma-separated list of hmc, sagd, coupled, ald" "$CFG" "${common[@]}" --set vae.finetune=coupled,iwae
  expect_bad "an unknown fine-tuning" "vae.finetune: unknown name 'sgd'" "$CFG" "${common[@]}" --set vae.finetune=sgd
  h5="$TMP/other.h5"; "$PYTHON" -c "import h5py; h5py.File('$h5','w').create_dataset('x', data=[1.0])"
  expect_bad "HDF5 without images" "has no /train/images" "$CFG" --set data.file="$h5"
  ;;
idx)
  F=/usr/share/datasets/fashion-mnist
  run_np 2 "$TMP/fashion" --set data.file="$F/train-images-idx3-ubyte.gz" \
    --set data.test_file="$F/t10k-images-idx3-ubyte.gz"
  "$PYTHON" -c "
import h5py, numpy as np, sys
f = h5py.File('$TMP/fashion/result.h5', 'r')
v = [f['results/pretrain/test_loglik'][()], f['results/sagd/test_loglik'][()]]
print('fashion-mnist:', v)
sys.exit(0 if all(np.isfinite(v)) else 1)" && pass "Fashion-MNIST IDX (gzip) run" || fail "Fashion-MNIST run"
  ;;
*) fail "unknown mode $mode" ;;
esac
finish

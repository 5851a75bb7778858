#!/usr/bin/env python3
"""holdout_idx: writes a model's hold-out images (heldout.json: the range of
the Fashion-MNIST training file its weights never trained on) as an IDX pair,
so vitskip chooses cascade thresholds on images no level trained on:

    python3 tools/finetune/holdout_idx.py --model models/fm197 \\
        --data /usr/share/datasets/fashion-mnist --out holdout
    vitskip eval --level ... --val holdout/holdout-images-idx3-ubyte.gz

Writes OUT/holdout-images-idx3-ubyte.gz and OUT/holdout-labels-idx1-ubyte.gz
(gzip without a time stamp: the same input gives the same bytes). Plain
Python, no PyTorch. Exit status: 0 done, 2 bad input (the message names the
file and what was expected).
"""
import argparse
import gzip
import json
import os
import struct
import sys


class InputError(Exception):
    pass


def read_gz(path):
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except OSError as ex:
        raise InputError("%s: cannot read: %s" % (path, ex))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="checkpoint folder with heldout.json")
    ap.add_argument("--data", required=True, help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    hp = os.path.join(a.model, "heldout.json")
    try:
        with open(hp) as f:
            h = json.load(f)
    except OSError as ex:
        raise InputError("%s: cannot read: %s" % (hp, ex.strerror))
    except ValueError as ex:
        raise InputError("%s: not JSON: %s" % (hp, ex))
    if not isinstance(h, dict) or h.get("split") != "train" or \
            not isinstance(h.get("first"), int) or not isinstance(h.get("count"), int) or \
            h["first"] < 0 or h["count"] < 1:
        raise InputError('%s: expected {"split": "train", "first": N, "count": N > 0}' % hp)
    first, count = h["first"], h["count"]
    ip = os.path.join(a.data, "train-images-idx3-ubyte.gz")
    lp = os.path.join(a.data, "train-labels-idx1-ubyte.gz")
    img, lab = read_gz(ip), read_gz(lp)
    if len(img) < 16 or struct.unpack_from(">I", img, 0)[0] != 0x803:
        raise InputError("%s: not an IDX image file" % ip)
    if len(lab) < 8 or struct.unpack_from(">I", lab, 0)[0] != 0x801:
        raise InputError("%s: not an IDX label file" % lp)
    n, rows, cols = struct.unpack_from(">III", img, 4)
    if len(img) != 16 + n * rows * cols or struct.unpack_from(">I", lab, 4)[0] != n or \
            len(lab) != 8 + n:
        raise InputError("%s, %s: sizes disagree with their headers" % (ip, lp))
    if first + count > n:
        raise InputError("%s: images %d..%d, the training file has %d"
                         % (hp, first, first + count - 1, n))
    px = rows * cols
    os.makedirs(a.out, exist_ok=True)
    for name, data in (
            ("holdout-images-idx3-ubyte.gz", struct.pack(">IIII", 0x803, count, rows, cols) +
             img[16 + first * px:16 + (first + count) * px]),
            ("holdout-labels-idx1-ubyte.gz", struct.pack(">II", 0x801, count) +
             lab[8 + first:8 + first + count])):
        with open(os.path.join(a.out, name), "wb") as f:
            with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
                g.write(data)
    print("holdout_idx: images %d..%d of %s -> %s/holdout-*-idx*-ubyte.gz"
          % (first, first + count - 1, ip, a.out))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as ex:
        print("holdout_idx: %s" % ex, file=sys.stderr)
        sys.exit(2)

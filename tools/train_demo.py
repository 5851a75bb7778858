#!/usr/bin/env python3
"""Trains vitskip's bundled demo model (models/demo): a Hugging Face-format
ViT (image 28, patch 7 -> 17 tokens, width 64, 8 encoders, 4 heads, MLP 256)
on Fashion-MNIST, minus the hold-out (training images 55000..59999, recorded
in heldout.json), with tools/vkvit.py. Runs on a PyTorch GPU machine (or the
CPU, slowly).

Skip-aware training: for each batch and each encoder independently, with
probability --skip-p the whole attention branch is dropped (x = x +
MLP(LN2(x))), exactly what a skipped encoder (S) computes at inference.
AdamW (lr 2e-3, weight decay 0.05), batch 256, 5% warm-up then cosine,
label smoothing 0.1, random flips and 2-pixel translations, bf16 autocast on
the GPU. The saved weights are float32, FFN neurons sorted by importance.

usage: train_demo.py --data DIR --out DIR [--epochs 30] [--seed 0]
"""
import argparse
import os
import random
import time

import torch

import vkvit
import vktrain


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-p", type=float, default=0.25)
    ap.add_argument("--time-budget", type=float, default=None, help="seconds of training")
    ap.add_argument("--limit", type=int, default=None, help="smoke test: images per split")
    ap.add_argument("--max-steps", type=int, default=None, help="smoke test: stop early")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.set_float32_matmul_precision("highest")
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    data = vktrain.load_fmnist(a.data, a.limit)
    cfg = vkvit.vit_config(28, 7, 1, 64, 8, 4, 256, vktrain.LABELS)
    model = vkvit.VKViT(cfg).to(dev)
    log = vktrain.Log()
    sampler = vktrain.ModeSampler(8, attn={"F": 1 - a.skip_p, "S": a.skip_p}, seed=a.seed)
    t0 = time.time()
    log("torch %s, device %s (%s), seed %d, epochs %d, batch 256, AdamW lr 2e-3 wd 0.05, "
        "skip-aware: %s" % (torch.__version__, dev, torch.cuda.get_device_name(dev)
                            if dev.type == "cuda" else "cpu", a.seed, a.epochs, sampler.describe()))
    log("trained on training images 0..%d; hold-out %s (never trained on)" % (
        vktrain.HOLDOUT["first"] - 1, vktrain.HOLDOUT))
    ep = vktrain.train(model, data, dev, a.epochs, 256, 2e-3, 0.05, sampler, log,
                       time_budget=a.time_budget, max_steps=a.max_steps)
    log("%d epochs in %.0f s" % (ep, time.time() - t0))
    vkvit.save_pretrained(model.cpu(), a.out, torch.float32,
                          vkvit.preprocessor_config(28, [vktrain.MEAN], [vktrain.STD]))
    vktrain.write_meta(a.out)
    log.write(os.path.join(a.out, "train_log.txt"))
    vktrain.report(a.out, data, dev, log, vktrain.eval_paths(8))
    log.write(os.path.join(a.out, "train_log.txt"))


if __name__ == "__main__":
    main()

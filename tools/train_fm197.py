#!/usr/bin/env python3
"""Trains vitskip's 197-token model (models/fm197): Fashion-MNIST at patch 2
(14 x 14 = 196 patches + the class token = 197 tokens, DeiT's count) with
DeiT-Tiny's width (192, 3 heads, 12 encoders, MLP 768), in Hugging Face ViT
format, with tools/vkvit.py, on the training file minus the hold-out
(images 55000..59999, recorded in heldout.json). Runs on a PyTorch GPU
machine.

Mode-aware training, so the cheap paths the search proposes stay accurate:
each batch runs one random valid path (vktrain.ModeSampler): with
probability 0.4 the full model; otherwise each encoder draws its attention
(F 0.5, S 0.2, H 0.15, R 0.15; an R with no valid source becomes F), keeps
85/70/50% of its patch tokens with probability 0.15 (F/H encoders) and
drops 25/50% of its FFN neurons with probability 0.25. Every 100 steps the
FFN neurons are re-sorted by importance (with AdamW's moments), so :f drops
the neurons that are least important at that point, as at deployment.
AdamW (lr 1e-3, weight decay 0.05), batch 512, 5% warm-up then cosine,
label smoothing 0.1, random flips and 2-pixel translations, bf16 autocast.
Saved as float16 when float32 would exceed 12 MB (FFN sorted on the rounded
weights; the log's accuracies are of the saved weights).

usage: train_fm197.py --data DIR --out DIR [--epochs 100] [--time-budget S]
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
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
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
    cfg = vkvit.vit_config(28, 2, 1, 192, 12, 3, 768, vktrain.LABELS)
    model = vkvit.VKViT(cfg).to(dev)
    n_par = sum(p.numel() for p in model.parameters())
    dtype = torch.float16 if n_par * 4 > 12e6 else torch.float32
    log = vktrain.Log()
    sampler = vktrain.ModeSampler(12, p_full=0.4, attn={"F": 0.5, "S": 0.2, "H": 0.15, "R": 0.15},
                                  p_keep=0.15, p_ffn=0.25, seed=a.seed)
    t0 = time.time()
    log("torch %s, device %s (%s), seed %d, epochs %d, batch %d, AdamW lr %g wd 0.05, "
        "%d parameters, saved as %s" % (
            torch.__version__, dev, torch.cuda.get_device_name(dev) if dev.type == "cuda"
            else "cpu", a.seed, a.epochs, a.batch, a.lr, n_par, str(dtype).split(".")[1]))
    log("mode-aware: %s; FFN re-sorted every 100 steps" % sampler.describe())
    log("trained on training images 0..%d; hold-out %s (never trained on)" % (
        vktrain.HOLDOUT["first"] - 1, vktrain.HOLDOUT))
    ep = vktrain.train(model, data, dev, a.epochs, a.batch, a.lr, 0.05, sampler, log,
                       time_budget=a.time_budget, sort_every=100, max_steps=a.max_steps)
    log("%d epochs in %.0f s" % (ep, time.time() - t0))
    vkvit.save_pretrained(model.cpu(), a.out, dtype,
                          vkvit.preprocessor_config(28, [vktrain.MEAN], [vktrain.STD]))
    vktrain.write_meta(a.out)
    log.write(os.path.join(a.out, "train_log.txt"))
    vktrain.report(a.out, data, dev, log, vktrain.eval_paths(12))
    log.write(os.path.join(a.out, "train_log.txt"))


if __name__ == "__main__":
    main()

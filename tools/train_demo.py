#!/usr/bin/env python3
"""Trains vitskip's bundled demo model: a small Hugging Face ViT on
Fashion-MNIST, saved with save_pretrained (config.json, model.safetensors,
preprocessor_config.json). Runs on a PyTorch GPU machine (or CPU, slowly).

Skip-aware training: for each batch and each encoder independently, with
probability --skip-p the whole attention branch is dropped (hidden = hidden +
MLP(LN2(hidden))), exactly what a "skipped" encoder computes at inference,
so that paths with skipped attentions degrade gracefully.

usage: train_demo.py --data DIR --out DIR [--epochs 30] [--seed 0]
"""
import argparse
import gzip
import json
import math
import os
import random
import struct
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
          "Sneaker", "Bag", "Ankle boot"]
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack_from(">II", data, 0)
    if magic == 0x803:
        h, w = struct.unpack_from(">II", data, 8)
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).view(n, 1, h, w)
    assert magic == 0x801, path
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def load(data_dir, split):
    x = read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % split))
    y = read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % split))
    return x, y


def normalize(x_u8):
    return (x_u8.float() / 255.0 - MEAN) / STD


def install_skip(model):
    """Wraps each ViTLayer so that its attention can be skipped per call:
    state["skip"] is None (all full) or a list of 8 booleans."""
    state = {"skip": None, "tensor_out": True}
    layers = [m for m in model.modules() if type(m).__name__ == "ViTLayer"]
    for i, layer in enumerate(layers):
        def fwd(hidden_states, *args, _orig=layer.forward, _layer=layer, _i=i, **kwargs):
            s = state["skip"]
            if s is not None and s[_i]:
                h = hidden_states
                if hasattr(_layer, "mlp"):  # transformers >= 5
                    out = h + _layer.mlp(_layer.layernorm_after(h))
                else:  # transformers 4: ViTIntermediate + ViTOutput (adds h)
                    out = _layer.output(_layer.intermediate(_layer.layernorm_after(h)), h)
                return out if state["tensor_out"] else (out,)
            r = _orig(hidden_states, *args, **kwargs)
            state["tensor_out"] = isinstance(r, torch.Tensor)
            return r

        layer.forward = fwd
    with torch.no_grad():  # learn the layers' return type
        p = next(model.parameters())
        model(pixel_values=torch.zeros(1, 1, 28, 28, device=p.device))
    return state


def evaluate(model, x, y, dev, state, skip=None):
    model.eval()
    state["skip"] = skip
    ok = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            xb = normalize(x[i:i + 1000]).to(dev)
            ok += (model(pixel_values=xb).logits.argmax(-1).cpu() == y[i:i + 1000]).sum().item()
    state["skip"] = None
    return 100.0 * ok / len(x)


def augment(xb):
    # random horizontal flip and translation by up to 2 pixels (zero padding)
    flip = torch.rand(xb.shape[0], device=xb.device) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    pad = F.pad(xb, (2, 2, 2, 2))
    dx, dy = random.randint(0, 4), random.randint(0, 4)
    return pad[:, :, dy:dy + 28, dx:dx + 28]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-p", type=float, default=0.25)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    cfg = ViTConfig(image_size=28, patch_size=7, num_channels=1, hidden_size=64,
                    num_hidden_layers=8, num_attention_heads=4, intermediate_size=256,
                    hidden_act="gelu", layer_norm_eps=1e-12, qkv_bias=True,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=10,
                    id2label={i: n for i, n in enumerate(LABELS)},
                    label2id={n: i for i, n in enumerate(LABELS)})
    model = ViTForImageClassification(cfg).to(dev)
    state = install_skip(model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    bs = 256
    steps = a.epochs * math.ceil(len(xtr) / bs)
    warm = steps // 20
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    xtr_d, ytr_d = xtr.to(dev), ytr.to(dev)
    log = []
    t0 = time.time()
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(len(xtr), device=dev)
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb = normalize(augment(xtr_d[idx]))
            state["skip"] = [random.random() < a.skip_p for _ in range(8)]
            loss = F.cross_entropy(model(pixel_values=xb).logits, ytr_d[idx], label_smoothing=0.1)
            state["skip"] = None
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(model, xte, yte, dev, state)
        line = "epoch %d loss %.4f test top-1 %.2f%% (%.0fs)" % (ep + 1, loss.item(), acc, time.time() - t0)
        print(line, flush=True)
        log.append(line)
    full = evaluate(model, xte, yte, dev, state)
    alt = evaluate(model, xte, yte, dev, state, [i % 2 == 1 for i in range(8)])
    none = evaluate(model, xte, yte, dev, state, [True] * 8)
    model = model.cpu()
    os.makedirs(a.out, exist_ok=True)
    # a clean model (no wrapped forwards) for saving
    clean = ViTForImageClassification(cfg)
    clean.load_state_dict(model.state_dict())
    clean.save_pretrained(a.out, safe_serialization=True)
    ViTImageProcessor(do_resize=False, size={"height": 28, "width": 28}, do_rescale=True,
                      rescale_factor=1 / 255, do_normalize=True, image_mean=[MEAN],
                      image_std=[STD]).save_pretrained(a.out)
    with open(os.path.join(a.out, "train_log.txt"), "w") as f:
        f.write("torch %s, transformers %s, device %s, seed %d, epochs %d, skip-p %.2f, %.0f s\n"
                % (torch.__version__, transformers.__version__, dev, a.seed, a.epochs, a.skip_p,
                   time.time() - t0))
        f.write("\n".join(log) + "\n")
        f.write("float32 test top-1 (10000 images): full %.2f%%, attention skipped in encoders "
                "1,3,5,7: %.2f%%, all skipped: %.2f%%\n" % (full, alt, none))
    print(open(os.path.join(a.out, "train_log.txt")).read())


if __name__ == "__main__":
    main()

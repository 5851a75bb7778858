"""vktrain: what vitskip's training scripts share (train_demo.py,
train_fm197.py, finetune/): Fashion-MNIST loading with the hold-out split,
augmentation, the per-batch random mode sampler of mode-aware training,
evaluation of a path, the training loop and the log.

The hold-out: the last 5,000 images of the training file (indices
55000..59999) are never trained on; they are the validation split on which
vitskip (and finetune/) select. Each model folder records it in
heldout.json: {"split": "train", "first": 55000, "count": 5000}.
"""
import contextlib
import gzip
import json
import math
import os
import random
import struct
import time

import torch
import torch.nn.functional as F

import vkvit

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
          "Sneaker", "Bag", "Ankle boot"]
MEAN, STD = 0.2860, 0.3530
HOLDOUT = {"split": "train", "first": 55000, "count": 5000}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack_from(">II", data, 0)
    if magic == 0x803:
        h, w = struct.unpack_from(">II", data, 8)
        if len(data) != 16 + n * h * w:
            raise ValueError("%s: %d bytes, %d images of %dx%d need %d" % (
                path, len(data), n, h, w, 16 + n * h * w))
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).view(n, 1, h, w)
    if magic != 0x801 or len(data) != 8 + n:
        raise ValueError("%s: not an IDX image or label file" % path)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def load_fmnist(data_dir, limit=None):
    """{"train": (x, y) minus the hold-out, "holdout": (x, y), "test": (x, y)};
    x uint8 (n,1,28,28). limit (smoke tests) keeps the first images of each."""
    def split(name):
        return (read_idx(os.path.join(data_dir, "%s-images-idx3-ubyte.gz" % name)),
                read_idx(os.path.join(data_dir, "%s-labels-idx1-ubyte.gz" % name)))
    xtr, ytr = split("train")
    a, n = HOLDOUT["first"], HOLDOUT["count"]
    if len(xtr) != a + n:
        raise ValueError("%s: the training file has %d images, the hold-out expects %d"
                         % (data_dir, len(xtr), a + n))
    out = {"train": (xtr[:a], ytr[:a]), "holdout": (xtr[a:], ytr[a:]), "test": split("t10k")}
    if limit:
        out = {k: (x[:limit], y[:limit]) for k, (x, y) in out.items()}
    return out


def normalize(x_u8):
    return (x_u8.float() / 255.0 - MEAN) / STD


def augment(xb):
    """Per image: horizontal flip with probability 1/2 and a translation by
    up to 2 pixels in each direction (zero padding)."""
    B, C, Hh, W = xb.shape
    flip = torch.rand(B, device=xb.device) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
    pad = F.pad(xb, (2, 2, 2, 2))
    dy = torch.randint(0, 5, (B, 1, 1), device=xb.device)
    dx = torch.randint(0, 5, (B, 1, 1), device=xb.device)
    ys = torch.arange(Hh, device=xb.device)[None, :, None] + dy
    xs = torch.arange(W, device=xb.device)[None, None, :] + dx
    return pad[torch.arange(B, device=xb.device)[:, None, None], 0, ys, xs].unsqueeze(1)


class ModeSampler:
    """Random valid paths for mode-aware training, one per batch.
    p_full: probability that the batch runs the full model (all F, nothing
    dropped). Otherwise each encoder independently draws its attention from
    attn (a dict letter -> probability; an R that would be invalid becomes F),
    a keep ratio with probability p_keep on F/H encoders (uniform over
    85/70/50), and an FFN drop with probability p_ffn (uniform over 25/50)."""

    def __init__(self, n_layers, p_full=0.0, attn=None, p_keep=0.0, p_ffn=0.0, seed=0):
        self.n, self.p_full, self.p_keep, self.p_ffn = n_layers, p_full, p_keep, p_ffn
        self.attn = attn or {"F": 1.0}
        self.rng = random.Random(seed)

    def describe(self):
        s = "per batch, per encoder: attention %s" % ", ".join(
            "%s %.2f" % kv for kv in self.attn.items())
        if self.p_full:
            s = "per batch: the full model with p %.2f, else %s" % (self.p_full, s[11:])
        if self.p_keep:
            s += "; :k85/:k70/:k50 (uniform) with p %.2f on F/H encoders" % self.p_keep
        if self.p_ffn:
            s += "; :f25/:f50 (uniform) with p %.2f" % self.p_ffn
        return s

    def sample(self):
        if self.rng.random() < self.p_full:
            return [vkvit.FULL] * self.n
        letters, weights = zip(*self.attn.items())
        modes, have_src, pruned = [], False, False
        for _ in range(self.n):
            a = self.rng.choices(letters, weights)[0]
            if a == "R" and (not have_src or pruned):
                a = "F"
            keep = self.rng.choice(vkvit.KEEP_RATIOS) if a in "FH" and \
                self.rng.random() < self.p_keep else 100
            fd = self.rng.choice(vkvit.FFN_DROPS) if self.rng.random() < self.p_ffn else 0
            if a in "FH":
                have_src, pruned = True, False
            pruned = pruned or keep < 100
            modes.append(vkvit.Mode(a, keep, fd))
        vkvit.check_modes(modes)
        return modes


@torch.no_grad()
def predict(model, x_u8, modes=None, dev="cpu", bs=1000):
    """Class predictions (cpu long tensor) of the path, float32."""
    model.eval()
    out = []
    for i in range(0, len(x_u8), bs):
        out.append(model(normalize(x_u8[i:i + bs]).to(dev), modes).argmax(-1).cpu())
    return torch.cat(out)


def top1(model, x_u8, y, modes=None, dev="cpu"):
    return 100.0 * (predict(model, x_u8, modes, dev) == y).float().mean().item()


def eval_paths(n_layers):
    """The paths every training log reports (genome texts, n_layers >= 4, even)."""
    n, q = n_layers, n_layers // 4
    g = {"full": "F" * n, "attention skipped in encoders 1,3,5,..": "FS" * (n // 2),
         "all attention skipped": "S" * n, "all shared-head (H)": "H" * n,
         "reuse in encoders 1,3,5,.. (R)": "FR" * (n // 2),
         "keep 70%% of the patch tokens at encoders %d,%d,%d" % (q, 2 * q, 3 * q):
         "".join("F:k70" if i in (q, 2 * q, 3 * q) else "F" for i in range(n)),
         "keep 50%% at encoder %d" % q: "".join("F:k50" if i == q else "F" for i in range(n)),
         "all FFN 25% dropped": "F:f25" * n, "all FFN 50% dropped": "F:f50" * n,
         "mixed F, H, R, S with FFN 25% dropped":
         "".join(("F", "H", "R", "S:f25")[i % 4] for i in range(n))}
    return g


def train(model, data, dev, epochs, bs, lr, wd, sampler, log, time_budget=None,
          sort_every=0, label_smoothing=0.1, max_steps=None):
    """AdamW with linear warm-up (5% of the steps) and cosine decay, bf16
    autocast on CUDA, one path from sampler per batch, hold-out top-1 after
    every epoch (the test file is not looked at). time_budget (s): after the
    second epoch the epoch count is cut to what fits; past 1.15x the budget
    training stops (logged). sort_every: re-sort the
    FFN neurons by importance (sort_ffn, with the optimizer's moments) every
    so many steps, so :f drops what is least important now. Returns the
    number of epochs run."""
    xtr, ytr = data["train"]
    xho, yho = data["holdout"]
    cuda = dev.type == "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd,
                            **({"fused": True} if cuda else {}))
    per_epoch = math.ceil(len(xtr) / bs)
    plan = {"steps": epochs * per_epoch, "epochs": epochs}
    warm = max(1, plan["steps"] // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) *
        0.5 * (1 + math.cos(math.pi * min(1.0, s / plan["steps"]))))
    xtr_d, ytr_d = xtr.to(dev), ytr.to(dev)
    t0, step, ep = time.time(), 0, 0
    while ep < plan["epochs"]:
        te = time.time()
        model.train()
        perm = torch.randperm(len(xtr), device=dev)
        tot, nb = 0.0, 0
        for i in range(0, len(xtr), bs):
            idx = perm[i:i + bs]
            xb = normalize(augment(xtr_d[idx]))
            with torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext():
                logits = model(xb, sampler.sample())
            loss = F.cross_entropy(logits.float(), ytr_d[idx], label_smoothing=label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            tot, nb = tot + loss.detach(), nb + 1
            if sort_every and step % sort_every == 0:
                vkvit.sort_ffn(model, opt)
            if max_steps and step >= max_steps:
                break
            if time_budget and time.time() - t0 > 1.15 * time_budget:
                break
        ep += 1
        acc = top1(model, xho, yho, None, dev)
        log("epoch %d loss %.4f hold-out top-1 %.2f%% lr %.2e (%.0fs)" % (
            ep, float(tot) / nb, acc, sched.get_last_lr()[0], time.time() - t0))
        if ep == 2 and time_budget:
            t_ep = time.time() - te
            fit = 2 + int((time_budget - (time.time() - t0)) / t_ep)
            if fit < plan["epochs"]:
                log("time budget %.0f s: %d epochs instead of %d (%.1f s/epoch)" % (
                    time_budget, fit, plan["epochs"], t_ep))
                plan["epochs"], plan["steps"] = fit, fit * per_epoch
        if max_steps and step >= max_steps:
            break
        if time_budget and time.time() - t0 > 1.15 * time_budget:
            log("stopped in epoch %d: past the time budget" % ep)
            break
    return ep


class Log:
    """Prints and keeps lines for train_log.txt."""

    def __init__(self):
        self.lines = []

    def __call__(self, line):
        print(line, flush=True)
        self.lines.append(line)

    def write(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def report(folder, data, dev, log, paths):
    """Loads the saved folder back (the weights vitskip imports, in float32)
    and logs top-1 of each path on the test file and the hold-out."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    m = vkvit.load_pretrained(folder).to(dev)
    xte, yte = data["test"]
    xho, yho = data["holdout"]
    log("float32 top-1 of the saved weights: test file (%d images) | hold-out "
        "(training file %d..%d, %d images)" % (len(xte), HOLDOUT["first"],
                                                HOLDOUT["first"] + HOLDOUT["count"] - 1, len(xho)))
    res = {}
    for name, g in paths.items():
        a, b = top1(m, xte, yte, g, dev), top1(m, xho, yho, g, dev)
        res[g] = (a, b)
        log("  %-26s %-58s test %6.2f%%  hold-out %6.2f%%" % (g if len(g) <= 26 else g[:23] + "...",
                                                              name, a, b))
    try:  # the same weights through transformers, where it is installed
        import transformers
        hf = transformers.ViTForImageClassification.from_pretrained(folder).float().to(dev).eval()
        x = normalize(xte[:1000]).to(dev)
        with torch.no_grad():
            d = (hf(pixel_values=x).logits - m(x)).abs().max().item()
        log("transformers %s ViTForImageClassification vs vkvit, full path, first %d test "
            "images: max |logit difference| %.3g" % (transformers.__version__, len(x), d))
    except ImportError:
        log("(transformers not installed: no cross-check against it)")
    except Exception as e:  # the check is a report, never a reason to lose the run
        log("transformers cross-check failed: %s: %s" % (type(e).__name__, e))
    return res


def write_meta(folder):
    with open(os.path.join(folder, "heldout.json"), "w") as f:
        json.dump(HOLDOUT, f)
        f.write("\n")

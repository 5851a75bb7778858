#!/usr/bin/env python3
"""finetune: fine-tunes one effort path of a vitskip search, PIVOT-style.

Reads a configuration exported by `vitskip export --format json` (its
"genome" text: F/S/R/H per encoder with the :kNN / :fNN suffixes; for a
cascade, --level picks the low or the high path) and the original
checkpoint (the Hugging Face folder the search ran on), builds that path in
PyTorch exactly as the kernel computes it (tools/vkvit.py), and fine-tunes
all weights on it with distillation from the full model:

  loss = (1 - alpha) * CE(path logits, labels)
       + alpha * T^2 * KL(softmax(full / T) || softmax(path / T))
       + beta * mean entropy of the path's output over the easy images
         (those the full model gets right with probability >= --easy-p), so
         the cheap path is confident where it can be (PIVOT's entropy test
         then keeps them on the low-effort path)

The full model (the parent, frozen) is the teacher. Data: Fashion-MNIST IDX
files; training uses the training file minus the hold-out (images
55000..59999, models/*/heldout.json), selection (the best epoch) uses the
hold-out, the test file is evaluated once at the end and reported, never
used for a decision. Every epoch ends with the FFN neurons re-sorted by
importance (vkvit.sort_ffn), as vitskip's import orders them, so a :f path
is selected and saved on the neurons vitskip will keep.

Writes OUT/ (config.json, model.safetensors in the parent's dtype,
preprocessor_config.json, heldout.json: what vitskip imports) and
OUT/finetune.json: the path, the export's file hash and model hash, the
parent checkpoint's SHA-256, the data, the hyper-parameters, the epoch
log and the final validation/test accuracy of the path (and the parent's
on the same path and in full, for comparison), all of the saved weights.

usage: finetune.py --export P.json --model DIR --data DIR --out DIR
                   [--level low|high] [--epochs 10] [--lr 1e-4] [--batch 256]
                   [--alpha 0.5] [--temperature 2] [--entropy 0] [--easy-p 0.9]
                   [--seed 0] [--device cuda|cpu] [--limit N] [--max-steps N]
                   [--time-budget S]
Exit status: 0 done, 1 failure, 2 bad arguments or input (the message names
the file and field).
"""
import argparse
import contextlib
import copy
import hashlib
import json
import math
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import vkvit  # noqa: E402
import vktrain  # noqa: E402


class InputError(Exception):
    """Bad input: a message naming the file and what was expected."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def read_export(path, level, n_layers):
    """(genome text, export dict) of the chosen path, checked strictly."""
    try:
        with open(path) as f:
            e = json.load(f)
    except OSError as ex:
        raise InputError("%s: cannot read: %s" % (path, ex.strerror))
    except ValueError as ex:
        raise InputError("%s: not JSON: %s" % (path, ex))
    if not isinstance(e, dict) or e.get("format") != "vitskip-skip-table":
        raise InputError('%s: "format" must be "vitskip-skip-table" (vitskip export '
                         '--format json)' % path)
    if e.get("version") != 1:
        raise InputError('%s: "version" %r, expected 1' % (path, e.get("version")))
    if e.get("n_layers") != n_layers:
        raise InputError('%s: "n_layers" %r, the model has %d encoders'
                         % (path, e.get("n_layers"), n_layers))
    kind = e.get("kind")
    if kind not in ("path", "cascade"):
        raise InputError('%s: "kind" must be "path" or "cascade"' % path)
    if level == "high" and kind != "cascade":
        raise InputError("%s: --level high needs a cascade, this is a path" % path)
    key = "high_genome" if level == "high" else "genome"
    g = e.get(key)
    if not isinstance(g, str):
        raise InputError('%s: "%s" must be a genome string' % (path, key))
    try:
        vkvit.parse_genome(g, n_layers)
    except ValueError as ex:
        raise InputError('%s: "%s": %s' % (path, key, ex))
    if not isinstance(e.get("model_hash"), str):
        raise InputError('%s: "model_hash" must be a string' % path)
    return g, e


def losses(student, teacher, y, alpha, temp, beta, easy_p):
    ce = F.cross_entropy(student, y)
    kd = F.kl_div(F.log_softmax(student / temp, -1), F.log_softmax(teacher / temp, -1),
                  reduction="batchmean", log_target=True) * temp * temp
    loss = (1 - alpha) * ce + alpha * kd
    if beta:
        pt = torch.softmax(teacher, -1)
        easy = (pt.argmax(-1) == y) & (pt.max(-1)[0] >= easy_p)
        if easy.any():
            ls = F.log_softmax(student[easy], -1)
            loss = loss + beta * -(ls.exp() * ls).sum(-1).mean()
    return loss


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--export", required=True, help="vitskip export --format json output")
    ap.add_argument("--model", required=True, help="the original checkpoint folder")
    ap.add_argument("--data", required=True, help="folder with the Fashion-MNIST IDX files")
    ap.add_argument("--out", required=True)
    ap.add_argument("--level", choices=("low", "high"), default="low",
                    help="which path of a cascade (default low; a path has only low)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--alpha", type=float, default=0.5, help="weight of distillation vs labels")
    ap.add_argument("--temperature", type=float, default=2.0)
    ap.add_argument("--entropy", type=float, default=0.0,
                    help="weight of the path's entropy on easy images (0: off)")
    ap.add_argument("--easy-p", type=float, default=0.9,
                    help="an image is easy when the full model is right with this probability")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--limit", type=int, default=None, help="smoke tests: images per split")
    ap.add_argument("--max-steps", type=int, default=None, help="smoke tests: steps per epoch")
    ap.add_argument("--time-budget", type=float, default=None,
                    help="seconds: start no epoch after this (the schedule is not shortened; "
                         "the sidecar records where it stopped)")
    a = ap.parse_args(argv)
    if not (0 <= a.alpha <= 1) or a.temperature <= 0 or a.entropy < 0 or a.epochs < 1 \
            or a.batch < 1 or a.lr <= 0 or (a.time_budget is not None and a.time_budget <= 0):
        ap.error("--alpha in [0,1], --temperature > 0, --entropy >= 0, --epochs, --batch, "
                 "--lr, --time-budget positive")
    try:
        parent = vkvit.load_pretrained(a.model)
    except (OSError, ValueError, KeyError) as ex:
        raise InputError("%s: not a checkpoint vitskip imports: %s" % (a.model, ex))
    genome, export = read_export(a.export, a.level, parent.n_layers)
    st_path = os.path.join(a.model, "model.safetensors")
    parent_sha = sha256_file(st_path)
    parent_dtype = {v.dtype for v in vkvit.st_load(st_path).values()}.pop()
    try:
        data = vktrain.load_fmnist(a.data, a.limit)
    except (OSError, ValueError) as ex:
        raise InputError("%s: %s" % (a.data, ex))

    torch.manual_seed(a.seed)
    torch.set_float32_matmul_precision("highest")
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    teacher = parent.to(dev).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = copy.deepcopy(parent).to(dev)
    for p in student.parameters():
        p.requires_grad_(True)
    modes = vkvit.parse_genome(genome, parent.n_layers)
    log = vktrain.Log()
    xtr, ytr = data["train"]
    xho, yho = data["holdout"]
    xte, yte = data["test"]
    log("finetune %s (%s path of %s) from %s (safetensors SHA-256 %s), torch %s on %s"
        % (genome, a.level, a.export, a.model, parent_sha, torch.__version__, dev))
    base_val = vktrain.top1(teacher, xho, yho, modes, dev)
    full_val = vktrain.top1(teacher, xho, yho, None, dev)
    log("before: hold-out top-1 %.2f%% on the path, %.2f%% full model" % (base_val, full_val))

    opt = torch.optim.AdamW(student.parameters(), lr=a.lr, weight_decay=a.wd,
                            **({"fused": True} if cuda else {}))
    per_epoch = math.ceil(len(xtr) / a.batch)
    if a.max_steps:
        per_epoch = min(per_epoch, a.max_steps)
    steps = a.epochs * per_epoch
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps))))
    xtr_d, ytr_d = xtr.to(dev), ytr.to(dev)
    best = (-1.0, 0, None)
    epochs_log = []
    t0 = time.time()
    stopped = None
    for ep in range(1, a.epochs + 1):
        if a.time_budget is not None and ep > 1 and time.time() - t0 > a.time_budget:
            stopped = "time budget of %g s reached after epoch %d of %d" % (
                a.time_budget, ep - 1, a.epochs)
            log("stopped: " + stopped)
            break
        student.train()
        perm = torch.randperm(len(xtr), device=dev)
        tot, nb = 0.0, 0
        for i in range(0, len(xtr), a.batch):
            if nb >= per_epoch:
                break
            idx = perm[i:i + a.batch]
            xb = vktrain.normalize(vktrain.augment(xtr_d[idx]))
            ctx = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
            with ctx:
                with torch.no_grad():
                    t_logits = teacher(xb).float()
                s_logits = student(xb, modes).float()
            loss = losses(s_logits, t_logits, ytr_d[idx], a.alpha, a.temperature, a.entropy,
                          a.easy_p)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot, nb = tot + loss.detach(), nb + 1
        vkvit.sort_ffn(student, opt)  # the order vitskip's import gives these weights
        val = vktrain.top1(student, xho, yho, modes, dev)
        epochs_log.append({"epoch": ep, "loss": round(float(tot) / nb, 5), "validation_top1": val})
        log("epoch %d loss %.4f hold-out top-1 %.2f%% on the path (%.0fs)"
            % (ep, float(tot) / nb, val, time.time() - t0))
        if val > best[0]:
            best = (val, ep, {k: v.detach().clone() for k, v in student.state_dict().items()})
    student.load_state_dict(best[2])
    log("selected epoch %d (best hold-out top-1 %.2f%%)" % (best[1], best[0]))

    os.makedirs(a.out, exist_ok=True)
    vkvit.save_pretrained(student.cpu(), a.out, parent_dtype)
    for name in ("preprocessor_config.json", "heldout.json"):
        if os.path.exists(os.path.join(a.model, name)):
            shutil.copyfile(os.path.join(a.model, name), os.path.join(a.out, name))
    saved = vkvit.load_pretrained(a.out).to(dev)  # report what was written
    acc = {"validation": {"path": vktrain.top1(saved, xho, yho, modes, dev),
                          "parent_path": base_val, "parent_full": full_val},
           "test": {"path": vktrain.top1(saved, xte, yte, modes, dev),
                    "parent_path": vktrain.top1(teacher, xte, yte, modes, dev),
                    "parent_full": vktrain.top1(teacher, xte, yte, None, dev)}}
    log("saved weights, top-1 on the path: hold-out %.2f%% (parent %.2f%%), test %.2f%% "
        "(parent %.2f%%, parent full model %.2f%%)" % (
            acc["validation"]["path"], base_val, acc["test"]["path"],
            acc["test"]["parent_path"], acc["test"]["parent_full"]))
    side = {
        "format": "vitskip-finetune", "version": 1,
        "path": genome, "level": a.level,
        "export": {"file": os.path.abspath(a.export), "sha256": sha256_file(a.export),
                   "kind": export["kind"], "model_hash": export["model_hash"]},
        "parent": {"dir": os.path.abspath(a.model), "safetensors_sha256": parent_sha},
        "data": {"dir": os.path.abspath(a.data),
                 "train": {"file": "train", "first": 0, "count": len(xtr)},
                 "validation": dict(vktrain.HOLDOUT, count=len(xho)),
                 "test": {"file": "t10k", "first": 0, "count": len(xte)}},
        "hyperparameters": {"epochs": a.epochs, "lr": a.lr, "weight_decay": a.wd,
                            "batch": a.batch, "alpha": a.alpha, "temperature": a.temperature,
                            "entropy": a.entropy, "easy_p": a.easy_p, "seed": a.seed,
                            "max_steps": a.max_steps, "time_budget": a.time_budget,
                            "warmup": "5% linear, cosine",
                            "augment": "flip, 2-pixel translation"},
        "selected_epoch": best[1], "epochs": epochs_log, "stopped_early": stopped,
        "accuracy": acc, "dtype": str(parent_dtype).split(".")[1],
        "torch": torch.__version__, "device": str(dev),
        "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(a.out, "finetune.json"), "w") as f:
        json.dump(side, f, indent=2)
        f.write("\n")
    log.write(os.path.join(a.out, "finetune_log.txt"))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except InputError as ex:
        print("finetune: %s" % ex, file=sys.stderr)
        sys.exit(2)

#!/usr/bin/env python3
"""Test fixtures written by the frameworks themselves (transformers, timm),
for vitskip's loader tests (tests/test_loaders.c).

Each case is a folder as the framework saves it (config.json,
model.safetensors, preprocessor_config.json where the framework writes
one) plus ref.bin: the framework's own float32 logits (eval mode, CPU) on
random inputs. ref.bin (little-endian): "VKFIX001", u32 n, u32 channels,
u32 height, u32 width, u32 n_classes, n*C*H*W float32 inputs (NCHW,
normalized; absent when C = H = W = 0), n*K float32 logits.

Cases (tiny random models, weights re-drawn so that logits differ per
input; a few hundred kB in all):
  hf_vit          transformers ViTForImageClassification, float32
  hf_vit_f16      the same weights rounded to and saved as float16
  hf_vit_bf16     the same, bfloat16
  hf_deit         transformers DeiTForImageClassification (distillation token,
                  class head only)
  hf_deit_teacher transformers DeiTForImageClassificationWithTeacher (both
                  heads, logits averaged)
  timm_vit        timm VisionTransformer saved by timm (config.json with the
                  architecture name and model_args)
  timm_deit_dist  timm VisionTransformerDistilled (deit_*_distilled), same
                  (the committed timm fixtures were written by the fallback below,
                  timm's state_dict through safetensors and a config.json in
                  timm's layout: the run imported timm.models.push_to_hub, which
                  timm 1.0.29 does not export; timm.models._hub is tried first now)
ViT-B/16 at full width (hf_vit_b16: 768 wide, 12 heads, MLP 3072, 224
pixels, patch 16, 1000 classes; 2 encoders) is too large to commit: its
weights and input are a formula (splitmix64 of the tensor's index among
the sorted names and the element index, see formula()), which the C test
computes again; only config.json, names.txt (transformers 5's module
names, sorted, with their shapes; save_pretrained writes the checkpoint
names, which tests/test_loaders.c maps back) and ref.bin (logits only; the input is 2 * formula_u(1000))
are kept.
preproc/: three PNG images and what transformers' ViTImageProcessor and
DeiTImageProcessor (PIL) and timm's eval transform make of them
(pre.bin: "VKPRE001", u32 n_images, then per processor u32 name length,
name, u32 C, u32 H, u32 W, n*C*H*W float32), with the processors' configs.

usage: make_fixtures.py --out DIR [--only CASE,...]
Runs on the CPU in float32; versions go to DIR/versions.txt.
"""
import argparse
import json
import os
import struct
import sys
import traceback

import numpy as np
import torch

N_IMG = 4


def write_ref(path, x, logits):
    x = x.detach().cpu().float().contiguous()
    lg = logits.detach().cpu().float().contiguous()
    n, c, h, w = x.shape if x.dim() == 4 else (0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"VKFIX001")
        f.write(struct.pack("<5I", int(lg.shape[0]), c, h, w, int(lg.shape[1])))
        if n:
            f.write(x.numpy().astype("<f4").tobytes())
        f.write(lg.numpy().astype("<f4").tobytes())


def redraw(model, seed):
    """Weights with some spread (the frameworks' init gives near-constant
    logits): LayerNorm gains near 1, biases small, matrices 1/sqrt(fan_in)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g)
            if p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * r)
            elif p.dim() == 1:
                p.copy_(0.1 * r)
            elif "token" in name or "pos" in name:
                p.copy_(0.5 * r)
            else:
                p.copy_(r / (p[0].numel() ** 0.5))


def inputs(seed, c=3, s=32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn((N_IMG, c, s, s), generator=g)


def logits_of(model, x):
    with torch.no_grad():
        out = model(x) if not hasattr(model, "config") else model(pixel_values=x)
    return out if torch.is_tensor(out) else out.logits


TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            image_size=32, patch_size=8, num_channels=3, hidden_act="gelu",
            layer_norm_eps=1e-12, qkv_bias=True)
LABELS = {i: "class_%d" % i for i in range(5)}


def hf_case(out, name, cls_name, cfg_name, dtype=None, seed=1):
    import transformers
    cfg = getattr(transformers, cfg_name)(**TINY, num_labels=5, id2label=LABELS,
                                          label2id={v: k for k, v in LABELS.items()})
    model = getattr(transformers, cls_name)(cfg).eval()
    redraw(model, seed)
    if dtype is not None:  # the float model holds exactly the rounded weights
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).float())
    x = inputs(seed + 100)
    lg = logits_of(model, x)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    (model.to(dtype) if dtype is not None else model).save_pretrained(d)
    write_ref(os.path.join(d, "ref.bin"), x, lg)
    for f in os.listdir(d):
        if f not in ("config.json", "model.safetensors", "ref.bin"):
            os.remove(os.path.join(d, f))
    return "%s: %s, logits %s" % (name, cls_name, tuple(lg.shape))


def timm_case(out, name, arch, seed):
    import timm
    margs = dict(img_size=32, patch_size=8, embed_dim=48, depth=2, num_heads=3)
    model = timm.create_model(arch, pretrained=False, num_classes=7, **margs).eval()
    redraw(model, seed)
    x = inputs(seed + 100)
    lg = logits_of(model, x)
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    how = "timm save_for_hf"
    try:
        try:
            from timm.models._hub import save_for_hf
        except ImportError:
            from timm.models.push_to_hub import save_for_hf
        save_for_hf(model, d, model_args=margs, safe_serialization=True)
    except Exception as e:  # an older or newer signature: the same files by hand
        how = "by hand (%s)" % e
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in model.state_dict().items()},
                  os.path.join(d, "model.safetensors"))
        cfg = dict(model.pretrained_cfg) if hasattr(model, "pretrained_cfg") else {}
        json.dump({"architecture": arch, "num_classes": 7, "num_features": 48,
                   "model_args": margs, "pretrained_cfg": cfg},
                  open(os.path.join(d, "config.json"), "w"), indent=2, default=str)
    write_ref(os.path.join(d, "ref.bin"), x, lg)
    for f in os.listdir(d):
        if f not in ("config.json", "model.safetensors", "ref.bin"):
            os.remove(os.path.join(d, f))
    return "%s: timm %s saved %s, logits %s" % (name, arch, how, tuple(lg.shape))


# ---- the formula for ViT-B/16 weights ----------------------------------------

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def formula_u(t, n):
    """n values in [-1, 1): splitmix64 of (t + 1) << 32 | j, top 24 bits."""
    with np.errstate(over="ignore"):
        x = (np.uint64(t + 1) << np.uint64(32)) + np.arange(n, dtype=np.uint64)
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / 16777216.0 * 2 - 1


def formula(name, t, shape):
    n = int(np.prod(shape))
    u = formula_u(t, n)
    if len(shape) == 1 and "layernorm" in name and name.endswith("weight"):
        v = 1 + 0.1 * u
    elif len(shape) == 1:
        v = 0.05 * u
    elif "cls_token" in name or "position_embeddings" in name:
        v = 0.5 * u
    else:
        v = u * np.sqrt(3.0 / (n // shape[0]))
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


def vit_b16_case(out):
    import transformers
    cfg = transformers.ViTConfig(hidden_size=768, num_hidden_layers=2, num_attention_heads=12,
                                 intermediate_size=3072, image_size=224, patch_size=16,
                                 num_channels=3, num_labels=1000, hidden_act="gelu",
                                 layer_norm_eps=1e-12, qkv_bias=True)
    model = transformers.ViTForImageClassification(cfg).eval()
    sd = model.state_dict()
    names = sorted(sd.keys())
    new = {k: formula(k, t, tuple(sd[k].shape)) for t, k in enumerate(names)}
    model.load_state_dict(new)
    x = formula_u(1000, 3 * 224 * 224).astype(np.float32).reshape(1, 3, 224, 224) * 2
    lg = logits_of(model, torch.from_numpy(x))
    d = os.path.join(out, "hf_vit_b16")
    os.makedirs(d, exist_ok=True)
    cfg.to_json_file(os.path.join(d, "config.json"))
    write_ref(os.path.join(d, "ref.bin"), torch.zeros(0), lg)
    with open(os.path.join(d, "names.txt"), "w") as f:
        for k in names:
            f.write("%s %s\n" % (k, "x".join(str(s) for s in sd[k].shape)))
    return "hf_vit_b16: %d tensors, logits %s, first %s" % (len(names), tuple(lg.shape),
                                                          lg[0, :3].tolist())


def preproc_case(out):
    from PIL import Image
    import transformers
    d = os.path.join(out, "preproc")
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(7)
    imgs = []
    for i, (w, h) in enumerate(((50, 37), (64, 64), (23, 41))):
        a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        a[: h // 2] //= 2  # some structure, not only noise
        im = Image.fromarray(a, "RGB")
        im.save(os.path.join(d, "img%d.png" % i))
        imgs.append(Image.open(os.path.join(d, "img%d.png" % i)).convert("RGB"))
    procs = []
    kw = {"vit": dict(do_resize=True, size={"height": 32, "width": 32}, resample=2,
                      image_mean=[0.5] * 3, image_std=[0.5] * 3),
          "deit": dict(do_resize=True, size={"height": 40, "width": 40}, resample=3,
                       do_center_crop=True, crop_size={"height": 32, "width": 32})}
    for name, cls in (("vit", "ViTImageProcessor"), ("deit", "DeiTImageProcessor")):
        try:
            p = getattr(transformers, cls)(**kw[name])
            pd = os.path.join(d, name)
            os.makedirs(pd, exist_ok=True)
            p.save_pretrained(pd)
            procs.append((name, p(images=imgs, return_tensors="pt")["pixel_values"]))
        except Exception as e:
            print("preproc: %s: %s" % (cls, e))
            continue
        fast = getattr(transformers, type(p).__name__ + "Fast", None)
        if fast is not None:
            try:
                pf = fast(**kw[name])
                procs.append((name + "_fast", pf(images=imgs, return_tensors="pt")["pixel_values"]))
            except Exception as e:
                print("preproc: %s fast processor: %s" % (name, e))
    try:
        import timm.data
        cfg = timm.data.resolve_data_config({"input_size": (3, 32, 32), "crop_pct": 0.875,
                                             "interpolation": "bicubic",
                                             "mean": (0.485, 0.456, 0.406),
                                             "std": (0.229, 0.224, 0.225)})
        tf = timm.data.create_transform(**cfg)
        procs.append(("timm", torch.stack([tf(im) for im in imgs])))
        json.dump({k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()},
                  open(os.path.join(d, "timm_data_config.json"), "w"), indent=2)
    except Exception as e:
        print("preproc: timm transform: %s" % e)
    with open(os.path.join(d, "pre.bin"), "wb") as f:
        f.write(b"VKPRE001")
        f.write(struct.pack("<I", len(imgs)))
        for name, pv in procs:
            pv = pv.float().contiguous()
            f.write(struct.pack("<I", len(name)) + name.encode())
            f.write(struct.pack("<3I", *pv.shape[1:]))
            f.write(pv.numpy().astype("<f4").tobytes())
    return "preproc: " + ", ".join("%s %s" % (n, tuple(p.shape)) for n, p in procs)


CASES = {
    "hf_vit": lambda o: hf_case(o, "hf_vit", "ViTForImageClassification", "ViTConfig"),
    "hf_vit_f16": lambda o: hf_case(o, "hf_vit_f16", "ViTForImageClassification", "ViTConfig",
                                    torch.float16),
    "hf_vit_bf16": lambda o: hf_case(o, "hf_vit_bf16", "ViTForImageClassification", "ViTConfig",
                                     torch.bfloat16),
    "hf_deit": lambda o: hf_case(o, "hf_deit", "DeiTForImageClassification", "DeiTConfig",
                                 seed=2),
    "hf_deit_teacher": lambda o: hf_case(o, "hf_deit_teacher",
                                         "DeiTForImageClassificationWithTeacher", "DeiTConfig",
                                         seed=3),
    "timm_vit": lambda o: timm_case(o, "timm_vit", "vit_tiny_patch16_224", 4),
    "timm_deit_dist": lambda o: timm_case(o, "timm_deit_dist", "deit_tiny_distilled_patch16_224",
                                          5),
    "hf_vit_b16": vit_b16_case,
    "preproc": preproc_case,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(4)
    vers = ["python " + sys.version.split()[0], "torch " + torch.__version__,
            "numpy " + np.__version__]
    for mod in ("transformers", "timm", "safetensors", "PIL"):
        try:
            vers.append("%s %s" % (mod, __import__(mod).__version__))
        except Exception as e:
            vers.append("%s: %s" % (mod, e))
    open(os.path.join(a.out, "versions.txt"), "w").write("\n".join(vers) + "\n")
    print("\n".join(vers))
    failed = 0
    for name, fn in CASES.items():
        if a.only and name not in a.only.split(","):
            continue
        try:
            print(fn(a.out), flush=True)
        except Exception:
            failed += 1
            print("%s FAILED:\n%s" % (name, traceback.format_exc()), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch reference outputs for vitskip's tests (float32, on the CPU).

  tests/fixtures/demo_ref.bin: the demo model's logits on the first 1000
    Fashion-MNIST test images, full and with attentions skipped in encoders
    1,3,5,7, computed by tools/vkvit.py (PyTorch; its full path equals
    transformers' ViTForImageClassification on the same weights, checked in
    the training run's log). Format (little-endian): "VKREF001",
    u32 n_images, u32 n_classes, u32 n_variants, then per variant:
    u32 skip_mask, n*k float32 logits.
  with --modes FILE GENOME...: FILE gets the model's logits for each
    genome (every per-encoder mode, vkvit's definition) on the first --n
    test images; tests/test_ref makes it at test time. Format: "VKREF002",
    u32 n_images, u32 n_classes, u32 n_variants, then per variant: u32
    length, the genome text, n*k float32 logits.
  with --timm: tests/fixtures/timm_tiny.safetensors + timm_tiny_ref.bin: a
    small timm VisionTransformer (img 32, patch 8, 3 channels, dim 48,
    depth 2, 3 heads, mlp 192, 7 classes), randomized, and its logits on 8
    random inputs (needs timm). Format: "VKTIM001", u32 n, u32 channels,
    u32 size, u32 n_classes, n*3*32*32 float32 inputs (NCHW), n*7 float32
    logits.

usage: make_reference.py --model DIR --data DIR --out DIR [--timm]
       make_reference.py --model DIR --data DIR --modes FILE [--n N] GENOME...
"""
import argparse
import os
import struct

import torch

import vkvit
import vktrain


def timm_fixture(out):
    from safetensors.torch import save_file
    import timm.models.vision_transformer as tv
    torch.manual_seed(1234)
    vt = tv.VisionTransformer(img_size=32, patch_size=8, in_chans=3, num_classes=7,
                              embed_dim=48, depth=2, num_heads=3, mlp_ratio=4.0, qkv_bias=True,
                              global_pool="token", class_token=True).eval()
    for name, p in vt.named_parameters():
        if "norm" in name and name.endswith("weight"):
            p.copy_(1 + 0.2 * torch.randn_like(p))
        elif "norm" in name and name.endswith("bias"):
            p.copy_(0.1 * torch.randn_like(p))
        elif name in ("cls_token", "pos_embed"):
            p.copy_(0.3 * torch.randn_like(p))
        elif name.endswith("bias"):
            p.copy_(0.05 * torch.randn_like(p))
    sd = {k: v.contiguous() for k, v in vt.state_dict().items()}
    print("timm keys:", sorted(sd))
    save_file(sd, os.path.join(out, "timm_tiny.safetensors"))
    g = torch.Generator().manual_seed(99)
    inp = torch.randn(8, 3, 32, 32, generator=g)
    res = vt(inp).float()
    with open(os.path.join(out, "timm_tiny_ref.bin"), "wb") as f:
        f.write(b"VKTIM001" + struct.pack("<IIII", 8, 3, 32, 7))
        f.write(inp.numpy().astype("<f4").tobytes())
        f.write(res.numpy().astype("<f4").tobytes())
    print("timm reference logits[0]:", res[0].tolist())


def modes_fixture(model, a):
    x = vktrain.read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))[:a.n]
    x = vktrain.normalize(x)
    out = []
    for g in a.genomes:
        vkvit.parse_genome(g, model.n_layers)  # refuses what the kernel refuses
        logits = model(x, g).float()
        out.append(struct.pack("<I", len(g)) + g.encode() +
                   logits.contiguous().numpy().astype("<f4").tobytes())
    with open(a.modes, "wb") as f:
        f.write(b"VKREF002" + struct.pack("<III", x.shape[0], logits.shape[1], len(out)))
        f.write(b"".join(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out")
    ap.add_argument("--timm", action="store_true", help="also the timm fixtures (needs timm)")
    ap.add_argument("--modes", help="write the logits of each GENOME to this file")
    ap.add_argument("--n", type=int, default=100, help="test images for --modes")
    ap.add_argument("genomes", nargs="*")
    a = ap.parse_args()
    if not a.out and not a.modes:
        ap.error("--out or --modes is required")
    torch.set_grad_enabled(False)
    model = vkvit.load_pretrained(a.model).eval()
    n = model.n_layers
    if a.modes:
        modes_fixture(model, a)
        return
    x = vktrain.read_idx(os.path.join(a.data, "t10k-images-idx3-ubyte.gz"))[:1000]
    y = vktrain.read_idx(os.path.join(a.data, "t10k-labels-idx1-ubyte.gz"))[:1000]
    x = vktrain.normalize(x)
    blobs = []
    for mask in (0x00, 0xAA):
        genome = "".join("S" if (mask >> i) & 1 else "F" for i in range(n))
        logits = model(x, genome).float()
        acc = (logits.argmax(-1) == y).float().mean().item() * 100
        print("demo reference, %s (skip mask 0x%02x): top-1 %.2f%% on 1000 images"
              % (genome, mask, acc))
        blobs.append(struct.pack("<I", mask) + logits.contiguous().numpy().astype("<f4").tobytes())
    with open(os.path.join(a.out, "demo_ref.bin"), "wb") as f:
        f.write(b"VKREF001" + struct.pack("<III", 1000, model.cfg["num_labels"] if "num_labels"
                                          in model.cfg else len(model.cfg["id2label"]), 2))
        f.write(b"".join(blobs))
    if a.timm:
        timm_fixture(a.out)


if __name__ == "__main__":
    main()

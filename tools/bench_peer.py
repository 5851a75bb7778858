#!/usr/bin/python3
"""bench_peer: the PyTorch peer of `vitskip bench`.

Times the same two models in float32 with plain torch, on the same images
and thread count: the demo checkpoint (Hugging Face ViT safetensors, read
without transformers; batch-1 latency and throughput, all attentions and
half of them skipped) and a DeiT-S-shaped ViT with random weights (batch-1
latency). Before timing, the demo forward pass is checked against vitskip's
float reference logits (--ref, written by `vitskip bench --ref-out`).

With --vitskip-tsv (the output of `vitskip bench --tsv`) it prints one table
with both and the ratios. Exit status: 0 ok, 1 the logit check failed or a
file could not be read, 2 usage.
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # reported by tools/bench.sh
    sys.exit("bench_peer: PyTorch is not importable (apt-get install python3-torch)")

DEMO_DATA = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=DTYPES[t["dtype"]]) \
            .reshape(t["shape"]).float()
    return out


def act_fn(name):
    return {"gelu": F.gelu, "relu": F.relu,
            "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
            "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh"),
            "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x)}[name]


class ViT:
    """The ViT forward pass (Hugging Face ViTForImageClassification, or timm
    DeiT without distillation) on a flat dict of tensors."""

    def __init__(self, w, cfg):
        self.w, self.cfg = w, cfg
        self.act = act_fn(cfg.get("hidden_act", "gelu"))

    @staticmethod
    def from_hf(d):
        cfg = json.load(open(os.path.join(d, "config.json")))
        t = load_safetensors(os.path.join(d, "model.safetensors"))
        w = {"cls": t["vit.embeddings.cls_token"], "pos": t["vit.embeddings.position_embeddings"],
             "pw": t["vit.embeddings.patch_embeddings.projection.weight"],
             "pb": t["vit.embeddings.patch_embeddings.projection.bias"],
             "lnf_w": t["vit.layernorm.weight"], "lnf_b": t["vit.layernorm.bias"],
             "head_w": t["classifier.weight"], "head_b": t["classifier.bias"], "layers": []}
        for i in range(cfg["num_hidden_layers"]):
            p = "vit.encoder.layer.%d." % i
            a = p + "attention.attention."
            w["layers"].append({
                "ln1_w": t[p + "layernorm_before.weight"], "ln1_b": t[p + "layernorm_before.bias"],
                "qkv_w": torch.cat([t[a + s + ".weight"] for s in ("query", "key", "value")]),
                "qkv_b": torch.cat([t[a + s + ".bias"] for s in ("query", "key", "value")]),
                "proj_w": t[p + "attention.output.dense.weight"],
                "proj_b": t[p + "attention.output.dense.bias"],
                "ln2_w": t[p + "layernorm_after.weight"], "ln2_b": t[p + "layernorm_after.bias"],
                "fc1_w": t[p + "intermediate.dense.weight"], "fc1_b": t[p + "intermediate.dense.bias"],
                "fc2_w": t[p + "output.dense.weight"], "fc2_b": t[p + "output.dense.bias"]})
        return ViT(w, cfg)

    @staticmethod
    def random(cfg, seed):
        g = torch.Generator().manual_seed(seed)
        d, m, k = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_labels"]
        c, p = cfg["num_channels"], cfg["patch_size"]
        t = (cfg["image_size"] // p) ** 2 + 1

        def r(*s):
            return torch.randn(*s, generator=g) * 0.02
        w = {"cls": r(1, 1, d), "pos": r(1, t, d), "pw": r(d, c, p, p), "pb": r(d),
             "lnf_w": torch.ones(d), "lnf_b": r(d), "head_w": r(k, d), "head_b": r(k),
             "layers": [{"ln1_w": torch.ones(d), "ln1_b": r(d), "qkv_w": r(3 * d, d), "qkv_b": r(3 * d),
                         "proj_w": r(d, d), "proj_b": r(d), "ln2_w": torch.ones(d), "ln2_b": r(d),
                         "fc1_w": r(m, d), "fc1_b": r(m), "fc2_w": r(d, m), "fc2_b": r(d)}
                        for _ in range(cfg["num_hidden_layers"])]}
        return ViT(w, cfg)

    def __call__(self, x, skip=()):
        w, cfg = self.w, self.cfg
        d, nh, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg.get("layer_norm_eps", 1e-12)
        b, dh = x.shape[0], d // nh
        h = F.conv2d(x, w["pw"], w["pb"], stride=cfg["patch_size"]).flatten(2).transpose(1, 2)
        h = torch.cat([w["cls"].expand(b, -1, -1), h], 1) + w["pos"]
        t = h.shape[1]
        for i, L in enumerate(w["layers"]):
            if i not in skip:
                q, k, v = F.linear(F.layer_norm(h, (d,), L["ln1_w"], L["ln1_b"], eps),
                                   L["qkv_w"], L["qkv_b"]).view(b, t, 3, nh, dh).permute(2, 0, 3, 1, 4)
                a = torch.softmax((q @ k.transpose(-1, -2)) * dh ** -0.5, -1)
                h = h + F.linear((a @ v).transpose(1, 2).reshape(b, t, d), L["proj_w"], L["proj_b"])
            y = F.layer_norm(h, (d,), L["ln2_w"], L["ln2_b"], eps)
            h = h + F.linear(self.act(F.linear(y, L["fc1_w"], L["fc1_b"])), L["fc2_w"], L["fc2_b"])
        return F.linear(F.layer_norm(h[:, 0], (d,), w["lnf_w"], w["lnf_b"], eps), w["head_w"], w["head_b"])


def load_idx(path, limit):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 0x803:
            sys.exit("bench_peer: %s: not an IDX image file (magic 0x%x)" % (path, magic))
        n = min(n, limit) if limit else n
        px = torch.frombuffer(bytearray(f.read(n * rows * cols)), dtype=torch.uint8)
    return px.reshape(n, 1, rows, cols)


def normalize(px, model_dir):
    pp = os.path.join(model_dir, "preprocessor_config.json")
    c = json.load(open(pp)) if os.path.exists(pp) else {}
    mean = torch.tensor(c.get("image_mean", [0.5])[:px.shape[1]]).view(1, -1, 1, 1)
    std = torch.tensor(c.get("image_std", [0.5])[:px.shape[1]]).view(1, -1, 1, 1)
    return (px.float() * c.get("rescale_factor", 1 / 255) - mean) / std


def median_ms(fn, xs, n):
    fn(xs[0:1])
    ts = []
    for i in range(n):
        x = xs[i % len(xs):i % len(xs) + 1]
        t0 = time.perf_counter()
        fn(x)
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


def throughput(fn, xs, batch):
    fn(xs[:batch])
    n, t0 = 0, time.perf_counter()
    while True:
        for i in range(0, len(xs), batch):
            fn(xs[i:i + batch])
        n += len(xs)
        dt = time.perf_counter() - t0
        if dt >= 1.0:
            return n / dt


def blas_note():
    cfg = torch.__config__.show()
    blas = [l.strip() for l in cfg.replace(",", "\n").splitlines() if "BLAS_INFO" in l or "MKL-DNN" in l
            or "oneDNN" in l or "CPU capability" in l]
    torch.randn(64, 64) @ torch.randn(64, 64)
    try:
        maps = open("/proc/self/maps").read()
        libs = sorted({os.path.basename(l.split()[-1]) for l in maps.splitlines()
                       if any(s in l for s in ("openblas", "libblas", "mkl", "dnnl"))})
    except OSError:
        libs = []
    return "torch %s: %s; loaded: %s" % (torch.__version__, "; ".join(blas), ", ".join(libs) or "-")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--model", default="models/demo")
    ap.add_argument("--data", default=DEMO_DATA)
    ap.add_argument("--limit", type=int, default=0, help="images for the throughput run (0 = all)")
    ap.add_argument("--lat-n", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000, help="torch batch for the throughput run")
    ap.add_argument("--deit-reps", type=int, default=7)
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--no-deit", action="store_true")
    ap.add_argument("--ref", help="float32 logits from `vitskip bench --ref-out`")
    ap.add_argument("--vitskip-tsv", help="`vitskip bench --tsv` output to print beside")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    rows, notes, status = {}, [blas_note(), "torch threads: %d" % torch.get_num_threads()], 0
    with torch.inference_mode():
        if not a.no_demo:
            m = ViT.from_hf(a.model)
            xs = normalize(load_idx(a.data, a.limit), a.model)
            n_l = m.cfg["num_hidden_layers"]
            half = tuple(range(1, n_l, 2))
            if a.ref:
                ref = torch.frombuffer(bytearray(open(a.ref, "rb").read()), dtype=torch.float32)
                ref = ref.reshape(-1, m.cfg.get("num_labels", len(m.w["head_b"])))
                got = m(xs[:len(ref)])
                err = (got - ref).abs().max().item()
                tol = 1e-3 * max(1.0, ref.abs().max().item())
                ok = err <= tol and got.argmax(1).eq(ref.argmax(1)).all().item()
                notes.append("peer check: max |torch logit - vitskip float reference| = %.2e over %d "
                             "images (tolerance %.1e): %s" % (err, len(ref), tol, "ok" if ok else "FAILED"))
                status |= 0 if ok else 1
            for path, skip in (("full", ()), ("half-skip", half)):
                f = lambda x, s=skip: m(x, s)
                rows[("demo", path, "batch-1 latency")] = (median_ms(f, xs, a.lat_n), "ms")
                rows[("demo", path, "throughput")] = (throughput(f, xs, a.batch), "img/s")
        if not a.no_deit:
            cfg = {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6,
                   "intermediate_size": 1536, "num_labels": 1000, "image_size": 224, "patch_size": 16,
                   "num_channels": 3, "layer_norm_eps": 1e-6, "hidden_act": "gelu"}
            m = ViT.random(cfg, 2024)
            xs = torch.randn(4, 3, 224, 224, generator=torch.Generator().manual_seed(2))
            for path, skip in (("full", ()), ("half-skip", tuple(range(1, 12, 2)))):
                rows[("deit-s", path, "batch-1 latency")] = (
                    median_ms(lambda x, s=skip: m(x, s), xs, a.deit_reps), "ms")
    print_table(rows, notes, a)
    return status


def print_table(rows, notes, a):
    vs, vnotes = {}, []
    if a.vitskip_tsv:
        for line in open(a.vitskip_tsv):
            line = line.rstrip("\n")
            if line.startswith("#"):
                vnotes.append(line[2:])
            elif line:
                f = line.split("\t")
                vs[tuple(f[:3])] = (float(f[3]), f[4], float(f[5]))
    aims = {("demo", "full", "throughput"): 3.0, ("deit-s", "full", "batch-1 latency"): 1.5}
    print("%-7s %-10s %-16s %12s %12s %-6s %8s %14s  %s" % (
        "model", "path", "metric", "vitskip", "pytorch", "unit", "ratio", "vitskip GOP/s", "aim"))
    keys = list(rows) + [k for k in vs if k not in rows and k[0] != "peak"]
    for k in keys:
        t = rows.get(k)
        v = vs.get(k)
        unit = (t or v)[1]
        ratio, aim = "", ""
        if t and v:
            r = v[0] / t[0] if unit == "img/s" else t[0] / v[0]
            ratio = "%.2fx" % r
            if k in aims:
                aim = ">= %.1fx: %s" % (aims[k], "met" if r >= aims[k] else "NOT met")
        print("%-7s %-10s %-16s %12s %12s %-6s %8s %14s  %s" % (
            k[0], k[1], k[2], "%.4g" % v[0] if v else "-", "%.4g" % t[0] if t else "-", unit, ratio,
            "%.1f" % v[2] if v else "-", aim))
    print("ratio: vitskip speed over PyTorch's (latency: pytorch/vitskip; throughput: vitskip/pytorch);"
          " all figures measured (host clock)")
    for n in vnotes + notes:
        print("  " + n)


if __name__ == "__main__":
    sys.exit(main())

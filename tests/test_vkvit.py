"""Checks tools/vkvit.py (the PyTorch ViT with vitskip's per-encoder modes)
against an independent plain implementation of the modes (per-head loops,
the LayerNorm and GELU formulas written out, float64), the FFN permutation
(function unchanged, importance descending), token pruning on a hand-made
case (exact scores, a tie, compounding), the genome parser's errors, and the
safetensors round trip. Run by tests/test_vkvit.sh with a python3 that has
torch (Debian's python3-torch)."""
import math
import os
import sys
import tempfile

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
import vkvit  # noqa: E402

fails = 0
checks = 0


def check(cond, what):
    global fails, checks
    checks += 1
    if not cond:
        fails += 1
        print("FAIL:", what)


def ln(x, w, b, eps):
    mu = sum(x) / len(x)
    var = sum((v - mu) ** 2 for v in x) / len(x)
    return [(v - mu) / math.sqrt(var + eps) * w[i] + b[i] for i, v in enumerate(x)]


def lin(x, w, b, n_out=None):
    n_out = len(w) if n_out is None else n_out
    return [sum(w[o][i] * x[i] for i in range(len(x))) + b[o] for o in range(n_out)]


def softmax(r):
    m = max(r)
    e = [math.exp(v - m) for v in r]
    s = sum(e)
    return [v / s for v in e]


def gelu(v):
    return 0.5 * v * (1 + math.erf(v / math.sqrt(2)))


def reference(model, img, genome):
    """One image (C,H,W) through the path, in Python floats: the modes as the
    project's MODES specification words them. Returns (logits, kept ids)."""
    sd = {k: v.double().tolist() for k, v in model.state_dict().items()}
    c = model.cfg
    D, H, M = c["hidden_size"], c["num_attention_heads"], c["intermediate_size"]
    dh, p, eps = D // H, c["patch_size"], c["layer_norm_eps"]
    modes = vkvit.parse_genome(genome, c["num_hidden_layers"])
    pw, pb = sd["vit.embeddings.patch_embeddings.projection.weight"], \
        sd["vit.embeddings.patch_embeddings.projection.bias"]
    g = c["image_size"] // p
    im = img.double().tolist()
    toks = [sd["vit.embeddings.cls_token"][0][0]]
    for py in range(g):
        for px in range(g):
            toks.append([pb[o] + sum(pw[o][ch][i][j] * im[ch][py * p + i][px * p + j]
                                     for ch in range(len(im)) for i in range(p) for j in range(p))
                         for o in range(D)])
    pos = sd["vit.embeddings.position_embeddings"][0]
    x = [[t[d] + pos[n][d] for d in range(D)] for n, t in enumerate(toks)]
    ids = list(range(len(x)))
    a_src = None  # list over heads of T x T
    kept = []
    for li, m in enumerate(modes):
        L = lambda s: sd["vit.encoder.layer.%d.%s" % (li, s)]  # noqa: E731
        T = len(x)
        if m.attn != "S":
            h = [ln(t, L("layernorm_before.weight"), L("layernorm_before.bias"), eps) for t in x]
            v = [lin(t, L("attention.attention.value.weight"), L("attention.attention.value.bias"))
                 for t in h]
            if m.attn == "F":
                q = [lin(t, L("attention.attention.query.weight"),
                         L("attention.attention.query.bias")) for t in h]
                k = [lin(t, L("attention.attention.key.weight"),
                         L("attention.attention.key.bias")) for t in h]
                a = [[softmax([sum(q[i][hh * dh + e] * k[j][hh * dh + e] for e in range(dh))
                               / math.sqrt(dh) for j in range(T)]) for i in range(T)]
                     for hh in range(H)]
            elif m.attn == "H":
                wq, wk = L("attention.attention.query.weight"), L("attention.attention.key.weight")
                bq, bk = L("attention.attention.query.bias"), L("attention.attention.key.bias")
                wqs = [[sum(wq[hh * dh + r][i] for hh in range(H)) / H for i in range(D)]
                       for r in range(dh)]
                wks = [[sum(wk[hh * dh + r][i] for hh in range(H)) / H for i in range(D)]
                       for r in range(dh)]
                bqs = [sum(bq[hh * dh + r] for hh in range(H)) / H for r in range(dh)]
                bks = [sum(bk[hh * dh + r] for hh in range(H)) / H for r in range(dh)]
                qs, ks = [lin(t, wqs, bqs) for t in h], [lin(t, wks, bks) for t in h]
                one = [softmax([sum(qs[i][e] * ks[j][e] for e in range(dh)) / math.sqrt(dh)
                                for j in range(T)]) for i in range(T)]
                a = [one] * H
            else:
                a = a_src
            ctx = [[sum(a[d // dh][i][j] * v[j][d] for j in range(T)) for d in range(D)]
                   for i in range(T)]
            o = [lin(t, L("attention.output.dense.weight"), L("attention.output.dense.bias"))
                 for t in ctx]
            x = [[x[i][d] + o[i][d] for d in range(D)] for i in range(T)]
            if m.attn in "FH":
                a_src = a
            if m.keep < 100:
                N = T - 1
                score = [sum(a[hh][0][1 + j] for hh in range(H)) / H for j in range(N)]
                n_keep = math.ceil(m.keep * N / 100 - 1e-9)
                best = sorted(range(N), key=lambda j: (-score[j], j))[:n_keep]
                sel = [0] + [1 + j for j in sorted(best)]
                x = [x[s] for s in sel]
                ids = [ids[s] for s in sel]
        mk = M - math.floor(m.fdrop * M / (100 * 64)) * 64
        h = [ln(t, L("layernorm_after.weight"), L("layernorm_after.bias"), eps) for t in x]
        f1 = [[gelu(u) for u in lin(t, L("intermediate.dense.weight"), L("intermediate.dense.bias"),
                                    mk)] for t in h]
        w2, b2 = L("output.dense.weight"), L("output.dense.bias")
        x = [[x[i][d] + b2[d] + sum(w2[d][j] * f1[i][j] for j in range(mk)) for d in range(D)]
             for i in range(len(x))]
        kept.append(ids)
    y = ln(x[0], sd["vit.layernorm.weight"], sd["vit.layernorm.bias"], eps)
    return lin(y, sd["classifier.weight"], sd["classifier.bias"]), kept


def tiny(mlp=128, layers=4, heads=2, dim=8, image=8, patch=2, seed=0, deit=False):
    torch.manual_seed(seed)
    cfg = vkvit.vit_config(image, patch, 1, dim, layers, heads, mlp, ["a", "b", "c"], deit=deit)
    cfg["layer_norm_eps"] = 1e-6
    m = vkvit.VKViT(cfg).double().eval()
    with torch.no_grad():  # larger weights than the init, so the modes differ visibly
        for n, p in m.named_parameters():
            p.copy_(torch.randn_like(p) * (0.3 if "norm" not in n else 0.2)
                    + (1.0 if "norm" in n and n.endswith("weight") else 0.0))
    return m


def test_modes_vs_reference():
    m = tiny()
    torch.manual_seed(1)
    img = torch.randn(2, 1, 8, 8, dtype=torch.float64)
    genomes = ["FFFF", "FSFS", "SSSS", "HHHH", "FRRH", "HRSR", "F:k70FFF", "HRH:k50F", "F:k70SHR",
               "FF:k85F:k50F", "F:f50S:f25H:f50R", "F:k70HRS:f50", "SF:k70:f50HR:f25"]
    for gnm in genomes:
        info = {}
        with torch.no_grad():
            out = m(img, gnm, info)
        for b in range(2):
            ref, kept = reference(m, img[b], gnm)
            err = max(abs(out[b, c].item() - ref[c]) for c in range(3))
            check(err < 1e-9, "%s image %d: |vkvit - reference| = %.3g" % (gnm, b, err))
            check([k[b].tolist() for k in info["kept"]] == kept,
                  "%s image %d: kept tokens %s, reference %s" % (
                      gnm, b, [k[b].tolist() for k in info["kept"]], kept))
    with torch.no_grad():  # the modes matter: a different path gives other logits
        a, b = m(img, "FFFF"), m(img, "HHHH")
    check((a - b).abs().max().item() > 1e-3, "H computes the same as F")
    with torch.no_grad():  # a float32 model with scaled_dot_product_attention where present
        m32 = tiny().float()
        d = (m32(img.float(), "FFFF") - m(img, "FFFF")).abs().max().item()
    check(d < 1e-4, "float32 F path differs from float64 by %.3g" % d)


def test_deit():
    m = tiny(deit=True)
    img = torch.randn(1, 1, 8, 8, dtype=torch.float64)
    check(any(k.startswith("deit.embeddings.distillation_token") for k in m.state_dict()),
          "DeiT: no distillation token parameter")
    info = {}
    with torch.no_grad():
        m(img, "F:k50FFF", info)
    # 16 patches + 2 prefix tokens; keep both prefix tokens and 8 patches
    check(info["kept"][0].shape[1] == 10 and info["kept"][0][0, :2].tolist() == [0, 1],
          "DeiT pruning keeps cls and dist: %s" % info["kept"][0].tolist())


def test_ffn_sort():
    m = tiny(mlp=192)
    img = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        before = m(img, "FHRS")
    perms = vkvit.sort_ffn(m)
    with torch.no_grad():
        after = m(img, "FHRS")
    check((before - after).abs().max().item() < 1e-12, "FFN permutation changed the function")
    check(any(p.tolist() != list(range(192)) for p in perms), "the permutation was the identity")
    for L in m.layers():
        imp = vkvit.ffn_importance(L)
        check(bool((imp[:-1] >= imp[1:]).all()), "importance not descending after sort_ffn")
    check(vkvit.ffn_keep(768, 25) == 576 and vkvit.ffn_keep(768, 50) == 384, "M_keep for 768")
    check(vkvit.ffn_keep(256, 25) == 192 and vkvit.ffn_keep(256, 50) == 128, "M_keep for 256")
    check(vkvit.ffn_keep(192, 25) == 192 and vkvit.ffn_keep(192, 50) == 128, "M_keep for 192")
    check(vkvit.ffn_keep(64, 50) == 64, "M_keep for 64")
    # the optimizer's moments follow the permutation
    m2 = tiny(mlp=128).float()
    opt = torch.optim.AdamW(m2.parameters(), lr=1e-3)
    m2(torch.randn(2, 1, 8, 8)).sum().backward()
    opt.step()
    w = m2.layers()[0].intermediate.dense.weight
    ea = opt.state[w]["exp_avg"].clone()
    perm = vkvit.sort_ffn(m2, opt)[0]
    check(torch.equal(opt.state[w]["exp_avg"], ea[perm]), "AdamW state not permuted")


def test_pruning_hand_made():
    """3x3 image, patch 1: 9 patch tokens whose stream vectors are their
    position embeddings (zero image, zero patch bias), one head of size 4,
    Wq = Wk = I and zero biases, Proj and FC2 zero (the stream stays put).
    pos_j = (c, s, -c, -s) for angle t_j: LayerNorm gives sqrt(2) * pos_j
    (gain 1, eps 1e-12), so the class token (t = 0) scores patch j by
    exp(4 cos t_j) / Z: the ranking is by cos t_j. Patches 1 and 3 have equal
    vectors (a tie: the lower index wins)."""
    cfg = vkvit.vit_config(3, 1, 1, 4, 2, 1, 64, ["a", "b"])
    m = vkvit.VKViT(cfg).double().eval()
    ang = [100, 10, 170, 10, 60, 90, 30, -60, 120]  # cos: -.17 .98 -.98 .98 .5 0 .87 .5 -.5
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
        for L in m.layers():
            L.layernorm_before.weight.fill_(1)
            L.layernorm_after.weight.fill_(1)
            L.attention.attention.query.weight.copy_(torch.eye(4))
            L.attention.attention.key.weight.copy_(torch.eye(4))
        pos = [[1, 0, -1, 0]] + [[math.cos(math.radians(t)), math.sin(math.radians(t)),
                                  -math.cos(math.radians(t)), -math.sin(math.radians(t))]
                                 for t in ang]
        m.backbone.embeddings.position_embeddings.copy_(torch.tensor([pos], dtype=torch.float64))
    img = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    # ranking: 1, 3 (tie, lower first), 6, 4, 7 (tie .5: 4 first), 5, 0, 8, 2 (patch numbers)
    cases = {"F:k50F": ([0, 2, 4, 5, 7, 8], [0, 2, 4, 5, 7, 8]),      # keep 5 of 9
             "F:k70F": ([0, 1, 2, 4, 5, 6, 7, 8], None),               # keep 7: drops 8, 2 -> tokens 9, 3
             "F:k85F:k50": ([0, 1, 2, 4, 5, 6, 7, 8, 9], [0, 2, 4, 5, 7]),  # 8 of 9, then 4 of 8
             "H:k50F": ([0, 2, 4, 5, 7, 8], None)}
    for gnm, (want0, want1) in cases.items():
        info = {}
        with torch.no_grad():
            m(img, gnm, info)
        got0 = info["kept"][0][0].tolist()
        check(got0 == want0, "%s: encoder 0 kept %s, expected %s" % (gnm, got0, want0))
        if want1 is not None:
            got1 = info["kept"][1][0].tolist()
            check(got1 == want1, "%s: encoder 1 kept %s, expected %s" % (gnm, got1, want1))
    check(vkvit.keep_count(196, 70) == 138 and vkvit.keep_count(196, 85) == 167 and
          vkvit.keep_count(196, 50) == 98 and vkvit.keep_count(9, 85) == 8, "keep_count")


def test_genome_errors():
    bad = {"FFF": "3 encoders", "FFFX": "expected F, S, R or H", "F:k100FFF": ":k100",
           "F:k0FFF": ":k0", "F:f100FFF": ":f100", "F:f0FFF": ":f0", "S:k50FFF": "needs F or H",
           "R:k50FFF": "needs F or H",
           "RFFF": "no earlier", "SRFF": "no earlier", "F:k70RFF": "across pruned",
           "FF:k50SR": "across pruned", "F:f50:k50FFF": "offset", "F:k070FFF": ":k070",
           "ffff": "offset 0", "F FFF": "offset 1"}
    for g, want in bad.items():
        try:
            vkvit.parse_genome(g, 4)
            check(False, "genome %r accepted" % g)
        except ValueError as e:
            check(want in str(e), "genome %r: error %r does not say %r" % (g, str(e), want))
    for g in ("FRRR", "HRSR", "F:k70HRS", "SF:k85:f50HR:f25", "F:k60F:f30F:k1:f99F"):
        check(vkvit.format_genome(vkvit.parse_genome(g, 4)) == g, "round trip %r" % g)


def test_save_load():
    m = tiny(mlp=128).float()
    img = torch.randn(4, 1, 8, 8)
    with tempfile.TemporaryDirectory() as d:
        for dt in (torch.float32, torch.float16, torch.bfloat16):
            clone = vkvit.save_pretrained(m, d, dtype=dt,
                                          preprocessor=vkvit.preprocessor_config(8, [0.5], [0.25]))
            back = vkvit.load_pretrained(d)
            with torch.no_grad():
                e1 = (back(img, "FSHR") - clone(img, "FSHR")).abs().max().item()
                e2 = (back(img) - m(img)).abs().max().item()
            check(e1 == 0, "%s: loaded model differs from the saved one by %.3g" % (dt, e1))
            check(e2 < (1e-5 if dt == torch.float32 else 0.2),
                  "%s: saved model far from the original: %.3g" % (dt, e2))
            for L in back.layers():
                imp = vkvit.ffn_importance(L)
                check(bool((imp[:-1] >= imp[1:]).all()), "%s: saved FFN not sorted" % dt)
            sd = vkvit.st_load(os.path.join(d, "model.safetensors"))
            check(all(v.dtype == dt for v in sd.values()), "%s: stored dtype" % dt)
        with open(os.path.join(d, "model.safetensors"), "r+b") as f:
            f.write(b"\xff" * 8)
        try:
            vkvit.load_pretrained(d)
            check(False, "a corrupt header was accepted")
        except ValueError as e:
            check("exceeds the file" in str(e), "corrupt header error: %s" % e)


for t in (test_modes_vs_reference, test_deit, test_ffn_sort, test_pruning_hand_made,
          test_genome_errors, test_save_load):
    t()
print("vkvit: %d passed, %d failed" % (checks - fails, fails))
sys.exit(1 if fails else 0)

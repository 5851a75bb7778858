#!/usr/bin/env python3
"""Independent integer reference for the vitskip kernel's golden vectors.

Re-implements, in plain Python integers and from the specification in
kernels/vk_int.h and kernels/vk_config.h (not by calling the C code), the
kernel's forward pass: requantization, LayerNorm, exp2/log2 tables, softmax,
activation tables, resume/save of the residual stream and the class entropy.
The kernel testbench (kernels/tb/vk_tb.c) compares the HLS kernel's C
simulation against the outputs this writes, byte for byte.

usage: golden_ref.py DIR
  reads  DIR/model.bin  (vitskip model blob, "VKQM0001")
         DIR/cases.bin  ("VKGC0001", u32 n_cases, u32 img_n, then per case:
                         u32 cfg[VK_CFG_WORDS], i8 img[img_n], i32 act_in[T*D])
  writes DIR/expected.bin ("VKGE0001", u32 n_cases, u32 out_words, u32 act_n,
                         then per case: i32 out[VK_OUT_WORDS], i32 act_out[T*D])
"""
import math
import struct
import sys

MAX_DIM, MAX_LAYERS, MAX_CLASSES = 384, 12, 1000
CFG_WORDS = 4 + MAX_LAYERS
OUT_WORDS = 4 + MAX_CLASSES
HDR_WORDS = 32
LN_GS = 12
EXP2 = [round(65536 * 2 ** (-k / 32)) for k in range(33)]
LOG2 = [round(65536 * math.log2(1 + k / 32)) for k in range(33)]
I32 = (-(1 << 31), (1 << 31) - 1)


def check32(v):
    assert I32[0] <= v <= I32[1], "int32 overflow in the reference: %d" % v
    return v


def rshift_round(x, s):
    if s <= 0:
        return x
    half = 1 << (s - 1)
    return (x + half) >> s if x >= 0 else -((-x + half) >> s)


def div_round(a, b):
    return (a + b // 2) // b if a >= 0 else -((-a + b // 2) // b)


def sat8(x):
    return max(-128, min(127, x))


def sat30(x):
    return max(-(1 << 30), min(1 << 30, x))


def requant(acc, m, s):
    return rshift_round(acc * m, s)


def exp2_neg(x):
    nx = -x
    n = nx >> 16
    if n >= 16:
        return 0
    f = nx & 0xFFFF
    idx, r = f >> 11, f & 0x7FF
    a, b = EXP2[idx], EXP2[idx + 1]
    v = a - (((a - b) * r + 1024) >> 11)
    return (v + (1 << n)) >> (n + 1)


def log2_q16(z):
    m = z.bit_length() - 1
    t = z >> (m - 30) if m >= 30 else z << (30 - m)
    frac = (t - (1 << 30)) >> 14
    idx, r = frac >> 11, frac & 0x7FF
    a, b = LOG2[idx], LOG2[idx + 1]
    return m * 65536 + a + (((b - a) * r + 1024) >> 11)


def layernorm(h, g, b, eps):
    d = len(h)
    mean = div_round(sum(h), d)
    var = sum((v - mean) ** 2 for v in h) // d + eps
    sd = max(1, math.isqrt(var))
    inv = (1 << 40) // sd
    out = []
    for i, v in enumerate(h):
        q = rshift_round((v - mean) * inv, 24)
        out.append(sat8(rshift_round(q * g[i] + b[i] * 65536, 16 + LN_GS)))
    return out


def softmax_q8(score, m, s):
    mx = max(score)
    e = [exp2_neg(rshift_round((v - mx) * m, s)) for v in score]
    rz = (1 << 40) // sum(e)
    return [min(255, rshift_round(v * rz, 32)) for v in e]


def entropy(logit, m, s):
    mx = max(logit)
    z = acc = 0
    for v in logit:
        x = rshift_round((v - mx) * m, s)
        e = exp2_neg(x)
        z += e
        acc += e * x
    hb = log2_q16(z) - 15 * 65536 + div_round(-acc, z)
    return max(0, rshift_round(hb * 45426, 16))


class Model:
    def __init__(self, blob):
        assert blob[:8] == b"VKQM0001", "not a model blob"
        par_n, wt_n = struct.unpack_from("<II", blob, 8)
        self.par = list(struct.unpack_from("<%di" % par_n, blob, 16))
        self.wt = list(struct.unpack_from("<%db" % wt_n, blob, 16 + 4 * par_n))
        p = self.par
        (self.img, self.patch, self.ch, self.d, self.nl, self.nh, self.mlp, self.k,
         self.t) = p[2:11]
        self.eps, self.ent_m, self.ent_s = p[11], p[15], p[16]
        c, pp, d, nl, mlp, k, t = self.ch, self.patch, self.d, self.nl, self.mlp, self.k, self.t
        pd = c * pp * pp
        # weight offsets (vk_layout_compute)
        self.o_patch_w = 0
        self.o_layer_w = d * pd
        self.l_qkv, self.l_proj = 0, 3 * d * d
        self.l_fc1 = self.l_proj + d * d
        self.l_fc2 = self.l_fc1 + mlp * d
        self.layer_w_n = self.l_fc2 + d * mlp
        self.o_head_w = self.o_layer_w + nl * self.layer_w_n
        assert self.o_head_w + k * d == wt_n
        o = HDR_WORDS
        names = [("patch_b", d), ("patch_m", d), ("patch_s", d), ("tok0", t * d)]
        for n, sz in names:
            setattr(self, "o_" + n, o)
            o += sz
        self.o_layer_p = o
        lo = 0
        self.lp = {}
        for n, sz in [("ln1_g", d), ("ln1_b", d), ("qkv_b", 3 * d), ("qkv_m", 3 * d),
                      ("qkv_s", 3 * d), ("sm_m", 1), ("sm_s", 1), ("av_m", 1), ("av_s", 1),
                      ("proj_b", d), ("proj_m", d), ("proj_s", d), ("ln2_g", d), ("ln2_b", d),
                      ("fc1_b", mlp), ("fc1_m", mlp), ("fc1_s", mlp), ("gelu", 256),
                      ("fc2_b", d), ("fc2_m", d), ("fc2_s", d)]:
            self.lp[n] = lo
            lo += sz
        self.layer_p_n = lo
        o = self.o_layer_p + nl * lo
        for n, sz in [("lnf_g", d), ("lnf_b", d), ("head_b", k), ("head_m", k), ("head_s", k)]:
            setattr(self, "o_" + n, o)
            o += sz
        assert o == par_n

    def P(self, off, n):
        return self.par[off:off + n]

    def W(self, off, n_out, n_in):
        return [self.wt[off + r * n_in: off + (r + 1) * n_in] for r in range(n_out)]

    def lpar(self, layer, name, n):
        return self.P(self.o_layer_p + layer * self.layer_p_n + self.lp[name], n)


def linear(x, w, b, m, s):
    """Returns requantized values (before saturation / residual add)."""
    out = []
    for row in x:
        out.append([requant(check32(b[o] + sum(a * c for a, c in zip(row, w[o]))), m[o], s[o])
                    for o in range(len(w))])
    return out


def run(M, cfg, img, act_in):
    d, t, nl, nh, mlp, k = M.d, M.t, M.nl, M.nh, M.mlp, M.k
    out = [0] * OUT_WORDS
    act = list(act_in)
    start, save = cfg[1], cfg[2]
    assert cfg[0] == 0x31434B56 and 0 <= start <= nl and 0 <= save <= nl
    for l in range(start, nl):
        assert cfg[4 + l] in (0xFF00, 0xFF01), "golden cases use full/skip modes only"
    if start == 0:
        tok0 = M.P(M.o_tok0, t * d)
        h = [tok0[i * d:(i + 1) * d] for i in range(t)]
        g, pp, side, c = M.img // M.patch, M.patch, M.img, M.ch
        wpatch = M.W(M.o_patch_w, d, c * pp * pp)
        pb, pm, ps = M.P(M.o_patch_b, d), M.P(M.o_patch_m, d), M.P(M.o_patch_s, d)
        for py in range(g):
            for px in range(g):
                vec = [img[(ch * side + py * pp + ky) * side + px * pp + kx]
                       for ch in range(c) for ky in range(pp) for kx in range(pp)]
                y = linear([vec], wpatch, pb, pm, ps)[0]
                tok = 1 + py * g + px
                h[tok] = [sat30(h[tok][o] + y[o]) for o in range(d)]
    else:
        h = [act[i * d:(i + 1) * d] for i in range(t)]
    dh = d // nh
    for l in range(start, nl):
        if l == save and save > 0:
            act = [v for row in h for v in row]
        lw = M.o_layer_w + l * M.layer_w_n
        L = lambda name, n: M.lpar(l, name, n)
        if cfg[4 + l] & 0xF == 0:
            xn = [layernorm(row, L("ln1_g", d), L("ln1_b", d), M.eps) for row in h]
            qkv = [[sat8(v) for v in r] for r in linear(
                xn, M.W(lw + M.l_qkv, 3 * d, d), L("qkv_b", 3 * d), L("qkv_m", 3 * d),
                L("qkv_s", 3 * d))]
            smm, sms = L("sm_m", 1)[0], L("sm_s", 1)[0]
            avm, avs = L("av_m", 1)[0], L("av_s", 1)[0]
            ctx = [[0] * d for _ in range(t)]
            for hd in range(nh):
                for i in range(t):
                    q = qkv[i][hd * dh:(hd + 1) * dh]
                    sc = [sum(a * b for a, b in zip(q, qkv[j][d + hd * dh:d + (hd + 1) * dh]))
                          for j in range(t)]
                    p = softmax_q8(sc, smm, sms)
                    for c in range(dh):
                        acc = sum(p[j] * qkv[j][2 * d + hd * dh + c] for j in range(t))
                        ctx[i][hd * dh + c] = sat8(requant(check32(acc), avm, avs))
            y = linear(ctx, M.W(lw + M.l_proj, d, d), L("proj_b", d), L("proj_m", d),
                       L("proj_s", d))
            h = [[sat30(h[i][o] + y[i][o]) for o in range(d)] for i in range(t)]
        xn = [layernorm(row, L("ln2_g", d), L("ln2_b", d), M.eps) for row in h]
        mid = linear(xn, M.W(lw + M.l_fc1, mlp, d), L("fc1_b", mlp), L("fc1_m", mlp),
                     L("fc1_s", mlp))
        tab = L("gelu", 256)
        mid = [[tab[sat8(v) + 128] for v in r] for r in mid]
        y = linear(mid, M.W(lw + M.l_fc2, d, mlp), L("fc2_b", d), L("fc2_m", d), L("fc2_s", d))
        h = [[sat30(h[i][o] + y[i][o]) for o in range(d)] for i in range(t)]
    if save == nl:
        act = [v for row in h for v in row]
    xn = layernorm(h[0], M.P(M.o_lnf_g, d), M.P(M.o_lnf_b, d), M.eps)
    logit = [sat30(v) for v in linear([xn], M.W(M.o_head_w, k, d), M.P(M.o_head_b, k),
                                      M.P(M.o_head_m, k), M.P(M.o_head_s, k))[0]]
    out[1] = max(range(k), key=lambda i: (logit[i], -i))
    out[2] = entropy(logit, M.ent_m, M.ent_s)
    out[3] = k
    out[4:4 + k] = logit
    return out, act


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    M = Model(open(d + "/model.bin", "rb").read())
    cases = open(d + "/cases.bin", "rb").read()
    assert cases[:8] == b"VKGC0001", "cases.bin: bad magic"
    n, img_n = struct.unpack_from("<II", cases, 8)
    act_n = M.t * M.d
    off = 16
    res = [b"VKGE0001", struct.pack("<III", n, OUT_WORDS, act_n)]
    for _ in range(n):
        cfg = list(struct.unpack_from("<%dI" % CFG_WORDS, cases, off))
        off += 4 * CFG_WORDS
        img = list(struct.unpack_from("<%db" % img_n, cases, off))
        off += img_n
        act = list(struct.unpack_from("<%di" % act_n, cases, off))
        off += 4 * act_n
        out, act_out = run(M, cfg, img, act)
        res.append(struct.pack("<%di" % OUT_WORDS, *out))
        res.append(struct.pack("<%di" % act_n, *act_out))
    assert off == len(cases), "cases.bin: trailing bytes"
    open(d + "/expected.bin", "wb").write(b"".join(res))
    print("golden_ref: %d cases written to %s/expected.bin" % (n, d))


if __name__ == "__main__":
    main()

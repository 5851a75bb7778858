#!/usr/bin/env python3
"""Independent integer reference for the vitskip kernel's golden vectors.

Re-implements, in plain Python integers and from the specification in
kernels/vk_int.h, kernels/vk_config.h and the README's "Per-encoder modes"
(not by calling the C code, and not following the kernel's loop structure:
no tiles, no engine, whole matrices; integer products in numpy int64, every
other operator on Python integers), the kernel's forward pass:
requantization, LayerNorm, exp2/log2 tables, softmax, activation tables,
the attention modes (full, skip, shared heads, reuse), token pruning,
structured FFN sparsity, resume/save of the residual stream, the
distillation head and the class entropy. The kernel testbench
(kernels/tb/vk_tb.c) compares the HLS kernel's C simulation against the
outputs this writes, byte for byte.

usage: golden_ref.py DIR
  reads  DIR/model.bin  (vitskip model blob, "VKQM0002")
         DIR/cases.bin  ("VKGC0002", u32 n_cases, u32 img_n, u32 act_n, then per
                         case: u32 cfg[VK_CFG_WORDS], i8 img[img_n], i32 act_in[act_n])
  writes DIR/expected.bin ("VKGE0002", u32 n_cases, u32 out_words, u32 act_n,
                         then per case: i32 out[VK_OUT_WORDS], i32 act_out[act_n])
"""
import math
import struct
import sys

import numpy as np  # exact int64 matrix products (|sums| < 2^31 here)

MAX_LAYERS, MAX_CLASSES = 12, 1000
CFG_WORDS = 4 + MAX_LAYERS
OUT_WORDS = 4 + MAX_CLASSES
HDR_WORDS = 32
ACT_HDR = 4
LN_GS = 12
RESID_LIM = 1 << 25
FULL, SKIP, REUSE, SHARED = 0, 1, 2, 3
BAD_MODE = 3
EXP2 = [round(65536 * 2 ** (-k / 32)) for k in range(33)]
LOG2 = [round(65536 * math.log2(1 + k / 32)) for k in range(33)]
I32 = (-(1 << 31), (1 << 31) - 1)


def check32(v):
    assert I32[0] <= v <= I32[1], "int32 overflow in the reference: %d" % v
    return v


def rshift_round(x, s):
    if s <= 0:
        return x
    s = min(s, 62)
    half = 1 << (s - 1)
    return (x + half) >> s if x >= 0 else -((-x + half) >> s)


def div_round(a, b):
    return (a + b // 2) // b if a >= 0 else -((-a + b // 2) // b)


def sat8(x):
    return max(-128, min(127, x))


def sat30(x):
    return max(-(1 << 30), min(1 << 30, x))


def sat_resid(x):
    return max(-RESID_LIM, min(RESID_LIM, x))


def requant(acc, m, s):
    return rshift_round(acc * m, s)


def exp2_neg(x):
    nx = max(0, -x)
    n = nx >> 16
    if n >= 16:
        return 0
    f = nx & 0xFFFF
    idx, r = f >> 11, f & 0x7FF
    a, b = EXP2[idx], EXP2[idx + 1]
    v = a - (((a - b) * r + 1024) >> 11)
    return (v + (1 << n)) >> (n + 1)


def log2_q16(z):
    z = max(1, z)
    m = z.bit_length() - 1
    t = z >> (m - 30) if m >= 30 else z << (30 - m)
    frac = (t - (1 << 30)) >> 14
    idx, r = frac >> 11, frac & 0x7FF
    a, b = LOG2[idx], LOG2[idx + 1]
    return m * 65536 + a + (((b - a) * r + 1024) >> 11)


def layernorm(h, g, b, eps):
    d = len(h)
    mean = div_round(sum(h), d)
    var = sum((v - mean) ** 2 for v in h) // d + max(eps, 0)
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


def tiles(n):
    return (n + 63) // 64


def mat_bytes(n, k):
    return tiles(n) * tiles(k) * 4096


def align4(n):
    return (n + 3) & ~3


class Model:
    """The blob, read by the layout rules of kernels/vk_config.h."""

    def __init__(self, blob):
        assert blob[:8] == b"VKQM0002", "not a model blob"
        par_n, wt_n = struct.unpack_from("<II", blob, 8)
        self.par = list(struct.unpack_from("<%di" % par_n, blob, 16))
        self.wt = blob[16 + 4 * par_n:]
        p = self.par
        (self.img, self.patch, self.ch, self.d, self.nl, self.nh, self.mlp, self.k,
         self.t) = p[2:11]
        self.eps, self.ent_m, self.ent_s, self.prefix = p[11], p[15], p[16], p[17]
        c, pp, d, nl, mlp, k, t, nh = (self.ch, self.patch, self.d, self.nl, self.mlp, self.k,
                                       self.t, self.nh)
        dh = d // nh
        self.dh, self.pd = dh, c * pp * pp
        self.l_qkv = 0
        self.l_qks = mat_bytes(3 * d, d)
        self.l_proj = self.l_qks + mat_bytes(2 * dh, d)
        self.l_fc1 = self.l_proj + mat_bytes(d, d)
        self.l_fc2 = self.l_fc1 + mat_bytes(mlp, d)
        self.layer_w_n = self.l_fc2 + mat_bytes(d, mlp)
        self.o_layer_w = mat_bytes(d, self.pd)
        self.o_head_w = self.o_layer_w + nl * self.layer_w_n
        self.o_headd_w = self.o_head_w + mat_bytes(k, d)
        assert self.o_headd_w + (mat_bytes(k, d) if self.prefix > 1 else 0) == wt_n
        o = HDR_WORDS
        for n, sz in [("patch_b", d), ("patch_m", d), ("patch_s", d), ("tok0", t * d)]:
            setattr(self, "o_" + n, o)
            o += align4(sz)
        self.o_layer_p = o
        lo = 0
        self.lp = {}
        for n, sz in [("ln1_g", d), ("ln1_b", d), ("qkv_b", 3 * d), ("qkv_m", 3 * d),
                      ("qkv_s", 3 * d), ("qks_b", 2 * dh), ("qks_m", 2 * dh), ("qks_s", 2 * dh),
                      ("sm4", 4), ("av4", 4), ("proj_b", d), ("proj_m", d), ("proj_s", d),
                      ("ln2_g", d), ("ln2_b", d), ("fc1_b", mlp), ("fc1_m", mlp),
                      ("fc1_s", mlp), ("gelu", 256), ("fc2_b", d), ("fc2_m", d), ("fc2_s", d)]:
            self.lp[n] = lo
            lo += align4(sz)
        self.layer_p_n = lo
        o = self.o_layer_p + nl * lo
        heads = [("lnf_g", d), ("lnf_b", d), ("head_b", k), ("head_m", k), ("head_s", k)]
        if self.prefix > 1:
            heads += [("headd_b", k), ("headd_m", k), ("headd_s", k)]
        for n, sz in heads:
            setattr(self, "o_" + n, o)
            o += align4(sz)
        assert o == par_n

    def P(self, off, n):
        return self.par[off:off + n]

    def W(self, off, n_out, n_in, rows=None, cols=None):
        """Rows of the tiled matrix at off ([n_out][n_in]) as lists; rows/cols
        select a range of outputs and a prefix of inputs."""
        kt = tiles(n_in)
        r0, r1 = rows or (0, n_out)
        ncol = cols or n_in
        blocks = np.frombuffer(self.wt, dtype=np.int8, count=tiles(n_out) * kt * 4096,
                               offset=off).reshape(tiles(n_out), kt, 64, 64)
        full = blocks.transpose(0, 2, 1, 3).reshape(tiles(n_out) * 64, kt * 64)
        return full[r0:r1, :ncol].astype(np.int64).tolist()

    def lpar(self, layer, name, n, at=0):
        return self.P(self.o_layer_p + layer * self.layer_p_n + self.lp[name] + at, n)


def matmul(x, w):
    """Integer sums x . w^T (rows of x against rows of w), as Python ints."""
    r = np.asarray(x, dtype=np.int64) @ np.asarray(w, dtype=np.int64).T
    return [[check32(int(v)) for v in row] for row in r]


def linear(x, w, b, m, s):
    """Returns requantized values (before saturation / residual add)."""
    return [[requant((b[o] if b else 0) + v, m[o], s[o]) for o, v in enumerate(row)]
            for row in matmul(x, w)]


def check_modes(cfg, start, nl):
    """The kernel's mode rules; returns the set of reuse sources, or None."""
    src, ok, sources = -1, True, set()
    for l in range(start, nl):
        w = cfg[4 + l]
        a, keep, ffn = w & 0xF, (w >> 8) & 0xFF, (w >> 16) & 0xFF
        computes = a in (FULL, SHARED)
        prunes = 1 <= keep < 100
        if (a > SHARED or keep > 100 or ffn > 99 or w & 0xFF0000F0 or
                (prunes and not computes) or (a == REUSE and src < 0)):
            ok = False
        if a == REUSE and src >= 0:
            sources.add(src)
        if computes:
            src = l
        if prunes:
            src = -1
    return sources if ok else None


def attention_probs(q, k, m, s):
    """Q8 probabilities of one head: q, k lists of rows."""
    return [softmax_q8(row, m, s) for row in matmul(q, k)]


def apply_probs(p, v, m, s):
    """int8 context of one head from probabilities p [T][T] and values v [T][dh]."""
    vt = [list(col) for col in zip(*v)]
    return [[sat8(requant(x, m, s)) for x in row] for row in matmul(p, vt)]


def encoder(M, l, w, h, state):
    """One encoder in mode word w on the residual stream h (a list of rows);
    state['probs'] holds the latest computed probability sets."""
    d, nh, dh, mlp = M.d, M.nh, M.dh, M.mlp
    t = len(h)
    lw = M.o_layer_w + l * M.layer_w_n
    L = lambda name, n, at=0: M.lpar(l, name, n, at)
    a, keep, ffn = w & 0xF, (w >> 8) & 0xFF, (w >> 16) & 0xFF
    if a != SKIP:
        xn = [layernorm(row, L("ln1_g", d), L("ln1_b", d), M.eps) for row in h]
        vrows = [[sat8(x) for x in r] for r in linear(
            xn, M.W(lw + M.l_qkv, 3 * d, d, rows=(2 * d, 3 * d)), L("qkv_b", d, 2 * d),
            L("qkv_m", d, 2 * d), L("qkv_s", d, 2 * d))]
        avm, avs = L("av4", 2)
        if a == FULL:
            qk = [[sat8(x) for x in r] for r in linear(
                xn, M.W(lw + M.l_qkv, 3 * d, d, rows=(0, 2 * d)), L("qkv_b", 2 * d),
                L("qkv_m", 2 * d), L("qkv_s", 2 * d))]
            smm, sms = L("sm4", 2)
            probs = [attention_probs([r[hd * dh:(hd + 1) * dh] for r in qk],
                                     [r[d + hd * dh:d + (hd + 1) * dh] for r in qk], smm, sms)
                     for hd in range(nh)]
            state["probs"] = probs
        elif a == SHARED:
            qks = [[sat8(x) for x in r] for r in linear(
                xn, M.W(lw + M.l_qks, 2 * dh, d), L("qks_b", 2 * dh), L("qks_m", 2 * dh),
                L("qks_s", 2 * dh))]
            smm, sms = L("sm4", 2, 2)
            probs = [attention_probs([r[:dh] for r in qks], [r[dh:] for r in qks], smm, sms)]
            state["probs"] = probs
        else:
            probs = state["probs"]
        ctx = [[0] * d for _ in range(t)]
        for hd in range(nh):
            p = probs[hd if len(probs) > 1 else 0]
            c = apply_probs(p, [r[hd * dh:(hd + 1) * dh] for r in vrows], avm, avs)
            for i in range(t):
                ctx[i][hd * dh:(hd + 1) * dh] = c[i]
        y = linear(ctx, M.W(lw + M.l_proj, d, d), L("proj_b", d), L("proj_m", d),
                   L("proj_s", d))
        h = [[sat_resid(h[i][o] + y[i][o]) for o in range(d)] for i in range(t)]
        if 1 <= keep < 100:  # token pruning by the class token's attention
            pre, n = M.prefix, t - M.prefix
            score = [sum(pp[0][pre + j] for pp in probs) for j in range(n)]
            m = (keep * n + 99) // 100
            order = sorted(range(n), key=lambda j: (-score[j], j))[:m]
            h = h[:pre] + [h[pre + j] for j in sorted(order)]
            state["probs"] = None
            t = len(h)
    m_keep = mlp - (ffn * mlp // (100 * 64)) * 64
    xn = [layernorm(row, L("ln2_g", d), L("ln2_b", d), M.eps) for row in h]
    mid = linear(xn, M.W(lw + M.l_fc1, mlp, d, rows=(0, m_keep)), L("fc1_b", m_keep),
                 L("fc1_m", m_keep), L("fc1_s", m_keep))
    tab = L("gelu", 256)
    mid = [[tab[sat8(v) + 128] for v in r] for r in mid]
    y = linear(mid, M.W(lw + M.l_fc2, d, mlp, cols=m_keep), L("fc2_b", d), L("fc2_m", d),
               L("fc2_s", d))
    return [[sat_resid(h[i][o] + y[i][o]) for o in range(d)] for i in range(t)]


def saved(act, h):
    """act with the residual stream h written: its token count, then its rows
    (the other words as they were)."""
    rows = [v for row in h for v in row]
    return [len(h)] + act[1:ACT_HDR] + rows + act[ACT_HDR + len(rows):]


def run(M, cfg, img, act_in):
    d, t, nl, k = M.d, M.t, M.nl, M.k
    out = [0] * OUT_WORDS
    act = list(act_in)
    start, save = cfg[1], cfg[2]
    if (cfg[0] != 0x32434B56 or not 0 <= start <= nl or not 0 <= save <= nl or
            (0 < save < start)):
        out[0] = 2
        return out, act
    if check_modes(cfg, start, nl) is None:
        out[0] = BAD_MODE
        return out, act
    if start == 0:
        tok0 = M.P(M.o_tok0, t * d)
        h = [[sat_resid(v) for v in tok0[i * d:(i + 1) * d]] for i in range(t)]
        g, pp, side, c = M.img // M.patch, M.patch, M.img, M.ch
        patches = [[img[(ch * side + py * pp + ky) * side + px * pp + kx]
                    for ch in range(c) for ky in range(pp) for kx in range(pp)]
                   for py in range(g) for px in range(g)]
        y = linear(patches, M.W(0, d, M.pd), M.P(M.o_patch_b, d), M.P(M.o_patch_m, d),
                   M.P(M.o_patch_s, d))
        for i, row in enumerate(y):
            tok = M.prefix + i
            h[tok] = [sat_resid(h[tok][o] + row[o]) for o in range(d)]
    else:
        n = act[0]
        if not M.prefix < n <= t:
            out[0] = 2
            return out, act
        h = [[sat_resid(v) for v in act[ACT_HDR + i * d:ACT_HDR + (i + 1) * d]]
             for i in range(n)]
    state = {"probs": None}
    for l in range(start, nl):
        if l == save and save > 0:
            act = saved(act, h)
        h = encoder(M, l, cfg[4 + l], h, state)
    if save == nl and save > 0:
        act = saved(act, h)
    lg, lb = M.P(M.o_lnf_g, d), M.P(M.o_lnf_b, d)
    logit = [sat30(v) for v in linear([layernorm(h[0], lg, lb, M.eps)], M.W(M.o_head_w, k, d),
                                      M.P(M.o_head_b, k), M.P(M.o_head_m, k),
                                      M.P(M.o_head_s, k))[0]]
    if M.prefix > 1:  # the distillation head, averaged in
        ld = [sat30(v) for v in linear([layernorm(h[1], lg, lb, M.eps)],
                                       M.W(M.o_headd_w, k, d), M.P(M.o_headd_b, k),
                                       M.P(M.o_headd_m, k), M.P(M.o_headd_s, k))[0]]
        logit = [rshift_round(a + b, 1) for a, b in zip(logit, ld)]
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
    assert cases[:8] == b"VKGC0002", "cases.bin: bad magic"
    n, img_n, act_n = struct.unpack_from("<III", cases, 8)
    off = 20
    res = [b"VKGE0002", struct.pack("<III", n, OUT_WORDS, act_n)]
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

"""vkvit: a Vision Transformer in PyTorch that computes vitskip's per-encoder
modes exactly as the kernel does (MODES.md of the project, summarized in
README "Per-encoder modes"), with Hugging Face ViTForImageClassification (or
DeiTForImageClassificationWithTeacher) parameter names and config.json, so
that what it saves vitskip imports, and what transformers saves it loads.

Modes, one per encoder, given as a genome text ("FH:k70RS:f50") or a list
of Mode(attn, keep, fdrop):
  F  full attention:   x = x + Proj(MHA(LN1(x))); x = x + MLP(LN2(x))
  S  skipped:          x = x + MLP(LN2(x))
  H  shared heads:     one A = softmax(q_s k_s^T / sqrt(dh)) with q_s, k_s from
                       the head-mean of the query/key projections; every head
                       applies A to its own V
  R  reuse:            the most recent F/H encoder's probabilities (per head for
                       F, the one matrix for H) applied to this encoder's V
  :kNN (F/H only)      after the attention residual, before LN2: keep the
                       prefix tokens and the top ceil(NN*N/100) patch tokens by
                       the class token's attention (mean over heads), ties to
                       the lower index, original order kept
  :fNN                 the MLP uses the first M - floor(NN*M/(100*64))*64
                       hidden neurons (stored in descending importance
                       I_j = ||W1[j,:]|| * ||W2[:,j]||; sort_ffn orders them,
                       save_pretrained applies it)

No dependency beyond PyTorch (>= 1.13, Debian's python3-torch): safetensors
are read and written here. Not thread-safe (plain nn.Module).

    m = load_pretrained("models/demo")
    logits = m(pixels, parse_genome("FSFSFSFS", 8))
    save_pretrained(m, "out", dtype=torch.float16)
"""
import collections
import json
import math
import os
import re
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

FFN_BLOCK = 64          # the GEMM engine's output tile: FFN sparsity granule
KEEP_RATIOS = (85, 70, 50)  # what training samples; a genome may use any 1..99
FFN_DROPS = (25, 50)

Mode = collections.namedtuple("Mode", "attn keep fdrop")  # 'F'|'S'|'R'|'H', 100|85|70|50, 0|25|50
FULL = Mode("F", 100, 0)
_GROUP = re.compile(r"([FSRH])(?::k(\d+))?(?::f(\d+))?")


def parse_genome(text, n_layers):
    """Strict parse of a genome text into n_layers Modes, checked for
    validity (check_modes). Raises ValueError naming the offending part."""
    modes, pos = [], 0
    while pos < len(text):
        m = _GROUP.match(text, pos)
        if not m:
            raise ValueError("genome %r: at offset %d: expected F, S, R or H" % (text, pos))
        keep = int(m.group(2)) if m.group(2) is not None else 100
        fdrop = int(m.group(3)) if m.group(3) is not None else 0
        if m.group(2) is not None and not (1 <= keep <= 99 and m.group(2) == str(keep)):
            raise ValueError("genome %r: at offset %d: :k%s, expected a keep percent 1..99 "
                             "without leading zero" % (text, pos, m.group(2)))
        if m.group(3) is not None and not (1 <= fdrop <= 99 and m.group(3) == str(fdrop)):
            raise ValueError("genome %r: at offset %d: :f%s, expected an FFN drop percent 1..99 "
                             "without leading zero" % (text, pos, m.group(3)))
        modes.append(Mode(m.group(1), keep, fdrop))
        pos = m.end()
    if len(modes) != n_layers:
        raise ValueError("genome %r: %d encoders, the model has %d" % (text, len(modes), n_layers))
    check_modes(modes)
    return modes


def format_genome(modes):
    return "".join(m.attn + (":k%d" % m.keep if m.keep < 100 else "")
                   + (":f%d" % m.fdrop if m.fdrop else "") for m in modes)


def reuse_sources(modes):
    """For each encoder, the index of the encoder whose probabilities an R
    there reuses (None elsewhere). Raises ValueError for an invalid list:
    :k on S or R, R with no earlier F/H, or R across a pruning encoder."""
    last, pruned, out = None, False, []
    for i, m in enumerate(modes):
        if m.attn not in "FSRH" or len(m.attn) != 1 or not 1 <= m.keep <= 100 \
                or not 0 <= m.fdrop <= 99:
            raise ValueError("encoder %d: invalid mode %r" % (i, m))
        if m.keep < 100 and m.attn not in "FH":
            raise ValueError("encoder %d: :k%d needs F or H attention, not %s" % (i, m.keep, m.attn))
        if m.attn == "R":
            if last is None:
                raise ValueError("encoder %d: R with no earlier encoder computing attention" % i)
            if pruned:
                raise ValueError("encoder %d: R reuses encoder %d's attention across pruned "
                                 "tokens" % (i, last))
            out.append(last)
        else:
            out.append(None)
        if m.attn in "FH":
            last, pruned = i, False
        if m.keep < 100:
            pruned = True
    return out


check_modes = reuse_sources


def ffn_keep(mlp_dim, fdrop):
    """Hidden neurons computed with :f<fdrop>."""
    return mlp_dim - (fdrop * mlp_dim // (100 * FFN_BLOCK)) * FFN_BLOCK


def keep_count(n_patch, keep):
    """Patch tokens kept by :k<keep> of n_patch."""
    return (keep * n_patch + 99) // 100


def _act(name):
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "relu":
        return F.relu
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    raise ValueError("hidden_act %r is not supported" % name)


class _Box(nn.Module):
    """An empty module: a level of the Hugging Face parameter names."""


class Layer(nn.Module):
    def __init__(self, d, mlp, eps):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(d, eps=eps)
        self.attention = _Box()
        self.attention.attention = _Box()
        for n in ("query", "key", "value"):
            setattr(self.attention.attention, n, nn.Linear(d, d))
        self.attention.output = _Box()
        self.attention.output.dense = nn.Linear(d, d)
        self.layernorm_after = nn.LayerNorm(d, eps=eps)
        self.intermediate = _Box()
        self.intermediate.dense = nn.Linear(d, mlp)
        self.output = _Box()
        self.output.dense = nn.Linear(mlp, d)


class VKViT(nn.Module):
    """cfg: a Hugging Face config dict (ViT, or DeiT: model_type "deit" has a
    distillation token and two classifier heads whose logits are averaged)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        c = self.cfg
        self.is_deit = c.get("model_type", "vit") == "deit"
        d, self.n_heads = c["hidden_size"], c["num_attention_heads"]
        self.dh, self.mlp = d // self.n_heads, c["intermediate_size"]
        self.n_layers = c["num_hidden_layers"]
        self.n_prefix = 2 if self.is_deit else 1
        self.n_patch = (c["image_size"] // c["patch_size"]) ** 2
        self.act = _act(c.get("hidden_act", "gelu"))
        n_cls = c.get("num_labels") or len(c["id2label"])
        eps = c.get("layer_norm_eps", 1e-12)
        bb = _Box()
        bb.embeddings = _Box()
        bb.embeddings.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        if self.is_deit:
            bb.embeddings.distillation_token = nn.Parameter(torch.zeros(1, 1, d))
        bb.embeddings.position_embeddings = nn.Parameter(
            torch.zeros(1, self.n_patch + self.n_prefix, d))
        bb.embeddings.patch_embeddings = _Box()
        bb.embeddings.patch_embeddings.projection = nn.Conv2d(
            c["num_channels"], d, c["patch_size"], c["patch_size"])
        bb.encoder = _Box()
        bb.encoder.layer = nn.ModuleList(Layer(d, self.mlp, eps) for _ in range(self.n_layers))
        bb.layernorm = nn.LayerNorm(d, eps=eps)
        if self.is_deit:
            self.deit = bb  # parameter names "deit.*"
            self.cls_classifier = nn.Linear(d, n_cls)
            self.distillation_classifier = nn.Linear(d, n_cls)
        else:
            self.vit = bb
            self.classifier = nn.Linear(d, n_cls)
        self.reset_parameters(c.get("initializer_range", 0.02))

    @property
    def backbone(self):
        """The "vit" (or "deit") module: embeddings, encoder, final LayerNorm."""
        return self._modules["deit" if self.is_deit else "vit"]

    def reset_parameters(self, std):
        """Hugging Face ViT's initialization: truncated normal weights,
        zero biases, unit LayerNorm, normal tokens."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.trunc_normal_(m.weight, std=std)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        e = self.backbone.embeddings
        nn.init.trunc_normal_(e.position_embeddings, std=std)
        nn.init.trunc_normal_(e.cls_token, std=std)
        if self.is_deit:
            nn.init.trunc_normal_(e.distillation_token, std=std)

    def layers(self):
        return list(self.backbone.encoder.layer)

    def _attention(self, L, x, mode, a_src, want_probs):
        """Returns (ctx (B,T,D) before Proj, probabilities (B,H or 1,T,T) or None)."""
        B, T, D = x.shape
        H, dh = self.n_heads, self.dh
        at = L.attention.attention
        h = L.layernorm_before(x)
        v = at.value(h).view(B, T, H, dh).transpose(1, 2)
        scale = 1.0 / math.sqrt(dh)
        if mode == "R":
            a = a_src
        elif mode == "H":
            wq = at.query.weight.view(H, dh, D).mean(0)
            bq = at.query.bias.view(H, dh).mean(0)
            wk = at.key.weight.view(H, dh, D).mean(0)
            bk = at.key.bias.view(H, dh).mean(0)
            qs, ks = F.linear(h, wq, bq), F.linear(h, wk, bk)
            a = torch.softmax((qs @ ks.transpose(1, 2)) * scale, dim=-1).unsqueeze(1)
        else:
            q = at.query(h).view(B, T, H, dh).transpose(1, 2)
            k = at.key(h).view(B, T, H, dh).transpose(1, 2)
            if not want_probs and hasattr(F, "scaled_dot_product_attention"):
                ctx = F.scaled_dot_product_attention(q, k, v)
                return ctx.transpose(1, 2).reshape(B, T, D), None
            a = torch.softmax((q @ k.transpose(-1, -2)) * scale, dim=-1)
        ctx = (a.to(v.dtype) @ v).transpose(1, 2).reshape(B, T, D)
        return ctx, a

    def forward(self, pixel_values, modes=None, info=None):
        """Logits (B, classes) of the path given by modes (a list of Modes or
        a genome text; None = all full). When info is a dict, info["kept"]
        gets, per encoder, the original indices (B, T_cur) of the tokens
        after it."""
        if modes is None:
            modes = [FULL] * self.n_layers
        elif isinstance(modes, str):
            modes = parse_genome(modes, self.n_layers)
        if len(modes) != self.n_layers:
            raise ValueError("%d modes for %d encoders" % (len(modes), self.n_layers))
        src = reuse_sources(modes)
        needed = set(s for s in src if s is not None)
        e = self.backbone.embeddings
        x = e.patch_embeddings.projection(pixel_values).flatten(2).transpose(1, 2)
        B = x.shape[0]
        pre = [e.cls_token.expand(B, -1, -1)]
        if self.is_deit:
            pre.append(e.distillation_token.expand(B, -1, -1))
        x = torch.cat(pre + [x], dim=1) + e.position_embeddings
        P = self.n_prefix
        idx = torch.arange(x.shape[1], device=x.device).expand(B, -1)
        a_last = None
        kept = []
        for i, (L, m) in enumerate(zip(self.layers(), modes)):
            if m.attn != "S":
                ctx, a = self._attention(L, x, m.attn, a_last,
                                         want_probs=i in needed or m.keep < 100)
                x = x + L.attention.output.dense(ctx)
                if m.attn in "FH":
                    a_last = a
                if m.keep < 100:
                    score = a[:, :, 0, P:].float().mean(1)  # (B, N)
                    n_keep = keep_count(score.shape[1], m.keep)
                    order = torch.sort(score, dim=1, descending=True, stable=True)[1]
                    sel = torch.sort(order[:, :n_keep], dim=1)[0] + P
                    sel = torch.cat([torch.arange(P, device=x.device).expand(B, -1), sel], 1)
                    x = x.gather(1, sel.unsqueeze(-1).expand(-1, -1, x.shape[2]))
                    idx = idx.gather(1, sel)
            mk = ffn_keep(self.mlp, m.fdrop)
            fc1, fc2 = L.intermediate.dense, L.output.dense
            h = self.act(F.linear(L.layernorm_after(x), fc1.weight[:mk], fc1.bias[:mk]))
            x = x + F.linear(h, fc2.weight[:, :mk], fc2.bias)
            kept.append(idx)
        x = self.backbone.layernorm(x)
        if info is not None:
            info["kept"] = kept
        if self.is_deit:
            return (self.cls_classifier(x[:, 0]) + self.distillation_classifier(x[:, 1])) / 2
        return self.classifier(x[:, 0])


def ffn_importance(layer):
    """I_j = ||W1[j,:]||_2 * ||W2[:,j]||_2 in float32 (one per hidden neuron)."""
    w1 = layer.intermediate.dense.weight.detach().float()
    w2 = layer.output.dense.weight.detach().float()
    return w1.norm(dim=1) * w2.norm(dim=0)


@torch.no_grad()
def sort_ffn(model, optimizer=None):
    """Reorders every encoder's FFN hidden neurons by descending importance
    (stable: ties keep the lower index first). The function is unchanged.
    With an optimizer, its per-parameter state tensors of the same shape are
    permuted alike (AdamW moments). Returns the permutations."""
    perms = []
    for L in model.layers():
        perm = torch.sort(ffn_importance(L), descending=True, stable=True)[1]
        perms.append(perm)
        fc1, fc2 = L.intermediate.dense, L.output.dense
        for p, dim in ((fc1.weight, 0), (fc1.bias, 0), (fc2.weight, 1)):
            p.copy_(p.index_select(dim, perm.to(p.device)))
            st = optimizer.state.get(p, {}) if optimizer is not None else {}
            for t in st.values():
                if torch.is_tensor(t) and t.shape == p.shape:
                    t.copy_(t.index_select(dim, perm.to(t.device)))
    return perms


# ---- safetensors (the format: u64 header length, JSON header, raw data) ----

_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def st_save(tensors, path, metadata=None):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        if t.dtype not in _ST_NAMES:
            raise ValueError("%s: dtype %s cannot be saved" % (name, t.dtype))
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = metadata or {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


def st_load(path):
    """Name -> tensor (the file's dtype). Raises ValueError on a malformed file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: too short for a safetensors file" % path)
    n = struct.unpack_from("<Q", data)[0]
    if n > len(data) - 8:
        raise ValueError("%s: header length %d exceeds the file" % (path, n))
    header = json.loads(data[8:8 + n])
    base, out = 8 + n, {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        if t["dtype"] not in _ST_DTYPES:
            raise ValueError("%s: %s: dtype %s not supported" % (path, name, t["dtype"]))
        b, e = t["data_offsets"]
        buf = bytearray(data[base + b:base + e])
        out[name] = torch.frombuffer(buf, dtype=torch.uint8).view(_ST_DTYPES[t["dtype"]]) \
            .reshape(t["shape"]) if e > b else torch.zeros(t["shape"], dtype=_ST_DTYPES[t["dtype"]])
    return out


def load_pretrained(folder, dtype=torch.float32):
    """A VKViT from a Hugging Face folder (config.json + model.safetensors),
    weights converted to dtype. Raises ValueError naming missing/extra keys."""
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    model = VKViT(cfg)
    sd = {k: v.to(dtype) for k, v in st_load(os.path.join(folder, "model.safetensors")).items()}
    want = set(model.state_dict())
    if set(sd) != want:
        raise ValueError("%s: missing %s, unexpected %s" % (
            folder, sorted(want - set(sd))[:5], sorted(set(sd) - want)[:5]))
    model.load_state_dict(sd)
    return model.to(dtype)


def save_pretrained(model, folder, dtype=torch.float32, preprocessor=None, extra_config=None):
    """Writes config.json, model.safetensors (dtype: float32, float16 or
    bfloat16) and, when given, preprocessor_config.json. The weights are
    rounded to dtype first, then each FFN is sorted by importance computed on
    the rounded weights (so an importance computed at import on what is
    saved gives the stored order). The model itself is left untouched."""
    os.makedirs(folder, exist_ok=True)
    clone = VKViT(model.cfg)
    clone.load_state_dict({k: v.detach().cpu().to(dtype).float() for k, v in
                           model.state_dict().items()})
    sort_ffn(clone)
    st_save({k: v.to(dtype) for k, v in clone.state_dict().items()},
            os.path.join(folder, "model.safetensors"))
    cfg = dict(model.cfg)
    cfg.update(extra_config or {})
    cfg["dtype"] = {torch.float32: "float32", torch.float16: "float16",
                    torch.bfloat16: "bfloat16"}[dtype]
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    if preprocessor is not None:
        with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
            json.dump(preprocessor, f, indent=2, sort_keys=True)
            f.write("\n")
    return clone


def vit_config(image_size, patch_size, channels, dim, layers, heads, mlp, labels, deit=False):
    """A Hugging Face ViT (or DeiT) config dict for vitskip's models."""
    c = {"architectures": ["DeiTForImageClassificationWithTeacher" if deit else
                           "ViTForImageClassification"],
         "model_type": "deit" if deit else "vit", "image_size": image_size,
         "patch_size": patch_size, "num_channels": channels, "hidden_size": dim,
         "num_hidden_layers": layers, "num_attention_heads": heads,
         "intermediate_size": mlp, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
         "qkv_bias": True, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
         "initializer_range": 0.02, "encoder_stride": patch_size,
         "id2label": {str(i): n for i, n in enumerate(labels)},
         "label2id": {n: i for i, n in enumerate(labels)}}
    if not deit:
        c.update({"pooler_act": "tanh", "pooler_output_size": dim})
    return c


def preprocessor_config(size, mean, std):
    return {"do_normalize": True, "do_rescale": True, "do_resize": False,
            "image_mean": list(mean), "image_std": list(std),
            "image_processor_type": "ViTImageProcessor",
            "resample": 2, "rescale_factor": 1 / 255, "size": {"height": size, "width": size}}

#!/usr/bin/python3
"""Converts a llama2.c checkpoint and tokenizer into a neural-solr causal-lm model package.

The input is llama2.c's format (Karpathy, MIT): a "legacy" (version 0) checkpoint, seven int32
(dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means an
unshared classifier) followed by float32 weights, and a tokenizer file (max token length, then per
token a float score, an int length and the bytes). By default it converts the real tiny Llama in
../shared/models/stories260K (trained on TinyStories) into
solr-plugin/src/test/resources/parity/stories260k/:

    model.onnx, model.pt     the network, logits [batch, tokens, vocabulary] from input_ids and
                             attention_mask (right padding), for ONNX Runtime and TorchScript
    tokenizer.json           a Hugging Face BPE tokenizer equal to llama2.c's encoder
    neural-model.json, neural-model-torchscript.json
    reference.json           tokenizer cases, greedy decoding, query likelihoods computed here

Run with Debian's interpreter (python3-torch 1.13, python3-onnx, numpy; nothing else):

    /usr/bin/python3 scripts/convert_llama2c.py [--checkpoint BIN --tokenizer BIN --out DIR]

What it checks (and fails on):
- the PyTorch module equals a line-by-line port of llama2.c's run.c forward pass (one token at a
  time with a KV cache, numpy float32) on every position of several sequences, to 1e-4;
- greedy decoding from BOS, as run.c generates with temperature 0, reproduces the published
  stories260K sample "Once upon a time, there was a little girl named Lily...";
- a right-padded batch gives the same logits for real tokens as one-at-a-time runs;
- the TorchScript file replays other shapes than the trace example; onnx.checker passes.
The Java side checks that DJL's tokenizer gives this script's token ids for every tokenizer case
(so tokenizer.json is llama2.c's encoder), and that the plugin's query likelihoods equal the ones
computed here on both engines.

With --embed-out (default solr-plugin/src/test/resources/parity/stories260k-embed/) it also writes
the same network as a dense last-token embedder: the final RMSNorm's hidden states
last_hidden_state [batch, tokens, dim] from input_ids, attention_mask and position_ids (so left
padding works), without the classifier, as a `dense` package (pooling last-token, normalize, eosToken
</s>) with reference vectors for a few texts. It checks that those states times the classifier are
the logits checked above, and that left- and right-padded batches pool to the texts alone.
Its retrieval quality is meaningless: the model was trained to continue stories, not to embed.
"""

import argparse
import json
import math
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_parity_fixtures import manifest as dense_manifest  # noqa: E402
from make_parity_fixtures import rnd, sha256, strip_torchscript_debug_info, vec, write_json  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "models" / "stories260K"
DEFAULT_OUT = REPO / "solr-plugin" / "src" / "test" / "resources" / "parity" / "stories260k"
DEFAULT_EMBED_OUT = DEFAULT_OUT.parent / "stories260k-embed"
OPSET = 14
RMS_EPS = 1e-5
ROPE_THETA = 10000.0
BOS, EOS = 1, 2
EXPECTED_SAMPLE = "Once upon a time, there was a little girl named Lily."

# the prompt: BOS, the document, the query; each piece tokenised as llama2.c's encode does (with
# SentencePiece's dummy-prefix space), so the query continues the story after a space
PROMPT_TEMPLATE = "{document}{query}"

STORY = ("Lily went to the park with her dog Max. They played with a red ball under the big tree. "
         "When the sun went down, Lily and Max walked home and ate dinner with mom.")
QL_PAIRS = [
    (STORY, "Lily played with her dog."),
    (STORY, "The stock market fell sharply after the interest rate decision."),
    ("Tom had a small boat. He sailed on the lake and saw a big fish.", "Tom saw a fish."),
    ("Tom had a small boat. He sailed on the lake and saw a big fish.", "Lily played with her dog."),
    # longer than maxLength: the document is cut from the right
    (" ".join([STORY] * 14), "Lily and Max were happy."),
]
TOKENIZER_CASES = [
    "Once upon a time, there was a little girl named Lily.",
    "Hello world",
    "  two leading spaces and  double  spaces ",
    "Line one\nLine two\ttab",
    "Café naïve — 東京 🙂",
    "MAX said: \"Let's go!\" (3 + 4 = 7)",
    "supercalifragilisticexpialidocious",
    "a",
    " ",
    STORY,
]


# ---------------------------------------------------------------------------------------------
# llama2.c files
# ---------------------------------------------------------------------------------------------

def read_checkpoint(path):
    data = Path(path).read_bytes()
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = struct.unpack("7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    head = dim // heads
    cfg = dict(dim=dim, hidden=hidden, layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab,
               seq_len=seq_len, head=head, shared=shared)
    f = np.frombuffer(data, dtype=np.float32, offset=28)
    at = 0

    def take(*shape):
        nonlocal at
        n = int(np.prod(shape))
        a = f[at:at + n].reshape(shape).copy()
        at += n
        return a

    kv = kv_heads * head
    w = {}
    w["tok"] = take(vocab, dim)
    w["rms_att"] = take(layers, dim)
    w["wq"] = take(layers, heads * head, dim)
    w["wk"] = take(layers, kv, dim)
    w["wv"] = take(layers, kv, dim)
    w["wo"] = take(layers, dim, heads * head)
    w["rms_ffn"] = take(layers, dim)
    w["w1"] = take(layers, hidden, dim)
    w["w2"] = take(layers, dim, hidden)
    w["w3"] = take(layers, hidden, dim)
    w["rms_final"] = take(dim)
    take(seq_len, head // 2)  # freq_cis_real (legacy; RoPE is recomputed)
    take(seq_len, head // 2)  # freq_cis_imag
    w["cls"] = w["tok"] if shared else take(vocab, dim)
    assert at == f.size, f"{f.size - at} floats left over: not a legacy llama2.c checkpoint"
    return cfg, w


def read_tokenizer(path, vocab_size):
    data = Path(path).read_bytes()
    (max_len,) = struct.unpack("i", data[:4])
    off, pieces, scores = 4, [], []
    for _ in range(vocab_size):
        score, n = struct.unpack("fi", data[off:off + 8])
        off += 8
        pieces.append(data[off:off + n])
        scores.append(score)
        off += n
    assert off == len(data)
    return pieces, scores, max_len


class Llama2cTokenizer:
    """llama2.c's encode() and decode() (run.c), byte for byte."""

    def __init__(self, pieces, scores):
        self.pieces = pieces
        self.scores = scores
        self.lookup = {p: i for i, p in enumerate(pieces)}

    def encode(self, text, bos=False, eos=False):
        tokens = [BOS] if bos else []
        raw = text.encode("utf-8")
        if raw:
            tokens.append(self.lookup[b" "])  # add_dummy_prefix
        for ch in text:  # run.c groups the bytes of one code point
            b = ch.encode("utf-8")
            if b in self.lookup:
                tokens.append(self.lookup[b])
            else:
                tokens.extend(x + 3 for x in b)  # byte fallback: <0x00> is id 3
        while True:
            best_score, best_id, best_idx = -1e10, -1, -1
            for i in range(len(tokens) - 1):
                merged = self.pieces[tokens[i]] + self.pieces[tokens[i + 1]]
                j = self.lookup.get(merged, -1)
                if j != -1 and self.scores[j] > best_score:
                    best_score, best_id, best_idx = self.scores[j], j, i
            if best_idx == -1:
                break
            tokens[best_idx:best_idx + 2] = [best_id]
        if eos:
            tokens.append(EOS)
        return tokens

    def decode(self, prev, token):
        piece = self.pieces[token]
        if prev == BOS and piece.startswith(b" "):
            piece = piece[1:]
        if piece.startswith(b"<0x") and piece.endswith(b">") and len(piece) == 6:
            piece = bytes([int(piece[3:5], 16)])
        return piece


def hf_tokenizer_json(pieces, scores):
    """A Hugging Face tokenizer.json equal to Llama2cTokenizer.encode: SentencePiece's dummy prefix
    and space marker as normalizers, a BPE whose merges are every (a, b) with a + b in the
    vocabulary, ranked by the merged piece's score (llama2.c merges the best-scoring pair first),
    byte fallback to <0xNN>, and BOS added by the post-processor (as Llama's tokenizer does)."""
    specials = {0: "<unk>", BOS: "<s>", EOS: "</s>"}
    vocab = {}
    for i, p in enumerate(pieces):
        vocab[specials.get(i) or p.decode("utf-8").replace(" ", "\u2581")] = i
    assert len(vocab) == len(pieces), "two pieces map to one string"
    by_string = {s: i for s, i in vocab.items() if i not in specials and not (3 <= i <= 258)}
    merges = []
    for s, i in by_string.items():
        for k in range(1, len(s)):
            a, b = s[:k], s[k:]
            if a in by_string and b in by_string:
                merges.append((-scores[i], i, k, f"{a} {b}"))
    merges.sort()
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, c in sorted(specials.items())],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
        "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [BOS], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": [m[3] for m in merges]},
    }


# ---------------------------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------------------------

class Llama2c(nn.Module):
    """llama2.c's Transformer: pre-RMSNorm, RoPE on interleaved pairs (2i, 2i+1) of each head,
    grouped-query attention (query head h reads kv head h // (heads / kv_heads)), SwiGLU
    w2(silu(w1 x) * w3 x), classifier shared with the token embeddings (or not). Logits
    [B, T, V]; positions are 0..T-1, so only right padding is valid."""

    def __init__(self, cfg, w):
        super().__init__()
        self.cfg = cfg
        p = lambda a: nn.Parameter(torch.from_numpy(np.ascontiguousarray(a)), requires_grad=False)  # noqa: E731
        self.tok = p(w["tok"])
        self.rms_att = p(w["rms_att"])
        self.wq, self.wk, self.wv, self.wo = p(w["wq"]), p(w["wk"]), p(w["wv"]), p(w["wo"])
        self.rms_ffn = p(w["rms_ffn"])
        self.w1, self.w2, self.w3 = p(w["w1"]), p(w["w2"]), p(w["w3"])
        self.rms_final = p(w["rms_final"])
        self.shared = cfg["shared"]
        if not self.shared:
            self.cls = p(w["cls"])
        hd = cfg["head"]
        freq = 1.0 / (ROPE_THETA ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
        angles = torch.outer(torch.arange(cfg["seq_len"], dtype=torch.float32), freq)  # [P, hd/2]
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)
        self.register_buffer("neg", torch.tensor(torch.finfo(torch.float32).min), persistent=False)

    @staticmethod
    def rmsnorm(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS) * weight

    def rope(self, x, t):
        b, _, n, hd = x.shape
        pairs = x.reshape(b, t, n, hd // 2, 2)
        x0, x1 = pairs[..., 0], pairs[..., 1]
        cos, sin = self.cos[:t][None, :, None, :], self.sin[:t][None, :, None, :]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).reshape(b, t, n, hd)

    def forward(self, input_ids, attention_mask):
        c = self.cfg
        b, t = input_ids.size(0), input_ids.size(1)
        nh, kvh, hd = c["heads"], c["kv_heads"], c["head"]
        rep = nh // kvh
        x = F.embedding(input_ids, self.tok)
        # computed, not stored: a [seq_len, seq_len] mask buffer would add 256 KiB to each file
        positions = torch.arange(t, device=input_ids.device)
        causal = positions[None, :] <= positions[:, None]
        allowed = causal[None, None, None, :, :] & (attention_mask[:, None, None, None, :] > 0)
        for l in range(c["layers"]):
            h = self.rmsnorm(x, self.rms_att[l])
            q = self.rope(F.linear(h, self.wq[l]).view(b, t, nh, hd), t)
            k = self.rope(F.linear(h, self.wk[l]).view(b, t, kvh, hd), t)
            v = F.linear(h, self.wv[l]).view(b, t, kvh, hd)
            q = q.transpose(1, 2).reshape(b, kvh, rep, t, hd)
            k = k.transpose(1, 2).unsqueeze(2)
            v = v.transpose(1, 2).unsqueeze(2)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)  # [B, kvh, rep, T, T]
            scores = torch.where(allowed, scores, self.neg)
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v).reshape(b, nh, t, hd).transpose(1, 2).reshape(b, t, nh * hd)
            x = x + F.linear(ctx, self.wo[l])
            h = self.rmsnorm(x, self.rms_ffn[l])
            x = x + F.linear(F.silu(F.linear(h, self.w1[l])) * F.linear(h, self.w3[l]), self.w2[l])
        x = self.rmsnorm(x, self.rms_final)
        return torch.matmul(x, (self.tok if self.shared else self.cls).t())


def run_c_forward(cfg, w, tokens):
    """run.c's forward(), one position at a time with a KV cache, in numpy float32: the logits
    of every position."""
    dim, hd, nh, kvh = cfg["dim"], cfg["head"], cfg["heads"], cfg["kv_heads"]
    kv_dim, kv_mul = kvh * hd, nh // kvh
    key_cache = np.zeros((cfg["layers"], len(tokens), kv_dim), np.float32)
    value_cache = np.zeros_like(key_cache)

    def rmsnorm(x, weight):
        ss = np.float32(np.mean(x * x) + np.float32(1e-5))
        return weight * (x / np.sqrt(ss))

    out = []
    for pos, token in enumerate(tokens):
        x = w["tok"][token].copy()
        for l in range(cfg["layers"]):
            xb = rmsnorm(x, w["rms_att"][l])
            q, k, v = w["wq"][l] @ xb, w["wk"][l] @ xb, w["wv"][l] @ xb
            for i in range(0, dim, 2):
                head_dim = i % hd
                freq = 1.0 / (10000.0 ** (head_dim / hd))
                fcr, fci = math.cos(pos * freq), math.sin(pos * freq)
                for vec in ([q, k] if i < kv_dim else [q]):
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i], vec[i + 1] = v0 * fcr - v1 * fci, v0 * fci + v1 * fcr
            key_cache[l, pos], value_cache[l, pos] = k, v
            xb = np.zeros(dim, np.float32)
            for h in range(nh):
                qh = q[h * hd:(h + 1) * hd]
                kv_off = (h // kv_mul) * hd
                att = np.array([qh @ key_cache[l, t, kv_off:kv_off + hd] for t in range(pos + 1)], np.float32) / math.sqrt(hd)
                att = np.exp(att - att.max())
                att /= att.sum()
                xb[h * hd:(h + 1) * hd] = sum(att[t] * value_cache[l, t, kv_off:kv_off + hd] for t in range(pos + 1))
            x = x + w["wo"][l] @ xb
            xb = rmsnorm(x, w["rms_ffn"][l])
            hb = w["w1"][l] @ xb
            hb = hb * (1.0 / (1.0 + np.exp(-hb))) * (w["w3"][l] @ xb)
            x = x + w["w2"][l] @ hb
        x = rmsnorm(x, w["rms_final"])
        out.append(w["cls"] @ x)
    return np.stack(out)


def logits(model, sequences):
    """One forward pass over the right-padded batch; each sequence's real rows."""
    t = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), t, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(sequences):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    with torch.no_grad():
        out = model(ids, mask)
    return [out[i, :len(s)] for i, s in enumerate(sequences)]


def greedy(model, tokenizer, steps):
    tokens, text = [BOS], b""
    for _ in range(steps):
        nxt = int(logits(model, [tokens])[0][-1].argmax())
        if nxt == BOS:  # run.c stops at BOS
            break
        text += tokenizer.decode(tokens[-1], nxt)
        tokens.append(nxt)
    return tokens, text.decode("utf-8", errors="replace")


def query_likelihood(model, tok, document, query, max_length):
    q = tok.encode(query)
    d = tok.encode(document)
    budget = max_length - 1 - len(q)
    prompt = [BOS] + d[:budget]
    ids = prompt + q
    lp = torch.log_softmax(logits(model, [ids])[0].double(), dim=-1)
    per_token = [float(lp[len(prompt) + i - 1, t]) for i, t in enumerate(q)]
    return dict(document=document, query=query, truncated=len(d) > budget, promptIds=prompt, queryIds=q,
                inputIds=ids, queryTokenLogProbs=[rnd(x) for x in per_token],
                scoreSum=rnd(sum(per_token)), scoreMean=rnd(sum(per_token) / len(q)))


# ---------------------------------------------------------------------------------------------
# The same network as a last-token embedder
# ---------------------------------------------------------------------------------------------

class Llama2cHidden(Llama2c):
    """Llama2c without its classifier: the final RMSNorm's hidden states [B, T, dim], as
    transformers' LlamaModel returns them. Position ids are an input (RoPE angles are gathered per
    row), so a left-padded row can count positions from its first real token."""

    def rope_at(self, x, cos, sin):
        b, t, n, hd = x.shape
        pairs = x.reshape(b, t, n, hd // 2, 2)
        x0, x1 = pairs[..., 0], pairs[..., 1]
        return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).reshape(b, t, n, hd)

    def forward(self, input_ids, attention_mask, position_ids):
        c = self.cfg
        b, t = input_ids.size(0), input_ids.size(1)
        nh, kvh, hd = c["heads"], c["kv_heads"], c["head"]
        rep = nh // kvh
        x = F.embedding(input_ids, self.tok)
        cos = self.cos[position_ids][:, :, None, :]  # [B, T, 1, hd/2]
        sin = self.sin[position_ids][:, :, None, :]
        positions = torch.arange(t, device=input_ids.device)
        causal = positions[None, :] <= positions[:, None]
        allowed = causal[None, None, None, :, :] & (attention_mask[:, None, None, None, :] > 0)
        for l in range(c["layers"]):
            h = self.rmsnorm(x, self.rms_att[l])
            q = self.rope_at(F.linear(h, self.wq[l]).view(b, t, nh, hd), cos, sin)
            k = self.rope_at(F.linear(h, self.wk[l]).view(b, t, kvh, hd), cos, sin)
            v = F.linear(h, self.wv[l]).view(b, t, kvh, hd)
            q = q.transpose(1, 2).reshape(b, kvh, rep, t, hd)
            k = k.transpose(1, 2).unsqueeze(2)
            v = v.transpose(1, 2).unsqueeze(2)
            scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
            scores = torch.where(allowed, scores, self.neg)
            ctx = torch.matmul(torch.softmax(scores, dim=-1), v).reshape(b, nh, t, hd).transpose(1, 2).reshape(b, t, nh * hd)
            x = x + F.linear(ctx, self.wo[l])
            h = self.rmsnorm(x, self.rms_ffn[l])
            x = x + F.linear(F.silu(F.linear(h, self.w1[l])) * F.linear(h, self.w3[l]), self.w2[l])
        return self.rmsnorm(x, self.rms_final)


EMBED_INPUTS = ["input_ids", "attention_mask", "position_ids"]
EMBED_EOS = "</s>"
EMBED_TEXTS = [
    "Once upon a time, there was a little girl named Lily.",
    "Tom had a small boat. He sailed on the lake and saw a big fish.",
    "Lily played with her dog.",
    "Hi!",
    STORY,
    # longer than maxLength: cut to maxLength - 2 pieces (BOS and the appended EOS)
    " ".join([STORY] * 14),
]


def embed_batch(encs, left):
    """A padded batch as LoadedModel builds it: id 0, mask 0 and position 0 on padding; positions
    count from each row's first real token."""
    tmax = max(len(e) for e in encs)
    ids = torch.zeros(len(encs), tmax, dtype=torch.long)
    mask, pos = torch.zeros_like(ids), torch.zeros_like(ids)
    starts = []
    for i, e in enumerate(encs):
        n = len(e)
        a = tmax - n if left else 0
        ids[i, a:a + n] = torch.tensor(e)
        mask[i, a:a + n] = 1
        pos[i, a:a + n] = torch.arange(n)
        starts.append(a)
    return ids, mask, pos, starts


def make_embedder(cfg, w, tok, lm, out, name, max_length):
    out.mkdir(parents=True, exist_ok=True)
    model = Llama2cHidden(cfg, w).eval()
    eos = EOS

    def encode(text):  # as the plugin: BOS (the tokenizer's post-processor), pieces, then eosToken
        pieces = tok.encode(text)
        return [BOS] + pieces[:max_length - 2] + [eos], len(pieces) + 2 > max_length

    def hidden(seqs, left=False):
        ids, mask, pos, starts = embed_batch(seqs, left)
        with torch.no_grad():
            h = model(ids, mask, pos)
        return [h[i, starts[i]:starts[i] + len(s)] for i, s in enumerate(seqs)]

    # the hidden states are the checked network's: times the classifier they are its logits
    encs = [encode(t)[0] for t in EMBED_TEXTS]
    worst_logits = 0.0
    for s, h in zip(encs, hidden(encs)):
        want = logits(lm, [s])[0]
        got = torch.matmul(h, (lm.tok if lm.shared else lm.cls).t())
        worst_logits = max(worst_logits, float((want - got).abs().max()))
    assert worst_logits < 1e-4, f"hidden states x classifier differ from the logits by {worst_logits}"

    example = (torch.tensor([[0, 0, BOS, 400, 300, EOS], [BOS, 400, 300, 260, 500, EOS]]),
               torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]]),
               torch.tensor([[0, 0, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5]]))
    onnx_path, pt_path = out / "model.onnx", out / "model.pt"
    dyn = {n: {0: "batch", 1: "sequence"} for n in EMBED_INPUTS + ["last_hidden_state"]}
    torch.onnx.export(model, example, str(onnx_path), input_names=EMBED_INPUTS,
                      output_names=["last_hidden_state"], dynamic_axes=dyn, opset_version=OPSET,
                      do_constant_folding=False)
    onnx.checker.check_model(onnx.load(str(onnx_path)), full_check=True)
    traced = torch.jit.trace(model, example)
    traced.save(str(pt_path))
    strip_torchscript_debug_info(pt_path)
    reloaded = torch.jit.load(str(pt_path))

    records = []
    for text, ids in zip(EMBED_TEXTS, encs):
        h = hidden([ids])[0]
        last = h[-1]
        records.append({"text": text, "truncated": encode(text)[1], "inputIds": ids,
                        "lastToken": vec(last), "mean": vec(h.mean(0)),
                        "lastTokenNormalized": vec(F.normalize(last, dim=0))})
    assert records[-1]["truncated"] and len(records[-1]["inputIds"]) == max_length
    assert not any(r["truncated"] for r in records[:-1])

    # a row of a padded batch (either side, eager and TorchScript) pools to the text alone
    worst = 0.0
    for left in (False, True):
        ids, mask, pos, starts = embed_batch(encs, left)
        with torch.no_grad():
            outs = [model(ids, mask, pos), reloaded(ids, mask, pos)]
        for h in outs:
            for i, e in enumerate(encs):
                rows = h[i, starts[i]:starts[i] + len(e)]
                worst = max(worst,
                            max(abs(a - b) for a, b in zip(vec(rows[-1]), records[i]["lastToken"])),
                            max(abs(a - b) for a, b in zip(vec(rows.mean(0)), records[i]["mean"])))
    assert worst < 1e-5, f"padded batches differ from one-at-a-time runs by {worst}"

    ref = {
        "fixture": out.name, "kind": "dense", "maxLength": max_length, "tolerance": 1e-4,
        "output": "last_hidden_state", "eosToken": EMBED_EOS, "dimension": cfg["dim"],
        "source": "stories260K.bin + tok512.bin (llama2.c tinyllamas, MIT), ../shared/models/stories260K",
        "notes": ("stories260K (real weights) as a last-token embedder: last_hidden_state [B, T, "
                  f"{cfg['dim']}] after the final RMSNorm, no classifier; inputs input_ids, "
                  "attention_mask, position_ids. inputIds = BOS + llama2.c's encode(text) cut to "
                  "maxLength - 2 pieces + the manifests' eosToken </s> (what the plugin builds from "
                  "tokenizer.json, whose post-processor adds BOS). lastToken = the last row, mean = "
                  "the rows' average, lastTokenNormalized = lastToken / its L2 norm (the manifests' "
                  "pooling). Padded batches (left or right: id 0, mask 0, position 0 on padding; "
                  "positions count from each row's first real token) pool to the texts alone (checked "
                  "in Python to 1e-5, eager and TorchScript). The vectors carry no retrieval quality: "
                  "the model was trained to continue stories, and never saw </s> in training."),
        "texts": records,
    }
    write_json(out / "reference.json", ref)
    extra = {"dimension": cfg["dim"], "pooling": "last-token", "normalize": True, "eosToken": EMBED_EOS,
             "paddingSide": "left",
             "description": "stories260K as a last-token embedder (final RMSNorm states; no retrieval quality), "
                            "converted by scripts/convert_llama2c.py",
             "license": "MIT (llama2.c tinyllamas)"}
    for engine, f, suffix in (("onnx", "model.onnx", ""), ("pytorch", "model.pt", "-torchscript")):
        m = dense_manifest(name, "dense", engine, f, out, max_length, EMBED_INPUTS, "last_hidden_state", extra)
        write_json(out / f"neural-model{suffix}.json", m)
    right = dict(extra, paddingSide="right")
    for engine, f, suffix in (("onnx", "model.onnx", ""), ("pytorch", "model.pt", "-torchscript")):
        m = dense_manifest(name + "-right", "dense", engine, f, out, max_length, EMBED_INPUTS, "last_hidden_state", right)
        write_json(out / f"neural-model-right{suffix}.json", m)
    print(f"embedder: hidden x classifier vs logits {worst_logits:.2e}; padded batches vs alone {worst:.2e}")


# ---------------------------------------------------------------------------------------------

def export(model, out, vocab):
    example = (torch.tensor([[BOS, 400, 300, 260, 500]]), torch.ones(1, 5, dtype=torch.long))
    onnx_path, pt_path = out / "model.onnx", out / "model.pt"
    dyn = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
           "logits": {0: "batch", 1: "sequence"}}
    # no constant folding: it would store the tied classifier a second time, transposed
    torch.onnx.export(model, example, str(onnx_path), input_names=["input_ids", "attention_mask"],
                      output_names=["logits"], dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=False)
    onnx.checker.check_model(onnx.load(str(onnx_path)), full_check=True)
    traced = torch.jit.trace(model, example)
    traced.save(str(pt_path))
    strip_torchscript_debug_info(pt_path)
    reloaded = torch.jit.load(str(pt_path))
    for b, t in [(1, 3), (3, 11), (2, 40)]:
        g = torch.Generator().manual_seed(b * 100 + t)
        ids = torch.randint(3, vocab, (b, t), generator=g)
        mask = torch.ones(b, t, dtype=torch.long)
        mask[0, t - 1:] = 0
        with torch.no_grad():
            diff = (model(ids, mask) - reloaded(ids, mask)).abs().max().item()
        assert diff < 1e-5, f"TorchScript differs from eager by {diff} at {b}x{t}"


def manifest(name, engine, model_file, out, max_length):
    return {
        "name": name,
        "kind": "causal-lm",
        "engine": engine,
        "modelFile": model_file,
        "sha256": sha256(out / model_file),
        "tokenizerFile": "tokenizer.json",
        "tokenizerSha256": sha256(out / "tokenizer.json"),
        "maxLength": max_length,
        "inputs": ["input_ids", "attention_mask"],
        "output": "logits",
        "causalLm": {"promptTemplate": PROMPT_TEMPLATE, "aggregation": "mean", "bosToken": "<s>"},
        "device": "auto",
        "description": "stories260K: a real 260K-parameter Llama trained on TinyStories (llama2.c), converted by scripts/convert_llama2c.py",
        "license": "MIT (llama2.c tinyllamas)",
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=str(SHARED / "stories260K.bin"))
    ap.add_argument("--tokenizer", default=str(SHARED / "tok512.bin"))
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--name", default="stories260k")
    ap.add_argument("--embed-out", default=str(DEFAULT_EMBED_OUT),
                    help="where the last-token embedder package goes ('' for none)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    cfg, w = read_checkpoint(args.checkpoint)
    pieces, scores, _ = read_tokenizer(args.tokenizer, cfg["vocab"])
    tok = Llama2cTokenizer(pieces, scores)
    model = Llama2c(cfg, w).eval()
    print(f"checkpoint: {cfg}")

    # 1. the module is llama2.c's forward pass
    sequences = [[BOS] + tok.encode(STORY), [BOS] + tok.encode("Once upon a time"), tok.encode("Tom saw a fish.")]
    batched = logits(model, sequences)
    worst_run_c = worst_batch = 0.0
    for s, got in zip(sequences, batched):
        want = run_c_forward(cfg, w, s)
        worst_run_c = max(worst_run_c, float(np.abs(want - got.numpy()).max()))
        alone = logits(model, [s])[0]
        worst_batch = max(worst_batch, float((alone - got).abs().max()))
    assert worst_run_c < 1e-4, f"PyTorch module differs from run.c by {worst_run_c}"
    assert worst_batch < 1e-5, f"right padding changes real tokens' logits by {worst_batch}"
    print(f"PyTorch vs run.c forward: max |diff| {worst_run_c:.2e}; padded batch vs alone: {worst_batch:.2e}")

    # 2. greedy decoding reproduces the published sample
    generated, text = greedy(model, tok, 64)
    print(f"greedy from BOS: {text!r}")
    assert text.startswith(EXPECTED_SAMPLE), text

    # 3. the package
    (out / "tokenizer.json").write_text(json.dumps(hf_tokenizer_json(pieces, scores), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    export(model, out, cfg["vocab"])
    max_length = cfg["seq_len"]
    write_json(out / "neural-model.json", manifest(args.name, "onnx", "model.onnx", out, max_length))
    write_json(out / "neural-model-torchscript.json", manifest(args.name + "-torchscript", "pytorch", "model.pt", out, max_length))

    pairs = [query_likelihood(model, tok, d, q, max_length) for d, q in QL_PAIRS]
    assert pairs[4]["truncated"] and not any(p["truncated"] for p in pairs[:4])
    assert pairs[0]["scoreMean"] > pairs[1]["scoreMean"], "a story sentence should be likelier than finance news"
    reference = {
        "fixture": out.name,
        "kind": "causal-lm",
        "source": "stories260K.bin + tok512.bin (llama2.c tinyllamas, MIT), ../shared/models/stories260K",
        "config": cfg,
        "maxLength": max_length,
        "tolerance": 1e-4,
        "promptTemplate": PROMPT_TEMPLATE,
        "notes": ("Real weights. Token ids are llama2.c's encode() (run.c): dummy-prefix space, code points "
                  "looked up or byte fallback (<0xNN> = byte + 3), then repeatedly the adjacent pair whose "
                  "concatenation has the best vocabulary score is merged. tokenizerCases: ids without BOS. greedy: "
                  "argmax decoding from BOS as run.c with temperature 0, token ids and text. pairs: query "
                  "likelihood with inputIds = [BOS] + encode(document) cut from the right to fit maxLength + "
                  "encode(query) (each piece with its own dummy prefix, as the plugin assembles prompts); "
                  "queryTokenLogProbs[i] = log_softmax(logits[len(promptIds) + i - 1])[queryIds[i]] in float64 "
                  "from float32 logits; scoreSum their sum, scoreMean their mean."),
        "tokenizerCases": [{"text": t, "ids": tok.encode(t)} for t in TOKENIZER_CASES],
        "greedy": {"ids": generated, "text": text},
        "pairs": pairs,
    }
    write_json(out / "reference.json", reference)
    for p in sorted(out.iterdir()):
        print(f"{p.name}: {p.stat().st_size / 1024:.1f} KiB")
    for p in pairs:
        print(f"QL mean {p['scoreMean']:9.4f} sum {p['scoreSum']:10.4f}  {p['query']!r}")

    # 4. the same network as a last-token embedder
    if args.embed_out:
        embed_out = Path(args.embed_out)
        embed_out.mkdir(parents=True, exist_ok=True)
        (embed_out / "tokenizer.json").write_bytes((out / "tokenizer.json").read_bytes())
        make_embedder(cfg, w, tok, model, embed_out, args.name + "-embed", max_length)
        for p in sorted(embed_out.iterdir()):
            print(f"{embed_out.name}/{p.name}: {p.stat().st_size / 1024:.1f} KiB")


if __name__ == "__main__":
    main()

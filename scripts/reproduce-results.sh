#!/usr/bin/env bash
# Regenerates docs/results/*.json and docs/RESULTS.md: every evaluation pipeline on SciFact (test).
# Indexes are built once and re-used by later runs (.eval/). Takes about an hour on two cores the
# first time, mostly encoding the corpus with the fp32 models; sparse-proxy adds
# most of an hour of CPU the first time (the bge-small projection of every document, cached in
# .eval/sparse/).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DATA="${1:-$ROOT/../shared/datasets/scifact}"
for p in bm25 dense dense-int8 dense-e5 dense-minilm "bm25>dense-rerank" sparse-bm25 sparse-proxy; do
  "$ROOT/neural-eval" --dataset "$DATA" --pipeline "$p" --out "$ROOT/docs/results/scifact-$p.json"
done
# Fusion over the dense index (it holds the BM25 field too); the baseline gives the latency of the
# fused query over {!dense} alone (the slower sub-query). scripts/fuse_runs.py fuses the bm25 and
# dense run files independently.
for p in hybrid-rrf hybrid-linear; do
  "$ROOT/neural-eval" --dataset "$DATA" --pipeline "$p" --out "$ROOT/docs/results/scifact-$p.json" \
    --baseline "$ROOT/docs/results/scifact-dense.json"
done
# ColBERT: one index (every nbits in its own field, one encoding of the corpus, about 25 minutes),
# then exhaustive MaxSim per nbits against float32, PLAID against exhaustive, and re-ranking.
R="$ROOT/docs/results"
colbert() { "$ROOT/neural-eval" --dataset "$DATA" "$@"; }
colbert --pipeline colbert --param nbits=0 --param plaid=false --out "$R/scifact-colbert-nbits0-exhaustive.json"
for b in 2 1; do
  colbert --pipeline colbert --param nbits=$b --param plaid=false --out "$R/scifact-colbert-nbits$b-exhaustive.json" \
    --baseline "$R/scifact-colbert-nbits0-exhaustive.json"
done
colbert --pipeline colbert --param nbits=2 --out "$R/scifact-colbert-nbits2-plaid.json" --baseline "$R/scifact-colbert-nbits2-exhaustive.json"
colbert --pipeline colbert --param nbits=2 --param ndocs=256 --out "$R/scifact-colbert-nbits2-plaid-ndocs256.json" \
  --baseline "$R/scifact-colbert-nbits2-exhaustive.json"
colbert --pipeline colbert-rerank --param nbits=2 --out "$R/scifact-colbert-rerank-nbits2.json"
colbert --pipeline "bm25>maxsim-rerank" --out "$R/scifact-bm25>maxsim-rerank.json"
"$ROOT/neural-eval" --results "$ROOT/docs/results" --out "$ROOT/docs/RESULTS.md"

#!/usr/bin/env python3
"""Independent check of {!fuse}: fuses two TREC run files by RRF (k=60) and by min-max linear fusion
(weights 0.5/0.5) over each run's top `depth`, and prints nDCG@10 as trec_eval's ndcg_cut.10 computes
it (score descending, ties by document id descending; graded gains; queries in the run only).

  scripts/fuse_runs.py QRELS RUN_A RUN_B [DEPTH]
  e.g. scripts/fuse_runs.py ../shared/datasets/scifact/qrels/test.tsv \
           docs/results/scifact-bm25.trec docs/results/scifact-dense.trec
"""
import collections
import math
import sys


def read_run(path):
    run = collections.defaultdict(list)
    for line in open(path):
        query, _, doc, _, score, _ = line.split()
        run[query].append((doc, float(score)))
    for ranked in run.values():
        ranked.sort(key=lambda x: (-x[1], x[0]))
    return run


def read_qrels(path):
    qrels = collections.defaultdict(dict)
    with open(path) as f:
        next(f)
        for line in f:
            query, doc, grade = line.split()
            qrels[query][doc] = int(grade)
    return qrels


def ndcg10(scores, qrels):
    total, n = 0.0, 0
    for query, docs in scores.items():
        if query not in qrels:
            continue
        top = sorted(docs.items(), key=lambda x: (x[1], x[0]), reverse=True)[:10]
        dcg = sum((2 ** qrels[query].get(d, 0) - 1) / math.log2(i + 2) for i, (d, _) in enumerate(top))
        ideal = sorted(qrels[query].values(), reverse=True)[:10]
        idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
        total += dcg / idcg if idcg > 0 else 0.0
        n += 1
    return total / n


def rrf(runs, depth, k=60):
    fused = collections.defaultdict(dict)
    for run in runs:
        for query, ranked in run.items():
            for rank, (doc, _) in enumerate(ranked[:depth], start=1):
                fused[query][doc] = fused[query].get(doc, 0.0) + 1.0 / (k + rank)
    return fused


def linear_minmax(runs, depth, weights):
    fused = collections.defaultdict(dict)
    for weight, run in zip(weights, runs):
        for query, ranked in run.items():
            top = ranked[:depth]
            hi, lo = top[0][1], top[-1][1]
            for doc, score in top:
                norm = (score - lo) / (hi - lo) if hi > lo else 0.0
                fused[query][doc] = fused[query].get(doc, 0.0) + weight * norm
    return fused


def main():
    qrels = read_qrels(sys.argv[1])
    runs = [read_run(sys.argv[2]), read_run(sys.argv[3])]
    depth = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    print("rrf ndcg@10=%.4f" % ndcg10(rrf(runs, depth), qrels))
    print("linear-minmax ndcg@10=%.4f" % ndcg10(linear_minmax(runs, depth, (0.5, 0.5)), qrels))


if __name__ == "__main__":
    main()

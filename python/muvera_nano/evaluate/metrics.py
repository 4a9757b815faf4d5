"""Retrieval metrics, with the definitions the model card's numbers use.

Two families, both over binary relevance (a qrel value > 0 is relevant) unless noted:

* PyLate / sentence-transformers (`InformationRetrievalEvaluator`, used by PyLate's NanoBEIR
  evaluator): accuracy@k, precision@k (hits / k), recall@k (hits / #relevant), mrr@10,
  ndcg@10 (gain 1, discount log2(rank + 1), rank from 1), map@100 (divided by
  min(k, #relevant)).
* BEIR / trec_eval (pytrec_eval, used by txtai's benchmark): ndcg_cut_10 (graded gain = qrel
  value), map_cut_10 (divided by #relevant), recall_10, P_10.

Queries are those in `qrels` with at least one relevant document; a query missing from the
run scores 0. Rankings are lists of document ids, best first.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

DEFAULT_K = (1, 3, 5, 10)


def _dcg(gains: Iterable[float]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def query_metrics(
    ranking: Sequence,
    relevance: Mapping,
    *,
    k_values: Sequence[int] = DEFAULT_K,
    mrr_k: int = 10,
    ndcg_k: int = 10,
    map_k: int = 100,
    beir_k: int = 10,
) -> dict[str, float]:
    """All metrics for one query: `ranking` (ids, best first) against `relevance` ({id: level})."""
    relevant = {d for d, r in relevance.items() if r > 0}
    if not relevant:
        raise ValueError("a query needs at least one relevant document to be evaluated")
    hits = [d in relevant for d in ranking]
    out: dict[str, float] = {}
    for k in k_values:
        n = sum(hits[:k])
        out[f"accuracy@{k}"] = float(n > 0)
        out[f"precision@{k}"] = n / k
        out[f"recall@{k}"] = n / len(relevant)
    first = next((i for i, h in enumerate(hits[:mrr_k]) if h), None)
    out[f"mrr@{mrr_k}"] = 0.0 if first is None else 1.0 / (first + 1)
    out[f"ndcg@{ndcg_k}"] = _dcg(float(h) for h in hits[:ndcg_k]) / _dcg([1.0] * min(len(relevant), ndcg_k))
    found, precision_sum = 0, 0.0
    for i, h in enumerate(hits[:map_k]):
        if h:
            found += 1
            precision_sum += found / (i + 1)
    out[f"map@{map_k}"] = precision_sum / min(map_k, len(relevant))

    # BEIR / trec_eval definitions
    graded = sorted((r for r in relevance.values() if r > 0), reverse=True)
    ideal = _dcg(graded[:beir_k])
    out[f"ndcg_cut_{beir_k}"] = _dcg(max(relevance.get(d, 0), 0) for d in ranking[:beir_k]) / ideal
    found, precision_sum = 0, 0.0
    for i, h in enumerate(hits[:beir_k]):
        if h:
            found += 1
            precision_sum += found / (i + 1)
    out[f"map_cut_{beir_k}"] = precision_sum / len(relevant)
    out[f"recall_{beir_k}"] = sum(hits[:beir_k]) / len(relevant)
    out[f"P_{beir_k}"] = sum(hits[:beir_k]) / beir_k
    return out


def retrieval_metrics(run: Mapping[str, Sequence], qrels: Mapping[str, Mapping], **kwargs) -> dict[str, float]:
    """Mean of `query_metrics` over the evaluated queries (see the module docstring), plus
    `queries`: how many were evaluated."""
    totals: dict[str, float] = {}
    n = 0
    for qid, relevance in qrels.items():
        if not any(r > 0 for r in relevance.values()):
            continue
        m = query_metrics(list(run.get(qid, ())), relevance, **kwargs)
        for key, value in m.items():
            totals[key] = totals.get(key, 0.0) + value
        n += 1
    if n == 0:
        raise ValueError("no query in qrels has a relevant document")
    result = {key: value / n for key, value in totals.items()}
    result["queries"] = n
    return result

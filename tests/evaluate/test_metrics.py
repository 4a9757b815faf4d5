"""Metric code against the reference libraries on random runs: pytrec_eval (trec_eval, the
BEIR definitions) and sentence-transformers' InformationRetrievalEvaluator (PyLate's)."""

import numpy as np
import pytest
import pytrec_eval
from sentence_transformers.evaluation import InformationRetrievalEvaluator

from muvera_nano.evaluate import query_metrics, retrieval_metrics


def random_case(rng, n_queries=40, n_docs=300, graded=False):
    docs = [f"d{i}" for i in range(n_docs)]
    qrels, run_scores = {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        n_rel = int(rng.integers(1, 15))
        rel = rng.choice(n_docs, n_rel, replace=False)
        qrels[qid] = {docs[j]: int(rng.integers(1, 4)) if graded else 1 for j in rel}
        if rng.random() < 0.2:  # a judged non-relevant document
            qrels[qid].setdefault(docs[int(rng.integers(n_docs))], 0)
        retrieved = rng.choice(n_docs, int(rng.integers(0, 150)), replace=False)
        # bias towards relevant documents so the metrics are not all ~0
        retrieved = np.concatenate([rel[: rng.integers(0, n_rel + 1)], retrieved])
        retrieved = list(dict.fromkeys(retrieved.tolist()))
        scores = rng.permutation(len(retrieved)).astype(float) + rng.random(len(retrieved))  # distinct
        run_scores[qid] = {docs[j]: float(s) for j, s in zip(retrieved, scores)}
    ranked = {q: sorted(s, key=lambda d: -s[d]) for q, s in run_scores.items()}
    return qrels, run_scores, ranked


@pytest.mark.parametrize("graded", [False, True])
def test_beir_metrics_equal_pytrec_eval(rng, graded):
    qrels, run_scores, ranked = random_case(rng, graded=graded)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map_cut.10", "recall.10", "P.10", "recip_rank"})
    ref = evaluator.evaluate(run_scores)
    for qid in qrels:
        ours = query_metrics(ranked[qid], qrels[qid])
        for ours_key, ref_key in (
            ("ndcg_cut_10", "ndcg_cut_10"),
            ("map_cut_10", "map_cut_10"),
            ("recall_10", "recall_10"),
            ("P_10", "P_10"),
        ):
            assert ours[ours_key] == pytest.approx(ref[qid][ref_key], abs=1e-12), (qid, ours_key)
        first_rank = 1 / ref[qid]["recip_rank"] if ref[qid]["recip_rank"] else None
        want_mrr = ref[qid]["recip_rank"] if first_rank is not None and first_rank <= 10 else 0.0
        assert ours["mrr@10"] == pytest.approx(want_mrr, abs=1e-12)
        if not graded:
            assert ours["ndcg@10"] == pytest.approx(ref[qid]["ndcg_cut_10"], abs=1e-12)


def test_pylate_metrics_equal_sentence_transformers(rng):
    qrels, run_scores, ranked = random_case(rng, n_queries=60)
    relevant = {q: {d for d, r in rel.items() if r > 0} for q, rel in qrels.items()}
    st = InformationRetrievalEvaluator(
        queries={q: q for q in qrels},
        corpus={f"d{i}": "" for i in range(300)},
        relevant_docs=relevant,
        show_progress_bar=False,
    )
    results = [[{"corpus_id": d, "score": s} for d, s in run_scores[q].items()] for q in st.queries_ids]
    ref = st.compute_metrics(results)
    ours = retrieval_metrics(ranked, qrels)
    for k in (1, 3, 5, 10):
        assert ours[f"accuracy@{k}"] == pytest.approx(ref["accuracy@k"][k], abs=1e-12)
        assert ours[f"precision@{k}"] == pytest.approx(ref["precision@k"][k], abs=1e-12)
        assert ours[f"recall@{k}"] == pytest.approx(ref["recall@k"][k], abs=1e-12)
    assert ours["mrr@10"] == pytest.approx(ref["mrr@k"][10], abs=1e-12)
    assert ours["ndcg@10"] == pytest.approx(ref["ndcg@k"][10], abs=1e-12)
    assert ours["map@100"] == pytest.approx(ref["map@k"][100], abs=1e-12)
    assert ours["queries"] == 60


def test_queries_without_results_score_zero_and_unjudged_queries_are_skipped():
    qrels = {"a": {"x": 1}, "b": {"y": 1}, "c": {"z": 0}}
    m = retrieval_metrics({"a": ["x"]}, qrels)
    assert m["queries"] == 2 and m["ndcg@10"] == 0.5 and m["accuracy@1"] == 0.5
    with pytest.raises(ValueError, match="no query in qrels has a relevant document"):
        retrieval_metrics({}, {"c": {"z": 0}})

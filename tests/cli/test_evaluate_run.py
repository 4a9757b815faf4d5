"""The evaluation runner: metrics of each mode recomputed independently from the index's results."""

import numpy as np
import pytrec_eval

from muvera_nano.evaluate import evaluate, load_beir
from muvera_nano.index import Index
from muvera_nano.model import ColBERT


def test_report_matches_an_independent_computation(beir, model_dir):
    encoder = ColBERT(model_dir, threads=1)
    report = evaluate(beir, encoder=encoder, k=10, n_candidates=20)
    ds = load_beir(str(beir))
    idx = Index.create(None, encoder=encoder)
    idx.add(ds.corpus_texts, ids=ds.corpus_ids)
    q = idx.encode_queries(ds.query_texts)
    for mode, metrics in report["modes"].items():
        res = idx.search(q, k=10, mode=mode, n_candidates=20)
        run = {qid: {d: float(s) for d, s in zip(r.ids, r.scores)} for qid, r in zip(ds.query_ids, res)}
        ref = pytrec_eval.RelevanceEvaluator(ds.qrels, {"ndcg_cut.10", "recall.10"}).evaluate(run)
        assert np.isclose(metrics["ndcg_cut_10"], np.mean([ref[q]["ndcg_cut_10"] for q in ref]))
        assert np.isclose(metrics["recall@10"], np.mean([ref[q]["recall_10"] for q in ref]))
        assert metrics["latency_p50_ms"] > 0 and metrics["latency_p99_ms"] >= metrics["latency_p50_ms"]
    assert report["documents"] == 60 and report["index_bytes"] > 0
    # exact MaxSim and rerank over every candidate agree
    full = evaluate(beir, encoder=encoder, k=10, n_candidates=60, modes=["rerank"])
    assert full["modes"]["rerank"]["ndcg@10"] == report["modes"]["maxsim"]["ndcg@10"]

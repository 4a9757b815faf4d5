"""Evaluation: BEIR datasets and the model card's retrieval metrics."""

from .beir import BeirDataset, load_beir
from .metrics import query_metrics, retrieval_metrics

__all__ = ["BeirDataset", "load_beir", "query_metrics", "retrieval_metrics"]

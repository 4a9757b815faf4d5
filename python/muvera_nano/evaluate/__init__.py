"""Evaluation: BEIR datasets and the model card's retrieval metrics."""

from .beir import BeirDataset, load_beir
from .metrics import query_metrics, retrieval_metrics
from .run import evaluate, format_table, save_report

__all__ = ["BeirDataset", "evaluate", "format_table", "load_beir", "query_metrics", "retrieval_metrics", "save_report"]

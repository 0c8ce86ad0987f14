"""Retrieval evaluation: BEIR-format test collections and ranking metrics."""

from reviewer.evaluation.beir import BeirDataset, Document, Query, load_beir
from reviewer.evaluation.metrics import Evaluation, evaluate, mrr_at_k, ndcg_at_k, recall_at_k

__all__ = [
    "BeirDataset",
    "Document",
    "Query",
    "load_beir",
    "Evaluation",
    "evaluate",
    "ndcg_at_k",
    "recall_at_k",
    "mrr_at_k",
]

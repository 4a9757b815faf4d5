"""BEIR-format datasets: a folder with corpus.jsonl, queries.jsonl and qrels/<split>.tsv."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BeirDataset:
    corpus_ids: list[str]
    corpus_texts: list[str]  # "title text" as PyLate's load_beir joins them
    query_ids: list[str]
    query_texts: list[str]  # only queries that appear in the qrels split, in file order
    qrels: dict[str, dict[str, int]]


def _read_jsonl(path: str, what: str):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what}: {path} does not exist")
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{line_no}: not valid JSON ({e.msg})") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise ValueError(f'{path}:{line_no}: expected an object with an "_id" field')
            yield line_no, row


def load_beir(folder: str, split: str = "test") -> BeirDataset:
    """Reads a BEIR folder. Document text is `title + " " + text` (stripped) when a title is
    present, as PyLate's `evaluation.load_beir` builds it."""
    qrels_path = os.path.join(folder, "qrels", f"{split}.tsv")
    if not os.path.isfile(qrels_path):
        raise FileNotFoundError(f"qrels: {qrels_path} does not exist (BEIR layout: qrels/<split>.tsv)")
    qrels: dict[str, dict[str, int]] = {}
    with open(qrels_path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        for line_no, row in enumerate(reader, 1):
            if not row or (line_no == 1 and row[0] == "query-id"):
                continue
            if len(row) != 3:
                raise ValueError(f"{qrels_path}:{line_no}: expected query-id<TAB>corpus-id<TAB>score")
            try:
                score = int(row[2])
            except ValueError:
                raise ValueError(f"{qrels_path}:{line_no}: score {row[2]!r} is not an integer") from None
            qrels.setdefault(row[0], {})[row[1]] = score

    corpus_ids, corpus_texts, seen = [], [], set()
    for line_no, row in _read_jsonl(os.path.join(folder, "corpus.jsonl"), "corpus"):
        doc_id = str(row["_id"])
        if doc_id in seen:
            raise ValueError(f"corpus.jsonl:{line_no}: duplicate document id {doc_id!r}")
        seen.add(doc_id)
        title, text = row.get("title") or "", row.get("text") or ""
        corpus_ids.append(doc_id)
        corpus_texts.append(f"{title} {text}".strip() if title else text.strip())

    query_ids, query_texts = [], []
    for _, row in _read_jsonl(os.path.join(folder, "queries.jsonl"), "queries"):
        qid = str(row["_id"])
        if qid in qrels:
            query_ids.append(qid)
            query_texts.append(str(row.get("text", "")))
    missing = set(qrels) - set(query_ids)
    if missing:
        raise ValueError(
            f"qrels/{split}.tsv names {len(missing)} queries missing from queries.jsonl, e.g. {sorted(missing)[:3]}"
        )
    return BeirDataset(corpus_ids, corpus_texts, query_ids, query_texts, qrels)

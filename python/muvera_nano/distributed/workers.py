"""The workers of a distributed build: Ray Data runs a pool of these actors over the source's
batches (map_batches). Each loads the model once, then per batch encodes the texts, computes the
FDE rows and stored forms and writes the segment files into the build's job (Index.prepare); it
returns the segments' records, which the driver commits."""

from __future__ import annotations

import pickle
from typing import Any


class SegmentWriter:
    def __init__(
        self,
        index_dir: str,
        job_id: str,
        model_folder: str,
        encoder_options: dict[str, Any],
        threads: int,
        id_column: str | None,
        text_column: str,
    ):
        from ..index import Index
        from ..model import load

        self.job_id, self.threads = job_id, threads
        self.id_column, self.text_column = id_column, text_column
        encoder = load(model_folder, threads=threads, **encoder_options)
        # checks the model is the index's (same content hash) before any batch is encoded
        self.index = Index.open(index_dir, encoder=encoder, merge="off")

    def __call__(self, batch) -> dict[str, list]:
        """batch: a pyarrow Table. Returns one row per segment written: the pickled
        PreparedSegment and its document count."""
        texts = batch.column(self.text_column).to_pylist()
        ids = None if self.id_column is None else batch.column(self.id_column).to_pylist()
        self.index.refresh()  # storage kinds and codebooks as committed now
        records = self.index.prepare(self.job_id, texts, ids=ids, threads=self.threads)
        return {"record": [pickle.dumps(r) for r in records], "documents": [r.documents for r in records]}

"""When a storage kind's codebooks are due, and committing them: until a role's target kind has
codebooks, new data is written in the staging kind; once the staged documents (committed, and
those of the call in progress) reach the kind's minimum, the codebooks are trained on a sample
(training.py) and committed through the manifest, and merges then rewrite the staged segments."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import training
from .build import PreparedSegment, open_prepared
from .commit import Snapshot
from .files import load_array, save_array
from .manifest import CodebookRecord
from .segment import Segment
from .storage import ROLES, STAGING, kind_from_spec
from .writer import Writer

_LARGE_COLLECTION = 1 << 40  # documents: what documents_wanted() asks a kind's training_sample()


def output_kinds(state: Snapshot) -> dict[str, Any]:
    """Per role, the kind new data is written in: the target, or the staging kind while the
    target waits for codebooks."""
    settings = state.manifest.settings
    return {
        role: settings.kind(role)
        if not settings.kind(role).needs_training or role in state.codebooks
        else STAGING[role]
        for role in ROLES
    }


def documents_wanted(state: Snapshot) -> int:
    """How many documents the codebooks still lacking are trained on, from a large collection."""
    settings = state.manifest.settings
    kinds = [
        settings.kind(role) for role in ROLES if settings.kind(role).needs_training and role not in state.codebooks
    ]
    return max((max(k.min_training_documents, k.training_sample(_LARGE_COLLECTION)) for k in kinds), default=0)


def due(state: Snapshot, pending: int, prepared: list) -> bool:
    """Whether a role's target kind still needs codebooks and the staged documents (committed,
    and this call's: `prepared` so far plus `pending`) now reach its minimum."""
    settings = state.manifest.settings
    for role in ROLES:
        kind = settings.kind(role)
        if kind.needs_training and role not in state.codebooks:
            have = sum(len(rows) for _, rows in training.staged(state.segments, role, kind))
            have += sum(p.documents if isinstance(p, PreparedSegment) else p.n for p in prepared)
            if have + pending >= kind.min_training_documents:
                return True
    return False


def prepared_pieces(prepared: list, job) -> list:
    """(stored parts, rows) of a call's chunks written in the staging kinds (so far), to train on."""
    out = []
    for p in prepared:
        if isinstance(p, Segment):
            out.append(((p.tokens, p.fde), np.arange(p.n)))
        else:
            kinds = {role: kind_from_spec(role, p.storage[role], "prepared segment") for role in ROLES}
            if all(not k.needs_training for k in kinds.values()):
                out.append((open_prepared(job.folder, p, kinds, {}), np.arange(p.documents)))
    return out


def train(writer: Writer, threads, pending: list = ()) -> None:
    """Trains and commits each role's codebooks when due: on a sample of the staged documents
    (committed, plus `pending`: (stored parts, rows) of documents not committed yet)."""
    for role in ROLES:
        state = writer.state
        kind = state.manifest.settings.kind(role)
        if not kind.needs_training or role in state.codebooks:
            continue
        r = ROLES.index(role)
        sources = training.staged(state.segments, role, kind) + [(parts[r], rows) for parts, rows in pending]
        available = sum(len(rows) for _, rows in sources)
        if available < kind.min_training_documents:
            continue
        data = training.sample(sources, kind.training_sample(available), role)
        books = training.train(kind, data, state.manifest.settings.width(role), threads)
        _publish(writer, role, kind, books, len(data))


def _publish(writer: Writer, role: str, kind, books: dict, documents: int) -> None:
    with writer.job() as job:
        files = (
            {}
            if job.folder is None
            else {part: save_array(job.folder, f"{role}.{part}.npy", a, sync_folder=False) for part, a in books.items()}
        )

        def change(state: Snapshot, generation: int):
            if role in state.codebooks:
                return None  # another writer trained first: its codebooks stand
            store = writer.store
            adopted = store.adopt(job.folder, files, f"ix-{generation:08d}.{role}") if files else {}
            arrays = (
                {part: load_array(store.folder, rec, verify=False) for part, rec in adopted.items()}
                if adopted
                else books
            )
            m = state.manifest
            m = m.replace(codebooks={**m.codebooks, role: CodebookRecord(kind.to_dict(), adopted, documents)})
            return state.replace(manifest=m, codebooks={**state.codebooks, role: (kind, arrays)}), True

        writer.commit(change)

"""The model: reading PyLate checkpoints, exporting them to ONNX, the encoder, and its identity.

``load`` takes an exported model folder, a PyLate checkpoint folder or a hub id (the last two
are exported once into a cache) and returns the encoder.

>>> from muvera_nano import model
>>> encoder = model.load("path/to/pylate-checkpoint", threads=1)  # doctest: +SKIP
>>> model.export("path/to/pylate-checkpoint", "model-dir")        # doctest: +SKIP
>>> encoder = model.load("model-dir", threads=1)                  # doctest: +SKIP
>>> queries = encoder.encode(["what is colbert?"], is_query=True) # doctest: +SKIP
"""

from ._files import CheckpointError
from .checkpoint import Checkpoint, DenseLayer, EncoderShape, PyLateConfig, load_checkpoint
from .encoder import ColBERT
from .export import ExportSummary, export
from .identity import ModelIdentity
from .resolve import load, resolve_model
from .settings import EncodingSettings

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ColBERT",
    "DenseLayer",
    "EncoderShape",
    "EncodingSettings",
    "ExportSummary",
    "ModelIdentity",
    "PyLateConfig",
    "export",
    "load",
    "load_checkpoint",
    "resolve_model",
]

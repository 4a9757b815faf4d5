"""The model: reading PyLate checkpoints, exporting them to ONNX, and the encoder.

>>> from muvera_nano.model import export, ColBERT
>>> export("path/to/pylate-checkpoint", "model-dir")            # doctest: +SKIP
>>> encoder = ColBERT("model-dir", threads=1)                     # doctest: +SKIP
>>> queries = encoder.encode(["what is colbert?"], is_query=True) # doctest: +SKIP
"""

from ._files import CheckpointError
from .checkpoint import Checkpoint, DenseLayer, EncoderShape, PyLateConfig, load_checkpoint
from .encoder import ColBERT
from .export import ExportSummary, export
from .resolve import resolve_model
from .settings import EncodingSettings

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "ColBERT",
    "DenseLayer",
    "EncoderShape",
    "EncodingSettings",
    "ExportSummary",
    "PyLateConfig",
    "export",
    "load_checkpoint",
    "resolve_model",
]

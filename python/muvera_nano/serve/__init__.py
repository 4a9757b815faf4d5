"""`muvera-nano serve`: one index and one encoder behind an HTTP/JSON API (ASGI: Starlette on
uvicorn), with micro-batched search, bounded queues, writes through the index's writer lock,
Prometheus metrics and an OpenAPI document. Needs the optional dependencies of the `serve` extra:
``pip install 'muvera-nano[serve]'``.

>>> from muvera_nano.serve import ServeSettings, create_app, open_index  # doctest: +SKIP
>>> index, has_encoder = open_index("my-index")                            # doctest: +SKIP
>>> app = create_app(index, ServeSettings(max_queue=128), has_encoder=has_encoder)  # doctest: +SKIP
"""

from __future__ import annotations

from .settings import ServeSettings

_EXTRA = "pip install 'muvera-nano[serve]'"


def require() -> None:
    """Raises ImportError naming the extra when a serving dependency is missing."""
    for module in ("starlette", "uvicorn", "prometheus_client"):
        try:
            __import__(module)
        except ImportError as e:
            raise ImportError(f"muvera-nano serve needs {module}: {_EXTRA}") from e


def __getattr__(name: str):
    if name in ("create_app",):
        require()
        from .app import create_app

        return create_app
    if name in ("open_index", "run"):
        require()
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ServeSettings", "create_app", "open_index", "require", "run"]

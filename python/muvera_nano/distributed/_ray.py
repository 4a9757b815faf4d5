"""Ray, imported when first needed: `import muvera_nano.distributed` works without it, and using
it without Ray installed says which extra brings it."""

from __future__ import annotations

from types import ModuleType

from .._optional import optional_import


def require_ray() -> ModuleType:
    return optional_import("ray", "ray", "distributed builds and sharded search")


def require_ray_data() -> ModuleType:
    require_ray()
    return optional_import("ray.data", "ray", "distributed builds (Ray Data)")

"""Without Ray installed, muvera_nano.distributed imports, and using it says which extra to
install (Ray hidden from a fresh interpreter: None in sys.modules makes its import fail as a
missing package does)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["ray"] = None
import muvera_nano.distributed as d
for call in (lambda: d.build_index("docs.jsonl", "ix", model="m"), lambda: d.ShardedIndex("ix")):
    try:
        call()
    except ModuleNotFoundError as e:
        print(type(e).__name__, e.name, e)
"""


def test_using_it_without_ray_names_the_extra():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.splitlines() == [
        "ModuleNotFoundError ray distributed builds and sharded search needs the ray package: "
        "pip install 'muvera-nano[ray]'",
        "ModuleNotFoundError ray distributed builds and sharded search needs the ray package: "
        "pip install 'muvera-nano[ray]'",
    ]

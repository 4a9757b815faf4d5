"""Exported model folders: files that other users can read."""

import os
import stat

from muvera_nano import model


def test_exported_files_respect_the_umask(store, tmp_path):
    old = os.umask(0o022)
    try:
        model.export(store.checkpoint("bert").folder, tmp_path / "out")
    finally:
        os.umask(old)
    for f in (tmp_path / "out").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f  # readable by a service account
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755

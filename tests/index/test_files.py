"""The streaming .npy writer and the file-backed reader merges use."""

import os

import numpy as np
import pytest

from muvera_nano._atomic import sha256_file
from muvera_nano.index.files import FileArray, IndexFormatError, NpyWriter, load_array, save_array


@pytest.mark.parametrize("dtype, row_shape", [(np.float16, (7,)), (np.int64, ()), (np.uint8, (3, 2))])
def test_written_in_pieces_it_is_the_file_numpy_writes(tmp_path, rng, dtype, row_shape):
    a = (rng.standard_normal((1001, *row_shape)) * 100).astype(dtype)
    with NpyWriter(str(tmp_path), "pieces.npy", a.dtype, a.shape) as w:
        for start, stop in ((0, 1), (1, 5), (5, 5), (5, 300), (300, 1001)):  # uneven pieces, one empty
            w.write(a[start:stop])
        rec = w.close()
    np.save(tmp_path / "whole.npy", a)
    assert (tmp_path / "pieces.npy").read_bytes() == (tmp_path / "whole.npy").read_bytes()
    assert rec.sha256 == sha256_file(tmp_path / "pieces.npy") and rec.bytes == os.path.getsize(tmp_path / "pieces.npy")
    np.testing.assert_array_equal(load_array(str(tmp_path), rec, verify=True), a)


def test_a_writer_that_does_not_finish_publishes_nothing(tmp_path):
    with pytest.raises(ValueError, match="3 rows written, 4 announced"):
        with NpyWriter(str(tmp_path), "short.npy", np.float32, (4, 2)) as w:
            w.write(np.zeros((3, 2), np.float32))
            w.close()
    with pytest.raises(ValueError, match="more than the 4 rows announced"):
        with NpyWriter(str(tmp_path), "long.npy", np.float32, (4, 2)) as w:
            w.write(np.zeros((5, 2), np.float32))
    with pytest.raises(ValueError, match=r"rows of float32 \(\*, \(2,\)\) expected, got float64"):
        with NpyWriter(str(tmp_path), "typed.npy", np.float32, (4, 2)) as w:
            w.write(np.zeros((1, 2)))  # never a silent conversion
    with pytest.raises(RuntimeError, match="interrupted"):
        with NpyWriter(str(tmp_path), "interrupted.npy", np.float32, (4, 2)) as w:
            w.write(np.zeros((2, 2), np.float32))
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []  # no file, no temporary left


def test_file_array_reads_slices_and_scalars(tmp_path, rng):
    a = rng.standard_normal((500, 3)).astype(np.float32)
    rec = save_array(str(tmp_path), "a.npy", a)
    f = FileArray(str(tmp_path), rec)
    assert len(f) == 500 and f.shape == (500, 3) and f.dtype == np.float32
    np.testing.assert_array_equal(f[17:260], a[17:260])
    np.testing.assert_array_equal(f[:], a)
    np.testing.assert_array_equal(f[499], a[499])
    np.testing.assert_array_equal(f[-1], a[-1])
    assert f[600:700].shape == (0, 3)
    with pytest.raises(IndexError):
        f[500]
    with pytest.raises(TypeError, match="an int or a slice with step 1"):
        f[::2]
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[:-12])
    with pytest.raises(IndexFormatError, match="truncated or replaced"):
        FileArray(str(tmp_path), rec)

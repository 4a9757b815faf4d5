"""Indexing and searching texts through an encoder, and the encoder's identity in the manifest."""

import json
import shutil

import numpy as np
import pytest

from muvera_nano.index import Index
from muvera_nano.model import ColBERT

TEXTS = [
    "The cat sat on the mat.",
    "Dogs bark at night.",
    "A kitten sleeps on a rug.",
    "Stock prices fell today.",
    "Python lists can be sorted in place.",
    "",
]


def test_texts_round_trip_through_the_folder(tmp_path, models):
    folder = models.model_folder("nano")
    enc = ColBERT(folder, threads=1)
    idx = Index.create(tmp_path / "ix", encoder=enc)
    idx.add(TEXTS, ids=[f"t{i}" for i in range(len(TEXTS))])
    want = enc.encode_ragged(TEXTS, is_query=False)
    assert idx._segments[0].tokens.n_tokens == want.n_tokens
    q = "where is the cat?"
    res = idx.search(q, k=3, mode="maxsim")
    again = Index.open(tmp_path / "ix").search(q, k=3, mode="maxsim")  # encoder loaded from the manifest
    assert res.ids == again.ids
    np.testing.assert_array_equal(res.scores, again.scores)
    batch = idx.search([q, "stock market"], k=2)
    assert len(batch) == 2 and batch[0].ids == idx.search(q, k=2).ids


def test_another_model_is_refused(tmp_path, models):
    Index.create(tmp_path / "ix", encoder=models.model_folder("nano")).add(TEXTS[:2])
    with pytest.raises(ValueError, match="built with another model"):
        Index.open(tmp_path / "ix", encoder=models.model_folder("minilm"))


def test_texts_need_an_encoder_and_strings():
    idx = Index.create(None, dim=128)
    with pytest.raises(ValueError, match="this index has no encoder"):
        idx.add(["text"])
    with pytest.raises(TypeError, match=r"texts must be a list of strings, got a single str; wrap it as \[text\]"):
        idx.add("text")
    with pytest.raises(ValueError, match="pass exactly one of texts or token_vectors"):
        idx.add()


def test_a_moved_index_and_model_pair_still_searches(tmp_path, models, capsys):
    from muvera_nano.cli import main

    shutil.copytree(models.model_folder("nano"), tmp_path / "a" / "nano-onnx")
    idx = Index.create(tmp_path / "a" / "ix", encoder=tmp_path / "a" / "nano-onnx")
    idx.add(TEXTS)
    want = idx.search("where is the cat?", k=3)
    assert Index.open(tmp_path / "a" / "ix").info()["model"]["relative"] == "../nano-onnx"

    (tmp_path / "a").rename(tmp_path / "b")  # the folder holding both moves
    moved = Index.open(tmp_path / "b" / "ix")
    got = moved.search("where is the cat?", k=3)
    assert got.ids == want.ids
    np.testing.assert_array_equal(got.scores, want.scores)
    assert main(["search", str(tmp_path / "b" / "ix"), "where is the cat?", "--k", "3"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)["results"]] == want.ids


def test_a_model_inside_the_index_moves_with_it(tmp_path, models):
    idx = Index.create(tmp_path / "ix", encoder=models.model_folder("nano"))
    idx.add(TEXTS[:3])
    shutil.copytree(models.model_folder("nano"), tmp_path / "ix" / "model")
    again = Index.open(tmp_path / "ix", encoder=tmp_path / "ix" / "model")
    again.add(TEXTS[3:])  # a commit records where the model was found
    want = again.search("stock market", k=2)
    (tmp_path / "ix").rename(tmp_path / "elsewhere")
    got = Index.open(tmp_path / "elsewhere").search("stock market", k=2)
    assert got.ids == want.ids and Index.open(tmp_path / "elsewhere").info()["model"]["relative"] == "model"


def test_a_model_that_moved_alone_is_asked_for(tmp_path, models, capsys):
    from muvera_nano.cli import main

    shutil.copytree(models.model_folder("nano"), tmp_path / "models" / "nano")
    (tmp_path / "data").mkdir()
    idx = Index.create(tmp_path / "data" / "ix", encoder=tmp_path / "models" / "nano")
    idx.add(TEXTS)
    assert idx.info()["model"] == {"path": str(tmp_path / "models" / "nano"), "relative": None}
    (tmp_path / "models").rename(tmp_path / "moved")
    with pytest.raises(
        FileNotFoundError,
        match=r"built with the model folder .*models/nano \(content sha256 "
        r"[0-9a-f]{12}\), but it is not there; pass the model folder "
        r"\(encoder= in Python, --model on the command line\)",
    ):
        Index.open(tmp_path / "data" / "ix").search("cat")
    assert main(["search", str(tmp_path / "data" / "ix"), "cat"]) == 2
    err = capsys.readouterr().err
    assert "--model on the command line" in err and len(err.strip().splitlines()) == 1
    assert main(["search", str(tmp_path / "data" / "ix"), "cat", "--model", str(tmp_path / "moved" / "nano")]) == 0
    capsys.readouterr()
    # another model in the recorded place is not taken for it
    shutil.copytree(models.model_folder("minilm"), tmp_path / "models" / "nano")
    with pytest.raises(FileNotFoundError, match="models/nano holds another model; pass the model folder"):
        Index.open(tmp_path / "data" / "ix").search("cat")


def test_create_takes_a_checkpoint_like_the_commands(tmp_path, models, monkeypatch):
    from muvera_nano.cli import main

    monkeypatch.setenv("MUVERA_NANO_CACHE", str(tmp_path / "cache"))
    checkpoint = models.checkpoint("nano").folder
    api = Index.create(tmp_path / "api", encoder=checkpoint)
    api.add(TEXTS[:5])
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TEXTS[:5]) + "\n")
    assert main(["index", str(corpus), str(tmp_path / "cli"), "--model", str(checkpoint), "--quiet"]) == 0
    cli = Index.open(tmp_path / "cli")
    assert cli.info()["encoder"] == api.info()["encoder"]
    assert cli.info()["encoder"]["sha256"] == ColBERT(models.model_folder("nano")).identity.sha256
    a, b = cli.search("the cat", k=5, mode="maxsim"), api.search("the cat", k=5, mode="maxsim")
    assert a.ids == b.ids
    np.testing.assert_array_equal(a.scores, b.scores)


def test_the_encoder_precision_is_recorded_and_used_again(tmp_path, models):
    folder = models.model_folder("nano")
    idx = Index.create(tmp_path / "ix", encoder=ColBERT(folder, threads=1, precision="int8"))
    idx.add(TEXTS[:3])
    m = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    assert m["encoder"]["precision"] == "int8"
    again = Index.open(tmp_path / "ix")
    assert again.encoder.precision == "int8"  # loaded in the precision it was built with
    assert again.search("a cat", k=2).ids == idx.search("a cat", k=2).ids
    Index.create(tmp_path / "ix32", encoder=ColBERT(folder, threads=1))
    assert json.loads((tmp_path / "ix32" / "manifest.json").read_text())["encoder"]["precision"] == "float32"
    assert Index.open(tmp_path / "ix32").encoder.precision == "float32"

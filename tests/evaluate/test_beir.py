"""Reading BEIR folders."""

import json

import pytest

from muvera_nano.evaluate import load_beir


def write(folder, corpus, queries, qrels, split="test"):
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(json.dumps(r) for r in corpus) + "\n")
    (folder / "queries.jsonl").write_text("\n".join(json.dumps(r) for r in queries) + "\n")
    (folder / "qrels" / f"{split}.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in qrels)
    )


def test_load_beir(tmp_path):
    write(
        tmp_path,
        [{"_id": "d1", "title": "T", "text": " body "}, {"_id": 2, "text": "two"}],
        [{"_id": "q1", "text": "first?"}, {"_id": "q2", "text": "unjudged"}],
        [("q1", "d1", 1), ("q1", "2", 0)],
    )
    ds = load_beir(str(tmp_path))
    assert ds.corpus_ids == ["d1", "2"] and ds.corpus_texts == ["T  body", "two"]
    assert ds.query_ids == ["q1"] and ds.query_texts == ["first?"]
    assert ds.qrels == {"q1": {"d1": 1, "2": 0}}


@pytest.mark.parametrize(
    "corpus, qrels, pattern",
    [
        ([{"_id": "d1"}, {"_id": "d1"}], [("q1", "d1", 1)], "duplicate document id 'd1'"),
        ([{"text": "no id"}], [("q1", "d1", 1)], 'expected an object with an "_id" field'),
        ([{"_id": "d1"}], [("q9", "d1", 1)], "names 1 queries missing from queries.jsonl"),
        ([{"_id": "d1"}], [("q1", "d1", "x")], "score 'x' is not an integer"),
    ],
)
def test_load_beir_rejects_broken_folders(tmp_path, corpus, qrels, pattern):
    write(tmp_path, corpus, [{"_id": "q1", "text": "?"}], qrels)
    with pytest.raises(ValueError, match=pattern):
        load_beir(str(tmp_path))


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"qrels/test.tsv does not exist"):
        load_beir(str(tmp_path))

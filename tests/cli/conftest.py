import json

import pytest


def pydoc_beir(folder, n_docs=60):
    """A small BEIR folder from Python's own docs: a topic's first line is the query, the
    topic itself its one relevant document (plus two judged-irrelevant ones)."""
    from pydoc_data.topics import topics

    names = sorted(topics)[:n_docs]
    (folder / "qrels").mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w") as f:
        for i, name in enumerate(names):
            f.write(json.dumps({"_id": f"d{i}", "title": name, "text": topics[name][:1500]}) + "\n")
    with open(folder / "queries.jsonl", "w") as f, open(folder / "qrels" / "test.tsv", "w") as q:
        q.write("query-id\tcorpus-id\tscore\n")
        for i, name in enumerate(names[:20]):
            first = next(line for line in topics[name].splitlines() if line.strip())
            f.write(json.dumps({"_id": f"q{i}", "text": first}) + "\n")
            q.write(f"q{i}\td{i}\t1\nq{i}\td{(i + 7) % n_docs}\t0\n")
    return folder


@pytest.fixture(scope="session")
def beir(tmp_path_factory):
    return pydoc_beir(tmp_path_factory.mktemp("beir"))


@pytest.fixture(scope="session")
def model_dir(models):
    return models.model_folder("nano")

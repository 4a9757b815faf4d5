import pytest
from serve_harness import passages


@pytest.fixture(scope="module")
def model_dir(models):
    return models.model_folder("bert")


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory, model_dir):
    from muvera_nano.index import Index

    path = tmp_path_factory.mktemp("serve") / "index"
    idx = Index.create(path, encoder=str(model_dir))
    idx.add(passages(80), ids=[f"doc{i}" for i in range(80)])
    idx.add(passages(40, offset=80), ids=[f"doc{i}" for i in range(80, 120)])  # two segments
    return path

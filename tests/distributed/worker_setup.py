"""Run by every Ray worker process of the tests (ray.init's worker_process_setup_hook): the test
storage kinds with codebooks (tests/index/trained_kinds.py) registered there as in pytest."""


def register_test_kinds() -> None:
    import trained_kinds  # noqa: F401 - registers the kinds on import

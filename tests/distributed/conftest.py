"""A local Ray cluster of three nodes (ray.cluster_utils.Cluster: a head and two worker nodes,
each its own raylet and worker processes, with 2 logical CPUs each), started once for the
distributed tests and shut down after them (helpers the tests share: ray_helpers.py)."""

from __future__ import annotations

import os
import sys
import warnings

import pytest

# the test storage kinds with codebooks (trained_kinds.py), importable here as in tests/index
INDEX_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "index")
if INDEX_TESTS not in sys.path:
    sys.path.append(INDEX_TESTS)

NODES = 3
CPUS_PER_NODE = 2


@pytest.fixture(scope="session")
def cluster():
    import ray
    import ray.data
    from ray.cluster_utils import Cluster

    # Workers must find the test helpers, as the driver does, and know the test storage kinds.
    # (Raylets pass their environment to the workers they start.)
    here = os.path.dirname(os.path.abspath(__file__))
    pythonpath = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, INDEX_TESTS, pythonpath]))
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": CPUS_PER_NODE})
    try:
        for _ in range(NODES - 1):
            c.add_node(num_cpus=CPUS_PER_NODE)
        c.wait_for_nodes(timeout=120)
        ray.init(
            address=c.address,
            log_to_driver=False,
            runtime_env={"worker_process_setup_hook": "worker_setup.register_test_kinds"},
        )
        with warnings.catch_warnings():
            # Ray Data's own DataContext() sets its own deprecated fields (ray 2.60)
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="ray.data.context")
            context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        yield c
    finally:
        ray.shutdown()
        c.shutdown()
        if pythonpath is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = pythonpath

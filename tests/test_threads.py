"""`one_thread` limits scikit-learn's OpenMP pool too, even when scikit-learn was not loaded yet."""

import json
import subprocess
import sys

_PROBE = """
import json
from threadpoolctl import threadpool_info, threadpool_limits
from {module} import {name}
with {name}():
    from sklearn.cluster import KMeans
    pools = [(p["user_api"], p["num_threads"]) for p in threadpool_info()]
print(json.dumps(pools))
"""


def _pools_inside(module: str, name: str) -> list[list]:
    code = _PROBE.format(module=module, name=name)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "PATH": ""},
    )  # fmt: skip
    return json.loads(out.stdout)


def test_one_thread_reaches_the_openmp_runtime_loaded_later():
    pools = _pools_inside("dongne._threads", "one_thread")
    assert ["openmp", 1] in pools
    assert all(n == 1 for _, n in pools)


def test_plain_threadpool_limits_misses_it():
    # the reason for one_thread: entered before scikit-learn's import, the limit misses OpenMP
    code = _PROBE.format(module="threadpoolctl", name="threadpool_limits").replace(
        "threadpool_limits():", "threadpool_limits(limits=1):"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "PATH": ""},
    )  # fmt: skip
    assert ["openmp", 2] in json.loads(out.stdout)

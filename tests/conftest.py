"""Shared test setup: aerann configures Aesara before any test imports it, and the test files
are ordered so that two workers finish together."""

import json
import os
from collections import Counter
from pathlib import Path

# Four CPU devices for the data-parallel tests (tests/test_devices.py); JAX reads this when it starts.
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()

import aerann  # noqa: E402,F401  (sets Aesara's flags before aesara is imported)
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "default",
    deadline=None,
    max_examples=int(os.environ.get("AERANN_HYPOTHESIS_EXAMPLES", "20")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")

FILE_COSTS = Path(__file__).with_name("file_costs.json")


def pytest_addoption(parser):
    parser.addoption(
        "--store-file-costs",
        action="store_true",
        help=f"write the seconds each test file took to {FILE_COSTS.name} (the order the next runs use)",
    )


def pytest_collection_modifyitems(config, items):
    """The longest test files first (by the seconds in file_costs.json), each file's tests in
    their own order: each worker takes the next whole file when it is done, so the long files
    start early and the short ones fill in at the end, instead of one long file running alone
    after everything else."""
    costs = json.loads(FILE_COSTS.read_text()) if FILE_COSTS.is_file() else {}
    items.sort(key=lambda item: -costs.get(item.nodeid.split("::")[0].removeprefix("tests/"), 0))


_seconds = Counter()


def pytest_runtest_logreport(report):
    _seconds[report.nodeid.split("::")[0].removeprefix("tests/")] += report.duration


def pytest_sessionfinish(session):
    if session.config.getoption("--store-file-costs") and not hasattr(session.config, "workerinput"):
        costs = {name: round(seconds) for name, seconds in _seconds.most_common()}
        FILE_COSTS.write_text(json.dumps(costs, indent=1) + "\n")

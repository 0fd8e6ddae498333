"""Release-ready packaging: the wheel and the sdist install into a clean venv and work there;
a user's ``mypy --strict`` sees fakebroker's types after ``pip install -e .``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 300

SMOKE = textwrap.dedent(
    """
    import kombu
    import fakebroker

    with fakebroker.serve(port=0) as server:
        with kombu.Connection(server.url) as conn:
            queue = conn.SimpleQueue("smoke")
            queue.put({"over": "tcp"})
            assert queue.get(timeout=5).payload == {"over": "tcp"}
            queue.close()
    with kombu.Connection("fakebroker://") as conn:
        queue = conn.SimpleQueue("smoke")
        queue.put("in-process")
        assert queue.get(timeout=1).payload == "in-process"
        queue.close()
    print("smoke ok", fakebroker.__version__)
    """
)

FIXTURE_TEST = textwrap.dedent(
    """
    def test_the_broker_fixture(broker):
        with broker.connection() as conn:
            conn.Producer().publish({"id": 7}, routing_key="orders")
        broker.assert_published(routing_key="orders", body={"id": 7})
        broker.clock.advance(60)
    """
)

USER_TYPES = textwrap.dedent(
    """
    from __future__ import annotations

    import fakebroker
    from fakebroker.testing import BrokerHandle


    def test_unpaid_orders_expire(broker: BrokerHandle) -> None:
        broker.clock.advance(60)
        assert broker.queues == {}


    def served() -> str:
        with fakebroker.serve(port=0) as server:
            return server.url
    """
)


def _run(*cmd: str | Path, cwd: Path, timeout: float = BUILD_TIMEOUT) -> str:
    result = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_a_users_mypy_strict_sees_the_editable_install(tmp_path: Path) -> None:
    """The README's ``broker.clock.advance(60)`` type-checks in a user's project."""
    (tmp_path / "test_orders.py").write_text(USER_TYPES)
    out = _run(sys.executable, "-m", "mypy", "--strict", "test_orders.py", cwd=tmp_path)
    assert "Success" in out


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build", reason="python -m build needs the build package")
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, ROOT, cwd=ROOT)
    return out


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_the_distribution_installs_into_a_clean_venv_and_works(
    dist: Path, tmp_path: Path, kind: str
) -> None:
    from fakebroker import __version__

    pattern = "*.whl" if kind == "wheel" else "*.tar.gz"
    (artifact,) = dist.glob(pattern)
    assert __version__ in artifact.name
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", str(artifact), "pytest", cwd=tmp_path)
    (tmp_path / "smoke.py").write_text(SMOKE)
    assert f"smoke ok {__version__}" in _run(python, "smoke.py", cwd=tmp_path)
    (tmp_path / "test_fixture.py").write_text(FIXTURE_TEST)
    assert "1 passed" in _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path)
    version = _run(env_dir / "bin" / "fakebroker", "--version", cwd=tmp_path)
    assert version.strip() == f"fakebroker {__version__}"

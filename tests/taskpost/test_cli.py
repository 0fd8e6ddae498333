"""``taskpost worker``: a worker process round trip and a warm stop on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from taskpost import App
from taskpost.cli import load_app, main

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0


def test_load_app_refuses_other_objects() -> None:
    assert isinstance(load_app("tests.taskpost.cli_app"), App)
    with pytest.raises(SystemExit, match=r"not a taskpost\.App"):
        load_app("tests.taskpost.cli_app:not_an_app")


def test_worker_command_requires_an_app(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["worker"])
    assert "-A/--app" in capsys.readouterr().err


@pytest.fixture
def worker_process(app: App, broker_name: str, broker_url: str) -> Iterator[subprocess.Popen[str]]:
    if broker_name in ("memory", "fakebroker"):
        pytest.skip(f"{broker_name}:// is in-process: another process cannot share it")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TASKPOST_TEST_BROKER": broker_url,
        "TASKPOST_TEST_QUEUE": app.conf.task_default_queue,
    }
    command = [sys.executable, "-m", "taskpost.cli", "worker", "-A", "tests.taskpost.cli_app:app"]
    command += ["-Q", app.conf.task_default_queue, "-c", "2", "--prefetch", "4"]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=TIMEOUT)


def test_worker_process_runs_tasks_and_stops_warm_on_sigterm(
    app: App, worker_process: subprocess.Popen[str]
) -> None:
    results = [app.send_task("cli.add", (i, i)) for i in range(10)]
    assert [r.get(timeout=TIMEOUT) for r in results] == [2 * i for i in range(10)]
    worker_process.send_signal(signal.SIGTERM)
    output, _ = worker_process.communicate(timeout=TIMEOUT)
    assert worker_process.returncode == 0, output
    assert "Received SIGTERM: warm shutdown" in output
    assert "stopped" in output


def test_the_worker_finds_an_app_in_the_current_directory(tmp_path: Path) -> None:
    """``taskpost worker -A myshop:app`` run beside myshop.py, as Celery's -A finds it."""
    script = shutil.which("taskpost")
    if script is None:
        pytest.skip("the taskpost console script is not installed (pip install -e .)")
    (tmp_path / "myshop.py").write_text(
        "from taskpost import App\n"
        "app = App(broker_url='memory://', task_default_queue='myshop')\n"
        "print('myshop imported', flush=True)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [script, "worker", "-A", "myshop:app"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == "myshop imported", first + proc.stdout.read()
        ready = proc.stdout.readline()  # logged once the signal handlers are in place
        assert " ready: " in ready, ready
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, output
    assert "ModuleNotFoundError" not in output

"""Starting the dashboard's Solara server (`csto dashboard`), without importing Solara here.

The server runs as `python -m solara run dashboard.app:Page` in a child process: Solara's own
runner sets up its kernels and static files, and `csto`'s start-up stays free of Solara's imports.
The page loads nothing from outside the machine: its JavaScript and fonts come from the
solara-assets package, Solara's usage telemetry and version check are off, and any asset missing
from the package is looked for on a closed loopback port (it fails) instead of a public CDN.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

APP = "dashboard.app:Page"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
OFFLINE_CDN = "http://127.0.0.1:9/"
"""Where Solara would fetch an asset missing from solara-assets: a closed loopback port."""


class DashboardUnavailable(RuntimeError):  # noqa: N818 (the name cli.py imports)
    """Solara (the `dashboard` extra) is not installed."""


def check_installed() -> None:
    if importlib.util.find_spec("solara") is None:
        raise DashboardUnavailable(
            "the dashboard needs the 'dashboard' extra: pip install 'csto[dashboard]'"
        )


def solara_command(host: str, port: int) -> list[str]:
    """The command line of the Solara server."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
        "--log-level",
        "warning",
    ]


def server_environment(
    scenario: str, save_dir: str | Path, runs: int, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The child's environment: the page's settings and Solara's offline switches."""
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "CSTO_DASHBOARD_SCENARIO": scenario,
            "CSTO_DASHBOARD_SAVE_DIR": str(Path(save_dir).resolve()),
            "CSTO_DASHBOARD_RUNS": str(runs),
            "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
            "SOLARA_ASSETS_CDN": OFFLINE_CDN,
        }
    )
    return env


def address(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_until_listening(host: str, port: int, timeout: float, process=None) -> bool:
    """Whether something accepts connections on host:port within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def serve(
    scenario: str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    save_dir: str | Path = ".",
    runs: int = 300,
    echo: Callable[[str], None] = print,
) -> int:
    """Run the Solara server until it exits or the user interrupts; return its exit code."""
    check_installed()
    command = solara_command(host, port)
    process = subprocess.Popen(command, env=server_environment(scenario, save_dir, runs))
    try:
        echo(f"csto dashboard: {address(host, port)} (scenario {scenario}; Ctrl-C stops it)")
        if wait_until_listening(host, port, 60.0, process):
            echo(f"csto dashboard: ready at {address(host, port)}")
        return process.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

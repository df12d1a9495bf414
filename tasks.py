#!/usr/bin/env python3
"""Set up and run vigilstream with nothing but Python 3.11+.

    python3 tasks.py demo    # venv + install, then the demo on the embedded local stack
    python3 tasks.py test    # venv + install, then ruff, mypy and the whole test suite
    python3 tasks.py evaluation   # regenerate EVALUATION.md (default cohort + held-out seeds)
    python3 tasks.py bench        # regenerate BENCHMARKS.md (run it on an otherwise idle machine)

Extra arguments go to the command: ``python3 tasks.py demo --duration 120``,
``python3 tasks.py test -m "not integration"``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".install-stamp"


def fail(message: str) -> None:
    print(f"tasks.py: error: {message}", file=sys.stderr)
    sys.exit(1)


def ensure_env() -> Path:
    """Create .venv and install the project with its dev extras when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must run on any python3
        fail(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    python = BIN / "python"
    if not python.exists():
        print("creating .venv ...", flush=True)
        try:
            venv.create(VENV, with_pip=True)
        except Exception as exc:  # Debian without python3-venv lands here
            fail(f"could not create a virtual environment ({exc}); on Debian/Ubuntu install "
                 "python3-venv")  # fmt: skip
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("installing vigilstream and its dependencies into .venv ...", flush=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=False)
        done = subprocess.run([*pip, "install", "-q", "-e", f"{ROOT}[dev]"], cwd=ROOT)
        if done.returncode != 0:
            fail("pip install failed (see above)")
        STAMP.write_text(wanted)
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "evaluation", "bench"):
        print(__doc__)
        return 2
    command, extra = argv[0], argv[1:]
    python = ensure_env()
    if command == "demo":
        args = extra
        return subprocess.run(
            [str(python), "-m", "vigilstream", "demo", *args], cwd=ROOT
        ).returncode
    if command == "bench":
        args = ["--markdown", "BENCHMARKS.md", *extra]
        return subprocess.run(
            [str(python), "-m", "vigilstream", "bench", *args], cwd=ROOT
        ).returncode
    if command == "evaluation":
        args = [
            "--patients",
            "200",
            "--days",
            "14",
            "--seed",
            "1",
            "--also-seeds",
            "101,202",
            "--also-days",
            "28",
            "--fairness-cohort",
            "1600x10@303",
            "--markdown",
            "EVALUATION.md",
            "--report",
            "docs/evaluation",
            *extra,
        ]
        return subprocess.run(
            [str(python), "-m", "vigilstream", "evaluate", *args], cwd=ROOT
        ).returncode
    # lint, format (the "# fmt: skip" lines keep their hand layout), types of the pure core
    for check in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
        done = subprocess.run([str(python), "-m", *check], cwd=ROOT)
        if done.returncode != 0:
            return done.returncode
    return subprocess.run([str(python), "-m", "pytest", *extra], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

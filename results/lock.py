"""One owner per folder: an exclusive lock on a run, sweep, compare or calibration folder.

A command that writes a folder holds `FolderLock(folder)` for as long as it writes: the lock is a
file `.csto.lock` in the folder holding the owner's pid, host and start time. It is created
atomically (written under a temporary name, then hard-linked to `.csto.lock`, which fails if the
file exists; `os.open(O_CREAT | O_EXCL)` where links are not supported), so of two writers
exactly one gets it; the other gets `FolderLockedError` naming the holder. The owner removes the
file when it is done, also on an exception.

A lock whose owner is gone is taken over, with a note saying so. On the same machine (same host
name and process namespace) the owner is gone when its pid is not alive (`os.kill(pid, 0)`), or
when the pid now belongs to a process started later (the kernel's start time, where /proc has
it). A lock from another machine cannot be checked: it is honoured unless it is older than
`FOREIGN_MAX_AGE`. Taking over renames the stale file away first (one rename can succeed), so of
two processes finding the same stale lock only one takes it over.

`check_unlocked(folder)` is the test `--force` needs before it removes a folder: it raises
`FolderLockedError` if a live process holds it. Removing a folder safely is: acquire its lock
(taking over a stale one), then clear everything in it but the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

LOCK_NAME = ".csto.lock"
FOREIGN_MAX_AGE = 7 * 24 * 3600.0
"""Seconds after which a lock from another machine is taken to be abandoned (7 days)."""


class FolderLockError(Exception):
    """A folder that cannot be locked (not a folder, no permission, an unreadable lock file)."""


class FolderLockedError(FolderLockError):
    """The folder is held by a live process (or one that cannot be checked): `holder` names it."""

    def __init__(self, folder: Path, holder: LockHolder, detail: str = ""):
        self.folder, self.holder = folder, holder
        text = f"{folder} is in use by {holder.describe()}"
        super().__init__(f"{text} ({detail})" if detail else text)


@dataclass(frozen=True)
class LockHolder:
    """Who holds a folder: process id, host, start time and the lock's own random token."""

    pid: int
    host: str
    since: str
    started: float
    token: str
    process_start: str | None = None
    pid_namespace: str | None = None

    def describe(self) -> str:
        """E.g. "pid 4123 on host-a since 2026-12-02T17:21:21Z"."""
        return f"pid {self.pid} on {self.host} since {self.since}"

    def same_machine(self) -> bool:
        """Whether the holder's pid can be checked from here (same host and pid namespace)."""
        namespace = _pid_namespace()
        same_namespace = None in (self.pid_namespace, namespace) or self.pid_namespace == namespace
        return self.host == socket.gethostname() and same_namespace

    @classmethod
    def of_this_process(cls) -> LockHolder:
        now = time.time()
        since = dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            since=since,
            started=now,
            token=secrets.token_hex(8),
            process_start=_process_start(os.getpid()),
            pid_namespace=_pid_namespace(),
        )

    @classmethod
    def from_json(cls, text: str) -> LockHolder:
        """Parse a lock file's content; ValueError if it is not a lock."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        pid, started = data.get("pid"), data.get("started")
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
            raise ValueError("no valid pid")
        if not isinstance(started, int | float) or isinstance(started, bool):
            raise ValueError("no valid start time")
        fields = ("host", "since", "token")
        if not all(isinstance(data.get(name), str) for name in fields):
            raise ValueError("no host, since or token")
        optional = {
            name: data.get(name) if isinstance(data.get(name), str) else None
            for name in ("process_start", "pid_namespace")
        }
        return cls(pid, data["host"], data["since"], float(started), data["token"], **optional)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True) + "\n"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of process `pid` with the boot id (Linux), or None if unknown."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return f"{boot}:{fields[19]}" if len(fields) > 19 else None


def _pid_namespace() -> str | None:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return None


def holder_alive(holder: LockHolder, foreign_max_age: float = FOREIGN_MAX_AGE) -> tuple[bool, str]:
    """Whether `holder` may still be writing, and why (the note for a takeover, or the caveat).

    Same machine: alive iff its pid exists and (where known) started when the lock says. Another
    machine: alive unless the lock is older than `foreign_max_age` seconds.
    """
    if not holder.same_machine():
        age = time.time() - holder.started
        days = foreign_max_age / 86400
        if age > foreign_max_age:
            return False, f"a lock from another machine older than {days:g} days"
        return True, (
            f"another machine: it cannot be checked from here and is honoured for {days:g} "
            "days; delete the lock file if that process is gone"
        )
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False, "its process is gone"
    except PermissionError:
        pass  # alive, under another user
    current = _process_start(holder.pid)
    if holder.process_start and current and current != holder.process_start:
        return False, "its process is gone (the pid now belongs to another process)"
    return True, ""


def lock_path(folder: str | os.PathLike[str]) -> Path:
    """The lock file of `folder`."""
    return Path(folder) / LOCK_NAME


def read_holder(folder: str | os.PathLike[str]) -> LockHolder | None:
    """The holder recorded in `folder`'s lock file, or None if it has none.

    Raises FolderLockError if the lock file exists but is not a lock (it is never guessed away).
    """
    path = lock_path(folder)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise FolderLockError(f"{path}: unreadable lock file ({error})") from None
    try:
        return LockHolder.from_json(text)
    except ValueError as error:
        raise FolderLockError(
            f"{path}: not a lock file ({error}); delete it if no csto command uses {folder}"
        ) from None


def check_unlocked(
    folder: str | os.PathLike[str], foreign_max_age: float = FOREIGN_MAX_AGE
) -> str | None:
    """Raise FolderLockedError if a live process holds `folder`; else a note on a stale lock.

    What `--force` must ask before removing a folder. Returns None when there is no lock.
    """
    folder = Path(folder)
    holder = read_holder(folder)
    if holder is None:
        return None
    alive, why = holder_alive(holder, foreign_max_age)
    if alive:
        raise FolderLockedError(folder, holder, why)
    return f"{folder}: a stale lock of {holder.describe()} ({why})"


class FolderLock:
    """Exclusive ownership of `folder` for a `with` block (or `acquire` ... `release`).

    Args:
        folder: the folder to own. It must exist unless `create`, which creates it (and its
            parents); a folder created here and left empty is removed again on release.
        foreign_max_age: seconds after which a lock from another machine counts as abandoned.

    After `acquire`, `note` says whether a stale lock was taken over (None if not).
    Raises FolderLockedError if another live process holds the folder, FolderLockError if it
    cannot be locked at all.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        create: bool = False,
        foreign_max_age: float = FOREIGN_MAX_AGE,
    ) -> None:
        self.folder = Path(folder)
        self.path = lock_path(self.folder)
        self.create = create
        self.foreign_max_age = foreign_max_age
        self.note: str | None = None
        self.holder: LockHolder | None = None
        self._created = False

    @property
    def held(self) -> bool:
        return self.holder is not None

    def __enter__(self) -> FolderLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def acquire(self) -> FolderLock:
        """Take the lock (taking over a stale one); see the class for what it raises."""
        if self.held:
            raise FolderLockError(f"{self.folder}: this lock is already held")
        self._ensure_folder()
        mine = LockHolder.of_this_process()
        try:
            for _ in range(3):  # a lock released or taken over meanwhile: look again
                if self._create_exclusively(mine):
                    self.holder = mine
                    return self
                holder = read_holder(self.folder)
                if holder is None:
                    continue
                alive, why = holder_alive(holder, self.foreign_max_age)
                if alive:
                    raise FolderLockedError(self.folder, holder, why)
                if self._break(holder):
                    self.note = f"took over the stale lock of {holder.describe()}: {why}"
            raise FolderLockError(f"{self.folder}: the lock keeps changing hands; try again")
        except BaseException:
            self._remove_created_folder()
            raise

    def release(self) -> None:
        """Remove the lock file if it is still this lock's; idempotent."""
        if self.holder is None:
            return
        try:
            current = read_holder(self.folder)
        except FolderLockError:
            current = None
        if current is not None and current.token == self.holder.token:
            self.path.unlink(missing_ok=True)
        self.holder = None
        self._remove_created_folder()

    def _ensure_folder(self) -> None:
        """The folder exists (or is created, with `create`), or FolderLockError.

        Creating is tried rather than checked first: another process may create the folder
        between a check and this one's mkdir (two runs into one new folder), and a check-then-act
        took that folder for a file."""
        if self.folder.is_dir():
            return
        if not self.create:
            if self.folder.exists() or self.folder.is_symlink():
                raise FolderLockError(f"{self.folder}: not a folder")
            raise FolderLockError(f"{self.folder}: no such folder")
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            self.folder.mkdir()
            self._created = True
        except FileExistsError:
            if not self.folder.is_dir():
                raise FolderLockError(f"{self.folder}: not a folder") from None
        except OSError as error:
            raise FolderLockError(f"{self.folder}: cannot create: {error.strerror}") from None

    def _create_exclusively(self, holder: LockHolder) -> bool:
        """Create the lock file holding `holder`; False if a lock file exists."""
        scratch = self.folder / f"{LOCK_NAME}.{os.getpid()}.{holder.token}.tmp"
        try:
            scratch.write_text(holder.to_json(), encoding="utf-8")
            try:
                os.link(scratch, self.path)
                return True
            except FileExistsError:
                return False
            except OSError:  # no hard links here: an exclusive create instead
                return self._open_exclusively(holder)
        except OSError as error:
            raise FolderLockError(f"{self.path}: cannot create: {error.strerror}") from None
        finally:
            scratch.unlink(missing_ok=True)

    def _open_exclusively(self, holder: LockHolder) -> bool:
        try:
            descriptor = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(holder.to_json())
        return True

    def _break(self, stale: LockHolder) -> bool:
        """Remove the lock file if it still holds `stale`; False if someone else changed it.

        The file is renamed away first: of two processes breaking the same stale lock only one
        rename succeeds. Renaming a fresh lock by mistake puts it back.
        """
        aside = self.folder / f"{LOCK_NAME}.{os.getpid()}.{secrets.token_hex(4)}.stale"
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return False
        try:
            moved = LockHolder.from_json(aside.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            moved = None
        if moved is not None and moved.token != stale.token:
            with contextlib.suppress(OSError):
                os.link(aside, self.path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def _remove_created_folder(self) -> None:
        """Remove the folder this lock created if nothing but the lock's own files is in it."""
        if not self._created:
            return
        with contextlib.suppress(OSError):
            self.folder.rmdir()
        self._created = False

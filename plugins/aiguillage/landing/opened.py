"""Open a landing-zone file safely, and know that the bytes read are the bytes registered.

:func:`open_landing` opens ``<landing>/<relative path>`` one folder at a time, each with
``O_NOFOLLOW`` relative to the one before: no symbolic link is followed anywhere below the landing
root, so nothing outside the landing zone can be reached through a link, whenever the link was made
(a check of the path's real location alone would leave a window between the check and the open).
The file itself is opened with ``O_NONBLOCK`` (a FIFO swapped in cannot block the run) and
refused unless ``fstat`` shows a regular file.

The :class:`LandingStream` it returns is a read-only binary file object that hashes what is read.
``seek(0)`` starts a new pass (text readers make two); :meth:`LandingStream.verify` raises
:class:`ChangedSinceRegistered` when the sha256 of a complete pass (the last one is finished by the
check if the reader stopped early) differs from the one the registry recorded. The hash covers the
very bytes the reader parsed, so a file rewritten after registration, or while it is being read, is
caught whatever its size and times say; a change of metadata alone (``chmod``) is not a change.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path, PurePosixPath

from aiguillage.landing.names import printable

__all__ = ["ChangedSinceRegistered", "LandingStream", "NotARegularFile", "open_landing", "stable_identity"]

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DRAIN_BYTES = 1 << 20


class NotARegularFile(OSError):
    """The entry is a link, a FIFO, a socket, a device or a folder: it is never read."""


class ChangedSinceRegistered(Exception):
    """The bytes read are not the bytes the registry recorded, or they moved while being read."""


def stable_identity(status: os.stat_result) -> tuple[int, int, int, int, int]:
    """What a rewrite of the file cannot hide: device, inode, size, modification and change time
    (the change time is set by the kernel at every write and cannot be set back from user space)."""
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _parts(relative_path: str) -> tuple[str, ...]:
    parts = PurePosixPath(relative_path).parts
    if not parts or relative_path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise NotARegularFile(f"{printable(relative_path)} is not a path inside the landing zone")
    return parts


def open_descriptor(landing: Path, relative_path: str) -> tuple[int, os.stat_result]:
    """A read-only descriptor on the regular file ``landing/relative_path`` and its ``fstat``,
    reached without following any link below ``landing`` (the landing root itself is resolved once).

    Raises FileNotFoundError when it is gone, NotARegularFile for anything but a regular file
    (a link met on the way gives ELOOP or ENOTDIR from the kernel, reported the same way)."""
    parts = _parts(relative_path)
    root = os.path.realpath(landing)
    # The resolved location must be inside the landing root (a cheap first check; the descriptor
    # walk below is what makes it hold at the moment of the open).
    if os.path.commonpath([root, os.path.realpath(os.path.join(root, *parts))]) != root:
        raise NotARegularFile(f"{printable(relative_path)} leads outside the landing zone (a symbolic link)")
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, _FOLDER_FLAGS, dir_fd=folder)
            except OSError as error:
                raise _refused_or(error, relative_path) from None
            os.close(folder)
            folder = inner
        try:
            descriptor = os.open(parts[-1], _READ_FLAGS, dir_fd=folder)
        except OSError as error:
            raise _refused_or(error, relative_path) from None
    finally:
        os.close(folder)
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise NotARegularFile(f"{printable(relative_path)} is not a regular file")
    os.set_blocking(descriptor, True)
    return descriptor, status


def _refused_or(error: OSError, relative_path: str) -> OSError:
    import errno

    if error.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
        return NotARegularFile(f"{printable(relative_path)} goes through a symbolic link: not followed")
    return error


class LandingStream(io.RawIOBase):
    """A landing file opened for reading, hashing every byte read (see the module's doc).

    ``name`` is the file's path, ``label`` its landing-relative name escaped for messages. It has no
    ``fileno()``: every byte goes through :meth:`readinto`, so none escapes the hash."""

    def __init__(self, descriptor: int, opened: os.stat_result, name: str, label: str):
        super().__init__()
        self._fd = descriptor
        self.opened = opened  # fstat at the open
        self.name = name
        self.label = label
        self._restart()
        self._complete_sha256: str | None = None
        self._pass_sha256s: set[str] = set()  # of every complete pass

    def _restart(self) -> None:
        self._digest = hashlib.sha256()
        self._position = 0
        self._contiguous = True  # the current pass has read every byte from 0 to here

    # io.RawIOBase interface
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._checkClosed()
        count = os.readv(self._fd, [buffer])
        if count:
            if self._contiguous:
                self._digest.update(memoryview(buffer)[:count])
            self._position += count
        elif self._contiguous:
            self._complete_sha256 = self._digest.hexdigest()
            self._pass_sha256s.add(self._complete_sha256)
        return count

    def readall(self) -> bytes:
        chunks = []
        while chunk := self.read(_DRAIN_BYTES):
            chunks.append(chunk)
        return b"".join(chunks)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._checkClosed()
        position = os.lseek(self._fd, offset, whence)
        if position == 0:
            self._restart()
        elif position != self._position:
            self._contiguous = False  # bytes skipped or read twice: this pass cannot be hashed
        self._position = position
        return position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()

    # What makes the stream trustworthy
    def sha256(self) -> str:
        """The sha256 of the whole file as read now: the current pass finished if it is unbroken,
        else a new pass. Leaves the stream at its end."""
        if not self._contiguous:
            self.seek(0)
        buffer = bytearray(_DRAIN_BYTES)  # read in place: no copy of what is only hashed
        while self.readinto(buffer):
            pass
        assert self._complete_sha256 is not None
        return self._complete_sha256

    @property
    def identity(self) -> tuple[int, int, int, int, int]:
        """:func:`stable_identity` of the file now."""
        return stable_identity(os.fstat(self._fd))

    def verify(self, registered_sha256: str) -> None:
        """Raise ChangedSinceRegistered unless every complete pass (the last one finished here if
        the reader stopped early) read exactly the registered bytes."""
        found = {self.sha256(), *self._pass_sha256s}
        if found != {registered_sha256}:
            raise ChangedSinceRegistered(
                f"{self.label}: changed after it was registered (its bytes are not the ones recorded): "
                "its new content will be recorded by the next scan and loaded then")


def open_landing(landing: Path, relative_path: str) -> LandingStream:
    """The file ``relative_path`` of the landing zone, opened safely (see the module's doc)."""
    descriptor, opened = open_descriptor(landing, relative_path)
    return LandingStream(descriptor, opened, str(Path(landing) / relative_path), printable(relative_path))

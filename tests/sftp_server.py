"""A real SFTP server on the loopback interface, for the delivery tests.

Built on paramiko's server classes and backed by a temporary folder: remote paths are read as
paths under that folder (``/depot/x.csv`` is ``<root>/depot/x.csv``). It accepts a password or a
public key, listens on 127.0.0.1 on a free port, serves each client in paramiko's own transport
thread, and records every file opened for writing so that tests can count uploads.

    with SftpServer(tmp_path, password="secret") as server:
        monkeypatch.setenv("AIRFLOW_CONN_SFTP_TEST", server.airflow_connection())
"""

from __future__ import annotations

import json
import os
import posixpath
import socket
import threading
from pathlib import Path

import paramiko
from paramiko import SFTPAttributes, SFTPHandle, SFTPServer, SFTPServerInterface
from paramiko.sftp import SFTP_OK


class _Auth(paramiko.ServerInterface):
    def __init__(self, username: str, password: str | None, authorized_key: paramiko.PKey | None):
        self.username, self.password, self.authorized_key = username, password, authorized_key

    def get_allowed_auths(self, username):
        kinds = (["password"] if self.password is not None else []) + (["publickey"] if self.authorized_key else [])
        return ",".join(kinds)

    def check_auth_password(self, username, password):
        if self.password is not None and (username, password) == (self.username, self.password):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        wanted = self.authorized_key
        if wanted is not None and username == self.username and key.asbytes() == wanted.asbytes():
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Handle(SFTPHandle):
    def stat(self):
        try:
            return SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as error:
            return SFTPServer.convert_errno(error.errno)

    def chattr(self, attr):
        return SFTP_OK


class _FolderSftp(SFTPServerInterface):
    """SFTP operations on a local folder seen as the remote root."""

    def __init__(self, server, root: Path, recorder: SftpServer):
        super().__init__(server)
        self.root, self.recorder = root, recorder

    def canonicalize(self, path):
        return posixpath.normpath("/" + path.lstrip("/")) if path not in ("", ".") else "/"

    def _local(self, path: str) -> str:
        return os.path.join(self.root, self.canonicalize(path).lstrip("/"))

    def _errors(self, action):
        try:
            action()
        except OSError as error:
            return SFTPServer.convert_errno(error.errno)
        return SFTP_OK

    def list_folder(self, path):
        local = self._local(path)
        try:
            return [SFTPAttributes.from_stat(os.stat(os.path.join(local, name)), name)
                    for name in sorted(os.listdir(local))]
        except OSError as error:
            return SFTPServer.convert_errno(error.errno)

    def stat(self, path):
        try:
            return SFTPAttributes.from_stat(os.stat(self._local(path)))
        except OSError as error:
            return SFTPServer.convert_errno(error.errno)

    lstat = stat

    def open(self, path, flags, attr):
        local = self._local(path)
        try:
            fd = os.open(local, flags, 0o644)
        except OSError as error:
            return SFTPServer.convert_errno(error.errno)
        if flags & (os.O_WRONLY | os.O_RDWR):
            self.recorder._record("write", self.canonicalize(path))
            mode = "ab" if flags & os.O_APPEND else ("r+b" if flags & os.O_RDWR else "wb")
        else:
            mode = "rb"
        handle = _Handle(flags)
        handle.filename = local
        handle.readfile = handle.writefile = os.fdopen(fd, mode)
        return handle

    def remove(self, path):
        self.recorder._record("remove", self.canonicalize(path))
        return self._errors(lambda: os.remove(self._local(path)))

    def rename(self, oldpath, newpath):
        # SFTP v3 rename refuses an existing target, as OpenSSH does.
        if os.path.exists(self._local(newpath)):
            return SFTPServer.convert_errno(17)
        self.recorder._record("rename", self.canonicalize(newpath))
        return self._errors(lambda: os.rename(self._local(oldpath), self._local(newpath)))

    def posix_rename(self, oldpath, newpath):
        self.recorder._record("rename", self.canonicalize(newpath))
        return self._errors(lambda: os.replace(self._local(oldpath), self._local(newpath)))

    def mkdir(self, path, attr):
        return self._errors(lambda: os.mkdir(self._local(path)))

    def rmdir(self, path):
        return self._errors(lambda: os.rmdir(self._local(path)))

    def chattr(self, path, attr):
        return SFTP_OK


class SftpServer:
    """An SFTP server on 127.0.0.1, serving ``root``, started and stopped as a context manager."""

    def __init__(self, root: Path, *, username: str = "agence", password: str | None = None,
                 authorized_key: paramiko.PKey | None = None):
        if password is None and authorized_key is None:
            raise ValueError("the test SFTP server needs a password or an authorized key")
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.username, self.password, self.authorized_key = username, password, authorized_key
        self.host_key = paramiko.ECDSAKey.generate()
        self.events: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._transports: list[paramiko.Transport] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.port = 0

    # -- what the tests look at ------------------------------------------------------------------
    def _record(self, kind: str, path: str) -> None:
        with self._lock:
            self.events.append((kind, path))

    def writes(self, name_part: str = "") -> list[str]:
        """Remote paths opened for writing (one per upload), optionally those containing ``name_part``."""
        with self._lock:
            return [path for kind, path in self.events if kind == "write" and name_part in path]

    def airflow_connection(self, private_key: paramiko.PKey | None = None) -> str:
        """The Airflow connection (JSON form, for an ``AIRFLOW_CONN_<ID>`` variable) reaching this server."""
        extra: dict = {"no_host_key_check": True}
        connection = {"conn_type": "sftp", "host": "127.0.0.1", "port": self.port, "login": self.username}
        if private_key is not None:
            from io import StringIO

            text = StringIO()
            private_key.write_private_key(text)
            extra["private_key"] = text.getvalue()
        else:
            connection["password"] = self.password
        connection["extra"] = extra
        return json.dumps(connection)

    # -- life cycle ---------------------------------------------------------------------------------
    def __enter__(self) -> SftpServer:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept_loop, name="test-sftp-accept", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            transport = paramiko.Transport(client)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", SFTPServer, _FolderSftp, self.root, self)
            with self._lock:
                self._transports.append(transport)
            try:
                transport.start_server(server=_Auth(self.username, self.password, self.authorized_key))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            transports, self._transports = self._transports, []
        for transport in transports:
            transport.close()
        for transport in transports:
            if transport.is_alive():
                transport.join(timeout=5)

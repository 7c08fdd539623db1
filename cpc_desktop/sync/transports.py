"""Hubs: dumb storage that only ever holds ciphertext, behind one small interface.

    list(folder) -> {name: size}     files directly in a folder ({} when it does not exist)
    folders(folder) -> [name]        subfolders
    get(path) -> bytes
    put_if_absent(path, data) -> bool   False when a file of that name is already there
    replace(path, data)              the only overwrite: a device's head file

A folder hub (USB stick, shared drive) writes to a temporary name, flushes to the device and
renames, so a stick pulled mid-write never leaves half a batch under a batch's name. A WebDAV
hub (Nextcloud, ownCloud, any WebDAV server) uses webdav4 on httpx. Every operation retries
with backoff on a dropped link or a busy server, has timeouts, and stops at once when the
sync is cancelled.
"""
from __future__ import annotations

import builtins
import contextlib
import ipaddress
import os
import threading
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from ..core.files import write_private
from ..core.i18n import _
from .errors import (
    Cancelled,
    HubAuthError,
    HubError,
    HubFileTooLarge,
    HubFull,
    HubGarbage,
    HubInsecure,
    HubUnreachable,
)

ROOT = "cpc"
# No file this program writes comes near this (a batch is at most 64 KiB, a head a few
# hundred bytes): a larger download stops here, whatever the hub says it holds.
MAX_FILE_BYTES = 1024 * 1024


def _too_large() -> HubFileTooLarge:
    return HubFileTooLarge(_("Un archivo del punto de intercambio es mucho más grande que "
                             "cualquier paquete de cambios de CPC; "
                             "no se descargó ni se aplicó. Avise a quien administra el punto de "
                             "intercambio."))


def _full(status: int) -> HubFull:
    return HubFull(_("El punto de intercambio está lleno o no acepta más archivos (HTTP {status}). "
                     "Avise a quien "
                     "lo administra; no se perdió nada: los paquetes de cambios quedan en este "
                     "equipo y se "
                     "enviarán cuando haya espacio.").format(status=status))


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class CancelToken:
    """Shared between the UI (cancel()) and a running sync (check())."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled(_("Sincronización cancelada. Lo ya recibido queda guardado; la "
                              "próxima sincronización continúa desde ahí."))

    def sleep(self, seconds: float) -> None:
        if self._event.wait(seconds):
            self.check()


class Transport:
    """Base: retries, cancellation and byte counting shared by every hub."""

    retries = 5
    backoff = 0.5        # seconds, doubled at each retry
    max_backoff = 8.0
    cheap_listing = False   # True where listing a folder costs no network round trip

    def __init__(self):
        self.cancel = CancelToken()
        self.on_bytes: Callable[[int], None] | None = None
        self.round_trips = 0

    def describe(self) -> str:
        raise NotImplementedError

    def _count(self, n: int) -> None:
        if self.on_bytes:
            self.on_bytes(n)

    def _retry(self, op: Callable[[], object]):
        delay = self.backoff
        for attempt in range(self.retries + 1):
            self.cancel.check()
            try:
                return op()
            except _Transient as exc:
                if attempt == self.retries:
                    raise HubUnreachable(_("El punto de intercambio no responde ({what}). Lo ya "
                                           "enviado y "
                                           "recibido queda guardado; vuelva a intentarlo más "
                                           "tarde.").format(what=exc.what)) from None
                self.cancel.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    # The interface, each operation retried.
    def list(self, folder: str) -> dict[str, int]:
        return self._retry(lambda: self._list(folder))

    def folders(self, folder: str) -> builtins.list[str]:
        return self._retry(lambda: self._folders(folder))

    server_time_ms: int | None = None   # the hub's clock, when it tells it (WebDAV: Date)

    def get(self, path: str) -> bytes:
        return self._retry(lambda: self._get(path))

    def get_optional(self, path: str) -> bytes | None:
        """The file, or None when there is none of that name."""
        def op():
            try:
                return self._get(path)
            except _Missing:
                return None
        return self._retry(op)

    def put_if_absent(self, path: str, data: bytes) -> bool:
        return self._retry(lambda: self._put(path, data, overwrite=False))

    def replace(self, path: str, data: bytes) -> None:
        self._retry(lambda: self._put(path, data, overwrite=True))

    def close(self) -> None:
        pass

    def assume_folder(self, folder: str) -> None:
        """The folder is known to exist (no need to make it before a first upload)."""

    def _list(self, folder: str) -> dict[str, int]:
        raise NotImplementedError

    def _folders(self, folder: str) -> builtins.list[str]:
        raise NotImplementedError

    def _get(self, path: str) -> bytes:
        raise NotImplementedError

    def _put(self, path: str, data: bytes, *, overwrite: bool) -> bool:
        raise NotImplementedError


class _Missing(HubGarbage):
    pass


class _Transient(Exception):
    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


# ---------------------------------------------------------------- folder (USB stick)

class FolderHub(Transport):
    retries = 2
    backoff = 0.2
    cheap_listing = True

    def __init__(self, root: Path | str):
        super().__init__()
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def _path(self, rel: str) -> Path:
        return self.root.joinpath(*PurePosixPath(rel).parts)

    def _check_root(self) -> None:
        if not self.root.is_dir():
            raise HubUnreachable(_("No se encuentra la carpeta del punto de intercambio ({path}). "
                                   "¿Está "
                                   "conectada la memoria USB?").format(path=self.root))

    def _list(self, folder: str) -> dict[str, int]:
        self._check_root()
        path = self._path(folder)
        try:
            return {e.name: e.stat().st_size for e in os.scandir(path)
                    if e.is_file() and not e.name.startswith(".")}
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise _Transient(type(exc).__name__) from None

    def _folders(self, folder: str) -> list[str]:
        self._check_root()
        try:
            return sorted(e.name for e in os.scandir(self._path(folder))
                          if e.is_dir() and not e.name.startswith("."))
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise _Transient(type(exc).__name__) from None

    def _get(self, path: str) -> bytes:
        self._check_root()
        try:
            with open(self._path(path), "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
            if len(data) > MAX_FILE_BYTES:
                raise _too_large()
        except FileNotFoundError:
            raise _Missing(_("Un archivo listado en el punto de intercambio ya no está.")) from None
        except OSError as exc:
            raise _Transient(type(exc).__name__) from None
        self._count(len(data))
        return data

    def _put(self, path: str, data: bytes, *, overwrite: bool) -> bool:
        self._check_root()
        final = self._path(path)
        if not overwrite and final.exists() and final.stat().st_size == len(data):
            return False
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            # A file of the right name but the wrong size is what a pulled stick leaves on a
            # filesystem without journal: it is replaced.
            write_private(final, data)
        except OSError as exc:
            if exc.errno == 28:  # ENOSPC
                raise HubFull(_("La memoria USB o carpeta del punto de intercambio está llena. No "
                                "se dejó "
                                "ningún paquete de cambios a medias.")) from None
            raise HubUnreachable(_("No se pudo escribir en el punto de intercambio ({path}); ¿se "
                                   "retiró la "
                                   "memoria USB? No se dejó ningún paquete de cambios a "
                                   "medias.").format(
                path=self.root)) from None
        self._count(len(data))
        return True


# ---------------------------------------------------------------- WebDAV

class WebDavHub(Transport):
    """Nextcloud: https://host/remote.php/dav/files/USER/ (the folder the hub lives in)."""

    def __init__(self, url: str, username: str | None = None, password: str | None = None, *,
                 timeout: float = 30.0, connect_timeout: float = 10.0,
                 ca_file: str | os.PathLike | None = None, ca_pem: str | None = None):
        super().__init__()
        import ssl

        import httpx
        from webdav4.client import Client

        self.url = url.rstrip("/") + "/"
        u = httpx.URL(self.url)
        if u.scheme != "https" and not (u.scheme == "http" and is_loopback(u.host)):
            raise HubInsecure(_("El punto de intercambio debe tener una dirección https:// "
                                "(cifrada): por http:// "
                                "la contraseña y los paquetes de cambios viajarían a la vista. "
                                "Solo se acepta "
                                "http:// hacia este mismo equipo (127.0.0.1)."))
        verify: ssl.SSLContext | bool = True    # TLS certificates are always checked
        try:
            if ca_pem:
                verify = ssl.create_default_context(cadata=ca_pem)
            elif ca_file:
                verify = ssl.create_default_context(cafile=os.fspath(ca_file))
        except (OSError, ssl.SSLError, ValueError):
            raise HubError(_("No se pudo leer el certificado del punto de intercambio indicado con "
                             "--hub-ca "
                             "(debe ser un archivo PEM).")) from None
        auth = (username, password) if username else None
        timeout_cfg = httpx.Timeout(timeout, connect=connect_timeout)
        self.client = Client(self.url, auth=auth, retry=False, timeout=timeout_cfg,
                             chunk_size=16 * 1024, verify=verify,
                             event_hooks={"response": [self._saw_response]})
        self._made: set[str] = set()

    def _saw_response(self, resp) -> None:
        from email.utils import parsedate_to_datetime

        date = resp.headers.get("date")
        if date:
            with contextlib.suppress(TypeError, ValueError, IndexError):
                self.server_time_ms = int(parsedate_to_datetime(date).timestamp() * 1000)

    def describe(self) -> str:
        import httpx

        # Never the credentials: only scheme, host and path.
        u = httpx.URL(self.url)
        return f"{u.scheme}://{u.host}{':' + str(u.port) if u.port else ''}{u.path}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.http.close()

    @contextlib.contextmanager
    def _errors(self, what: str):
        import httpx
        from webdav4 import client as wc

        try:
            yield
        except Cancelled:
            raise
        except httpx.ConnectError as exc:
            if _cert_problem(exc):
                raise HubError(_("El certificado del punto de intercambio no es de confianza o no "
                                 "corresponde a "
                                 "su dirección; no se envió nada. Si el punto de intercambio es un "
                                 "servidor "
                                 "propio, indique su certificado con --hub-ca ARCHIVO.")) from None
            raise _Transient(type(exc).__name__) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise _Transient(type(exc).__name__) from None
        except wc.InsufficientStorage:
            raise _full(507) from None
        except wc.HTTPError as exc:
            self._status(getattr(exc, "status_code", None) or getattr(
                getattr(exc, "response", None), "status_code", 0) or 0, what)
            raise _Transient(what) from None
        except (wc.ClientError, ValueError, KeyError, SyntaxError) as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if status:
                self._status(status, what)
            raise HubGarbage(_("El punto de intercambio respondió algo que no es WebDAV ({what}). "
                               "Revise la "
                               "dirección del punto de intercambio.").format(what=what)) from None

    def _status(self, status: int, what: str) -> None:
        if status in (401, 403):
            raise HubAuthError(_("El punto de intercambio rechazó el usuario o la contraseña."))
        if status == 507 or (what == "PUT" and status in (405, 413)):
            raise _full(status)
        if status == 409 and what in ("MKCOL", "PUT"):
            raise HubGarbage(_("La carpeta del punto de intercambio no existe en el servidor "
                               "({url}). Revise la "
                               "dirección del punto de intercambio o cree esa carpeta en el "
                               "servidor.").format(
                url=self.describe()))
        if status in (408, 423, 425, 429) or status >= 500:
            raise _Transient(f"HTTP {status}")
        raise HubGarbage(_("El punto de intercambio respondió algo inesperado (HTTP {status}, "
                           "{what}).").format(
            status=status, what=what))

    def _request(self, method: str, path: str, **kw):
        self.round_trips += 1
        resp = self.client.http.request(method, self.client.join_url(path), **kw)
        return resp

    def _list(self, folder: str) -> dict[str, int]:
        return {n: s for n, s, is_dir in self._ls(folder) if not is_dir}

    def _folders(self, folder: str) -> list[str]:
        return sorted(n for n, _s, is_dir in self._ls(folder) if is_dir)

    def _ls(self, folder: str) -> list[tuple[str, int, bool]]:
        from webdav4.client import ResourceNotFound

        with self._errors("PROPFIND"):
            self.round_trips += 1
            try:
                entries = self._propfind(folder)
            except ResourceNotFound:
                return []
            out = []
            base = folder.strip("/")
            parts = PurePosixPath(base).parts
            self._made.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
            for e in entries:
                name = PurePosixPath(str(e["name"])).name
                if str(e["name"]).strip("/") == base or not name or name.startswith("."):
                    continue
                is_dir = e.get("type") == "directory"
                if is_dir:
                    self._made.add(f"{base}/{name}")
                out.append((name, int(e.get("content_length") or 0), is_dir))
            return out

    def _propfind(self, folder: str) -> list[dict]:
        """A folder's entries with only the two properties read (an allprop answer is
        several times larger, and every byte counts on a satellite link)."""
        from webdav4.client import _prepare_result_info

        result = self.client.propfind(folder, data=_PROPFIND_BODY, follow_redirects=True,
                                      headers={"Depth": "1",
                                               "Content-Type": "application/xml"})
        responses = result.responses
        responses.pop(self.client.join_url(folder).path, None)
        return [_prepare_result_info(r, self.client.base_url, True) for r in responses.values()]

    def _get(self, path: str) -> bytes:
        with self._errors("GET"):
            self.round_trips += 1
            with self.client.http.stream("GET", self.client.join_url(path)) as resp:
                if resp.status_code == 404:
                    raise _Missing(_("Un archivo listado en el punto de intercambio ya no está."))
                if resp.status_code >= 400:
                    self._status(resp.status_code, "GET")
                size = resp.headers.get("content-length")
                if size and size.isdigit() and int(size) > MAX_FILE_BYTES:
                    raise _too_large()
                data = bytearray()
                for chunk in resp.iter_raw(16 * 1024):
                    data += chunk
                    self._count(len(chunk))
                    if len(data) > MAX_FILE_BYTES:
                        raise _too_large()
            return bytes(data)

    def _size(self, path: str) -> int | None:
        resp = self._request("HEAD", path)
        if resp.status_code >= 400:
            return None
        size = resp.headers.get("content-length")
        return int(size) if size and size.isdigit() else None

    def _clean_failed(self, path: str, size: int) -> None:
        """A server that fails a PUT may leave a file under the name (rclone leaves 0 bytes):
        removed, so no half batch sits under a batch's name."""
        with contextlib.suppress(Exception):
            left = self._size(path)
            if left is not None and left != size:
                self._request("DELETE", path)

    def assume_folder(self, folder: str) -> None:
        # A 404/409 on the upload still makes it (the body then goes twice).
        parts = PurePosixPath(folder.strip("/")).parts
        self._made.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))

    def _mkdirs(self, folder: str) -> None:
        parts = PurePosixPath(folder).parts
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in self._made:
                continue
            resp = self._request("MKCOL", sub + "/")
            # 405: it exists already.
            if resp.status_code not in (201, 405, 301, 200):
                self._made.clear()
                self._status(resp.status_code, "MKCOL")
            self._made.add(sub)

    def _put(self, path: str, data: bytes, *, overwrite: bool) -> bool:
        headers = {"Content-Length": str(len(data)),
                   "Content-Type": "application/octet-stream"}
        if not overwrite:
            headers["If-None-Match"] = "*"
        with self._errors("PUT"):
            # Folders are made before the body is sent: a 409 would cost the body twice on a
            # slow link.
            self._mkdirs(str(PurePosixPath(path).parent))
            for _attempt in range(2):
                resp = self._request("PUT", path, content=_iter_body(data, self),
                                     headers=headers)
                if resp.status_code == 412:
                    # Something is there: whole, or what a failed upload left (replaced).
                    if self._size(path) == len(data):
                        return False
                    headers.pop("If-None-Match", None)
                    continue
                if resp.status_code in (404, 409):  # the folder does not exist yet
                    self._made.clear()
                    self._mkdirs(str(PurePosixPath(path).parent))
                    continue
                if resp.status_code >= 400:
                    if resp.status_code < 500 or resp.status_code == 507:
                        self._clean_failed(path, len(data))
                    self._status(resp.status_code, "PUT")
                return True
            self._status(resp.status_code, "PUT")
        return True


_PROPFIND_BODY = ('<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>'
                  '<d:resourcetype/><d:getcontentlength/></d:prop></d:propfind>')


def _cert_problem(exc: BaseException | None) -> bool:
    import ssl

    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
                exc):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _iter_body(data: bytes, hub: Transport):
    for i in range(0, len(data), 8192):
        hub.cancel.check()
        chunk = data[i:i + 8192]
        hub._count(len(chunk))
        yield chunk


def open_hub(location: str, username: str | None = None, password: str | None = None,
             **kw) -> Transport:
    """A WebDAV hub for an https URL (http only to this very machine), else a folder hub.
    `ca_file=` / `ca_pem=`: the certificate of a self-hosted server, trusted besides the
    system's."""
    if location.startswith(("http://", "https://")):
        return WebDavHub(location, username, password, **kw)
    if location.startswith(("dav://", "davs://")):
        return WebDavHub("http" + location[3:], username, password, **kw)
    return FolderHub(location)

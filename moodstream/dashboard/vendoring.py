"""The page's front-end files, from npm, at the exact versions moodstream/dashboard/package-lock.json pins.

A source checkout gets them with ``npm ci`` (``make install``) under ``moodstream/dashboard/node_modules``. A wheel
carries its own copy in ``moodstream/dashboard/static/vendor/``, put there when the wheel is built
(setup.py). The copy comes from ``node_modules`` when that holds the locked version, else straight from
the npm registry, checked against the lockfile's integrity hash. So a wheel serves the page wherever
it is installed. The server looks in the wheel's copy first, then in ``node_modules``.

Standard library only: setup.py imports this module before any dependency is installed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
BUNDLED = HERE / "static" / "vendor"
# What the page loads from /vendor/<name>: the npm package and the file inside it.
FILES = {
    "socket.io.min.js": ("socket.io-client", "dist/socket.io.min.js"),
    "uPlot.iife.min.js": ("uplot", "dist/uPlot.iife.min.js"),  # the timeline chart
    "uPlot.min.css": ("uplot", "dist/uPlot.min.css"),
}
# npm itself sets it, in lower case, for builds that run under npm.
REGISTRY = os.environ.get("npm_config_registry", "https://registry.npmjs.org").rstrip("/")  # noqa: SIM112


class VendoringError(RuntimeError):
    pass


def locate(name: str) -> Path | None:
    """Where the server finds a front-end file, if anywhere."""
    if name not in FILES:
        return None
    package, member = FILES[name]
    for path in (BUNDLED / name, HERE / "node_modules" / package / member):
        if path.is_file():
            return path
    return None


def locked(package: str, lockfile: Path = HERE / "package-lock.json") -> tuple[str, str]:
    """The version and integrity hash the lockfile pins for ``package``."""
    entry = json.loads(lockfile.read_text())["packages"].get(f"node_modules/{package}")
    if not entry or "integrity" not in entry:
        raise VendoringError(f"{lockfile} pins no {package}")
    return entry["version"], entry["integrity"]


def _installed(package: str, version: str) -> Path | None:
    root = HERE / "node_modules" / package
    try:
        return root if json.loads((root / "package.json").read_text())["version"] == version else None
    except (OSError, ValueError, KeyError):
        return None


def _download(package: str, version: str, integrity: str) -> bytes:
    algorithm, _, digest = integrity.partition("-")
    url = f"{REGISTRY}/{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            tarball = response.read()
    except OSError as exc:
        raise VendoringError(f"cannot download {url}: {exc}") from exc
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != digest:
        raise VendoringError(f"{url} does not match the lockfile's {algorithm} hash")
    return tarball


def fetch(name: str) -> bytes:
    """One front-end file at its locked version: from node_modules if current, else from the registry."""
    package, member = FILES[name]
    version, integrity = locked(package)
    installed = _installed(package, version)
    if installed is not None and (installed / member).is_file():
        return (installed / member).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(_download(package, version, integrity)), mode="r:gz") as tar:
        extracted = tar.extractfile(f"package/{member}")
        if extracted is None:
            raise VendoringError(f"{package}@{version} has no {member}")
        return extracted.read()


def copy_into(folder: Path) -> list[Path]:
    """Write every front-end file into ``folder`` (a wheel's static/vendor)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        target = folder / name
        target.write_bytes(fetch(name))
        written.append(target)
    return written

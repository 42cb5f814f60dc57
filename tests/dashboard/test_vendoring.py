"""The page's front-end files: the lockfile's exact version, from node_modules or the npm registry."""

from __future__ import annotations

import io
import tarfile

import pytest

from moodstream.dashboard import vendoring


def test_the_registry_copy_is_the_locked_one_and_checked() -> None:
    version, integrity = vendoring.locked("socket.io-client")
    tarball = vendoring._download("socket.io-client", version, integrity)  # the real npm registry
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile("package/dist/socket.io.min.js")
        assert member is not None
        from_registry = member.read()
    installed = vendoring.HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
    assert from_registry == installed.read_bytes() == vendoring.fetch("socket.io.min.js")
    with pytest.raises(vendoring.VendoringError, match="does not match the lockfile"):
        vendoring._download("socket.io-client", version, "sha512-" + "A" * 86 + "==")


def test_the_server_finds_only_what_it_vendors() -> None:
    for name in ("socket.io.min.js", "uPlot.iife.min.js", "uPlot.min.css"):
        assert vendoring.locate(name) is not None
    assert vendoring.locate("../package.json") is None

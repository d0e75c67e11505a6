"""Distribution packages: fetched by name with the distribution's own client, read without installing.

``apt-get download PACKAGE=VERSION`` needs no root and writes the ``.deb`` into the current folder; the package
is then read as a stream (``dpkg-deb --fsys-tarfile``), so nothing is installed and only what is asked for is
kept: sound files, sound files inside inner archives (``.pk3``, ``.wz``, ``.zip``: zips), and the small text
files that carry licences and credits.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sfxrep.corpus.recipe import AUDIO_SUFFIXES

CREDIT_NAMES = re.compile(r"(copyright|credits?|authors?|licen[cs]e|readme|sources?|attribution)[^/]*$", re.I)
MAX_TEXT_BYTES = 2_000_000  # a credits file larger than this is not read


class PackageError(OSError):
    """A package that cannot be fetched or read; the message names it and why (bad input, not a bug)."""


@dataclass(frozen=True)
class Member:
    """One file taken from a package: ``name`` is its path (``outer!inner`` inside an inner archive)."""

    name: str
    data: bytes
    kind: str  # "audio" or "text"


def deb_filename(package: str, version: str) -> str:
    """The file name ``apt-get download`` gives (an epoch's ``:`` is written ``%3a``)."""
    return f"{package}_{version.replace(':', '%3a')}_all.deb"


def fetch(package: str, version: str, cache: Path, run: Callable = subprocess.run) -> Path:
    """The ``.deb`` of ``package`` at ``version`` in ``cache``, downloaded by ``apt-get download`` when absent."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
    if found:
        return found[0]
    if shutil.which("apt-get") is None:
        raise PackageError(f"{package}={version}: apt-get is not on this machine (a Debian-based system is needed), "
                           f"or put the .deb in {cache}")
    done = run(["apt-get", "download", f"{package}={version}"], cwd=cache, capture_output=True, text=True)
    found = sorted(cache.glob(f"{package}_{version.replace(':', '%3a')}_*.deb"))
    if done.returncode != 0 or not found:
        raise PackageError(f"{package}={version}: apt-get download failed: "
                           f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or 'no file written'} "
                           f"(is the version still in the archive? `apt-cache policy {package}`)")
    return found[0]


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_audio(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in AUDIO_SUFFIXES


def members(deb: Path, opens: Callable[[str], bool]) -> Iterator[Member]:
    """The sound files and credit texts of ``deb``, and those of the inner archives ``opens`` accepts.

    Raises :class:`PackageError` when ``dpkg-deb`` is missing or cannot read the file. An inner archive that is
    not a readable zip is yielded as a ``text`` member named ``outer!`` with the reason (reported, not fatal).
    """
    if shutil.which("dpkg-deb") is None:
        raise PackageError(f"{deb}: dpkg-deb is not on this machine (Debian's dpkg package)")
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for info in tar:
                if not info.isfile():
                    continue
                name = info.name.removeprefix("./")
                if is_audio(name):
                    yield Member(name, tar.extractfile(info).read(), "audio")
                elif opens(name):
                    yield from _inner(name, tar.extractfile(info).read())
                elif CREDIT_NAMES.search(PurePosixPath(name).name) and info.size <= MAX_TEXT_BYTES:
                    yield Member(name, tar.extractfile(info).read(), "text")
    except tarfile.TarError as err:
        raise PackageError(f"{deb}: not a readable package ({err})") from err
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise PackageError(f"{deb}: dpkg-deb failed: {err}")


def _inner(outer: str, data: bytes) -> Iterator[Member]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        yield Member(f"{outer}!", f"not a zip archive: {err}".encode(), "text")
        return
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = f"{outer}!{info.filename}"
        if is_audio(info.filename):
            yield Member(name, archive.read(info), "audio")
        elif CREDIT_NAMES.search(PurePosixPath(info.filename).name) and info.file_size <= MAX_TEXT_BYTES:
            yield Member(name, archive.read(info), "text")


def licence_summary(copyright_text: str) -> str:
    """The licence names a Debian machine-readable copyright file declares (``License:`` lines), in order of
    first appearance; the first line of a free-form file otherwise."""
    names = []
    for line in copyright_text.splitlines():
        if line.startswith("License:"):
            name = line.partition(":")[2].strip()
            if name and name not in names:
                names.append(name)
    if names:
        return "; ".join(names)
    first = next((ln.strip() for ln in copyright_text.splitlines() if ln.strip()), "")
    return first[:120] or "unknown (no copyright file)"

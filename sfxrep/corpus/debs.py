"""Distribution packages: fetched by name with the distribution's own client, read without installing.

``apt-get download PACKAGE=VERSION`` needs no root and writes the ``.deb`` into the current folder; the package
is then read as a stream (``dpkg-deb --fsys-tarfile``), so nothing is installed and only what is asked for is
kept: sound files, sound files inside inner archives (``.pk3``, ``.wz``, ``.zip``: zips), and the small text
files that carry licences and credits.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
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


def _deb_glob(package: str, version: str) -> str:
    """The names ``apt-get download`` gives the package (an epoch's ``:`` is written ``%3a``), any architecture."""
    return f"{package}_{version.replace(':', '%3a')}_*.deb"


def fetch(package: str, version: str, cache: Path, run: Callable = subprocess.run) -> Path:
    """The ``.deb`` of ``package`` at ``version`` in ``cache``, downloaded by ``apt-get download`` when absent."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(_deb_glob(package, version)))
    if found:
        return found[0]
    if shutil.which("apt-get") is None:
        raise PackageError(f"{package}={version}: apt-get is not on this machine (a Debian-based system is needed), "
                           f"or put the .deb in {cache}")
    done = run(["apt-get", "download", f"{package}={version}"], cwd=cache, capture_output=True, text=True)
    found = sorted(cache.glob(_deb_glob(package, version)))
    if done.returncode != 0 or not found:
        raise PackageError(f"{package}={version}: apt-get download failed: "
                           f"{(done.stderr or done.stdout).strip().splitlines()[-1:] or 'no file written'} "
                           f"(are the package lists current? `sudo apt-get update`; is the version still in the archive? "
                           f"`apt-cache policy {package}`)")
    return found[0]


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
                elif opens(name):  # spooled to disk: an inner archive can be a gigabyte (0 A.D.'s public.zip)
                    with tempfile.TemporaryFile() as spool:
                        shutil.copyfileobj(tar.extractfile(info), spool, 1 << 20)
                        yield from _inner(name, spool)
                elif CREDIT_NAMES.search(PurePosixPath(name).name) and info.size <= MAX_TEXT_BYTES:
                    yield Member(name, tar.extractfile(info).read(), "text")
    except tarfile.TarError as err:
        raise PackageError(f"{deb}: not a readable package ({err})") from err
    finally:
        proc.stdout.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        if proc.wait() != 0:
            raise PackageError(f"{deb}: dpkg-deb failed: {err}")


def _inner(outer: str, data) -> Iterator[Member]:
    """The sound files and credit texts of one inner zip (``data``: a seekable binary file)."""
    try:
        archive = zipfile.ZipFile(data)
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


class FileLicences:
    """The licence of each file of a package by its Debian machine-readable copyright file (DEP-5). A ``Files:``
    pattern names a path of the *source* tree (``*`` matches across folders); it matches an installed path (or an
    inner archive's member path) that ends with it, or with its tail, at a folder boundary. Since installed paths
    only approximate source paths, the most specific matching pattern (most literal characters; the later stanza
    on a tie, as DEP-5's last-match rule) gives the ``License:``. A free-form copyright file gives every file
    :func:`licence_summary`."""

    def __init__(self, copyright_text: str) -> None:
        self.fallback = licence_summary(copyright_text)
        self.stanzas: list[tuple[list[re.Pattern], str]] = []
        for block in re.split(r"\n\s*\n", copyright_text):
            fields = dict(re.findall(r"^(Files|License):[ \t]*(.*(?:\n[ \t]+.*)*)", block, re.M))
            if "Files" in fields and fields.get("License", "").strip():
                patterns = [q for p in fields["Files"].split() for q in _installed_patterns(p)]
                self.stanzas.append((patterns, fields["License"].splitlines()[0].strip()))

    def __call__(self, member: str) -> str:
        path = member.replace("!", "/")
        best, found = -1, None
        for patterns, licence in self.stanzas:
            for p in patterns:
                literal = len(p.pattern.replace(".*", "").replace("\\", ""))
                if literal >= best and p.search(path):
                    best, found = literal, licence
        return found or self.fallback


def _installed_patterns(pattern: str) -> list[re.Pattern]:
    """Regexes for the installed paths a DEP-5 ``Files:`` pattern (a source path) may have become: the pattern
    and its tails of two or more folders (``share/hedgewars/Data/Sounds/*`` is installed under
    ``usr/share/games/hedgewars/Data/Sounds/``), and an archive's contents under a folder of its stem
    (``drumkits/Kit.h2drumkit`` → ``drumkits/Kit/…``)."""
    if pattern == "*":
        return [re.compile("")]
    parts = pattern.strip("/").split("/")
    tails = ["/".join(parts[i:]) for i in range(max(1, len(parts) - 1))]
    stem, dot, ext = parts[-1].rpartition(".")
    if dot and stem and "*" not in ext:
        tails += ["/".join([*parts[i:-1], stem, "*"]) for i in range(max(1, len(parts) - 1))]
    return [re.compile(r"(?:^|/)" + re.escape(t).replace(r"\*", ".*").replace(r"\?", ".") + "$") for t in tails]


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
    found = []  # a free-form file: the licences it points to (common-licenses/…) or names, in order
    for m in FREE_FORM_LICENCE.finditer(copyright_text):
        name = m.group("file") or _licence_name(m.group(0))
        if name not in found:
            found.append(name)
    return "; ".join(found) + " (free-form copyright file)" if found else "unknown (see the package's copyright file)"


FREE_FORM_LICENCE = re.compile(
    r"common-licenses/(?P<file>[A-Za-z0-9.+-]+?)(?=[\s,.;)]*(?:\s|$))"
    r"|Creative Commons Attribution[- ]Share[- ]?Alike|Creative Commons Attribution(?![- ]Share)"
    r"|public domain|\bCC0\b|\bMIT\b", re.I)


def _licence_name(text: str) -> str:
    text = text.lower()
    if "sharealike" in text.replace("-", "").replace(" ", ""):
        return "CC-BY-SA"
    if "creative commons" in text:
        return "CC-BY"
    return {"public domain": "public-domain", "cc0": "CC0", "mit": "MIT"}.get(text, text)

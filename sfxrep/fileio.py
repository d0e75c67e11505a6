"""Files that survive a killed writer: atomic replacement, and durable one-line appends.

* :func:`atomic_write` — write a temp file beside the target, fsync, rename: a reader sees the old file or the
  new one, never half of one (the wave cache and the manifest use it).
* :func:`append_jsonl` — append whole JSON lines with one ``write`` and fsync. If the file ends in a torn line
  (a writer killed mid-line), the append starts on a fresh line, so the new rows stay readable.
* :func:`read_jsonl` — the rows of a JSON-lines file; a torn line (what a killed writer leaves) is skipped
  with a warning naming file and line, never a reason to reject the whole file.

* :func:`file_signature` — the one rule for "this file changed" (the wave cache and the index both use it).

File names are bytes. Python hands a name that is not UTF-8 (``b"\\xff\\xfe.wav"``) over as a ``str`` holding lone
surrogates (``"\\udcff\\udcfe.wav"``, PEP 383). :func:`json_line` writes them as JSON escapes, which read back to the
same ``str`` (so to the same bytes); :func:`name_bytes` is what a name hashes as; :func:`shown` is how it is shown
to a person (escaped, never dropped).

Files are created with the usual mode (0644 under the default umask), not the 0600 of ``mkstemp``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

_SURROGATE = re.compile("[\ud800-\udfff]")


def json_line(record: object) -> str:
    """``record`` as one line of JSON (UTF-8 text as it is), with lone surrogates, a non-UTF-8 file name's bytes,
    escaped as ``\\udcXX``: valid UTF-8 on disk, and ``json.loads`` gives back the very same ``str``."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(record, ensure_ascii=False))


def name_bytes(name: str) -> bytes:
    """The bytes a file name stands for (its surrogates turned back into the bytes they escape)."""
    return name.encode("utf-8", "surrogateescape")


def shown(name: str) -> str:
    """A name as text a terminal, a CSV or a page can hold: undecodable bytes shown as ``\\xff`` escapes."""
    return name_bytes(name).decode("utf-8", "backslashreplace")


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows and never runs: text :func:`shown`, and one starting with ``=``, ``+``, ``-``,
    ``@``, tab or CR gets a leading ``'`` (OWASP's advice on CSV injection); numbers, written or as text
    (``-0.25``), are kept as they are."""
    if not isinstance(value, str):
        return value
    value = shown(value)
    if not value.startswith(FORMULA_PREFIXES):
        return value
    try:
        float(value)
        return value
    except ValueError:
        return f"'{value}"


def spreadsheet_csv(rows: Iterable[Iterable[object]]) -> str:
    """CSV text of ``rows``, every cell :func:`spreadsheet_safe` (the header row included, harmlessly)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([spreadsheet_safe(v) for v in row])
    return buffer.getvalue()


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` through ``write(binary_file)`` atomically (temp file in the same folder, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _umask_mode())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        if err.filename is None:  # a failed write or fsync names no file (a full disk): name the one written
            raise OSError(err.errno, err.strerror or str(err), str(path)) from err
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (UTF-8)."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_jsonl(records: Iterable[dict], path: str | Path) -> None:
    """Write dicts as JSON lines atomically (a reader never sees a half-written file)."""
    atomic_write_text(path, "".join(json_line(r) + "\n" for r in records))


def append_jsonl(records: Iterable[dict], path: str | Path) -> None:
    """Append dicts as JSON lines: one ``write`` of whole lines, then fsync (created with its folder)."""
    path = Path(path)
    text = "".join(json_line(r) + "\n" for r in records)
    if not text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab+") as f:
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":  # a torn last line: start ours on a fresh one
                text = "\n" + text
        f.write(text.encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())


def read_jsonl(path: str | Path) -> list[dict]:
    """Rows of a JSON-lines file. A line that is not a JSON object (what a killed writer leaves) is skipped
    with a warning naming ``path:line``, so one torn line never makes the whole file unreadable."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                row = None
            if isinstance(row, dict):
                rows.append(row)
            else:
                warnings.warn(f"{path}:{n}: not a JSON row, skipped (an interrupted write?): {line.strip()[:60]!r}",
                              stacklevel=2)
    return rows


def check_writable(path: str | Path) -> Path:
    """Fail early, before any training, when ``path`` (a file to be written) cannot be written.

    Creates the parent folder if needed; does not create or change the file itself.

    Raises:
        ValueError: naming the path and the reason.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{path}: is a folder, not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{path}: cannot create its folder ({err.strerror})") from err
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise ValueError(f"{path}: not writable")
    return path


def check_writable_folder(folder: str | Path) -> Path:
    """Fail early, before hours of decoding or training, when files cannot be created in ``folder`` (made if
    needed): a real probe file, so a read-only mount is found even by root, whom permissions do not stop.

    Raises:
        ValueError: naming the folder and the reason.
    """
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ValueError(f"{folder}: cannot write there ({err.strerror or err})") from err
    return folder


def check_yaml_mapping(path: str | Path) -> Path:
    """A config file must exist, be a file, parse as YAML and hold a mapping (or nothing).

    Raises:
        FileNotFoundError, ValueError: naming the file and what is wrong with it.
    """
    import yaml

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: config file not found")
    if not path.is_file():
        raise ValueError(f"{path}: is a folder, not a config file")
    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not a text file") from err
    if content is not None and not isinstance(content, dict):
        raise ValueError(f"{path}: a config holds keys and values, this holds a {type(content).__name__}")
    return path


def file_signature(path: str | Path) -> tuple[int, int, int] | None:
    """(size in bytes, modification time ns, inode-change time ns) of a file, ``None`` if it cannot be read.

    A file is unchanged while its signature is. The change time catches what size and modification time miss:
    a file rewritten with the same length and its mtime set back (``touch -d``, ``rsync -t``, a restore).
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns

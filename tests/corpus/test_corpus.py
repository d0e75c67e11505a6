"""``sfxrep corpus``: recipes, label rules, packages built with dpkg-deb in tmp_path, copies, benchmark sources.

Nothing here downloads: every package is a small ``.deb`` made by ``dpkg-deb --build`` from synthetic audio, put in
the cache folder where :func:`sfxrep.corpus.debs.fetch` finds it.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from sfxrep.corpus.build import build, safe_relpath
from sfxrep.corpus.debs import PackageError, fetch, licence_summary
from sfxrep.corpus.recipe import RecipeError, load_recipe, load_recipes
from tests.helpers import REPO

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb (Debian's dpkg) not installed")
RATE = 22_050


def _tone(seed: int, seconds: float = 0.6) -> np.ndarray:
    """A distinct decaying chirp per seed (no two seeds are copies of each other)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * seconds)) / RATE
    f0, f1 = rng.uniform(200, 2000, 2)
    x = np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds))) * np.exp(-3 * t)
    return (0.5 * x + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def _wav_bytes(x: np.ndarray, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, RATE, format=fmt)
    return buf.getvalue()


def _deb(tmp: Path, package: str, version: str, files: dict[str, bytes], cache: Path) -> Path:
    """A real ``.deb`` holding ``files`` (path → bytes), in ``cache`` under the name apt-get download gives."""
    root = tmp / f"pkg-{package}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@example.org>\n"
        f"Description: test data\n")
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{package}_{version.replace(':', '%3a')}_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(out)], check=True,
                   capture_output=True)
    return out


def _pk3(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


COPYRIGHT = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\n"
             "Copyright: 2020 Someone\nLicense: CC-BY-SA-3.0\n\nFiles: sounds/*\nLicense: GPL-2+\n")

RECIPE = """
package: gamesnd-data
version: "1:1.0-1"
libraries:
  gamesnd: {kind: sfx, description: "test game"}
  gamesnd_voices: {kind: voice}
rules:
  - {match: "/music/", exclude: "music"}
  - {match: "/voices/[^/]+/(?P<line>[A-Za-z]+)\\\\d*\\\\.wav$", label: "{line}", library: gamesnd_voices}
  - {match: "!sound/(?P<folder>[a-z]+)/", label: "{folder}"}
  - {match: "/sounds/(?P<what>[a-z]+)-(hit|die)", label: "{what}"}
  - {match: ".", exclude: "no rule for it"}
labels: {"wolf": "animal", "bear": "animal"}
"""


def _package(tmp_path: Path, cache: Path, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The fake game's files: two SFX classes from file names, one from an inner .pk3's folders, a voice library,
    music, a copy of one sound under another name and format, a class too small, a Freesound-named benchmark clip."""
    base = "usr/share/games/gamesnd"
    files = {"usr/share/doc/gamesnd-data/copyright": COPYRIGHT.encode(),
             f"{base}/music/theme.wav": _wav_bytes(_tone(1, 1.0))}
    seed = 10
    for what in ("wolf", "dwarf", "orc"):
        for take in range(1, 7):
            seed += 1
            files[f"{base}/sounds/{what}-hit-{take}.wav"] = _wav_bytes(_tone(seed))
    files[f"{base}/sounds/bear-die.wav"] = _wav_bytes(_tone(99))  # merged into "animal" by labels:
    files[f"{base}/sounds/troll-die.wav"] = _wav_bytes(_tone(98))  # a class of 1: dropped
    files[f"{base}/sounds/orc-hit-copy.flac"] = _wav_bytes(_tone(12), "FLAC")  # = wolf-hit-2.wav, as FLAC
    files[f"{base}/sounds/orc-hit-silent.wav"] = _wav_bytes(np.zeros(RATE // 2, np.float32))  # digital silence
    inner = {f"sound/{folder}/{folder}{i}.wav": _wav_bytes(_tone(200 + 10 * k + i))
             for k, folder in enumerate(("footsteps", "doors")) for i in range(5)}
    inner["sound/footsteps/104089__someone__step.wav"] = _wav_bytes(_tone(300))  # an ESC-50 source id
    files[f"{base}/data.pk3"] = _pk3(inner)
    for v, voice in enumerate(("anna", "bob", "carl", "dora", "eve")):
        for k, line in enumerate(("Hello", "Ouch")):
            files[f"{base}/voices/{voice}/{line}1.wav"] = _wav_bytes(_tone(500 + 10 * v + k))
    files.update(extra or {})
    return files


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def ids_file(tmp_path: Path) -> Path:
    path = tmp_path / "ids.txt"
    path.write_text("# test\n104089 esc50\n135776 urbansound8k\n")
    return path


def _recipe(tmp_path: Path, text: str = RECIPE, name: str = "gamesnd-data.yaml") -> Path:
    folder = tmp_path / "recipes"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


# --- the recipe format ------------------------------------------------------------------------------------------

def test_recipe_rules_decide_library_label_and_exclusion(tmp_path):
    recipe = load_recipe(_recipe(tmp_path) / "gamesnd-data.yaml")
    assert recipe.version == "1:1.0-1" and list(recipe.libraries) == ["gamesnd", "gamesnd_voices"]
    d = recipe.decide("usr/share/games/gamesnd/sounds/dwarf-hit-3.wav")
    assert (d.library, d.label, d.excluded) == ("gamesnd", "dwarf", None)
    assert recipe.decide("usr/share/games/gamesnd/sounds/wolf-hit-1.wav").label == "animal"  # the labels: merge
    assert recipe.decide("usr/share/games/gamesnd/voices/anna/Ouch2.wav").library == "gamesnd_voices"
    assert recipe.decide("usr/share/games/gamesnd/voices/anna/Ouch2.wav").label == "ouch"
    assert recipe.decide("x/data.pk3!sound/doors/doors1.wav").label == "doors"
    assert recipe.decide("usr/share/games/gamesnd/music/theme.wav").excluded == "music"
    assert recipe.decide("elsewhere/readme.wav").excluded == "no rule for it"
    assert recipe.opens("x/data.pk3") and recipe.opens("base.WZ") and not recipe.opens("x/data.tar")


@pytest.mark.parametrize("broken, message", [
    ("package: p\nversion: 1\nlibraries: {a: {}}\n", "'rules' is required"),
    ("package: p\nversion: 1\nlibraries: {a: {}}\nrules: [{match: '(', label: x}]\n", "not a regular expression"),
    ("package: p\nversion: 1\nlibraries: {a: {}}\nrules: [{match: 'x', label: '{who}'}]\n", "does not capture"),
    ("package: p\nversion: 1\nlibraries: {a: {}}\nrules: [{match: 'x', label: y, exclude: z}]\n", "exactly one"),
    ("package: p\nversion: 1\nlibraries: {a: {kind: jingle}}\nrules: [{match: x, label: y}]\n", "kind"),
    ("package: p\nversion: 1\nlibraries: {a: {}}\nrules: [{match: x, label: y, library: b}]\n", "not among"),
    ("package: p\nversion: 1\nlibraries: {A B: {}}\nrules: [{match: x, label: y}]\n", "lower-case"),
    ("package: openclonk-data\nversion: 1\nlibraries: {a: {}}\nrules: [{match: x, label: y}]\n", "reserved"),
    ("package: p\nversion: 1\ncolour: red\nlibraries: {a: {}}\nrules: [{match: x, label: y}]\n", "unknown field"),
    ("package: p\nversion: 1\nlibraries: {a: {max_per_class: 2}}\nrules: [{match: x, label: y}]\n", "max_per_class"),
])
def test_a_broken_recipe_is_named_with_its_fault(tmp_path, broken, message):
    folder = _recipe(tmp_path, broken, "broken.yaml")
    with pytest.raises(RecipeError, match=message) as err:
        load_recipe(folder / "broken.yaml")
    assert "broken.yaml" in str(err.value)


def test_two_recipes_cannot_define_one_library(tmp_path):
    folder = _recipe(tmp_path)
    (folder / "other.yaml").write_text(RECIPE.replace("gamesnd-data", "other-data"))
    with pytest.raises(RecipeError, match="already defined"):
        load_recipes(folder)


def test_committed_recipes_parse_and_label_their_own_examples():
    """Every committed recipe loads; a few members of the real packages get the labels a librarian expects."""
    recipes = {r.package: r for r in load_recipes(REPO / "experiments" / "corpus")}
    assert "openclonk-data" not in recipes and len(recipes) >= 8
    cases = [
        ("wesnoth-1.16-data", "./usr/share/games/wesnoth/1.16/data/core/sounds/dwarf-die-2.ogg", "death cry"),
        ("wesnoth-1.16-data", "usr/share/games/wesnoth/1.16/data/core/sounds/bow-miss.ogg", "attack miss"),
        ("hydrogen-drumkits", "usr/share/hydrogen/data/drumkits/ColomboAcousticDrumkit/hihat-open-4.flac", "hi hat"),
        ("hedgewars-data", "usr/share/games/hedgewars/Data/Sounds/voices/Pirate/Ow3.ogg", "ow"),
        ("0ad-data", "usr/share/games/0ad/mods/public/public.zip!audio/attack/impact/arrow_wood_3.ogg", "arrow wood"),
        ("ufoai-sound", "usr/share/games/ufoai/base/0snd.pk3!sound/weapons/bullet-smg-5x.ogg", "weapon bullet"),
    ]
    for package, member, label in cases:
        assert recipes[package].decide(member).label == label, (package, member)
    assert recipes["hedgewars-data"].decide("usr/share/games/hedgewars/Data/Music/main.ogg").excluded == "music"


def test_safe_relpath_strips_prefixes_and_hostile_parts():
    assert safe_relpath("usr/share/games/x/a b.wav") == "x/a_b.wav"
    assert safe_relpath("usr/share/x/base.wz!audio/../é.ogg") == "x/base.wz/audio/__/_.ogg"


def test_file_licences_take_the_most_specific_stanza():
    from sfxrep.corpus.debs import FileLicences

    text = ("Files: *\nLicense: GPL-2\n\nFiles: share/game/Data/Sounds/*\nLicense: GFDL-1.3\n\n"
            "Files: share/game/Data/Sounds/Drop*.ogg\nLicense: CC-BY-SA-3.0\n\nFiles: game/*\nLicense: MIT\n\n"
            "Files:\n kits/Kit.h2drumkit\nLicense: CC0\n")
    licences = FileLicences(text)
    assert licences("usr/share/games/game/Data/Sounds/voices/a/Ow.ogg") == "GFDL-1.3"  # installed under games/
    assert licences("usr/share/games/game/Data/Sounds/Drop1.ogg") == "CC-BY-SA-3.0"
    assert licences("usr/share/games/game/Data/Music/x.ogg") == "MIT"  # game/* beats *
    assert licences("usr/share/h/kits/Kit/snare.wav") == "CC0"  # an archive's contents, unpacked
    assert licences("usr/lib/other.ogg") == "GPL-2"


def test_licence_summary_reads_machine_readable_copyright():
    assert licence_summary(COPYRIGHT) == "CC-BY-SA-3.0; GPL-2+"
    free_form = ("This package was debianized by me.\nIt is under the GNU General Public License; see\n"
                 "/usr/share/common-licenses/GPL-2. Sounds: Creative Commons Attribution-ShareAlike 3.0.\n")
    assert licence_summary(free_form) == "GPL-2; CC-BY-SA (free-form copyright file)"
    assert licence_summary("no licence named here") == "unknown (see the package's copyright file)"


# --- building from fake packages --------------------------------------------------------------------------------

@needs_dpkg
def test_build_accounts_for_every_file_removes_copies_and_benchmark_sources(tmp_path, ids_file):
    cache, out = tmp_path / "debs", tmp_path / "corpus"
    against_file = tmp_path / "shared" / "wolf.wav"  # a shared library's file: the corpus copy of it must go
    against_file.parent.mkdir()
    sf.write(against_file, _tone(13), RATE)
    _deb(tmp_path, "gamesnd-data", "1:1.0-1", _package(tmp_path, cache), cache)
    recipes = load_recipes(_recipe(tmp_path))
    summary = build(recipes, out, cache, ids_file, against=[("shared_lib", str(against_file))], progress=False,
                    log=lambda s: None)

    report = _rows(out / "report.csv")
    by_name = {r["member"].rsplit("/", 1)[-1]: r for r in report}
    assert len(report) == 18 + 4 + 11 + 10 + 1  # hits, die ×2, copy, silence, pk3 (10 + 1), voices, music: once each
    assert by_name["orc-hit-silent.wav"]["status"] == "excluded"
    assert by_name["orc-hit-silent.wav"]["detail"] == "silent (no signal)"
    assert by_name["theme.wav"]["status"] == "excluded" and by_name["theme.wav"]["detail"] == "music"
    assert by_name["wolf-hit-3.wav"]["status"] == "duplicate"  # _tone(13) = the shared file, which wins
    assert "shared_lib:" in by_name["wolf-hit-3.wav"]["detail"]
    # _tone(12) twice, as WAV and FLAC under two names: the first by path is kept, the other is its copy
    assert by_name["orc-hit-copy.flac"]["status"] == "kept"
    assert by_name["wolf-hit-2.wav"]["status"] == "duplicate"
    assert "exact copy of gamesnd:gamesnd/audio/gamesnd/sounds/orc-hit-copy.flac" in by_name["wolf-hit-2.wav"]["detail"]
    assert by_name["troll-die.wav"]["status"] == "small class"
    step = by_name["104089__someone__step.wav"]
    assert step["status"] == "excluded" and "esc50 source freesound:104089" in step["detail"]

    libs = summary["libraries"]
    assert libs["gamesnd"]["class_sizes"] == {"animal": 5, "doors": 5, "dwarf": 6, "footsteps": 5, "orc": 7}
    assert libs["gamesnd_voices"]["class_sizes"] == {"hello": 5, "ouch": 5}
    # a licence per file, by the copyright file's Files: stanzas (sounds/* is GPL-2+, the rest CC-BY-SA-3.0)
    assert libs["gamesnd"]["licence"] == "GPL-2+ (18); CC-BY-SA-3.0 (10)"
    rows = _rows(out / "gamesnd" / "labels.csv")
    assert len(rows) == 28 and set(rows[0]) == {"path", "label", "group", "package", "version", "licence"}
    assert all((out / "gamesnd" / r["path"]).is_file() for r in rows)
    assert {r["licence"] for r in rows if "/sounds/" in r["path"]} == {"GPL-2+"}
    assert {r["licence"] for r in rows if "/data.pk3/" in r["path"]} == {"CC-BY-SA-3.0"}
    def groups(label):
        return {r["group"] for r in rows if r["label"] == label}

    assert len(groups("orc")) == 2  # orc-hit-1 … 6: one take series (never split across folds), and the copy
    assert len(groups("dwarf")) == 6  # a series that is its whole class: one group per file (the takes rule 3)
    assert "gamesnd" in (out / "CORPUS.md").read_text() and "CC-BY-SA-3.0" in (out / "CORPUS.md").read_text()


@needs_dpkg
def test_a_second_build_reads_its_cache_and_changes_nothing(tmp_path, ids_file, monkeypatch):
    cache, out = tmp_path / "debs", tmp_path / "corpus"
    _deb(tmp_path, "gamesnd-data", "1:1.0-1", _package(tmp_path, cache), cache)
    recipes = load_recipes(_recipe(tmp_path))
    first = build(recipes, out, cache, ids_file, progress=False, log=lambda s: None)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}

    import sfxrep.corpus.build as build_module
    import sfxrep.corpus.clean as clean_module

    def no_extract(*args, **kwargs):
        raise AssertionError("a package was read again")

    def no_decode(path):
        raise AssertionError(f"{path} was decoded again")

    monkeypatch.setattr(build_module, "members", no_extract)
    monkeypatch.setattr(clean_module, "fingerprint", no_decode)
    monkeypatch.setattr(clean_module, "find_copies", no_extract)  # the verified pairs are reused too
    second = build(recipes, out, cache, ids_file, progress=False, log=lambda s: None)
    assert second == first
    after = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert after == before


@needs_dpkg
def test_a_changed_recipe_rebuilds_its_package(tmp_path, ids_file):
    cache, out = tmp_path / "debs", tmp_path / "corpus"
    _deb(tmp_path, "gamesnd-data", "1:1.0-1", _package(tmp_path, cache), cache)
    folder = _recipe(tmp_path)
    build(load_recipes(folder), out, cache, ids_file, progress=False, log=lambda s: None)
    (folder / "gamesnd-data.yaml").write_text(RECIPE.replace('"wolf": "animal", "bear": "animal"', '"bear": "wolf"'))
    summary = build(load_recipes(folder), out, cache, ids_file, progress=False, log=lambda s: None)
    assert summary["libraries"]["gamesnd"]["class_sizes"]["wolf"] == 6 + 1 - 1 and "animal" not in \
        summary["libraries"]["gamesnd"]["class_sizes"]  # wolf 6 + bear 1 − the copy of wolf-hit-2


@needs_dpkg
def test_max_per_class_keeps_a_fixed_subset_and_reports_the_rest(tmp_path, ids_file):
    cache, out = tmp_path / "debs", tmp_path / "corpus"
    _deb(tmp_path, "gamesnd-data", "1:1.0-1", _package(tmp_path, cache), cache)
    folder = _recipe(tmp_path, RECIPE.replace("gamesnd: {kind: sfx,", "gamesnd: {kind: sfx, max_per_class: 5,"))
    summary = build(load_recipes(folder), out, cache, ids_file, progress=False, log=lambda s: None)
    assert summary["libraries"]["gamesnd"]["class_sizes"]["orc"] == 5
    report = _rows(out / "report.csv")
    assert sum(r["status"] == "over class cap" for r in report) == 2 + 1 + 1  # orc 7, dwarf 6, animal 6 → 5


@needs_dpkg
def test_a_package_that_is_not_a_deb_is_named(tmp_path, ids_file):
    cache = tmp_path / "debs"
    cache.mkdir()
    (cache / "gamesnd-data_1%3a1.0-1_all.deb").write_bytes(b"not a package")
    with pytest.raises(PackageError, match=re.escape("gamesnd-data_1%3a1.0-1_all.deb")):
        build(load_recipes(_recipe(tmp_path)), tmp_path / "out", cache, ids_file, progress=False, log=lambda s: None)


def test_fetch_reports_a_failed_download(tmp_path):
    class Done:
        returncode, stdout, stderr = 100, "", "E: Can't find a source to download version '9' of 'nope'"

    with pytest.raises(PackageError, match=r"nope=9: apt-get download failed.*apt-cache policy nope"):
        fetch("nope", "9", tmp_path, run=lambda *a, **k: Done())


def test_fetch_takes_a_cached_package_without_downloading(tmp_path):
    (tmp_path / "p_1%3a2-1_all.deb").write_bytes(b"x")

    def no_run(*args, **kwargs):
        raise AssertionError("downloaded")

    assert fetch("p", "1:2-1", tmp_path, run=no_run).name == "p_1%3a2-1_all.deb"


def test_benchmark_sources_from_credits_are_tied_to_files():
    from sfxrep.corpus.benchmarks import find

    ids = {"135776": "urbansound8k", "104089": "esc50"}
    credits = {"usr/share/doc/x/CREDITS": "dog_bark.ogg\n  from https://freesound.org/people/a/sounds/135776/\n"
                                          "engine.ogg: freesound #104089 by b\nother: freesound 555\n"
                                          "freesound.org/s/135776 nothing named\n"}
    hits = find(["x/dog_bark.ogg", "x/engine.ogg", "x/cat.ogg"], credits, ids)
    tied = {(h.member, h.freesound_id) for h in hits if h.member}
    assert tied == {("x/dog_bark.ogg", "135776"), ("x/engine.ogg", "104089")}


def test_committed_benchmark_list_holds_both_benchmarks():
    from sfxrep.corpus.benchmarks import load_ids

    ids = load_ids(REPO / "experiments" / "corpus" / "benchmark-freesound-ids.txt")
    assert ids["104089"] == "esc50" and ids["135776"] == "urbansound8k" and len(ids) > 2500


# --- UCS crosswalks and wiring ----------------------------------------------------------------------------------

UCS_LIST = "Category,SubCategory,CatID,CatShort,Explanations,Synonyms - Comma Separated\n" \
           "DOORS,WOOD,DOORWood,DOOR,x,y\nFOOTSTEPS,HUMAN,FEETHmn,FEET,x,y\n"


def _crosswalk_files(tmp_path: Path, rows: str) -> tuple[Path, Path]:
    ucs, walk = tmp_path / "ucs.csv", tmp_path / "walk.csv"
    ucs.write_text(UCS_LIST)
    walk.write_text("class,catid,reason\n" + rows)
    return walk, ucs


def test_csv_library_through_a_crosswalk_is_ucs_labelled(tmp_path):
    from sfxrep.libraries.csvlist import CsvLibrary

    for i, name in enumerate(["d1.wav", "d2.wav", "s1.wav", "m1.wav"]):
        sf.write(tmp_path / name, _tone(i), RATE)
    (tmp_path / "labels.csv").write_text("path,label,group\nd1.wav,doors,g1\nd2.wav,doors,g2\ns1.wav,steps,g3\n"
                                         "m1.wav,music,g4\n")
    walk, ucs = _crosswalk_files(tmp_path, "doors,DOORWood,wooden doors\nsteps,FEETHmn,footsteps\n"
                                           "music,none,music has no place in an SFX reference\n")
    lib = CsvLibrary("game", tmp_path / "labels.csv", group_column="stratum", source_column="group",
                     crosswalk=walk, ucs_list=ucs)
    scan = lib.scan()
    assert lib.is_ucs
    assert sorted((c.path.name, c.label, c.group, c.sources) for c in scan.candidates) == [
        ("d1.wav", "DOORS", "DOORWood", ("g1",)), ("d2.wav", "DOORS", "DOORWood", ("g2",)),
        ("s1.wav", "FOOTSTEPS", "FEETHmn", ("g3",))]
    assert [s.reason for s in scan.skipped] == ["class 'music' has no UCS CatID in walk.csv: music has no place in "
                                                "an SFX reference"]
    assert not CsvLibrary("game", tmp_path / "labels.csv").is_ucs
    with pytest.raises(ValueError, match="go together"):
        CsvLibrary("game", tmp_path / "labels.csv", crosswalk=walk)


@pytest.mark.parametrize("rows, message", [
    ("doors,DOORwood,x\n", "not a CatID"),
    ("doors,DOORWood,\n", "needs a one-line reason"),
    ("doors,DOORWood,x\ndoors,FEETHmn,y\n", "listed twice"),
])
def test_a_broken_crosswalk_is_named_with_its_line(tmp_path, rows, message):
    from sfxrep.libraries.crosswalk import CrosswalkError, load_crosswalk

    walk, ucs = _crosswalk_files(tmp_path, rows)
    with pytest.raises(CrosswalkError, match=message) as err:
        load_crosswalk(walk, ucs)
    assert "walk.csv:" in str(err.value)


def test_a_crosswalk_must_cover_exactly_the_built_classes(tmp_path):
    from sfxrep.libraries.crosswalk import CrosswalkError, check_covers, coverage, load_crosswalk

    walk, ucs = _crosswalk_files(tmp_path, "doors,DOORWood,x\nsteps,FEETHmn,y\n")
    cw = load_crosswalk(walk, ucs)
    check_covers(cw, {"doors", "steps"})
    with pytest.raises(CrosswalkError, match=r"not mapped: \['bells'\].*does not have: \['steps'\]"):
        check_covers(cw, {"doors", "bells"})
    assert coverage({"a": {"doors": 5, "steps": 2}, "b": {"steps": 4}}, {"a": cw, "b": cw}) == \
        {"DOORWood": 5, "FEETHmn": 6}


def test_committed_wiring_names_every_recipe_library_once():
    """corpus.yaml lists every corpus library; ucs-reference.yaml all but those mapped wholly to none; the corpus
    transfer panel and the corpus training set are disjoint and together hold every corpus library."""
    from sfxrep.libraries.spec import load_libraries

    recipes = load_recipes(REPO / "experiments" / "corpus")
    corpus_libs = {name for r in recipes for name in r.libraries}
    lib_dir = REPO / "experiments" / "libraries"
    names = {f: set(load_libraries(lib_dir / f"{f}.yaml").names) for f in
             ("corpus", "ucs-reference", "transfer-panel-corpus", "train-corpus")}
    assert corpus_libs <= names["corpus"] and len(names["corpus"] - corpus_libs) == 7
    panel, train = names["transfer-panel-corpus"] & corpus_libs, names["train-corpus"] & corpus_libs
    assert panel and not panel & train and panel | train == corpus_libs
    assert not names["transfer-panel-corpus"] & names["train-corpus"]
    assert corpus_libs - names["ucs-reference"] == {"tuxpaint_speech"}
    walks = {p.stem for p in (REPO / "experiments" / "corpus" / "ucs").glob("*.csv")}
    assert walks == corpus_libs


@pytest.mark.skipif(not (REPO.parent / "shared" / "data" / "ucs").is_dir(), reason="the UCS list of ../shared absent")
def test_committed_crosswalks_use_real_catids_and_cover_80_catids():
    """Every committed crosswalk is valid against the official UCS list; weighted by the class sizes the recipes
    promise (at least 5 files per kept class), the mapped classes reach at least 80 distinct CatIDs."""
    from sfxrep.libraries.crosswalk import load_crosswalk

    ucs = REPO.parent / "shared" / "data" / "ucs" / "UCS_v8.2.1_Full_List.csv"
    walks = [load_crosswalk(p, ucs) for p in sorted((REPO / "experiments" / "corpus" / "ucs").glob("*.csv"))]
    assert len({c for w in walks for c in w.catid.values() if c}) >= 80


def test_label_reference_by_name_is_the_yaml_of_experiments_libraries(tmp_path, monkeypatch):
    from sfxrep.index.command import _split_reference

    path, names = _split_reference("ucs-reference")
    assert Path(path) == REPO / "experiments" / "libraries" / "ucs-reference.yaml" and names is None
    assert _split_reference("ucs-reference:wesnoth,ufoai")[1] == ["wesnoth", "ufoai"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ucs-reference").write_text("a local file of that name wins")
    assert _split_reference("ucs-reference")[0] == "ucs-reference"

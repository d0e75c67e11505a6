"""sfxrep audit: suspected mislabels, duplicates verified on the signals, the crosswalk, and the decisions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from sfxrep.audit.crosswalk import crosswalk, wilson_lower
from sfxrep.audit.decisions import preview, read_decisions
from sfxrep.audit.duplicates import NEAR_MIN, STEADY_MIN, VERIFY_RATE, compare_signals, steadiness
from sfxrep.audit.mislabels import judge_library
from tests.helpers.sounds import damaged_library, take, write_decisions


def test_a_trimmed_quieter_resampled_copy_aligns_and_another_take_does_not():
    rng = np.random.default_rng(0)
    first = take(rng, 3, 1.5)
    trim = int(0.2 * VERIFY_RATE)
    copy = soxr.resample(soxr.resample(first[trim:] * 0.5, VERIFY_RATE, 8_000), 8_000, VERIFY_RATE)
    correlation, lag, overlap, gain = compare_signals(first, copy)
    assert correlation >= NEAR_MIN and lag == pytest.approx(0.2, abs=0.002) and overlap > 0.99
    assert gain == pytest.approx(-6.0, abs=0.5) and steadiness(first, copy, lag) >= STEADY_MIN
    assert compare_signals(first, take(rng, 3, 1.5))[0] < 0.5  # the same kind of sound, another take
    t = np.arange(VERIFY_RATE) / VERIFY_RATE  # two takes of one steady tone: the pitch drifts a little
    tone_a, tone_b = np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * (440 * t + 3 * t ** 2) + 1.0)
    correlation, lag, _, _ = compare_signals(tone_a, tone_b)
    assert steadiness(tone_a, tone_b, lag) < STEADY_MIN


def test_flipped_labels_rank_first_and_tiny_classes_are_not_judged():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 20)
    vectors = rng.standard_normal((4, 32))[truth] + rng.standard_normal((80, 32)) * 0.8  # 4 classes in 32-d
    labels = [f"c{t}" for t in truth]
    for i in (3, 25, 47):  # three flipped labels
        labels[i] = f"c{(truth[i] + 1) % 4}"
    vectors = np.vstack([vectors, rng.standard_normal((2, 32))])  # and a class of two files
    labels += ["solo", "solo"]
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    verdict = judge_library("lib", [f"f{i}" for i in range(82)], labels, vectors.astype(np.float32))
    assert {s.path for s in verdict.ranked[:3]} == {"f3", "f25", "f47"}
    assert all(s.suggestion == f"c{truth[int(s.path[1:])]}" for s in verdict.ranked[:3])  # and the true class
    flagged = {s.path for s in verdict.issues}  # strong evidence only: no correct label is flagged here
    assert flagged and flagged <= {"f3", "f25", "f47"}
    assert all(s.evidence in ("strong", "weak") for s in verdict.ranked[:3])
    assert verdict.not_judged == 2 and verdict.small_classes == ["solo"]
    assert len(verdict.ranked) == 80 and verdict.ranked[0].neighbours[0].path != verdict.ranked[0].path


def test_the_crosswalk_maps_each_class_with_its_share_and_a_wilson_confidence():
    rng = np.random.default_rng(1)
    centres = np.eye(3)
    target = np.repeat(np.arange(3), 10)
    source = np.repeat(np.arange(3), 6)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)
    t_vec = unit(centres[target] + rng.standard_normal((30, 3)) * 0.05)
    s_vec = unit(centres[source[::-1]] + rng.standard_normal((18, 3)) * 0.05)  # "a" files sound like "C"
    rows = crosswalk("src", [["a", "b", "c"][s] for s in source], s_vec, "UCS", [["A", "B", "C"][t] for t in target],
                     t_vec)
    mapping = {r.source_class: r.targets[0] for r in rows}
    assert {k: v.target for k, v in mapping.items()} == {"a": "C", "b": "B", "c": "A"}
    assert all(v.share == 1.0 and v.files == 6 and v.lift == pytest.approx(3.0) for v in mapping.values())
    assert mapping["a"].confidence == pytest.approx(wilson_lower(6, 6), abs=1e-4)
    assert wilson_lower(6, 6) == pytest.approx(0.6097, abs=1e-3) and wilson_lower(30, 30) > 0.88
    with pytest.raises(ValueError, match="no labelled files"):
        crosswalk("src", ["a"], s_vec[:1], "UCS", [], t_vec[:0])


def test_decisions_become_a_preview_and_a_bad_file_names_its_line(tmp_path):
    good = tmp_path / "decisions.csv"
    good.write_text("kind,path,library,label,suggestion,keep,decision\n"
                    "relabel,/lib/dogs/bark.wav,lib,dogs,cats,,accept\n"
                    "relabel,/lib/misc_001.wav,lib,misc,doors,,accept\n"
                    "relabel,/lib/dogs/woof.wav,lib,dogs,cats,,reject\n"
                    "duplicate,/lib/dogs/bark copy.flac,lib,dogs,,/lib/dogs/bark.wav,accept\n")
    changes = preview(read_decisions(good))
    assert [(c.action, c.path, c.target) for c in changes] == [
        ("move", "/lib/dogs/bark.wav", "/lib/cats/bark.wav"), ("relabel", "/lib/misc_001.wav", "doors"),
        ("remove", "/lib/dogs/bark copy.flac", "/lib/dogs/bark.wav")]
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,path,library,label,suggestion,keep,decision\nrelabel,/a.wav,lib,x,y,,maybe\n")
    with pytest.raises(ValueError, match=r"bad\.csv:2: .*'maybe'"):
        read_decisions(bad)
    (tmp_path / "other.csv").write_text("path,label\n/a.wav,x\n")
    with pytest.raises(ValueError, match="not an audit decisions file"):
        read_decisions(tmp_path / "other.csv")


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """An index of the damaged library (log-mel statistics: no weights needed) and its audit."""
    from sfxrep.cli import main

    root = tmp_path_factory.mktemp("audit")
    spec = damaged_library(root)
    work = ["--work-dir", str(root / "prepared"), "--cache-dir", str(root / "cache")]
    main(["index", "--out", str(root / "index"), "--libraries", str(spec), "--model", "logmel", "--no-progress", *work])
    main(["audit", str(root / "index"), "--out", str(root / "audit"), "--no-progress", *work])
    return root


def test_the_audit_finds_the_moved_file_and_the_copies_but_not_other_takes(audited):
    records = [json.loads(line) for line in (audited / "audit" / "audit.jsonl").read_text().splitlines()]
    summary = records[0]
    assert summary["finding"] == "summary" and summary["files"] == 34 and summary["libraries"] == ["lib"]
    suspects = [r for r in records if r["finding"] == "mislabel"]  # flagged (issue) and weak evidence, ranked
    moved = next(r for r in suspects[:2] if r["path"].endswith("c02/f03_moved.wav"))  # log-mel statistics on takes
    assert moved["suggestion"] == "c00" and moved["evidence"] in ("strong", "weak")
    assert moved["neighbours"][0]["label"] == "c00"  # the evidence: it sounds like c00
    assert all(r["issue"] == (r["evidence"] == "strong") for r in suspects)
    clusters = [r for r in records if r["finding"] == "duplicate"]
    assert len(clusters) == 1, clusters  # the three copies of c01/f00, and no two different takes
    assert sorted(f.rsplit("/", 1)[1] for f in clusters[0]["files"]) == ["f00 again.ogg", "f00 copy.flac", "f00.wav"]
    trimmed = next(p for p in clusters[0]["pairs"] if "copy" in p["a"] + p["b"] and "f00.wav" in p["a"] + p["b"])
    assert abs(abs(trimmed["lag_s"]) - 0.15) < 0.002 and abs(abs(trimmed["gain_db"]) - 6.0) < 0.5
    assert summary["candidate_pairs_refuted"] >= 0 and summary["crosswalk_rows"] == 0
    assert "--reference" in summary["crosswalk_note"]
    header = (audited / "audit" / "audit.csv").read_text().splitlines()[0]
    assert header == "finding,rank,library,path,label,suggestion,score,others,evidence"


def test_an_index_without_labels_is_refused_with_the_reason(tmp_path, audited):
    from sfxrep.audit.run import run_audit
    from sfxrep.index.store import Index

    index = Index.open(audited / "index")
    with pytest.raises(ValueError, match=r"no labelled library \['nope'\]"):
        run_audit(index, libraries=["nope"], log=lambda _: None)
    with pytest.raises(ValueError, match="nope is not a labelled library"):
        run_audit(index, pairs=[("lib", "nope")], duplicates=False, log=lambda _: None)


def chromium() -> str:
    """Debian's headless Chromium (``.ci/run`` installs it); absent on a developer's machine: skip, in CI: fail."""
    import os

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium (.ci/run: make browser)")
        pytest.skip("no chromium on this machine (make browser installs Debian's)")
    return path


@pytest.mark.slow  # a real browser
def test_the_page_plays_the_files_and_exports_the_decisions_a_librarian_clicks(audited, tmp_path):
    from urllib.parse import unquote, urlparse

    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a dev dependency")
    from sfxrep.cli import main

    page_file = audited / "audit" / "audit.html"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(),
                                    args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1366, "height": 768}, accept_downloads=True)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file.as_uri())
        # every player points at a real file, and the browser decodes one and plays it
        sources = page.eval_on_selector_all("audio", "els => els.map(a => a.src)")
        assert sources and all(urlparse(s).scheme == "file" and __import__("pathlib").Path(unquote(urlparse(s).path))
                               .is_file() for s in sources)
        page.evaluate("() => { const a = document.querySelector('article.suspect audio'); a.muted = true; "
                      "return a.play(); }")
        page.wait_for_function("() => document.querySelector('article.suspect audio').currentTime > 0.05",
                               timeout=10_000)
        assert page.evaluate("() => document.querySelector('article.suspect audio').duration") > 0.5
        # filters
        assert page.locator("article.suspect").count() == 1  # flagged only: the moved file
        page.uncheck("#f-flagged")
        cards = page.locator("article.suspect")
        assert cards.count() >= 5
        # compact: at least five whole cards on a 1366×768 screen, no horizontal scroll, a waveform per player
        boxes = [cards.nth(i).bounding_box() for i in range(5)]
        assert all(b["y"] >= 0 and b["y"] + b["height"] <= 768 for b in boxes), boxes
        assert page.evaluate("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        assert page.locator("article.suspect button.play svg rect").count() >= 5 * 48
        page.screenshot(path=str(tmp_path / "suspects.png"))
        # keys: j moves to a card, a accepts it, j then r rejects the next, space plays; k goes back
        page.keyboard.press("j")
        page.keyboard.press("a")
        assert "decided-accept" in cards.nth(0).get_attribute("class")
        page.keyboard.press("j")
        page.keyboard.press("r")
        assert "decided-reject" in cards.nth(1).get_attribute("class")
        page.keyboard.press(" ")
        page.wait_for_function("() => document.querySelectorAll('article.suspect')[1].querySelector('audio')"
                               ".currentTime > 0", timeout=10_000)
        page.keyboard.press("k")
        assert "current" in cards.nth(0).get_attribute("class")
        page.keyboard.press("a")  # a second press takes the decision back
        page.keyboard.press("j")
        page.keyboard.press("r")
        assert page.inner_text("#n-decided") == "0"
        # any label, not only the suggestion: c03 for the first card, then taken back
        other = cards.nth(0).locator("input.other")
        other.fill("c03")
        other.dispatch_event("change")
        assert "decided-accept" in cards.nth(0).get_attribute("class") and page.inner_text("#n-decided") == "1"
        picked = page.evaluate("() => Object.values(JSON.parse(localStorage.getItem(Object.keys(localStorage)"
                               ".find(k => !k.endsWith(':keeps')))))")
        assert [d["suggestion"] for d in picked] == ["c03"]
        assert page.locator("datalist#labels-lib option").count() == 4
        cards.nth(0).locator("button.accept").click()  # the suggestion instead of c03
        assert [d["suggestion"] for d in page.evaluate(
            "() => Object.values(JSON.parse(localStorage.getItem(Object.keys(localStorage)"
            ".find(k => !k.endsWith(':keeps')))))")] == [cards.nth(0).locator(".tag.new").inner_text()]
        cards.nth(0).locator("button.accept").click()  # and taken back
        assert page.inner_text("#n-decided") == "0"
        # filters only where they apply
        assert page.is_visible("#f-flagged") and not page.is_visible("#f-kind")
        page.click("nav button[data-tab=crosswalk]")
        assert not page.is_visible("#f-flagged") and not page.is_visible("#f-library")
        page.click("nav button[data-tab=suspects]")
        page.fill("#f-text", "f03_moved")
        assert page.locator("article.suspect").count() == 1
        # decisions: accept the relabel, keep both of one duplicate pair, remove the other copy
        page.click("article.suspect button.accept")
        page.fill("#f-text", "")
        page.click("nav button[data-tab=duplicates]")
        members = page.locator("#duplicates .member:has(button.accept)")
        assert members.count() == 2
        members.nth(0).locator("button.reject").click()
        members.nth(1).locator("button.accept").click()
        assert page.inner_text("#n-decided") == "3"
        page.screenshot(path=str(tmp_path / "duplicates.png"))
        with page.expect_download() as download:
            page.click("#export")
        exported = tmp_path / "decisions.csv"
        download.value.save_as(exported)
        assert download.value.suggested_filename == "audit-decisions.csv"
        for _ in range(20):  # decisions persist in the browser; a reload at once may still read the older storage
            page.reload()    # (Chromium hands localStorage to its browser process asynchronously; seen in CI under load)
            if page.inner_text("#n-decided") == "3":
                break
            page.wait_for_timeout(250)
        assert page.inner_text("#n-decided") == "3"
        # the best-quality original is kept by default; the librarian may keep another: the decisions follow
        page.click("nav button[data-tab=duplicates]")
        kept = page.locator("#duplicates .member:has(input:checked)")
        assert kept.count() == 1 and kept.get_attribute("data-path").endswith("c01/f00.wav")
        assert "trimmed by 0.15 s" in page.inner_text("#duplicates")
        flac = page.locator('#duplicates .member[data-path$="f00 copy.flac"]')
        flac.locator("input[type=radio]").check()
        assert page.inner_text("#n-decided") == "2"  # the removal of the new keep is gone
        assert page.locator("#duplicates .member:has(button.accept)").count() == 2  # the old keep can now be removed
        stored = page.evaluate("() => Object.values(JSON.parse(localStorage.getItem(Object.keys(localStorage)"
                               ".find(k => !k.endsWith(':keeps'))))).filter(d => d.kind === 'duplicate')")
        assert [d["keep"].rsplit("/", 1)[1] for d in stored] == ["f00 copy.flac"]
        assert not errors, errors
        browser.close()
    assert (tmp_path / "duplicates.png").stat().st_size > 20_000
    rows = read_decisions(exported)
    relabel = next(r for r in rows if r["kind"] == "relabel")
    assert relabel["path"].endswith("c02/f03_moved.wav") and relabel["suggestion"] == "c00"
    assert relabel["decision"] == "accept"
    assert sorted(r["decision"] for r in rows if r["kind"] == "duplicate") == ["accept", "reject"]
    main(["audit", str(audited / "index"), "--apply", str(exported), "--preview-out", str(tmp_path / "changes.csv")])
    changes = (tmp_path / "changes.csv").read_text().splitlines()
    assert changes[0] == "action,path,target,reason" and len(changes) == 3
    assert any(line.startswith("move,") and line.split(",")[2].endswith("c00/f03_moved.wav") for line in changes)
    assert (audited / "lib" / "c02" / "f03_moved.wav").is_file()  # a preview: nothing was moved


def test_embed_audio_makes_a_portable_page_and_refuses_an_audit_too_large(audited, tmp_path, monkeypatch):
    from sfxrep.audit import page
    from sfxrep.audit.run import page_data, run_audit
    from sfxrep.index.store import Index

    index = Index.open(audited / "index")
    audit = run_audit(index, duplicates=True, log=lambda _: None)
    html = page.render(page_data(audit, index), tmp_path, embed_audio=True).read_text()
    data = json.loads(html.split("const DATA = ", 1)[1].split(";\nconst KEY", 1)[0])
    assert data["audio"] and all(src.startswith("data:audio/") for src in data["audio"].values())
    assert "f03_moved.wav" in html and "../" not in "".join(data["audio"].values())
    monkeypatch.setattr(page, "EMBED_MAX_BYTES", 1000)
    with pytest.raises(ValueError, match=r"--embed-audio: the audit.s \d+ files hold"):
        page.render(page_data(audit, index), tmp_path, embed_audio=True)


@pytest.mark.parametrize(("case", "message"), [
    ("outside", "is not a file of the audited index"),
    ("relabel outside", "is not a file of the audited index"),
    ("path label", "neither a label of lib nor a plain name"),
    ("self copy", "cannot be removed as a copy of itself"),
    ("cycle", "removed as copies of each other"),
    ("twice", "a second decision on"),
    ("overwrite", "is the decisions file itself"),
])
def test_apply_refuses_decisions_outside_the_index_or_against_themselves(audited, tmp_path, capsys, case, message):
    from sfxrep.cli import main

    lib = audited / "lib"
    a, b = str(lib / "c01" / "f00.wav"), str(lib / "c01" / "f01.wav")
    relabel = {"kind": "relabel", "path": str(lib / "c02" / "f03_moved.wav"), "library": "lib", "label": "c02",
               "suggestion": "c00", "decision": "accept"}
    rows = {"outside": [{"kind": "duplicate", "path": "/etc/passwd", "keep": a, "decision": "accept"}],
            "relabel outside": [{**relabel, "path": str(audited / ".." / "x.wav")}],
            "path label": [{**relabel, "suggestion": "../../../../etc"}],
            "self copy": [{"kind": "duplicate", "path": a, "keep": a, "decision": "accept"}],
            "cycle": [{"kind": "duplicate", "path": a, "keep": b, "decision": "accept"},
                      {"kind": "duplicate", "path": b, "keep": a, "decision": "accept"}],
            "twice": [relabel, {**relabel, "suggestion": "c01"}],
            "overwrite": [relabel]}[case]
    decisions = write_decisions(tmp_path / "d.csv", rows)
    out = decisions if case == "overwrite" else tmp_path / "changes.csv"
    before = decisions.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        main(["audit", str(audited / "index"), "--apply", str(decisions), "--preview-out", str(out)])
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert decisions.read_bytes() == before and not (tmp_path / "changes.csv").exists()


def test_apply_reads_excels_bom_and_a_new_plain_label(audited, tmp_path, capsys):
    from sfxrep.cli import main

    lib = audited / "lib"
    row = {"kind": "relabel", "path": str(lib / "c02" / "f03_moved.wav"), "library": "lib", "label": "c02",
           "suggestion": "new class", "decision": "accept"}
    decisions = write_decisions(tmp_path / "d.csv", [row], bom=True)
    main(["audit", str(audited / "index"), "--apply", str(decisions), "--preview-out", str(tmp_path / "c.csv")])
    assert "1 decisions, 1 changes previewed" in capsys.readouterr().out


def test_a_one_class_library_is_not_judged_and_says_so(tmp_path, capsys):
    from sfxrep.cli import main

    rng = np.random.default_rng(4)
    (tmp_path / "lib" / "only").mkdir(parents=True)
    for i in range(6):
        sf.write(tmp_path / "lib" / "only" / f"f{i}.wav", take(rng, 0, 1.2, 22_050), 22_050)
    (tmp_path / "libs.yaml").write_text("split: {seed: 0, min_per_class: 2}\n"
                                        "libraries:\n  - {name: lib, kind: folder, root: lib}\n")
    work = ["--work-dir", str(tmp_path / "w"), "--cache-dir", str(tmp_path / "c")]
    main(["index", "--out", str(tmp_path / "idx"), "--libraries", str(tmp_path / "libs.yaml"), "--model", "logmel",
          "--no-progress", *work])
    main(["audit", str(tmp_path / "idx"), "--out", str(tmp_path / "audit"), "--no-progress", "--no-duplicates", *work])
    out = capsys.readouterr()
    assert "(0 judged): 0 suspected mislabels" in out.out
    assert "6 not judged (fewer than 2 classes" in out.err


def test_a_library_crosswalked_to_itself_is_refused(audited, tmp_path, capsys):
    from sfxrep.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["audit", str(audited / "index"), "--out", str(tmp_path / "a"), "--crosswalk", "lib:lib", "--no-progress",
              "--no-duplicates"])
    assert exit_.value.code == 2 and "crosswalked to itself" in capsys.readouterr().err


def test_a_labels_csv_is_enough_to_index_and_audit_and_nothing_lands_in_the_current_folder(tmp_path, capsys,
                                                                                           monkeypatch):
    """The librarian's path: ``sfxrep index DIR --labels labels.csv`` then ``sfxrep audit``, no libraries YAML; the
    work and cache folders default to the user's cache directory ($SFXREP_CACHE_DIR here), not the current one."""
    import importlib

    from sfxrep.cli import main

    rng = np.random.default_rng(5)
    rows = ["path,label"]
    (tmp_path / "lib").mkdir()
    for c in range(3):
        for i in range(5):
            sf.write(tmp_path / "lib" / f"s{c}_{i}.wav", take(rng, c, 1.2, 22_050), 22_050)
            rows.append(f"s{c}_{i}.wav,class{c}")
    (tmp_path / "lib" / "labels.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("SFXREP_CACHE_DIR", str(tmp_path / "cache-home"))
    import sfxrep.paths

    importlib.reload(sfxrep.paths)
    monkeypatch.chdir(tmp_path / "lib")
    main(["index", "--out", str(tmp_path / "idx"), "--labels", "labels.csv", "--model", "logmel", "--no-progress",
          "--work-dir", sfxrep.paths.WORK_DIR, "--cache-dir", sfxrep.paths.CACHE_DIR])
    main(["audit", str(tmp_path / "idx"), "--out", str(tmp_path / "audit"), "--no-progress", "--no-duplicates"])
    assert "audited 15 files of 1 libraries (15 judged)" in capsys.readouterr().out
    assert not (tmp_path / "lib" / "runs").exists()
    assert sfxrep.paths.cache_root() == tmp_path / "cache-home"
    assert list((tmp_path / "cache-home" / "prepared").glob("labels-lib-*.yaml"))
    monkeypatch.delenv("SFXREP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sfxrep.paths.cache_root() == tmp_path / "xdg" / "sfxrep"


def test_duplicates_come_with_facts_a_best_original_and_each_copys_relation(audited):
    """The cluster of c01/f00 (a WAV, its trimmed, halved, resampled FLAC, and an Ogg re-encoding): the WAV is kept
    by default and each copy says how it was derived."""
    records = [json.loads(line) for line in (audited / "audit" / "audit.jsonl").read_text().splitlines()]
    cluster = next(r for r in records if r["finding"] == "duplicate")
    assert cluster["keep"].endswith("c01/f00.wav") and cluster["files"][0] == cluster["keep"]
    facts = {Path(p).name: f for p, f in cluster["facts"].items()}
    assert facts["f00.wav"]["lossless"] and facts["f00.wav"]["sample_rate"] == 22_050
    assert facts["f00 copy.flac"]["sample_rate"] == 16_000 and facts["f00 copy.flac"]["bit_depth"] == 16
    assert not facts["f00 again.ogg"]["lossless"] and facts["f00 again.ogg"]["bit_depth"] == 0
    assert abs(facts["f00.wav"]["duration"] - facts["f00 copy.flac"]["duration"] - 0.15) < 0.01
    assert facts["f00 copy.flac"]["loudness"] < facts["f00.wav"]["loudness"] - 5  # halved (and its attack trimmed)
    relation = {Path(p).name: r for p, r in cluster["relation"].items()}
    copy = relation["f00 copy.flac"]
    assert "trimmed by 0.15 s" in copy and "gain -6." in copy and "resampled 22050 → 16000 Hz" in copy
    assert "re-encoded as FLAC" in copy
    assert "re-encoded as OGG VORBIS" in relation["f00 again.ogg"] and "trimmed" not in relation["f00 again.ogg"]


def test_best_original_prefers_lossless_then_longest_then_rate():
    from sfxrep.audit.copies import FileFacts, best_original

    facts = {"a.ogg": FileFacts(2.0, "OGG", "VORBIS", 48_000, 2, 0, 10, -20, False),
             "b.wav": FileFacts(1.8, "WAV", "PCM_16", 44_100, 2, 16, 10, -20, True),
             "c.wav": FileFacts(2.0, "WAV", "PCM_16", 22_050, 2, 16, 10, -20, True),
             "d.wav": FileFacts(2.0, "WAV", "PCM_24", 44_100, 2, 24, 10, -20, True)}
    assert best_original(list(facts), facts) == "d.wav"
    del facts["d.wav"]
    assert best_original(list(facts), facts) == "c.wav"  # longest wins over rate: b is a trimmed copy
    assert best_original(["a.ogg"], facts) == "a.ogg"


def test_waveform_peaks_are_digits_scaled_to_the_loudest(tmp_path):
    from sfxrep.audit.page import WAVE_POINTS, waveform

    sf.write(tmp_path / "half.wav", np.r_[np.zeros(1000), np.full(1000, 0.5), np.zeros(10)].astype("float32"), 8000)
    sf.write(tmp_path / "tiny.wav", np.array([0.1, 0.5, 0.2], "float32"), 8000)
    half = waveform(str(tmp_path / "half.wav"))
    assert len(half) == WAVE_POINTS and half[:20] == "0" * 20 and half[-20:] == "9" * 20
    assert waveform(str(tmp_path / "tiny.wav")).startswith("294")  # shorter than the image: padded
    assert waveform(str(tmp_path / "missing.wav")) == ""

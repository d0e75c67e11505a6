"""``audit.html``: one self-contained page to listen to an audit's findings and decide on each.

The page holds its data as JSON and its script and style inline; it needs no server and no network (opened from
disk, ``file://``). Audio is referenced by a path relative to the page (``--embed-audio``: the files themselves as
``data:`` URIs, for a portable copy of a small audit). Suspects can be accepted (relabel to the suggestion) or
rejected (the label stays), duplicates removed or kept; **Export decisions** downloads ``audit-decisions.csv``,
which ``sfxrep audit apply`` turns into a rename preview. Decisions persist in the browser's local storage.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from pathlib import Path
from urllib.parse import quote

from sfxrep.fileio import name_bytes, shown

EMBED_MAX_BYTES = 200_000_000  # --embed-audio refuses audits whose audio is larger than this

DECISION_COLUMNS = ("kind", "path", "library", "label", "suggestion", "keep", "decision")


def audio_source(path: str, page_dir: Path, embed: bool) -> str:
    """The ``src`` of an audio element for ``path``: relative to the page's folder, or a ``data:`` URI."""
    if embed:
        mime = mimetypes.guess_type(path)[0] or "audio/wav"
        return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"
    return quote(name_bytes(os.path.relpath(path, page_dir).replace(os.sep, "/")))  # a name's own bytes, UTF-8 or not


WAVE_POINTS = 48  # peaks per waveform image


def waveform(path: str, points: int = WAVE_POINTS) -> str:
    """The file's waveform as ``points`` peak levels (0–9, the loudest at 9), one digit each; ``""`` when it
    cannot be read. The page draws it as a small image beside the play button."""
    import numpy as np
    import soundfile as sf

    try:
        samples, _ = sf.read(os.fsencode(path), dtype="float32", always_2d=True)  # any name, UTF-8 or not
    except (sf.LibsndfileError, RuntimeError, OSError):
        return ""
    x = np.abs(samples).max(axis=1) if samples.size else np.zeros(1, np.float32)
    x = np.pad(x, (0, max(0, points - len(x))))  # a file shorter than ``points`` samples
    peaks = np.maximum.reduceat(x, np.linspace(0, len(x), points, endpoint=False).astype(int))
    top = float(peaks.max())
    return "".join(str(round(9 * float(v) / top)) if top > 0 else "0" for v in peaks)


def _shown(value: object) -> object:
    """``value`` with every string as :func:`~sfxrep.fileio.shown` writes it."""
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {_shown(k): _shown(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shown(v) for v in value]
    return value


def render(data: dict, out: Path, embed_audio: bool = False) -> Path:
    """Write ``audit.html`` into the folder ``out`` for ``data`` (the audit's findings, see ``run.Audit.page_data``).

    Raises:
        ValueError: ``embed_audio`` and the audio is larger than :data:`EMBED_MAX_BYTES`.
    """
    from sfxrep.fileio import atomic_write_text, json_line

    paths = sorted(set(data.pop("audio_paths")))
    if embed_audio:
        size = sum(Path(p).stat().st_size for p in paths if Path(p).is_file())
        if size > EMBED_MAX_BYTES:
            raise ValueError(f"--embed-audio: the audit's {len(paths)} files hold {size / 1e6:.0f} MB of audio "
                             f"(limit {EMBED_MAX_BYTES / 1e6:.0f} MB); leave the audio referenced by path")
    data = _shown(data)  # a page (and the decisions it exports) holds text: undecodable bytes as \xff escapes
    data["audio"] = {shown(p): audio_source(p, out, embed_audio) for p in paths if Path(p).is_file()}
    data["waves"] = {shown(p): waveform(p) for p in paths if Path(p).is_file()}
    data["decision_columns"] = list(DECISION_COLUMNS)
    # no "<" at all inside the inline script: "</script>" would end it, "<!--<script" would keep it open (HTML's
    # script-data escape states), either way the page goes blank; JSON reads \u003c as the same character
    payload = json_line(data).replace("<", "\\u003c")
    page = out / "audit.html"
    atomic_write_text(page, TEMPLATE.replace("/*DATA*/null", payload))
    return page


TEMPLATE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sfxrep audit</title>
<style>
:root { --ink:#1d232a; --muted:#5b6670; --line:#dde2e7; --bg:#f6f7f9; --card:#fff; --accent:#2563eb;
        --ok:#15803d; --no:#b91c1c; --warn:#b45309; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--ink);
       background:var(--bg); }
header { position:sticky; top:0; z-index:2; background:var(--card); border-bottom:1px solid var(--line);
         padding:10px 24px; display:flex; flex-wrap:wrap; gap:12px 24px; align-items:center; }
header h1 { font-size:18px; margin:0; }
header .meta { color:var(--muted); font-size:13px; }
nav { display:flex; gap:4px; }
nav button { border:1px solid var(--line); background:var(--bg); border-radius:6px; padding:6px 12px; cursor:pointer;
             font:inherit; }
nav button[aria-selected="true"] { background:var(--accent); color:#fff; border-color:var(--accent); }
nav button[aria-selected="true"] .count { color:#dbe6ff; }
.facts { font-size:12px; color:var(--ink); margin-top:2px; }
.relation { font-size:12px; font-style:italic; margin:2px 0 4px; }
label.keep { font-size:12px; display:block; margin:4px 0; }
.export { margin-left:auto; border:0; background:var(--ink); color:#fff; border-radius:6px; padding:7px 14px;
          cursor:pointer; font:inherit; }
.filters { display:flex; flex-wrap:wrap; gap:12px; align-items:center; padding:10px 24px; color:var(--muted); }
.filters select, .filters input[type=search] { font:inherit; padding:4px 6px; border:1px solid var(--line);
          border-radius:5px; background:#fff; }
main { padding:0 24px 40px; max-width:1280px; }
section[hidden] { display:none; }
.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:8px 12px; margin:6px 0;
        display:grid; grid-template-columns:minmax(0, 1fr) minmax(0, 1.3fr) auto; gap:4px 16px; align-items:center; }
.card.current { outline:2px solid var(--accent); outline-offset:1px; }
.suspect .file, .suspect .sub { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.play { display:inline-flex; align-items:center; gap:6px; border:1px solid var(--line); background:#fff;
        border-radius:6px; padding:2px 6px 2px 4px; cursor:pointer; font:inherit; vertical-align:middle; }
.play svg { display:block; }
.play[aria-pressed="true"] { border-color:var(--accent); }
.chip { display:flex; align-items:center; gap:6px; min-width:0; font-size:12.5px; }
.chip .sub { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.keys { color:var(--muted); font-size:12px; margin-left:auto; }
audio.hidden { display:none; }
.card.decided-accept { border-left:4px solid var(--ok); }
.card.decided-reject { border-left:4px solid var(--muted); opacity:.75; }
.file { font-weight:600; word-break:break-all; }
.sub { color:var(--muted); font-size:12.5px; word-break:break-all; }
.labels { margin:6px 0; }
.tag { display:inline-block; padding:1px 7px; border-radius:10px; background:#eef2f7; font-size:12.5px; }
.tag.now { background:#fde8e8; color:var(--no); }
.tag.new { background:#e5f5ea; color:var(--ok); }
.tag.flag { background:#fff1dc; color:var(--warn); }
audio { width:100%; height:32px; margin:4px 0; }
.neigh { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:3px 10px; align-items:center; }
.buttons { display:flex; flex-direction:column; gap:4px; }
.dups .buttons { flex-direction:row; margin-top:6px; }
input.other { font:inherit; font-size:12px; width:150px; padding:3px 6px; border:1px solid var(--line); border-radius:5px; }
.buttons button { font:inherit; border-radius:6px; padding:5px 12px; cursor:pointer; border:1px solid var(--line);
                  background:#fff; }
.buttons button.accept[aria-pressed="true"] { background:var(--ok); color:#fff; border-color:var(--ok); }
.buttons button.reject[aria-pressed="true"] { background:var(--muted); color:#fff; border-color:var(--muted); }
table { border-collapse:collapse; width:100%; background:var(--card); font-size:13px; }
th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#eef1f4; position:sticky; top:0; }
.bar { height:6px; background:var(--accent); border-radius:3px; }
.dups { grid-template-columns:minmax(0, 1fr); }
.members { display:grid; grid-template-columns:repeat(auto-fill, minmax(300px, 1fr)); gap:10px; }
.member { border:1px solid var(--line); border-radius:6px; padding:8px; }
.evidence td, .evidence th { font-size:12px; padding:3px 6px; }
.empty { color:var(--muted); padding:20px 0; }
.count { color:var(--muted); }
</style></head>
<body>
<header>
  <h1>sfxrep audit</h1>
  <span class="meta" id="meta"></span>
  <nav role="tablist">
    <button role="tab" data-tab="suspects" aria-selected="true">Suspected mislabels <span id="n-suspects" class="count"></span></button>
    <button role="tab" data-tab="duplicates" aria-selected="false">Duplicates <span id="n-dups" class="count"></span></button>
    <button role="tab" data-tab="crosswalk" aria-selected="false">Crosswalk <span id="n-cross" class="count"></span></button>
  </nav>
  <button class="export" id="export">Export decisions (<span id="n-decided">0</span>)</button>
</header>
<div class="filters" id="filters">
  <label data-tabs="suspects duplicates">Library <select id="f-library"><option value="">all</option></select></label>
  <label data-tabs="suspects duplicates"><input type="search" id="f-text" placeholder="file or label contains …"></label>
  <label data-tabs="suspects"><input type="checkbox" id="f-flagged" checked> flagged (strong evidence) only</label>
  <label data-tabs="duplicates">Duplicates <select id="f-kind"><option value="">exact and near</option><option>exact</option><option>near</option></select></label>
  <label data-tabs="suspects duplicates"><input type="checkbox" id="f-undecided"> undecided only</label>
  <span class="keys" data-tabs="suspects duplicates">keys: j / k next / previous · a accept · r reject · space play</span>
</div>
<main>
  <section id="suspects"></section>
  <section id="duplicates" hidden></section>
  <section id="crosswalk" hidden></section>
</main>
<script>
const DATA = /*DATA*/null;
const KEY = "sfxrep-audit:" + DATA.id;
const decisions = JSON.parse(localStorage.getItem(KEY) || "{}");
const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, attrs = {}, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const kid of kids) if (kid != null) e.append(kid);
  return e;
};
const base = p => p.split("/").pop();
const SVG = "http://www.w3.org/2000/svg";
function wave(path, width) {  // the waveform computed at audit time: one digit 0-9 per column
  const svg = document.createElementNS(SVG, "svg"), peaks = DATA.waves[path] || "";
  svg.setAttribute("width", String(width)); svg.setAttribute("viewBox", "0 0 96 22"); svg.setAttribute("preserveAspectRatio", "none"); svg.setAttribute("height", "22"); svg.setAttribute("aria-hidden", "true");
  [...peaks].forEach((d, i) => {
    const h = 1 + 20 * Number(d) / 9, r = document.createElementNS(SVG, "rect");
    r.setAttribute("x", String(2 * i)); r.setAttribute("width", "1.5");
    r.setAttribute("y", String(11 - h / 2)); r.setAttribute("height", String(h)); r.setAttribute("fill", "#5b6670");
    svg.append(r);
  });
  return svg;
}
const player = (path, width = 96) => {  // a play button over the file's waveform; the audio element stays hidden
  const a = el("audio", {class: "hidden", preload: "none", "data-path": path});
  a.src = DATA.audio[path] || "";
  const b = el("button", {class: "play", type: "button", title: "play " + base(path), "aria-pressed": "false"},
               el("span", {text: "\u25b6"}), wave(path, width));
  b.onclick = () => toggle(a);
  a.onplay = () => b.setAttribute("aria-pressed", "true");
  a.onpause = a.onended = () => b.setAttribute("aria-pressed", "false");
  return el("span", {class: "player"}, b, a);
};
function toggle(a) {
  document.querySelectorAll("audio").forEach(x => { if (x !== a) x.pause(); });
  if (a.paused) a.play(); else a.pause();
}
function count() { $("#n-decided").textContent = Object.keys(decisions).length; }
function save() { localStorage.setItem(KEY, JSON.stringify(decisions)); count(); }
function decide(key, row, value, card) {
  const same = decisions[key] && decisions[key].decision === value && decisions[key].suggestion === row.suggestion;
  if (same) delete decisions[key];  // a second click takes the decision back
  else decisions[key] = {...row, decision: value};
  paintDecision(key, card); save();
}
function paintDecision(key, card) {
  const d = decisions[key] && decisions[key].decision;
  card.classList.toggle("decided-accept", d === "accept");
  card.classList.toggle("decided-reject", d === "reject");
  card.querySelectorAll("button.accept").forEach(b => b.setAttribute("aria-pressed", String(d === "accept")));
  card.querySelectorAll("button.reject").forEach(b => b.setAttribute("aria-pressed", String(d === "reject")));
}
function buttons(key, row, card, acceptText, rejectText) {
  const accept = el("button", {class: "accept", "aria-pressed": "false", text: acceptText});
  const reject = el("button", {class: "reject", "aria-pressed": "false", text: rejectText});
  accept.onclick = () => decide(key, row, "accept", card);
  reject.onclick = () => decide(key, row, "reject", card);
  return el("div", {class: "buttons"}, accept, reject);
}
const keeps = JSON.parse(localStorage.getItem(KEY + ":keeps") || "{}");
function retarget(c, keep) {  // a new keep: the decisions on the cluster's other files now keep it; none on it
  delete decisions["duplicate:" + keep];
  for (const p of c.files) if (decisions["duplicate:" + p]) decisions["duplicate:" + p].keep = keep;
  save();
}
function filters() {
  return {library: $("#f-library").value, text: $("#f-text").value.toLowerCase(), flagged: $("#f-flagged").checked,
          kind: $("#f-kind").value, undecided: $("#f-undecided").checked};
}
function renderSuspects() {
  const f = filters(), box = $("#suspects");
  box.replaceChildren();
  const shown = DATA.suspects.filter(s => (!f.library || s.library === f.library) && (!f.flagged || s.issue)
    && (!f.text || (s.path + " " + s.label + " " + s.suggestion).toLowerCase().includes(f.text))
    && (!f.undecided || !decisions["relabel:" + s.path]));
  $("#n-suspects").textContent = "(" + DATA.suspects.filter(s => s.issue).length + ")";
  if (!shown.length) box.append(el("p", {class: "empty", text: "No suspect matches the filters."}));
  for (const s of shown.slice(0, 500)) {
    const key = "relabel:" + s.path;
    const card = el("article", {class: "card suspect", "data-path": s.path});
    const left = el("div", {},
      el("div", {class: "chip"}, player(s.path), el("span", {class: "file", title: s.path, text: base(s.path)})),
      el("div", {class: "labels"}, el("span", {class: "tag now", text: s.label}), " → ",
         el("span", {class: "tag new", text: s.suggestion}), " ",
         s.issue ? el("span", {class: "tag flag", text: "flagged: strong evidence"})
                 : s.evidence === "weak" ? el("span", {class: "tag", text: "weak evidence"}) : null),
      el("div", {class: "sub", title: s.path, text: `${s.library} · relative confidence ${s.quality.toFixed(3)} · p(label) ${s.p_label.toFixed(2)} · p(suggestion) ${s.p_suggestion.toFixed(2)}`}));
    const row = {kind: "relabel", path: s.path, library: s.library, label: s.label, suggestion: s.suggestion, keep: ""};
    const right = el("div", {class: "neigh", title: "the nearest files of " + s.library});
    for (const n of s.neighbours) {
      right.append(el("div", {class: "chip"}, player(n.path, 48),
        el("span", {class: n.label === s.label ? "tag now" : "tag", text: n.label}),
        el("span", {class: "sub", title: n.path, text: base(n.path) + " · cos " + n.cosine.toFixed(2)})));
    }
    const pick = el("input", {class: "other", type: "search", list: "labels-" + s.library, placeholder: "or relabel to …",
                              "aria-label": "relabel to another label"});
    pick.onchange = () => {  // any label of the library (or a new plain one): an accepted relabel to it
      const target = pick.value.trim();
      if (target && target !== s.label) { delete decisions[key]; decide(key, {...row, suggestion: target}, "accept", card); }
    };
    const actions = buttons(key, row, card, "Accept: relabel to " + s.suggestion, "Reject: keep " + s.label);
    actions.append(pick);
    if (decisions[key] && decisions[key].suggestion !== s.suggestion) pick.value = decisions[key].suggestion;
    card.append(left, right, actions);
    paintDecision(key, card);
    box.append(card);
  }
}
function renderDuplicates() {
  const f = filters(), box = $("#duplicates");
  box.replaceChildren();
  $("#n-dups").textContent = "(" + DATA.clusters.length + ")";
  const shown = DATA.clusters.filter(c => (!f.kind || c.kind === f.kind)
    && (!f.library || c.files.some(p => DATA.libraries_of[p] === f.library))
    && (!f.text || c.files.join(" ").toLowerCase().includes(f.text)));
  if (!shown.length) box.append(el("p", {class: "empty", text: "No duplicate cluster matches the filters."}));
  for (const c of shown) {
    const card = el("article", {class: "card dups", "data-kind": c.kind});
    const keep = keeps[c.keep] || c.keep;  // the user's choice, else the best-quality original
    card.append(el("div", {}, el("span", {class: "tag flag", text: c.kind}), " ",
      el("strong", {text: c.files.length + " files"}),
      el("span", {class: "sub", text: "  kept by default: the best-quality original (lossless, longest, highest rate)"})));
    const members = el("div", {class: "members"});
    c.files.forEach(p => {
      const f = c.facts[p] || {};
      const facts = f.error ? "unreadable: " + f.error : [f.duration.toFixed(2) + " s", f.format + " " + f.subtype,
        f.sample_rate + " Hz", f.channels + " ch", f.bit_depth ? f.bit_depth + "-bit" : "lossy",
        (f.size / 1024).toFixed(0) + " KB", f.loudness.toFixed(1) + " dBFS"].join(" · ");
      const m = el("div", {class: "member", "data-path": p},
        el("div", {class: "file", text: base(p)}), el("div", {class: "sub", text: p}),
        el("div", {class: "sub", text: (DATA.libraries_of[p] || "") + " · " + (DATA.labels_of[p] || "")}),
        el("div", {class: "facts", text: facts}),
        el("div", {class: "relation", text: p === c.keep ? "the original" : c.relation[p]}), player(p));
      const choose = el("label", {class: "keep"}, el("input", {type: "radio", name: "keep:" + c.keep}), " keep this one");
      const radio = choose.querySelector("input");
      radio.checked = p === keep;
      radio.onchange = () => { keeps[c.keep] = p; retarget(c, p); localStorage.setItem(KEY + ":keeps", JSON.stringify(keeps)); renderDuplicates(); };
      m.append(choose);
      if (p !== keep) {
        const key = "duplicate:" + p;
        const row = {kind: "duplicate", path: p, library: DATA.libraries_of[p] || "", label: DATA.labels_of[p] || "",
                     suggestion: "", keep: keep};
        m.append(buttons(key, row, m, "Accept: remove copy", "Reject: keep both"));
        paintDecision(key, m);
      } else m.append(el("div", {class: "sub", text: "kept"}));
      members.append(m);
    });
    const table = el("table", {class: "evidence"}, el("tr", {},
      ...["a", "b", "cosine", "correlation", "lag (s)", "overlap", "gain (dB)", "kind"].map(h => el("th", {text: h}))));
    for (const p of c.pairs) table.append(el("tr", {}, ...[base(p.a), base(p.b), p.cosine.toFixed(3),
      p.correlation.toFixed(4), p.lag_s.toFixed(3), p.overlap.toFixed(2), p.gain_db.toFixed(1), p.kind].map(v => el("td", {text: v}))));
    card.append(members, table);
    box.append(card);
  }
}
function renderCrosswalk() {
  const f = filters(), box = $("#crosswalk");
  box.replaceChildren();
  $("#n-cross").textContent = "(" + DATA.crosswalk.length + ")";
  if (!DATA.crosswalk.length) { box.append(el("p", {class: "empty", text: DATA.crosswalk_note || "No crosswalk in this audit."})); return; }
  const table = el("table", {}, el("tr", {}, ...["source library", "class", "files", "→ target class", "share", "confidence", "lift"].map(h => el("th", {text: h}))));
  for (const r of DATA.crosswalk.filter(r => (!f.library || r.source_library === f.library)
       && (!f.text || (r.source_class + " " + r.targets.map(t => t.target).join(" ")).toLowerCase().includes(f.text)))) {
    r.targets.forEach((t, i) => {
      table.append(el("tr", {}, el("td", {text: i ? "" : r.source_library + " → " + r.target_library}),
        el("td", {text: i ? "" : r.source_class}), el("td", {text: i ? "" : r.files}), el("td", {text: t.target}),
        el("td", {}, el("div", {text: (100 * t.share).toFixed(0) + " %"}), el("div", {class: "bar", style: `width:${Math.round(100 * t.share)}%`})),
        el("td", {text: t.confidence.toFixed(2)}), el("td", {text: t.lift.toFixed(1) + "×"})));
    });
  }
  box.append(table);
}
function renderAll() { renderSuspects(); renderDuplicates(); renderCrosswalk(); }
function csvCell(v) { v = String(v ?? ""); return /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
$("#export").onclick = () => {
  const cols = DATA.decision_columns;
  const lines = [cols.join(",")].concat(Object.values(decisions).map(d => cols.map(c => csvCell(d[c])).join(",")));
  const url = URL.createObjectURL(new Blob([lines.join("\n") + "\n"], {type: "text/csv"}));
  const a = el("a", {href: url, download: "audit-decisions.csv"});
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
};
function showTab(tab) {  // the tab, and only the filters that apply to it
  document.querySelectorAll("nav button").forEach(x => x.setAttribute("aria-selected", String(x.dataset.tab === tab)));
  document.querySelectorAll("main section").forEach(s => s.hidden = s.id !== tab);
  document.querySelectorAll("#filters [data-tabs]").forEach(f => f.hidden = !f.dataset.tabs.split(" ").includes(tab));
  current = -1;
}
document.querySelectorAll("nav button").forEach(b => b.onclick = () => showTab(b.dataset.tab));
let current = -1;  // the card the keys act on
function items() {
  const tab = document.querySelector("nav button[aria-selected=true]").dataset.tab;
  return [...document.querySelectorAll(tab === "suspects" ? "#suspects article.suspect"
                                                          : tab === "duplicates" ? "#duplicates .member:has(button.accept)" : "none")];
}
function focusItem(i) {
  const list = items();
  if (!list.length) return;
  current = Math.max(0, Math.min(list.length - 1, i));
  list.forEach((c, j) => c.classList.toggle("current", j === current));
  list[current].scrollIntoView({block: "nearest"});
}
document.addEventListener("keydown", e => {
  if (e.target.matches("input[type=search], select, textarea") || e.ctrlKey || e.metaKey || e.altKey) return;
  const list = items(), item = list[current];
  if (e.key === "j") focusItem(current + 1);
  else if (e.key === "k") focusItem(current - 1);
  else if ((e.key === "a" || e.key === "r") && item) {
    item.querySelector(e.key === "a" ? "button.accept" : "button.reject").click();
    focusItem(current);
  } else if (e.key === " " && item) { e.preventDefault(); toggle(item.querySelector("audio")); }
  else return;
});
for (const lib of DATA.libraries) {
  $("#f-library").append(el("option", {text: lib}));
  document.body.append(el("datalist", {id: "labels-" + lib}, ...(DATA.library_labels[lib] || []).map(l => el("option", {value: l}))));
}
["#f-library", "#f-text", "#f-flagged", "#f-kind", "#f-undecided"].forEach(s => $(s).addEventListener("input", renderAll));
$("#meta").textContent = `${DATA.files} files · ${DATA.libraries.length} libraries · model ${DATA.model} · ${DATA.created}`;
count(); renderAll(); showTab("suspects");  // loading shows the stored decisions and never writes them
</script>
</body></html>
"""

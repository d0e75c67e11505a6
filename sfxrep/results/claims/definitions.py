"""The paper's seven claims (Ma & Lerch 2022, §6), each a function named for what it claims, whose docstring is
the paper's sentence; :data:`CLAIMS` lists them in the paper's order and :func:`measure` runs them on a study's rows.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

from sfxrep.records import ResultRow
from sfxrep.results.claims.stats import (
    DBI,
    F1,
    FAILS,
    HOLDS,
    METRIC_LOSSES,
    SCENARIOS,
    UNCLEAR,
    Finding,
    Part,
    Rows,
    _ce,
    _count,
    _line,
    _most,
    _undefined_notes,
    combine,
    side,
    within_margin,
)


def _sentence(claim: Callable) -> str:
    """The paper's sentence of ``claim``: its docstring, on one line."""
    return " ".join(claim.__doc__.split())


def metric_losses_and_dbi(rows: Rows, noise: dict) -> Finding:
    """Contrastive lowers DBI for most libraries in every scenario; Circle lowers it most within-dataset; Triplet
    raises average DBI slightly except in UCS-transfer."""
    lines = [_line(rows, f"{scenario}: {loss} − CE", DBI, _ce(scenario, loss=loss), _ce(scenario), expect)
             for scenario in SCENARIOS for loss, expect in
             (("contrastive", "< 0"), ("triplet", "≤ 0" if scenario == "ucs_transfer" else "> 0 (slightly)"),
              ("circle", "< 0 (most within)" if scenario == "within" else ""))]
    get = {line.label: line for line in lines}
    contrastive = [get[f"{s}: contrastive − CE"] for s in SCENARIOS]
    outcomes = [_most(line, -1) for line in contrastive]
    a = Part("Contrastive lowers DBI for most libraries in every scenario",
             combine(outcomes),
             "; ".join(f"{line.label.split(':')[0]}: {line.average.text(scale=1)} ({_count(line, -1)})"
                       for line in contrastive))
    within = {loss: get[f"within: {loss} − CE"] for loss in METRIC_LOSSES}
    lowest = min(within, key=lambda loss: within[loss].average.mean if within[loss].average.n else math.inf)
    circle = rows.delta(DBI, _ce("within", loss="circle"), _ce("within", loss=lowest))[1] if lowest != "circle" \
        else None
    if lowest == "circle":
        b_outcome = side(within["circle"].average, -1)
    else:  # another loss is lower on average: fails when circle is significantly above it
        b_outcome = FAILS if circle is not None and circle.above(0) else UNCLEAR
    b = Part("Circle lowers DBI most within-dataset", b_outcome,
             f"lowest mean Δ DBI within: {lowest}; circle {within['circle'].average.text(scale=1)}"
             + (f", circle − {lowest} {circle.text(scale=1)}" if circle is not None else ""))
    triplet = {s: get[f"{s}: triplet − CE"].average for s in SCENARIOS}
    raised = [side(triplet[s], +1) for s in ("within", "cross")]
    ucs = FAILS if triplet["ucs_transfer"].above(0) else HOLDS
    c_outcome = combine([*raised, ucs])
    c = Part("Triplet raises average DBI slightly, except in UCS-transfer", c_outcome,
             "; ".join(f"{s}: {triplet[s].text(scale=1)}" for s in SCENARIOS))
    return Finding(1, "Metric losses and DBI", _sentence(metric_losses_and_dbi),
                   "Fig. 4", "Δ DBI (lower = tighter clusters)", lines, [a, b, c], scale=1.0,
                   notes=_undefined_notes(rows, DBI, "DBI"))


def metric_losses_and_f1(rows: Rows, noise: dict) -> Finding:
    """A lower DBI does not mean a higher macro-F1. Metric losses improve F1 only in UCS-transfer, and Triplet is
    within 1 % of CE within-dataset and cross-dataset."""
    from scipy.stats import spearmanr

    lines = [_line(rows, f"{scenario}: {loss} − CE", F1, _ce(scenario, loss=loss), _ce(scenario),
                   "> 0" if scenario == "ucs_transfer" else "≤ 0" + (" (within ±1)" if loss == "triplet" else ""))
             for scenario in SCENARIOS for loss in METRIC_LOSSES]
    d_f1, d_dbi = [], []
    for scenario in SCENARIOS:
        for loss in METRIC_LOSSES:
            f1 = rows.delta(F1, _ce(scenario, loss=loss), _ce(scenario))[0]
            dbi = rows.delta(DBI, _ce(scenario, loss=loss), _ce(scenario))[0]
            for lib in rows.libraries:
                if f1[lib].n and dbi[lib].n and not math.isnan(dbi[lib].mean):
                    d_f1.append(f1[lib].mean)
                    d_dbi.append(dbi[lib].mean)
    if len(d_f1) >= 5:
        rho, p = spearmanr(d_dbi, d_f1)
        a_outcome = FAILS if rho < 0 and p < 0.05 else HOLDS if rho > -0.3 else UNCLEAR
        a_evidence = f"Spearman ρ(Δ DBI, Δ F1) = {rho:+.2f} (p = {p:.3f}) over {len(d_f1)} (loss, scenario, library) cells"
    else:
        a_outcome, a_evidence = UNCLEAR, "too few cells"
    a = Part("A lower DBI does not mean a higher macro-F1", a_outcome, a_evidence)
    get = {line.label: line.average for line in lines}
    ucs = [side(get[f"ucs_transfer: {loss} − CE"], +1) for loss in METRIC_LOSSES]
    others = [get[f"{s}: {loss} − CE"] for s in ("within", "cross") for loss in METRIC_LOSSES]
    b_outcome = combine([*ucs, *(FAILS if e.above(0) else HOLDS for e in others)])
    b = Part("Metric losses improve macro-F1 only in UCS-transfer", b_outcome,
             "UCS-transfer: " + ", ".join(f"{loss} {get[f'ucs_transfer: {loss} − CE'].text()}" for loss in
                                          METRIC_LOSSES) + "; significantly better elsewhere: "
             + (", ".join(f"{s}/{loss}" for s in ("within", "cross") for loss in METRIC_LOSSES
                          if get[f"{s}: {loss} − CE"].above(0)) or "none"))
    triplet = [within_margin(get[f"{s}: triplet − CE"], 0.01) for s in ("within", "cross")]
    c = Part("Triplet is within 1 point of CE within-dataset and cross-dataset",
             combine(triplet),
             "; ".join(f"{s}: {get[f'{s}: triplet − CE'].text()}" for s in ("within", "cross")))
    return Finding(2, "Metric losses and macro-F1", _sentence(metric_losses_and_f1), "Fig. 5", "Δ frame macro-F1 (points)", lines, [a, b, c])


def cross_beats_within(rows: Rows, noise: dict) -> Finding:
    """With CE, cross-dataset beats within-dataset on most libraries by about 4–5 %. With Triplet the gain is 1–3 %."""
    lines = []
    for loss, expect in (("ce", "> 0 (about +4 to +5)"), ("triplet", "> 0 (about +1 to +3)")):
        lines.append(_line(rows, f"{loss}: cross − within", F1, _ce("cross", loss=loss), _ce("within", loss=loss),
                           expect))
        lines.append(_line(rows, f"{loss}: UCS-transfer − within", F1, _ce("ucs_transfer", loss=loss),
                           _ce("within", loss=loss)))
    parts = []
    for loss, size in (("ce", "about 4–5 points"), ("triplet", "1–3 points")):
        line = lines[0] if loss == "ce" else lines[2]
        parts.append(Part(f"{'CE' if loss == 'ce' else 'Triplet'}: cross-dataset beats within-dataset on most "
                          f"libraries ({size})", _most(line, +1),
                          f"{line.average.text()} on average; {_count(line, +1)}"))
    return Finding(3, "Cross-dataset against within-dataset training", _sentence(cross_beats_within), "Fig. 6",
                   "Δ frame macro-F1 (points)", lines, parts,
                   notes=["UCS-transfer − within is shown for RQ2; the paper's claim is about cross − within."])


def sequential_equals_joint(rows: Rows, noise: dict) -> Finding:
    """X-Sequential and X-Joint differ by about 1 % on average."""
    lines = [_line(rows, f"{loss}: X-Joint − X-Sequential", F1, _ce("cross", loss=loss, mixing="joint"),
                   _ce("cross", loss=loss), "about ±1") for loss in ("ce", "triplet")]
    outcomes = [within_margin(line.average, 0.02) for line in lines]
    return Finding(4, "X-Sequential against X-Joint", _sentence(sequential_equals_joint),
                   "§6.4", "Δ frame macro-F1 (points)", lines,
                   [Part("The average difference is small (95 % interval inside ±2 points)",
                         combine(outcomes),
                         "; ".join(f"{line.label.split(':')[0]}: {line.average.text()}" for line in lines))])


def fdr_threshold_of(rows: Rows) -> float:
    """The FDR threshold a study compares: the one most of its FDR rows ran with (the paper's 0.9 if none ran)."""
    runs = Counter(r.fdr_threshold for r in rows.rows if r.model == "sfxrep" and r.fdr_threshold is not None)
    return max(runs, key=lambda t: (runs[t], t == 0.9)) if runs else 0.9


def fdr_has_no_consistent_effect(rows: Rows, noise: dict) -> Finding:
    """FDR (β = 0.999) shows no consistent trend."""
    threshold = fdr_threshold_of(rows)
    lines = [_line(rows, f"{loss}: FDR − X-Sequential", F1, _ce("cross", loss=loss, fdr_threshold=threshold),
                   _ce("cross", loss=loss), "no consistent sign") for loss in ("ce", "triplet")]
    parts = []
    for line in lines:
        avg = line.average
        signs = [e.mean for e in line.per_library.values() if e.n]
        agree = sum((m > 0) == (avg.mean > 0) for m in signs)
        if not avg.has_interval:
            outcome = UNCLEAR
        elif avg.lo <= 0 <= avg.hi:
            outcome = HOLDS
        elif agree * 3 >= 2 * len(signs):
            outcome = FAILS
        else:
            outcome = UNCLEAR
        parts.append(Part(f"{line.label.split(':')[0]}: no consistent effect of FDR", outcome,
                          f"{avg.text()} on average; {agree}/{len(signs)} libraries share the average's sign"))
    return Finding(5, "'Focal' dataset regularization", _sentence(fdr_has_no_consistent_effect), "§6.4",
                   "Δ frame macro-F1 (points)", lines, parts,
                   notes=[f"FDR here: threshold train macro-F1 {threshold:g} "
                          f"({'the paper' if threshold == 0.9 else 'the paper: 0.9'}) and β = 0.999; a library that "
                          "never crosses the threshold in the budget counts the last epoch as its n_e."])


def per_library_bn_hurts_messy_libraries(rows: Rows, noise: dict) -> Finding:
    """Per-library BN lowers results on messy, inconsistently labelled libraries."""
    rates = {lib: v["rate"] for lib, v in noise.items() if lib in rows.libraries}
    ordered = sorted(rows.libraries, key=lambda lib: -rates.get(lib, -1))
    median = statistics.median(rates.values()) if rates else math.nan
    messy = [lib for lib in ordered if rates.get(lib, -1) > median]
    clean = [lib for lib in ordered if lib not in messy]
    lines, parts = [], []
    for loss in ("ce", "triplet"):
        variant, base = _ce("cross", loss=loss, bn="per_library"), _ce("cross", loss=loss)
        lines.append(_line(rows, f"{loss}: BN per library − shared, messy libraries", F1, variant, base, "< 0",
                           messy or None))
        lines.append(_line(rows, f"{loss}: BN per library − shared, clean libraries", F1, variant, base, "",
                           clean or None))
        parts.append(Part(f"{'CE' if loss == 'ce' else 'Triplet'}: per-library BN lowers macro-F1 on the messy "
                          "libraries", side(lines[-2].average, -1) if messy else UNCLEAR,
                          f"messy {lines[-2].average.text()}, clean {lines[-1].average.text()}"))
    notes = ["Messy = label-issue rate above the median of the seven libraries: the share of files that confident "
             "learning flags as likely mislabelled (sfxrep audit's test, on aiSFX embeddings, independent of this "
             "study's models): " + ", ".join(f"{lib} {100 * rates[lib]:.1f} %" for lib in ordered if lib in rates)]
    if not rates:
        notes = ["No label-issue rates (label_issues.json): messy libraries cannot be told apart."]
    return Finding(6, "Per-library BatchNorm", _sentence(per_library_bn_hurts_messy_libraries), "§6.4", "Δ frame macro-F1 (points)", lines, parts, notes=notes)


def best_model_beats_the_reference(rows: Rows, noise: dict) -> Finding:
    """The best model (X-Sequential + CE) beats the SoTA reference on every library."""
    best = _ce("cross")
    lines = [_line(rows, f"X-Sequential + CE − {ref}", F1, best, {"model": ref}, "> 0 on every library")
             for ref in ("aisfx", "logmel")]
    lines.append(_line(rows, "X-Sequential + CE − sfxrep-v1", F1, best, {"model": "sfxrep-v1"}))
    parts = []
    for line in lines[:2]:
        ests = list(line.per_library.values())
        outcome = (FAILS if any(e.below(0) for e in ests) else HOLDS if ests and all(e.above(0) for e in ests)
                   else UNCLEAR)
        parts.append(Part(f"it beats {line.label.split(' − ')[1]} on every library", outcome,
                          f"above on {sum(e.above(0) for e in ests)}, below on {sum(e.below(0) for e in ests)} "
                          f"of {len(ests)} libraries (95 % intervals); average {line.average.text()}"))
    return Finding(7, "The best model against the references", _sentence(best_model_beats_the_reference), "Fig. 7", "Δ frame macro-F1 (points)", lines, parts,
                   notes=["The paper's reference is OpenL3, whose weights cannot be installed offline; aiSFX (the "
                          "authors' released model, trained on their private libraries) and log-mel statistics "
                          "stand in. sfxrep-v1 (fine-tuned from aiSFX) is shown for RQ4, not part of the claim."])


# the paper's order: claim N is CLAIMS[N - 1]
CLAIMS: tuple[Callable[[Rows, dict], Finding], ...] = (
    metric_losses_and_dbi, metric_losses_and_f1, cross_beats_within, sequential_equals_joint,
    fdr_has_no_consistent_effect, per_library_bn_hurts_messy_libraries, best_model_beats_the_reference)


def measure(rows: Sequence[ResultRow], noise: dict | None = None) -> list[Finding]:
    """Every claim's finding from a study's rows (``noise``: label-issue rates per library, for claim 6)."""
    table = Rows(rows)
    return [claim(table, noise or {}) for claim in CLAIMS]



"""The paper's claims (Ma & Lerch 2022, §6), each declared once with the test that gives it a verdict.

``sfxrep claims RESULTS.jsonl [--study STUDY.md]`` measures every claim on a study's rows and writes, per claim, the
paper's statement, our measurement (mean and 95 % confidence interval over seeds, per library and averaged over
libraries), a verdict and one forest-plot figure.

Statistics. Every configuration ran with the same seeds on the same splits (a seed sets weights, crops and batches;
the split has its own seed), so a difference between two configurations is *paired*: per seed, variant − base,
then the mean and the Student-t 95 % interval of those differences (n = seeds present in both). The average over
libraries is formed per seed first (the mean over libraries of that seed's differences), so its interval also
comes from the spread over seeds. A reference model (aiSFX, log-mel) has no seed: it is a constant.

Verdicts. Each claim is split into the parts the paper states; a part *holds* when the 95 % interval lies on the
side the paper states (or, for "about equal", inside the stated margin), *fails* when it lies entirely on the
other side (or entirely outside the margin), and is *unclear* otherwise. A claim is **reproduced** when every part
holds, **contradicted** when a part fails, and **inconclusive at this budget** otherwise; **not run** when a cell
it needs has no rows.
"""

from sfxrep.results.claims.definitions import CLAIMS, measure
from sfxrep.results.claims.stats import Finding, Rows

__all__ = ["CLAIMS", "Finding", "Rows", "measure"]

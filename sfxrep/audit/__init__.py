"""``sfxrep audit``: the quality assurance a librarian does by hand, from an index of labelled libraries.

Suspected mislabels (:mod:`.mislabels`), duplicates and near-duplicates verified on the signals
(:mod:`.duplicates`), a class-to-class crosswalk between two taxonomies (:mod:`.crosswalk`), written as
``audit.jsonl`` / ``audit.csv`` and one self-contained page to listen and decide with (:mod:`.page`); the
decisions a librarian exports from the page become a rename preview (:mod:`.decisions`).
"""

"""The public corpus: labelled libraries built from the sound assets of free games and sample collections in the
distribution's package archive (``make corpus``). Recipes (:mod:`~sfxrep.corpus.recipe`) say which package, which
files and which labels; :mod:`~sfxrep.corpus.build` fetches, extracts, de-duplicates and accounts for every file;
:mod:`~sfxrep.libraries.crosswalk` maps each library's classes to UCS CatIDs."""

"""The event diff: what each article says about a timeline of known events.

Pure (no storage, no SQL):

- :mod:`crawler.events.timeline`: the timeline file (schema, loading).
- :mod:`crawler.events.lemmas`: words as compared (lemmas, concept classes, demonyms).
- :mod:`crawler.events.modality`: whether words report something as having happened.
- :mod:`crawler.events.match`: naming a known event in a sentence; clauses.
- :mod:`crawler.events.figures`: figures stated for a known fact.
- :mod:`crawler.events.candidates`: dated claims of a new action.
- :mod:`crawler.events.hits`: what a diff finds, as data; comparisons.
- :mod:`crawler.events.diff`: the analysis of one text (:func:`diff_text`).

The archive side:

- :mod:`crawler.events.store`: the stage that stores the diff in the archive.
- :mod:`crawler.events.promote`: a candidate promoted into the timeline; summaries.

Import from the modules: this package file imports none of them, so reading
a timeline or diffing a text loads no storage code.
"""

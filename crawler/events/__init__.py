"""The event diff: what each article says about a timeline of known events.

- :mod:`crawler.events.timeline`: the timeline file (schema, loading).
- :mod:`crawler.events.diff`: the pure analysis of one text (:func:`diff_text`).
- :mod:`crawler.events.store`: the stage that stores the diff in the archive.
- :mod:`crawler.events.promote`: a candidate promoted into the timeline; summaries.

Import from the modules: this package file imports none of them, so reading
a timeline or diffing a text loads no storage code.
"""

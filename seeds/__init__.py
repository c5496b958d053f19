"""The catalogue documents the bot answers from (see SOURCE.md).

A package only so that `pip install .` carries them: code reads them as package data through
`importlib.resources` (knowledge.catalogue), never through a path beside the source tree.
"""

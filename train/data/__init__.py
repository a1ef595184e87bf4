"""`make data`: build the training corpus (clean speech, damaged speech, real noise) from Debian packages.

Run ``python -m train.data.prepare --help`` from the repository root. See ``README.md`` here.
"""

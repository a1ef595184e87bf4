"""DSP repair stages, one module per stage, and the pipeline that orders them.

Each stage is a function ``(x, sr, params) -> y`` with a frozen params dataclass holding its
defaults: ``dc.remove_dc``, ``hum.remove_hum``, ``declip.declip``, ``dropouts.conceal_dropouts``,
``loudness.normalize_loudness``. ``x`` and ``y`` are float32 ``(n_samples, n_channels)``; every
stage keeps the length and channel count and returns finite samples.
:mod:`.pipeline` runs them in order after :func:`msar.dsp.analysis.analyze`, skipping the
stages whose damage was not found, and :mod:`.guard` compares output and input contours.
"""

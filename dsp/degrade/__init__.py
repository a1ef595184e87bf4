"""Damage simulator: degrade clean speech with a recipe of damages (``msar degrade``, and
dynamic mixing of training pairs in ``train/``).

One module per damage (``noise``, ``reverb``, ``clip``, ``band`` for lowpass/highpass, ``codec``,
``dropout``, ``hum``, ``dc``, ``quantize``, ``gain``), each a frozen params dataclass and a
function ``(x, sr, params, rng) -> (y, applied)``; :mod:`.recipe` parses recipe text and
applies the steps in order.

Training use::

    from msar.dsp.degrade import Sources, degrade, file_rng, parse_recipe

    mix = parse_recipe("mix", Sources(noise_files=noise_paths, speech_files=speech_paths))
    noisy, applied = degrade(clean, sr, mix, np.random.default_rng(step))  # a fresh random recipe

Arrays are float32 ``(n_samples, n_channels)``; every damage keeps the length and the channel
count, keeps the damaged signal sample-aligned with the clean one, and returns finite samples.
"""

from .recipe import (DAMAGES, PRESETS, Choice, Range, Recipe, Sources, Step, degrade, describe,
                     file_rng, flatten, parse_recipe)

__all__ = ["DAMAGES", "PRESETS", "Choice", "Range", "Recipe", "Sources", "Step", "degrade", "describe",
           "file_rng", "flatten", "parse_recipe"]

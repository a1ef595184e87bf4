"""The neural repair stage: a causal STFT-domain mask estimator (PyTorch), its named variants,
training on the fly from the corpus with ``msar.dsp.degrade``, and ONNX export (``train/export.py``).

    python -m train.repair.train --variant multispeaker-repair --resume
"""

"""Signal processing and analysis library of msar (imported as ``msar.dsp``).

Pure numpy/scipy/pyworld/pyloudnorm: no Click, no onnxruntime, no torch.
"""

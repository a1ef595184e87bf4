"""The ``msar`` command-line interface (imported as ``msar.cli``): Click commands only."""

"""The one exception type for problems the user caused (bad file, bad option value)."""


class MsarError(Exception):
    """A user-facing problem, with a one-line message naming the file and the reason.

    Library code raises it; only ``msar.cli`` turns it into an exit code and a message.
    """

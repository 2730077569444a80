"""The one exception type for errors a user can cause (bad files, names, flags or parameters).

The CLI turns a :class:`SocEmuError` into a one-line message and exit code 2. Anything else is a bug and
stays a traceback.
"""

from __future__ import annotations


class SocEmuError(Exception):
    """A user-caused error. The message names the file, field or flag at fault.

    Parameters
    ----------
    message:
        What is wrong and, where it helps, what is accepted instead.
    source:
        The file, field or flag the error is about (``"platform.toml: pe[3].capacity"``, ``"--rate"``).
        When given, the message is prefixed with it.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        self.source = source
        self.detail = message
        super().__init__(f"{source}: {message}" if source else message)

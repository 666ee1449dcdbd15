"""The one exception type for user mistakes.

Everything a user can get wrong (a missing file, a NaN pixel, an unknown model name, a bad config key) raises
:class:`AtomgraphInputError` with a one-line message that names the input and what is wrong. The CLI turns it into
that line on stderr and exit code 2; anything else is an internal error (exit code 1).
"""

from __future__ import annotations


class AtomgraphInputError(ValueError):
    """Bad input or usage: the message is one line, meant for the user.

    Parameters
    ----------
    message : str
        What is wrong; whitespace and line breaks are folded into one line.
    source : str, optional
        The input it is about (a file name), put in front of the message.
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        message = " ".join(str(message).split())  # keep it to one line
        if source:
            message = f"{source}: {message}"
        super().__init__(message)


def short_error(exc: BaseException) -> str:
    """An exception as one line of at most 160 characters (for messages that quote a library's error)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."

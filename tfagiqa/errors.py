"""Exceptions that carry a message meant for the user, printed by the CLI without a traceback."""


class TfagiqaError(Exception):
    """Base class: anything raised with this type is a user-facing, explained failure."""


class DataError(TfagiqaError):
    """A dataset folder, label file or image is missing, unreadable or malformed."""


class WeightsError(TfagiqaError):
    """Pretrained weights were asked for but cannot be found or loaded."""


class DataWarning(UserWarning):
    """A user's file was read, but not as written (e.g. a label file decoded as cp1252, not UTF-8).

    The CLI prints it as one ``tfagiqa: warning:`` line; in Python it is an ordinary warning.
    """

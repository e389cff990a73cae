"""The project's own error types: each message says what went wrong and what to do about it."""


class SiameseError(Exception):
    """Base class: every error this library raises on purpose is one of these."""


class ConfigError(SiameseError, ValueError):
    """A configuration value is invalid; the message names the field."""


class DatasetError(SiameseError):
    """A dataset cannot be used as given (missing, too small, unreadable)."""


class ImageError(DatasetError):
    """One image cannot be decoded, or should not be (corrupt, truncated, too large)."""


class ModelError(SiameseError):
    """A model cannot be built or loaded."""


class GalleryError(SiameseError):
    """The gallery of enrolled identities cannot do what was asked."""


class RunError(SiameseError):
    """A run folder is missing, incomplete or cannot be written."""


def describe(exc: BaseException) -> str:
    """An error as one line for people: our own errors as they are, an OSError as its reason and file
    ('Read-only file system: runs/.launches') rather than '[Errno 30] ...'."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc)


class SearchError(SiameseError):
    """A hyperparameter search cannot be set up or joined as given (its space, storage or study)."""

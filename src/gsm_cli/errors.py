"""Error types shared by services and commands, each carrying its exit code.

Services raise these; the one error boundary in ``gsm_cli.app`` turns them into a one-line
message on stderr and the exit status documented in docs/exit-codes.md.
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_FOUND = 3
    INVALID_INPUT = 4
    CONFLICT = 5
    NOT_ALLOWED = 6
    CLOUD_UNREACHABLE = 7
    VERIFICATION_FAILED = 8
    INTERRUPTED = 130


class GsmError(Exception):
    """Base of every error gsm expects; carries a machine code, a message and a hint."""

    exit_code: ExitCode = ExitCode.UNEXPECTED
    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        data = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        return data


class NotFoundError(GsmError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class InvalidInputError(GsmError):
    exit_code = ExitCode.INVALID_INPUT
    code = "invalid_input"


class ConflictError(GsmError):
    """The request conflicts with the current state (already exists, running, newer store...)."""

    exit_code = ExitCode.CONFLICT
    code = "conflict"


class NotAllowedError(GsmError):
    exit_code = ExitCode.NOT_ALLOWED
    code = "not_allowed"


class CloudUnreachableError(GsmError):
    exit_code = ExitCode.CLOUD_UNREACHABLE
    code = "cloud_unreachable"


class VerificationError(GsmError):
    exit_code = ExitCode.VERIFICATION_FAILED
    code = "verification_failed"


class StoreError(InvalidInputError):
    """The local store file cannot be used (not SQLite, corrupt, cannot be read)."""

    code = "store_unusable"


class StoreReadOnlyError(InvalidInputError):
    """The store can be read but not written (its file or folder is not writable)."""

    code = "store_read_only"


class HomeUnusableError(InvalidInputError):
    """gsm cannot make or use one of its own folders (GSM_HOME is a file, its parent is
    read-only, a folder gsm needs cannot be created)."""

    code = "home_unusable"


class ConfirmationRequired(GsmError):
    """A destructive step needs a yes, and there is nobody to ask (not a terminal, or CI)."""

    exit_code = ExitCode.USAGE
    code = "confirmation_required"


class SteamCmdError(GsmError):
    """SteamCMD ran but could not install or update a game's files (exit 1)."""

    code = "steamcmd_failed"

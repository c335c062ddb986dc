"""Two families of errors: `UserFacingError` carries a message safe to show; anything else is
internal, logged with a reference and never shown."""

from __future__ import annotations


class UserFacingError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class BadRequest(UserFacingError):
    pass


class Unauthorized(UserFacingError):
    status = 401
    code = "unauthorized"


class Forbidden(UserFacingError):
    status = 403
    code = "forbidden"


class NotFound(UserFacingError):
    status = 404
    code = "not_found"


class Conflict(UserFacingError):
    status = 409
    code = "conflict"


class PayloadTooLarge(UserFacingError):
    status = 413
    code = "payload_too_large"


class QuotaExceeded(UserFacingError):
    status = 429
    code = "quota_exceeded"


class TooManyRequests(UserFacingError):
    status = 429
    code = "rate_limited"

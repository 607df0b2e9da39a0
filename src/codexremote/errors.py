"""Domain errors that carry their HTTP status.

Hierarchy (one class per status; the transport renders every one of them as
``{"error": <message>, "code": <code>}``)::

    CodexRemoteError            500 internal (never shown with details)
    ├── BadRequest              400 bad_request
    ├── Unauthorized            401 unauthorized
    ├── Forbidden               403 forbidden
    ├── NotFound                404 not_found
    ├── Conflict                409 conflict
    ├── Gone                    410 gone
    ├── PayloadTooLarge         413 payload_too_large
    ├── UnsupportedMediaType    415 unsupported_media_type
    ├── Unprocessable           422 unprocessable
    ├── TooManyRequests         429 rate_limited (carries retry_after seconds)
    ├── BadGateway              502 app_server_error
    ├── ServiceUnavailable      503 unavailable
    └── GatewayTimeout          504 upstream_timeout

Domain code raises these and knows nothing of HTTP; ``api/errors.py`` is the
single place that turns them into responses. ``message`` is shown verbatim by the
original iOS app, so it must be human-readable and must never hold a secret.
"""

from __future__ import annotations


class CodexRemoteError(Exception):
    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(CodexRemoteError):
    status = 400
    code = "bad_request"


class Unauthorized(CodexRemoteError):
    status = 401
    code = "unauthorized"


class Forbidden(CodexRemoteError):
    status = 403
    code = "forbidden"


class NotFound(CodexRemoteError):
    status = 404
    code = "not_found"


class Conflict(CodexRemoteError):
    status = 409
    code = "conflict"


class Gone(CodexRemoteError):
    status = 410
    code = "gone"


class PayloadTooLarge(CodexRemoteError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(CodexRemoteError):
    status = 415
    code = "unsupported_media_type"


class Unprocessable(CodexRemoteError):
    status = 422
    code = "unprocessable"


class TooManyRequests(CodexRemoteError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class BadGateway(CodexRemoteError):
    status = 502
    code = "app_server_error"


class ServiceUnavailable(CodexRemoteError):
    status = 503
    code = "unavailable"


class GatewayTimeout(CodexRemoteError):
    status = 504
    code = "upstream_timeout"

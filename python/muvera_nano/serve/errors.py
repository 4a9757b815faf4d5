"""The one error type handlers raise, and the JSON body every error response has:
{"error": {"code": ..., "message": ..., "field": ...}} (field only when one argument is at fault)."""

from __future__ import annotations


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    def body(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.field is not None:
            error["field"] = self.field
        return {"error": error}


def invalid(field: str, message: str) -> ApiError:
    """A request argument with a wrong type or value (400, naming the argument)."""
    return ApiError(400, "invalid_argument", f"{field}: {message}", field=field)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "the request argument at fault"},
            },
        }
    },
}

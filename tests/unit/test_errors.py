"""The error catalogue and the error body of API.md."""
from __future__ import annotations

import pytest

from shared.errors import CATALOGUE, ApiError, error_body


def test_every_code_has_both_languages_and_an_http_status():
    for code, spec in CATALOGUE.items():
        assert code.isupper() and " " not in code
        assert spec.message_ru and spec.message_kk and spec.message_ru != spec.message_kk
        assert 400 <= spec.status < 600


def test_body_shape_and_step():
    body = ApiError("ECP_IIN_MISMATCH", step="process 4").body("t-1")
    assert body == {"error": {"code": "ECP_IIN_MISMATCH", "message_ru": CATALOGUE["ECP_IIN_MISMATCH"].message_ru,
                              "message_kk": CATALOGUE["ECP_IIN_MISMATCH"].message_kk, "step": "process 4",
                              "trace_id": "t-1"}}
    assert error_body("AUTH_FAILED")["error"]["step"] == "process 2"  # the catalogue's default step


def test_unknown_code_is_a_programming_error():
    with pytest.raises(KeyError):
        ApiError("NO_SUCH_CODE")


def test_no_code_is_declared_twice():
    # a second entry with the same code silently replaces the first (Python keeps the last key)
    import ast
    import inspect

    import shared.errors as errors

    for node in ast.walk(ast.parse(inspect.getsource(errors))):
        if isinstance(node, ast.Dict) and len(node.keys) > 50:
            codes = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert len(codes) == len(set(codes)), sorted({c for c in codes if codes.count(c) > 1})


class _PgError(Exception):
    """What SQLAlchemy's asyncpg adapter raises: the server's SQLSTATE on ``sqlstate``."""

    def __init__(self, message: str, sqlstate: str | None):
        super().__init__(message)
        self.sqlstate = sqlstate


@pytest.mark.parametrize("message, sqlstate, outage", [
    ("the database system is shutting down", "57P03", True),
    ("the database system is starting up", "57P03", True),
    ("terminating connection due to administrator command", "57P01", True),
    ("sorry, too many clients already", "53300", True),
    ("server closed the connection unexpectedly", "08006", True),
    ('duplicate key value violates unique constraint "requests_pkey"', "23505", False),
    ('relation "requests" does not exist', "42P01", False),
])
def test_a_database_that_cannot_serve_now_is_an_outage_not_a_server_error(message, sqlstate, outage):
    from sqlalchemy.exc import DBAPIError

    from shared.db import is_outage

    exc = DBAPIError("SELECT 1", {}, _PgError(message, sqlstate))
    assert is_outage(exc) is outage

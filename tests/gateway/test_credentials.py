"""Credentials are read from every place Google reads them."""

import pytest

from livesvc._server import Headers
from livesvc.gateway import extract_credential, is_token


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ([(b"x-goog-api-key", b"k1")], {}, "k1"),
        ([], {"key": "k2"}, "k2"),
        ([], {"access_token": "auth_tokens/t"}, "auth_tokens/t"),
        ([(b"Authorization", b"Bearer b1")], {}, "b1"),
        # The SDK holding a token sends it in both headers; either way it is the token.
        (
            [(b"authorization", b"Token auth_tokens/t"), (b"x-goog-api-key", b"auth_tokens/t")],
            {},
            "auth_tokens/t",
        ),
        ([(b"authorization", b"Basic abc")], {}, None),
        ([(b"x-goog-api-key", b"  ")], {}, None),
        ([], {}, None),
    ],
)
def test_extract_credential(headers, query, expected):
    assert extract_credential(Headers(headers), query) == expected


def test_tokens_are_recognised_in_both_spellings():
    assert is_token("auth_tokens/x")
    assert is_token("authTokens/x")
    assert not is_token("lsk_abc")

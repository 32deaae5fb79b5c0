"""Dial targets: the URL and headers each kind of credential produces."""

from __future__ import annotations

import pytest

from livesvc.auth import (
    ApiKey,
    Backend,
    EphemeralToken,
    LiveEndpoint,
    build_endpoint,
    live_url,
    rest_base,
    ws_base,
)


@pytest.mark.parametrize(
    ("base", "ws", "rest"),
    [
        ("http://127.0.0.1:9000", "ws://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("https://h.example/", "wss://h.example", "https://h.example"),
        ("ws://127.0.0.1:9000/", "ws://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("wss://[::1]:8443/prefix/", "wss://[::1]:8443/prefix", "https://[::1]:8443/prefix"),
    ],
)
def test_base_url_scheme_mapping(base: str, ws: str, rest: str) -> None:
    """http maps to ws, https to wss, and back; trailing slashes go (no '//ws/' paths)."""
    assert ws_base(base) == ws
    assert rest_base(base) == rest


@pytest.mark.parametrize("bad", ["127.0.0.1:9000", "ftp://h", "http://"])
def test_bad_base_url_is_rejected(bad: str) -> None:
    """A base URL without a usable scheme or host fails with a message naming it."""
    with pytest.raises(ValueError, match="base_url"):
        ws_base(bad)


def test_vertex_global_and_regional_hosts() -> None:
    """Vertex dials the regional host, or the bare host for location=global."""
    assert live_url(Backend.VERTEX, api_version="v1", location="global").startswith(
        "wss://aiplatform.googleapis.com/ws/google.cloud.aiplatform.v1.LlmBidiService/"
    )
    assert live_url(Backend.VERTEX, api_version="v1beta1", location="us-east5").startswith(
        "wss://us-east5-aiplatform.googleapis.com/ws/google.cloud.aiplatform.v1beta1."
    )


def test_vertex_has_no_constrained_endpoint() -> None:
    """Ephemeral tokens are Gemini-only; asking for them on Vertex is an error."""
    with pytest.raises(ValueError, match="Vertex"):
        live_url(Backend.VERTEX, api_version="v1", constrained=True)


async def test_api_key_goes_in_a_header_never_the_url() -> None:
    """The Gemini key is an x-goog-api-key header; the URL and repr carry no secret."""
    endpoint = await build_endpoint(ApiKey("SECRET-KEY"), base_url="http://127.0.0.1:9000")
    assert endpoint.url == (
        "ws://127.0.0.1:9000/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
    )
    assert endpoint.headers == (("x-goog-api-key", "SECRET-KEY"),)
    assert endpoint.header_bytes() == [(b"x-goog-api-key", b"SECRET-KEY")]
    assert "SECRET" not in repr(endpoint)
    assert "SECRET" not in repr(ApiKey("SECRET-KEY"))


async def test_api_version_override() -> None:
    """A session may ask for v1alpha (affective dialog, proactivity)."""
    endpoint = await build_endpoint(ApiKey("k"), api_version="v1alpha")
    assert ".v1alpha.GenerativeService.BidiGenerateContent" in endpoint.url
    assert endpoint.url.startswith("wss://generativelanguage.googleapis.com/ws/")


async def test_ephemeral_token_dials_the_constrained_endpoint_with_a_token_header() -> None:
    """An ephemeral token uses BidiGenerateContentConstrained on v1alpha with 'Authorization: Token'."""
    endpoint = await build_endpoint(
        EphemeralToken("auth_tokens/abc"), base_url="http://127.0.0.1:1"
    )
    assert endpoint.url.endswith(".v1alpha.GenerativeService.BidiGenerateContentConstrained")
    assert endpoint.headers == (("authorization", "Token auth_tokens/abc"),)


async def test_ephemeral_token_in_query_is_redacted_in_repr() -> None:
    """Browser-style ?access_token= works, and the token never shows in repr or redacted_url."""
    endpoint = await build_endpoint(EphemeralToken("auth_tokens/abc", in_query=True))
    assert endpoint.url.endswith("BidiGenerateContentConstrained?access_token=auth_tokens%2Fabc")
    assert endpoint.headers == ()
    assert "abc" not in endpoint.redacted_url
    assert "abc" not in repr(endpoint)


def test_model_names_per_backend() -> None:
    """Gemini wants models/x; a Vertex express key wants publishers/google/models/x."""
    assert ApiKey("k").model_name("gemini-x") == "models/gemini-x"
    assert (
        ApiKey("k", backend=Backend.VERTEX).model_name("gemini-x")
        == "publishers/google/models/gemini-x"
    )


def test_empty_key_is_rejected() -> None:
    """An empty key fails at once instead of at the server."""
    with pytest.raises(ValueError, match="empty"):
        ApiKey("  ")


def test_api_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """GEMINI_API_KEY wins over GOOGLE_API_KEY; no variable means no key."""
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    assert ApiKey.from_env() is None
    monkeypatch.setenv("GOOGLE_API_KEY", "g")
    monkeypatch.setenv("GEMINI_API_KEY", "m")
    key = ApiKey.from_env()
    assert key is not None
    assert key.reveal() == "m"


def test_live_endpoint_repr_lists_header_names_only() -> None:
    """Debug output names the headers without their values."""
    endpoint = LiveEndpoint(url="wss://h/ws?key=zzz", headers=(("authorization", "Bearer zzz"),))
    assert (
        repr(endpoint) == "LiveEndpoint(url='wss://h/ws?key=<redacted>', headers=[authorization])"
    )

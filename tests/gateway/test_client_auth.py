"""Client authentication: hashed keys, and tokens whose uses are spent by new sessions only."""

import pytest

from livesvc.config import hash_key, parse_config
from livesvc.gateway import AuthRejected, AuthTokenRequest, ClientAuth, TokenMinter
from livesvc.store import Store

CONFIG = parse_config(
    f"""
[admin]
token_env = "T"
[gateway.limits]
sessions_per_key = 4
[[gateway.keys]]
name = "web"
hash = "{hash_key("web-key")}"
[[gateway.keys]]
name = "phone"
hash = "{hash_key("phone-key")}"
profile = "voice"
max_sessions = 2
[profiles.default]
model = "m"
[profiles.voice]
model = "m"
"""
)
NOW = 1_000_000.0


async def test_keys_map_to_their_profile_and_limits(store: Store):
    auth = ClientAuth(CONFIG.gateway, store)
    web = await auth.check("web-key", now=NOW)
    phone = await auth.check("phone-key", now=NOW)
    assert (web.id, web.profile, web.max_sessions) == ("key:web", "default", 4)
    assert (phone.id, phone.profile, phone.max_sessions) == ("key:phone", "voice", 2)
    assert await auth.admit_new_session(web, "web-key", now=NOW) == web


@pytest.mark.parametrize(
    ("credential", "reason"),
    [
        (None, "Method doesn't allow unregistered callers"),
        ("", "Method doesn't allow unregistered callers"),
        ("web-key ", "API key not valid. Please pass a valid API key."),
        ("auth_tokens/unknown", "Token not valid."),
    ],
)
async def test_bad_credentials_are_rejected_without_echoing_them(store: Store, credential, reason):
    auth = ClientAuth(CONFIG.gateway, store)
    with pytest.raises(AuthRejected) as info:
        await auth.check(credential, now=NOW)
    assert info.value.reason.startswith(reason)
    if credential:
        assert credential.strip() not in info.value.reason


async def test_token_uses_are_spent_by_new_sessions_not_by_checks(store: Store):
    minted = await TokenMinter(CONFIG, store).mint(
        AuthTokenRequest(uses=1, profile="voice"), now=NOW
    )
    auth = ClientAuth(CONFIG.gateway, store)
    principal = await auth.check(minted.name, now=NOW + 1)
    assert (principal.kind, principal.profile) == ("token", "voice")
    assert principal.id == f"token:{minted.token_id}"
    admitted = await auth.admit_new_session(principal, minted.name, now=NOW + 1)
    assert admitted.token is not None
    assert admitted.token.uses_left == 0
    # A resume only checks the token, so it still works; a second new session does not.
    assert (await auth.check(minted.name, now=NOW + 2)).id == principal.id
    with pytest.raises(AuthRejected, match="no uses left"):
        await auth.admit_new_session(principal, minted.name, now=NOW + 2)


async def test_expired_token_is_refused_even_for_resumes(store: Store):
    minted = await TokenMinter(CONFIG, store).mint(
        AuthTokenRequest(uses=0, expire_time="1970-01-12T14:00:00Z"), now=NOW
    )
    auth = ClientAuth(CONFIG.gateway, store)
    await auth.check(minted.name, now=NOW)
    with pytest.raises(AuthRejected, match="Token expired"):
        await auth.check(minted.name, now=NOW + 3 * 3600)

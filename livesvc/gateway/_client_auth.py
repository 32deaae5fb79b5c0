"""Who a client is: a configured key (hash, constant-time) or a daemon-minted token.

A key is checked against every configured hash with :func:`hmac.compare_digest`
(all of them, so the time taken does not say which one matched). A token is
looked up by digest in the store; opening a *new* session spends one of its
uses atomically, resuming does not (as with Google's ephemeral tokens). A token
a client key minted lives only as long as that key is configured with the same
profile: removing the key (or moving it to another profile) revokes its tokens.
"""

from __future__ import annotations

import hmac
from typing import Literal

import msgspec

from livesvc.config import ClientKey, GatewayConfig, hash_key
from livesvc.gateway._credentials import is_token
from livesvc.store import Store, TokenRecord

__all__ = ["AuthRejected", "ClientAuth", "Principal"]

# Close reasons, worded as Google words them where Google has a wording.
MISSING = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
BAD_KEY = "API key not valid. Please pass a valid API key."
BAD_TOKEN = "Token not valid."
TOKEN_EXPIRED = "Token expired."
TOKEN_SPENT = "Token cannot open new sessions: no uses left or past newSessionExpireTime."


class AuthRejected(Exception):
    """The client may not connect; ``reason`` is safe to send back (never the credential)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated client: the key or token it used, and what that allows."""

    kind: Literal["key", "token"]
    name: str  # the key's name, or the token's public id
    profile: str
    max_sessions: int
    token: TokenRecord | None = None

    @property
    def id(self) -> str:
        """``key:<name>`` or ``token:<id>``: what session records and limits are keyed by."""
        return f"{self.kind}:{self.name}"


class ClientAuth:
    """Authenticates gateway clients against one config's keys and the store's tokens.

    Example::

        auth = ClientAuth(config.gateway, store)
        principal = await auth.check(credential, now=time.time())
        principal = await auth.admit_new_session(principal, credential, now=time.time())
    """

    def __init__(self, gateway: GatewayConfig, store: Store) -> None:
        self._keys = tuple(gateway.keys)
        self._by_name = {key.name: key for key in self._keys}
        self._default_profile = gateway.default_profile
        self._sessions_per_key = gateway.limits.sessions_per_key
        self._store = store

    def find_key(self, credential: str) -> ClientKey | None:
        """The configured key ``credential`` is (every hash compared, in constant time)."""
        presented = hash_key(credential).encode()
        found = None
        for key in self._keys:
            if hmac.compare_digest(presented, key.hash.encode()) and found is None:
                found = key
        return found

    def _match_key(self, credential: str) -> Principal | None:
        found = self.find_key(credential)
        if found is None:
            return None
        return Principal(
            kind="key",
            name=found.name,
            profile=found.profile or self._default_profile,
            max_sessions=found.max_sessions or self._sessions_per_key,
        )

    async def check(self, credential: str | None, *, now: float) -> Principal:
        """Who presents ``credential``; a token must exist and not be past its ``expireTime``.

        Raises:
            AuthRejected: no credential, an unknown key, or an unknown or expired token.
        """
        if not credential:
            raise AuthRejected(MISSING)
        if not is_token(credential):
            principal = self._match_key(credential)
            if principal is None:
                raise AuthRejected(BAD_KEY)
            return principal
        record = await self._store.get_token(credential)
        if record is None:
            raise AuthRejected(BAD_TOKEN)
        if record.expire_time <= now:
            raise AuthRejected(TOKEN_EXPIRED)
        if not self._minter_still_allows(record):
            raise AuthRejected(BAD_TOKEN)
        return self._token_principal(record)

    def _minter_still_allows(self, record: TokenRecord) -> bool:
        kind, _, name = record.principal.partition(":")
        if kind != "key":
            return True  # minted by the operator (admin API)
        key = self._by_name.get(name)
        return key is not None and (key.profile or self._default_profile) == record.profile

    async def admit_new_session(
        self, principal: Principal, credential: str, *, now: float
    ) -> Principal:
        """Allow ``principal`` to open a new session; for a token this spends one use.

        Raises:
            AuthRejected: the token has no uses left or is past ``newSessionExpireTime``.
        """
        if principal.kind == "key":
            return principal
        record = await self._store.use_token(credential, now=now)
        if record is None:
            raise AuthRejected(TOKEN_SPENT)
        return self._token_principal(record)

    def _token_principal(self, record: TokenRecord) -> Principal:
        return Principal(
            kind="token",
            name=record.token_id,
            profile=record.profile,
            max_sessions=self._sessions_per_key,
            token=record,
        )

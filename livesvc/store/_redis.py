"""The store contract on Redis: what a fleet of ``livesvc serve`` nodes shares.

:class:`RedisStore` has the same methods, arguments and guarantees as the SQLite
:class:`~livesvc.store.Store` (one contract suite runs against both), with two
differences a fleet needs:

- expiry is Redis's own: a closed session, a session whose handle expired and a
  token past its ``expire_time`` carry a TTL and disappear by themselves;
  :meth:`RedisStore.purge` only sweeps the indexes;
- every write that must be atomic across nodes (a conditional record write, a
  claim, spending a token's use) is one Lua script, so of two nodes racing for a
  session exactly one wins and a token with ``uses = 1`` opens one session.

Keys (all under a prefix, ``livesvc:`` by default):

===================  ======================================================
``s:{id}``           hash: one JSON value per :class:`SessionRecord` field, plus ``_epoch``
``sessions``         sorted set of session ids by ``created_at`` (listing)
``o:{owner}``        set of the session ids an owner holds
``h:{digest}``       string: the session id a daemon handle names
``hs:{id}``          set of the handle digests of a session (they share its TTL)
``t:{digest}``       hash: one JSON value per :class:`TokenRecord` field
``tokens``           sorted set of token digests by ``created_at``
``tid:{token_id}``   string: the digest of a token id (ids are unique)
===================  ======================================================

The connection lives in an actor, :class:`RedisStoreServer`, which the service
supervises; :class:`RedisStore` waits for it (within its timeout) and fails with
:class:`~livesvc.store.StoreError` while Redis is unreachable.

Example::

    store = RedisStore(timeout=5.0)
    await nursery.start(RedisStoreServer(store, url="redis://127.0.0.1:6379/0").run)
    await store.put_session(record)
"""

from __future__ import annotations

import datetime
import math
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import msgspec
import trio

from livesvc.logs import get_logger
from livesvc.store._records import RecordStatus, SessionRecord, TokenRecord, digest
from livesvc.store._store import Store, StoreError, StoreTimeout
from livesvc.store._usage import UsageRow

__all__ = ["Fence", "RedisStore", "RedisStoreServer", "StoreFenced"]

log = get_logger(__name__)

T = TypeVar("T")

_SESSION_FIELDS = tuple(SessionRecord.__struct_fields__)
_TOKEN_FIELDS = tuple(TokenRecord.__struct_fields__)
_IMMUTABLE = frozenset({"session_id", "created_at", "owner"})
_UPDATABLE = frozenset(_SESSION_FIELDS) - _IMMUTABLE
_LIST_PAGE = 200
_FENCED_SCRIPTS = frozenset({"upsert", "update", "claim", "add_handle"})


class StoreFenced(StoreError):
    """A fleet node's write was refused: its lease is gone (it must not serve any more)."""


class Fence(msgspec.Struct, frozen=True, kw_only=True):
    """What a fleet node's writes carry: its lease key, its lease token, a local check.

    ``valid`` answers from the node's own clock (a paused process that wakes
    after its lease ran out refuses before sending anything); Redis checks the
    key and token atomically with each write (nothing late slips through).
    """

    key: str
    token: str
    valid: Callable[[], bool]


# Fencing (docs/fleet.md): every write of a fleet node carries its lease key (last
# KEY) and its lease token (last ARGV); the write applies only while that token
# still holds the lease, checked atomically with the write. '' = no fleet.
_LUA_FENCE = """
local fence_token = table.remove(ARGV)
local fence_key = table.remove(KEYS)
if fence_token ~= '' then
  local lease = redis.call('GET', fence_key)
  if (not lease) or cjson.decode(lease)['token'] ~= fence_token then return -1 end
end
"""

# Sets every hash field given as pairs after ARGV[n]; shared by the scripts below.
_LUA_PAIRS = """
local function hset_pairs(key, first, skip)
  for i = first, #ARGV, 2 do
    if not (skip and skip[ARGV[i]]) then
      redis.call('HSET', key, ARGV[i], ARGV[i + 1])
    end
  end
end
local function expire_all(key, handles, ttl)
  local keys = redis.call('SMEMBERS', handles)
  table.insert(keys, key)
  table.insert(keys, handles)
  for _, k in ipairs(keys) do
    if ttl == '' then redis.call('PERSIST', k) else redis.call('EXPIRE', k, ttl) end
  end
end
"""

# KEYS: session, sessions index, owner set, handle set
# ARGV: owner (JSON), session id, created_at, ttl ('' = none), then field/value pairs.
# A write to an existing session applies only while the writer still owns it (fencing).
_UPSERT = (
    _LUA_FENCE
    + _LUA_PAIRS
    + """
local skip = {session_id = true, created_at = true, owner = true}
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
  hset_pairs(KEYS[1], 5, skip)
else
  hset_pairs(KEYS[1], 5, nil)
  redis.call('HSET', KEYS[1], '_epoch', 0)
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
  redis.call('SADD', KEYS[3], ARGV[2])
end
expire_all(KEYS[1], KEYS[4], ARGV[4])
return 1
"""
)

# KEYS: session, handle set. ARGV: ttl, then field/value pairs. Returns 0 if there is no session.
_UPDATE = (
    _LUA_FENCE
    + _LUA_PAIRS
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
hset_pairs(KEYS[1], 2, nil)
expire_all(KEYS[1], KEYS[2], ARGV[1])
return 1
"""
)

# KEYS: session, new owner set, old owner set. ARGV: new owner (JSON), expected owner (JSON), id.
_CLAIM = (
    _LUA_FENCE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[1], 'status') == '"closed"' then return 0 end
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1])
redis.call('HINCRBY', KEYS[1], '_epoch', 1)
redis.call('SREM', KEYS[3], ARGV[3])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
"""
)

# KEYS: (usage hash, day index) per row. ARGV: (metric, amount, index member) per row.
# One script per flush: the batch is written whole or not at all, so the recorder's
# retry after a dropped connection never adds part of it twice.
_ADD_USAGE = """
for i = 1, #KEYS, 2 do
  local j = (i - 1) / 2 * 3
  redis.call('HINCRBYFLOAT', KEYS[i], ARGV[j + 1], ARGV[j + 2])
  redis.call('SADD', KEYS[i + 1], ARGV[j + 3])
end
return #KEYS / 2
"""

# KEYS: handle, session, handle set. ARGV: session id, digest.
_ADD_HANDLE = (
    _LUA_FENCE
    + """
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
local ttl = redis.call('TTL', KEYS[2])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
return 1
"""
)

# Active sessions become detached, from a listing of ids (an owner's set, or every
# session). KEYS: the listing. ARGV: key prefix, updated_at (JSON).
_DETACH = """
local n = 0
for _, id in ipairs(redis.call({listing}, KEYS[1]{whole})) do
  local key = ARGV[1] .. 's:' .. id
  if redis.call('HGET', key, 'status') == '"active"' then
    redis.call('HSET', key, 'status', '"detached"', 'updated_at', ARGV[2])
    n = n + 1
  end
end
return n
"""
_DETACH_OWNED = _DETACH.format(listing="'SMEMBERS'", whole="")
_DETACH_ALL = _DETACH.format(listing="'ZRANGE'", whole=", 0, -1")

# KEYS: token. ARGV: now. Spends one use atomically; returns the token's fields, or nil.
_USE_TOKEN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local now = tonumber(ARGV[1])
if tonumber(redis.call('HGET', KEYS[1], 'expire_time')) <= now then return nil end
if tonumber(redis.call('HGET', KEYS[1], 'new_session_expire_time')) <= now then return nil end
local left = redis.call('HGET', KEYS[1], 'uses_left')
if left ~= 'null' then
  if tonumber(left) <= 0 then return nil end
  redis.call('HSET', KEYS[1], 'uses_left', tostring(tonumber(left) - 1))
end
return redis.call('HGETALL', KEYS[1])
"""

# KEYS: token, tokens index, token id. ARGV: digest, created_at, ttl, then field/value pairs.
_ADD_TOKEN = (
    _LUA_PAIRS
    + """
if redis.call('SET', KEYS[3], ARGV[1], 'NX') == false then return 0 end
hset_pairs(KEYS[1], 4, nil)
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return 1
"""
)

_encode = msgspec.json.encode


def _pairs(values: dict[str, Any]) -> list[bytes | str]:
    out: list[bytes | str] = []
    for name, value in values.items():
        out.append(name)
        out.append(_encode(value))
    return out


def _decode(fields: dict[Any, Any], kind: type[T], names: Sequence[str]) -> T:
    """Rebuild a record from its hash: the fields are JSON values, joined into one object."""
    text = {_text(k): v for k, v in fields.items()}
    body = b",".join(_encode(name) + b":" + _bytes(text[name]) for name in names if name in text)
    return msgspec.json.decode(b"{" + body + b"}", type=kind)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _session_ttl(record: SessionRecord, keep_closed_seconds: float) -> str:
    """Seconds the record lives from its last write ('' = until written again).

    Mirrors the SQLite purge: a closed session, or one whose handle expired, is
    kept for ``keep_closed_seconds`` after its last update.
    """
    if record.status == "closed":
        expires = record.updated_at + keep_closed_seconds
    elif record.handle_expires_at is not None:
        expires = max(record.updated_at + keep_closed_seconds, record.handle_expires_at)
    else:
        return ""
    return str(max(1, math.ceil(expires - record.updated_at)))


class RedisStore(Store):
    """The store contract on Redis (see the module docstring for the keys).

    A :class:`Store` in every method, so the daemon and the gateway take either.

    Handles and tokens are passed in plain and stored only as SHA-256 digests.
    Times are Unix wall-clock seconds, passed in by the caller; TTLs are derived
    from them relative to the record's own times, so the nodes' and Redis's
    clocks need not agree.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        prefix: str = "livesvc:",
        keep_closed_seconds: float = 7 * 24 * 3600.0,
        node: str | None = None,
    ) -> None:
        # No mailbox: the client is async and shared; its actor only holds the connection.
        self._timeout = timeout
        self._prefix = prefix
        self._keep = keep_closed_seconds
        self._client: Any = None
        self._connected = trio.Event()
        self._scripts: dict[str, Any] = {}
        # A fleet node's handles name it (``lsh.<node>.<random>``): HAProxy routes on it.
        self._handle_prefix = "lsh_" if node is None else f"lsh.{node}."
        self._fence: Fence | None = None

    def fence_with(self, fence: Fence | None) -> None:
        """Make every write conditional on this node's lease (a fleet node, once it holds it)."""
        self._fence = fence

    def new_handle(self) -> str:
        """A fresh daemon handle: ``lsh_<random>``, or ``lsh.<node>.<random>`` on a fleet node."""
        return self._handle_prefix + secrets.token_urlsafe(32)

    # -- connection (set by RedisStoreServer) ------------------------------------

    def _attach(self, client: Any) -> None:
        self._client = client
        self._scripts = {
            name: client.register_script(source)
            for name, source in (
                ("upsert", _UPSERT),
                ("update", _UPDATE),
                ("claim", _CLAIM),
                ("add_handle", _ADD_HANDLE),
                ("detach_owned", _DETACH_OWNED),
                ("detach_all", _DETACH_ALL),
                ("use_token", _USE_TOKEN),
                ("add_token", _ADD_TOKEN),
                ("add_usage", _ADD_USAGE),
            )
        }
        self._connected.set()

    def _detach(self) -> None:
        self._client = None
        self._connected = trio.Event()

    async def _redis_call(self, name: str, operation: Callable[[Any], Awaitable[T]]) -> T:
        try:
            with trio.fail_after(self._timeout):
                await self._connected.wait()
                return await operation(self._client)
        except trio.TooSlowError:
            log.warning("store.timeout", operation=name, timeout=self._timeout)
            raise StoreTimeout(f"store: {name} took longer than {self._timeout}s") from None
        except (OSError, _redis_errors()) as err:
            log.error("store.failed", operation=name, error=type(err).__name__)
            raise StoreError(f"store: {name} failed: {type(err).__name__}") from err

    def _key(self, *parts: str) -> str:
        return self._prefix + "".join(parts)

    async def _script(self, client: Any, name: str, keys: list[str], args: list[Any]) -> Any:
        del client
        if name in _FENCED_SCRIPTS:
            fence = self._fence
            if fence is not None and not fence.valid():
                raise StoreFenced("store: this node's lease is gone; the write was not sent")
            keys = [*keys, fence.key if fence is not None else self._key("nofence")]
            args = [*args, fence.token if fence is not None else ""]
        result = await self._scripts[name](keys=keys, args=args)
        if result == -1:
            log.error("store.write_fenced", operation=name)
            raise StoreFenced("store: this node's lease is gone; the write was refused")
        return result

    # -- sessions -----------------------------------------------------------------

    async def put_session(self, record: SessionRecord) -> None:
        """Insert or replace the record (ignored if another owner holds the session)."""
        await self._redis_call("put_session", lambda c: self._upsert(c, record))

    async def _upsert(self, client: Any, record: SessionRecord) -> None:
        sid = record.session_id
        await self._script(
            client,
            "upsert",
            [
                self._key("s:", sid),
                self._key("sessions"),
                self._key("o:", _text(_encode(record.owner))),
                self._key("hs:", sid),
            ],
            [
                _encode(record.owner),
                sid,
                repr(record.created_at),
                _session_ttl(record, self._keep),
                *_pairs(msgspec.structs.asdict(record)),
            ],
        )

    async def write_sessions(
        self, records: Sequence[SessionRecord], *, issue_handles_for: Iterable[str] = ()
    ) -> dict[str, str]:
        """Upsert many records and issue one daemon handle per listed session.

        Each record write is atomic on its own (Redis has no multi-key
        transaction across scripts); the handles are added after the records.
        """
        rows = list(records)
        handles = {sid: self.new_handle() for sid in issue_handles_for}

        async def write(client: Any) -> None:
            for row in rows:
                await self._upsert(client, row)
            for sid, handle in handles.items():
                await self._add_handle(client, sid, digest(handle))

        await self._redis_call("write_sessions", write)
        return handles

    async def update_session(self, session_id: str, **changes: Any) -> SessionRecord | None:
        """Change some fields; returns the new record, ``None`` if there is no such session."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {sorted(unknown)}")

        async def update(client: Any) -> SessionRecord | None:
            current = await self._get_session(client, session_id)
            if current is None:
                return None
            if not changes:
                return current
            merged = msgspec.structs.replace(current, **changes)
            done = await self._script(
                client,
                "update",
                [self._key("s:", session_id), self._key("hs:", session_id)],
                [_session_ttl(merged, self._keep), *_pairs(changes)],
            )
            return merged if done else None

        return await self._redis_call("update_session", update)

    async def get_session(self, session_id: str) -> SessionRecord | None:
        return await self._redis_call("get_session", lambda c: self._get_session(c, session_id))

    async def _get_session(self, client: Any, session_id: str) -> SessionRecord | None:
        fields = await client.hgetall(self._key("s:", session_id))
        if not fields:
            return None
        return _decode(fields, SessionRecord, _SESSION_FIELDS)

    async def list_sessions(
        self, statuses: Iterable[RecordStatus] | None = None, *, limit: int = 1000
    ) -> list[SessionRecord]:
        """The newest sessions first, optionally only those in ``statuses``."""
        wanted = None if statuses is None else frozenset(statuses)

        async def scan(client: Any) -> list[SessionRecord]:
            found: list[SessionRecord] = []
            start = 0
            while len(found) < limit:
                ids = await client.zrange(
                    self._key("sessions"), start, start + _LIST_PAGE - 1, rev=True
                )
                if not ids:
                    break
                start += len(ids)
                for sid in ids:
                    record = await self._get_session(client, _text(sid))
                    if record is not None and (wanted is None or record.status in wanted):
                        found.append(record)
                        if len(found) == limit:
                            break
            return found

        return await self._redis_call("list_sessions", scan)

    async def issue_handle(self, session_id: str, *, now: float) -> str:
        """Give the session one more daemon resumption handle (earlier ones keep working)."""
        del now  # the handle lives as long as its session's record
        handle = self.new_handle()
        await self._redis_call(
            "issue_handle", lambda c: self._add_handle(c, session_id, digest(handle))
        )
        return handle

    async def _add_handle(self, client: Any, session_id: str, handle_digest: str) -> None:
        await self._script(
            client,
            "add_handle",
            [
                self._key("h:", handle_digest),
                self._key("s:", session_id),
                self._key("hs:", session_id),
            ],
            [session_id, handle_digest],
        )

    async def find_by_handle(self, handle: str, *, now: float) -> SessionRecord | None:
        """The resumable session a daemon handle names, or ``None`` (unknown, closed or expired)."""

        async def find(client: Any) -> SessionRecord | None:
            sid = await client.get(self._key("h:", digest(handle)))
            if sid is None:
                return None
            record = await self._get_session(client, _text(sid))
            if record is None or record.status == "closed":
                return None
            if record.handle_expires_at is not None and record.handle_expires_at <= now:
                return None
            return record

        return await self._redis_call("find_by_handle", find)

    async def claim_session(
        self, session_id: str, *, owner: str | None, expected: str | None
    ) -> bool:
        """Take a session over from ``expected``; exactly one of several racing claims wins."""
        done = await self._redis_call(
            "claim_session",
            lambda c: self._script(
                c,
                "claim",
                [
                    self._key("s:", session_id),
                    self._key("o:", _text(_encode(owner))),
                    self._key("o:", _text(_encode(expected))),
                ],
                [_encode(owner), _encode(expected), session_id],
            ),
        )
        return bool(done)

    async def detach_owned_by(self, owner: str, *, now: float) -> int:
        """Mark the ``active`` sessions of a gone owner ``detached``; returns how many."""
        count = await self._redis_call(
            "detach_owned_by",
            lambda c: self._script(
                c,
                "detach_owned",
                [self._key("o:", _text(_encode(owner)))],
                [self._prefix, _encode(now)],
            ),
        )
        return int(count)

    async def mark_orphans_detached(self, *, now: float) -> int:
        count = await self._redis_call(
            "mark_orphans_detached",
            lambda c: self._script(
                c, "detach_all", [self._key("sessions")], [self._prefix, _encode(now)]
            ),
        )
        return int(count)

    # -- tokens ---------------------------------------------------------------------

    async def add_token(self, token: str, record: TokenRecord) -> None:
        """Store a minted token; a second token with the same ``token_id`` is refused."""
        token_digest = digest(token)
        ttl = str(max(1, math.ceil(record.expire_time - record.created_at)))
        added = await self._redis_call(
            "add_token",
            lambda c: self._script(
                c,
                "add_token",
                [
                    self._key("t:", token_digest),
                    self._key("tokens"),
                    self._key("tid:", record.token_id),
                ],
                [
                    token_digest,
                    repr(record.created_at),
                    ttl,
                    *_pairs(msgspec.structs.asdict(record)),
                ],
            ),
        )
        if not added:
            raise StoreError("store: add_token failed: the token id is taken")

    async def get_token(self, token: str) -> TokenRecord | None:
        async def get(client: Any) -> TokenRecord | None:
            fields = await client.hgetall(self._key("t:", digest(token)))
            return _decode(fields, TokenRecord, _TOKEN_FIELDS) if fields else None

        return await self._redis_call("get_token", get)

    async def use_token(self, token: str, *, now: float) -> TokenRecord | None:
        """Spend one use of ``token`` for a new session; ``None`` when it is unknown, spent or expired."""
        flat = await self._redis_call(
            "use_token",
            lambda c: self._script(c, "use_token", [self._key("t:", digest(token))], [repr(now)]),
        )
        if not flat:
            return None
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        return _decode(fields, TokenRecord, _TOKEN_FIELDS)

    async def list_tokens(self, *, now: float) -> list[TokenRecord]:
        """Unexpired tokens, newest first."""

        async def scan(client: Any) -> list[TokenRecord]:
            found: list[TokenRecord] = []
            for token_digest in await client.zrange(self._key("tokens"), 0, -1, rev=True):
                fields = await client.hgetall(self._key("t:", _text(token_digest)))
                if fields:
                    record = _decode(fields, TokenRecord, _TOKEN_FIELDS)
                    if record.expire_time > now:
                        found.append(record)
            return found

        return await self._redis_call("list_tokens", scan)

    async def add_usage(self, rows: list[UsageRow]) -> None:
        """Add usage amounts: one hash per (day, key, profile, model), indexed per day."""

        async def add(client: Any) -> None:
            keys: list[str] = []
            args: list[str] = []
            for row in rows:
                fields = "\x1f".join((row.day, row.key, row.profile, row.model))
                keys += [self._key("u:", fields), self._key("ud:", row.day)]
                args += [row.metric, repr(float(row.amount)), fields]
            if keys:
                await self._script(client, "add_usage", keys, args)

        await self._redis_call("add_usage", add)

    async def usage_rows(self, *, key: str | None, since: str, until: str) -> list[UsageRow]:
        """Usage rows from ``since`` to ``until`` (UTC days, inclusive)."""

        async def read(client: Any) -> list[UsageRow]:
            found: list[UsageRow] = []
            for day in _days(since, until):
                for member in sorted(
                    _text(m) for m in await client.smembers(self._key("ud:", day))
                ):
                    row_day, row_key, profile, model = member.split("\x1f")
                    if key is not None and row_key != key:
                        continue
                    amounts = await client.hgetall(self._key("u:", member))
                    for metric, amount in sorted(
                        (_text(k), float(_text(v))) for k, v in amounts.items()
                    ):
                        found.append(
                            UsageRow(
                                day=row_day,
                                key=row_key,
                                profile=profile,
                                model=model,
                                metric=metric,
                                amount=amount,
                            )
                        )
            return found

        return await self._redis_call("usage_rows", read)

    async def purge(self, *, now: float, keep_closed_seconds: float) -> tuple[int, int]:
        """Sweep the indexes of what Redis has expired; returns (tokens, sessions) swept.

        Redis deletes expired records itself (TTLs); a token past its
        ``expire_time`` by the caller's clock is deleted here too.
        """
        del keep_closed_seconds  # the TTL set at each write already applies it

        async def sweep(client: Any) -> tuple[int, int]:
            tokens = 0
            for token_digest in await client.zrange(self._key("tokens"), 0, -1):
                key = self._key("t:", _text(token_digest))
                expire = await client.hget(key, "expire_time")
                if expire is None or float(_text(expire)) <= now:
                    token_id = await client.hget(key, "token_id")
                    await client.delete([key])
                    if token_id is not None:
                        await client.delete([self._key("tid:", msgspec.json.decode(token_id))])
                    await client.zrem(self._key("tokens"), [token_digest])
                    tokens += 1
            sessions = 0
            for sid in await client.zrange(self._key("sessions"), 0, -1):
                if not await client.exists([self._key("s:", _text(sid))]):
                    await client.zrem(self._key("sessions"), [sid])
                    sessions += 1
            return tokens, sessions

        return await self._redis_call("purge", sweep)


def _redis_errors() -> type[Exception]:
    from coredis.exceptions import RedisError

    return RedisError


class RedisStoreServer:
    """The actor that holds the Redis connection for a :class:`RedisStore`.

    It connects, checks the server answers ``PING``, attaches the client to the
    store and serves until cancelled. If the connection fails, it crashes and
    its supervisor restarts it; meanwhile the store's calls fail within their
    timeout.
    """

    def __init__(self, store: RedisStore, *, url: str, timeout: float = 5.0) -> None:
        self._store = store
        self._url = url
        self._timeout = timeout

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        import coredis

        client = coredis.Redis.from_url(
            self._url, connect_timeout=self._timeout, stream_timeout=self._timeout
        )
        try:
            async with client:
                with trio.fail_after(self._timeout):
                    await client.ping()
                self._store._attach(client)
                log.info("store.opened", path=_redacted(self._url))
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._store._detach()


def _redacted(url: str) -> str:
    """The URL without its password (``redis://user:secret@host`` -> ``redis://user:***@host``)."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def _days(since: str, until: str) -> list[str]:
    """UTC days from ``since`` to ``until``, inclusive (at most 400: a bounded scan)."""
    start, end = datetime.date.fromisoformat(since), datetime.date.fromisoformat(until)
    days: list[str] = []
    while start <= end and len(days) < 400:
        days.append(start.isoformat())
        start += datetime.timedelta(days=1)
    return days

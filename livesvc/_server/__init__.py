"""The front door: one TCP port serving the Live WebSocket and REST on one origin.

Used by the emulator and, later, by the daemon's gateway. A WebSocket upgrade goes
to a :data:`WebSocketHandler` with the raw :class:`ConnectionStream` underneath (for
faults); any other request goes to a :data:`RestHandler`, usually
:meth:`Router.dispatch`.

Example::

    async def on_websocket(upgrade: WebSocketUpgrade) -> None:
        ws = await upgrade.accept()
        await ws.send_message(await ws.get_message())

    router = Router()
    router.add("GET", "/healthz", healthz)
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve, on_websocket, router.dispatch)
"""

from livesvc._server._headers import Headers as Headers
from livesvc._server._http import HttpError as HttpError
from livesvc._server._http import HttpRequest as HttpRequest
from livesvc._server._http import HttpResponse as HttpResponse
from livesvc._server._http import Route as Route
from livesvc._server._http import Router as Router
from livesvc._server._http import google_status as google_status
from livesvc._server._paths import collapse_slashes as collapse_slashes
from livesvc._server._paths import split_target as split_target
from livesvc._server._serve import FrontDoor as FrontDoor
from livesvc._server._serve import Limits as Limits
from livesvc._server._serve import RestHandler as RestHandler
from livesvc._server._serve import WebSocketHandler as WebSocketHandler
from livesvc._server._serve import WebSocketUpgrade as WebSocketUpgrade
from livesvc._server._serve import open_listeners as open_listeners
from livesvc._server._serve import serve as serve
from livesvc._server._stream import ConnectionStream as ConnectionStream

__all__ = [
    "ConnectionStream",
    "FrontDoor",
    "Headers",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "Limits",
    "RestHandler",
    "Route",
    "Router",
    "WebSocketHandler",
    "WebSocketUpgrade",
    "collapse_slashes",
    "google_status",
    "open_listeners",
    "serve",
    "split_target",
]

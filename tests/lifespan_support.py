"""Play the server's side of the ASGI lifespan protocol in process."""

from __future__ import annotations

import asyncio
import typing as t

LIFESPAN_SCOPE = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}


class Lifespan:
    """One lifespan connection to ``entry`` (an ASGI app); create it inside a running loop."""

    def __init__(self, entry: t.Callable[..., t.Awaitable[None]]) -> None:
        self.incoming: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.sent: asyncio.Queue[dict[str, t.Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(entry(LIFESPAN_SCOPE, self.incoming.get, self.sent.put))

    async def ask(self, event: str) -> dict[str, t.Any]:
        """Send ``lifespan.<event>`` and return the app's answer."""
        await self.incoming.put({"type": f"lifespan.{event}"})
        return await asyncio.wait_for(self.sent.get(), 10)

    async def ended(self) -> None:
        """Wait for the lifespan coroutine to return (after shutdown, or a failure)."""
        await asyncio.wait_for(self.task, 10)


def http_get(path: str) -> dict[str, t.Any]:
    """A minimal ASGI HTTP scope for ``GET path``."""
    return {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b""}

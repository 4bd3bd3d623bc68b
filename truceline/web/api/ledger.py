"""The signed logs: a page of entries (to sync), an import of another node's, their state."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Body, Query
from fastapi.responses import Response

from truceline.i18n.message import M
from truceline.services import exchange
from truceline.services.ledger import verify_ledger
from truceline.store.missions import load_mission
from truceline.web.api.models import Synced
from truceline.web.deps import ApiUser, Conn, TheCentre


def entries(
    centre: TheCentre,
    who: ApiUser,
    after: Annotated[
        str | None,
        Query(max_length=2000, description="the last seq held of each log: blue:5,green:3"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=exchange.PAGE_MAX)] = 1000,
) -> Response:
    """A page of the entries this node holds after `after`, in causal order, with the
    evidence they name (`truceline/bundle@2`, the format of `ledger export`): what another
    node imports to sync. `next` is the `after` of the following page (null: the last)."""
    body = exchange.bundle_of(centre.engine, after=exchange.parse_cursor(after), limit=limit)
    return Response(orjson.dumps(body), media_type="application/json")


def sync(centre: TheCentre, who: ApiUser, bundle: Annotated[dict[str, Any], Body()]) -> Synced:
    """Import another node's bundle: a union of entries, stored only if every entry verifies
    against the pinned keys (the sender is never trusted); cases revealed by it are named."""
    result = exchange.import_bundle_data(
        centre.engine, bundle, M("the posted bundle"), keyring=centre.keyring
    )
    return Synced(received=result.received, new=result.new, revealed=result.revealed)


def verify(conn: Conn, who: ApiUser) -> dict[str, Any]:
    return verify_ledger(conn, load_mission(conn)).as_dict()

"""WeChat Official Account channel: protocol layer (crypto, XML, conversation, state, API client).

The names below are loaded on first use, so that importing a submodule (the tracker uses only
``client``) does not import the FastAPI endpoint.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.intake.wechat.endpoint import build_router
    from services.intake.wechat.ports import IntakePort, Ticket, TicketStatus
    from services.intake.wechat.settings import WeChatSettings

__all__ = ["IntakePort", "Ticket", "TicketStatus", "WeChatSettings", "build_router"]

_HOME = {"build_router": "endpoint", "IntakePort": "ports", "Ticket": "ports", "TicketStatus": "ports",
         "WeChatSettings": "settings"}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)

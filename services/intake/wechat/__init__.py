"""WeChat Official Account channel: protocol layer (crypto, XML, conversation, state, API client)."""

from services.intake.wechat.endpoint import build_router
from services.intake.wechat.ports import IntakePort, Ticket, TicketStatus
from services.intake.wechat.settings import WeChatSettings

__all__ = ["IntakePort", "Ticket", "TicketStatus", "WeChatSettings", "build_router"]

"""A stored case as the core's routing input (``services.core.dispatch.Complaint``)."""

from __future__ import annotations

from datetime import datetime

from services.core.dispatch import Complaint
from services.tracker.models import Case


def complaint_of(case: Case, received_at: datetime, *, returned_by: str | None = None) -> Complaint:
    """What the router read of this case, re-routed from ``received_at`` (the deadlines' origin)."""
    loc = case.location or {}
    return Complaint(text=case.text, received_at=received_at, address=case.address,
                     location_label=loc.get("label"), lat=loc.get("lat"), lon=loc.get("lon"),
                     returned_by=returned_by)

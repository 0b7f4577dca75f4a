"""Moved to :mod:`services.core.alerts` (issue 18: the alert domain is shared by the router and the tracker).

Kept only for ``services/tracker/routes_alerts.py`` until it imports from ``services.core.alerts``
(an import-linter ignore in pyproject.toml); new code imports ``services.core.alerts``.
"""

from services.core.alerts import (
    MESSAGES as MESSAGES,
)
from services.core.alerts import (
    OVERDUE as OVERDUE,
)
from services.core.alerts import (  # noqa: F401 - re-exported
    AlertKind as AlertKind,
)
from services.core.alerts import (
    AlertRaised as AlertRaised,
)
from services.core.alerts import (
    OpenCase as OpenCase,
)
from services.core.alerts import (
    bucket_start as bucket_start,
)
from services.core.alerts import (
    deadline_alert_id as deadline_alert_id,
)
from services.core.alerts import (
    deadline_alerts as deadline_alerts,
)
from services.core.alerts import (
    hotspot_alert as hotspot_alert,
)
from services.core.alerts import (
    hotspot_alert_id as hotspot_alert_id,
)
from services.core.alerts import (
    next_check as next_check,
)
from services.core.alerts import (
    window_alert as window_alert,
)

"""Small scenarios built in code for the model tests."""

from __future__ import annotations

from typing import Any

from sim.config.paths import merge
from sim.model.schema import Scenario

CHANNELS = (
    "internal",
    "peer_network",
    "learning_sessions",
    "messaging_group",
    "exchange_visits",
    "coaching",
    "upward_reporting",
    "district_exchange",
    "guidance",
    "community_of_practice",
)


def small(country: dict[str, Any] | None = None, **top: Any) -> Scenario:
    """A 300-facility, 10-district country over 36 months, with ``country`` changes."""
    base_country: dict[str, Any] = {
        "name": "Testland",
        "districts": 10,
        "facilities": 300,
        "channels": {"messaging_group": {"enabled": True}, "exchange_visits": {"enabled": True}},
        "learning_centres": {"count": 1},
    }
    document: dict[str, Any] = {
        "name": "small",
        "seed": 4242,
        "months": 36,
        "practices": {"count": 12},
        "loops": {"triple": True},
        "countries": [merge(base_country, country or {})],
    }
    return Scenario(**merge(document, top))


def all_channels_off() -> dict[str, Any]:
    """Country changes that switch every channel off."""
    return {"channels": {name: {"enabled": False} for name in CHANNELS}}

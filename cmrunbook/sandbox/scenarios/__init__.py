"""The starting states the sandbox can serve, each with the world its checks will find.

``recorded`` is the real CM Service database the conformance recordings start from; ``demo``
is a readable set of campaigns showing every situation a pilot meets; ``scale:N`` generates
campaigns totalling N scripts for benchmarks.
"""

from __future__ import annotations

from pathlib import Path

from .demo import DEMO_CAMPAIGNS, DEMO_TARGETS, build_demo
from .recorded import load_recorded
from .scale import build_scale
from .scenario import Scenario

SCENARIO_NAMES = ("recorded", "demo", "scale:N")


def load_scenario(name: str, *, artifact_root: Path | None = None) -> Scenario:
    """The scenario called ``name``.

    ``artifact_root`` is where the demo writes its logs and submit directories (a fresh
    temporary directory when not given); the other scenarios have no files to write.
    """
    if name == "recorded":
        return load_recorded()
    if name == "demo":
        return build_demo(artifact_root)
    if name.startswith("scale:"):
        count = name.removeprefix("scale:")
        if count.isdigit():
            return build_scale(int(count))
    raise ValueError(f"Unknown scenario {name!r}; choose one of {', '.join(SCENARIO_NAMES)}")


__all__ = [
    "DEMO_CAMPAIGNS",
    "DEMO_TARGETS",
    "SCENARIO_NAMES",
    "Scenario",
    "load_scenario",
]

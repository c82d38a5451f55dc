"""The machine line every benchmark prints, so figures are read with what produced them."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine(*extra: str) -> str:
    """Cores, CPU, Python, any ``extra`` parts, OS and the current load average."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    parts = [f"{os.cpu_count()} cores", cpu_model(), f"Python {platform.python_version()}"]
    parts += list(extra)
    parts.append(f"{platform.system()} {platform.release()}")
    return ", ".join(parts) + f"; load average {load}"

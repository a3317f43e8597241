"""The peak memory a worker reports, shared by every worker."""

from __future__ import annotations

import resource


def peak_rss_mib() -> float:
    """Peak RSS of THIS process image: VmHWM of /proc/self/status.

    Not ``ru_maxrss``: on Linux that survives ``execve``, so a worker started by the runner
    would report the runner's peak when that is higher than its own.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

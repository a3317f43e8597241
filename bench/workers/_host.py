"""The host's CPU counters, shared by the workers and the runner (stdlib only)."""

from __future__ import annotations


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat. Busy is what ran on this
    VM's cores (user, nice, system, irq, softirq); total adds idle, iowait and steal."""
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    return cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6], sum(cpu[:8])

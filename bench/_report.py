"""What bench/run.py reports: medians and ratios of the samples, the targets, the markdown.

Every ratio is to PyPI obstore 0.12.1 of the same run (rate: > 1 is faster; CPU: < 1 is
cheaper); for ours, the min-max of the per-repetition paired ratios is shown beside it, and for
0.12.1 its A/A band: the min-max of the ratios between its own repetitions, which is how far a
ratio moves in this run when nothing differs.
"""

from __future__ import annotations

import statistics

GiB = 1024**3

LABEL = {
    "ours": "**ours**",
    "ref": "obstore 0.12.1",
    "aiohttp": "aiohttp (floor)",
    "urllib3": "urllib3 (floor)",
    "http.client": "http.client readinto (floor)",
    "libcurl": "libcurl: one GIL release per request, no signing (floor)",
    "gil-release": "time.sleep(0): blocks ~50 µs, no I/O (the pool's GIL hand-off floor)",
    "wrk": "wrk (C ceiling)",
    "curl": "curl (C ceiling)",
    "python": "python -c pass (floor)",
}
# kind of network scenario -> (field of the worker's result, column label)
CPU_FIELD = {
    "async_ranges": ("cpu_ms_per_op", "CPU ms/req"),
    "sync_ranges": ("cpu_ms_per_op", "CPU ms/req"),
    "big_object": ("cpu_s_per_gb", "CPU s/GB"),
    "listing": ("cpu_us_per_object", "CPU µs/object"),
    "cold_start": ("cpu_ms_per_op", "CPU ms/process"),
}
RSS_TARGET_MIB = 300  # the stream_* scenarios: peak RSS of ours, whatever the object size


def _med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def aa_band(values: list) -> tuple | None:
    """(min, max) of x / y over every two repetitions x, y of one implementation: its A/A."""
    xs = [x for x in values if x]
    if len(xs) < 2:
        return None
    ratios = [x / y for i, x in enumerate(xs) for j, y in enumerate(xs) if i != j]
    return min(ratios), max(ratios)


def _server_cpu(res: dict, cpu_field: str) -> float | None:
    """The server's CPU over a worker's window, in the unit of the client's (per request, per
    GB, per object): scaled as the client's own ``cpu_s`` is to its ``cpu_field``."""
    server, client, per = res.get("server_cpu_s"), res.get("cpu_s"), res.get(cpu_field)
    if server is None or not client or per is None:
        return None
    return server * per / client


def row_key(scenario: str, impl: str, variant: str | None) -> str:
    return f"{scenario}|{impl}|{variant}" if variant else f"{scenario}|{impl}"


# ---------------------------------------------------------------------------------- summaries
def summarize_net(samples: dict, scenarios: list) -> dict:
    """-> {scenario name: [row, ...]}: medians, and ratios to the 'ref' row of the scenario."""
    out = {}
    for sc in scenarios:
        cf = CPU_FIELD[sc.kind][0]
        rows = []
        for impl, variant in sc.rows:
            k = row_key(sc.name, impl, variant)
            if k not in samples:
                continue
            rs = samples[k]
            ok = [r for r in rs if "fatal" not in r]
            rows.append(
                {
                    "key": k,
                    "scenario": sc.name,
                    "impl": impl,
                    "variant": variant,
                    "n": len(ok),
                    "fatal": [r["fatal"] for r in rs if "fatal" in r],
                    "rate": _med([r["rate"] for r in ok]),
                    "unit": ok[0]["unit"] if ok else None,
                    "cpu": _med([r.get(cf) for r in ok]),
                    "cpu_field": cf,
                    "peak_rss_mib": _med([r.get("peak_rss_mib") for r in ok]),
                    "rss_over_size_mib": _med([r.get("rss_over_size_mib") for r in ok]),
                    "errors": sum(r.get("errors", 0) for r in ok),
                    "first_error": next(
                        (r["first_error"] for r in ok if r.get("first_error")), None
                    ),
                    "truncated": any(r.get("truncated") for r in ok),
                    "rates": [r["rate"] for r in ok],
                    "aa_rate": aa_band([r["rate"] for r in ok]),
                    "aa_cpu": aa_band([r.get(cf) for r in ok]),
                    "lib_version": ok[0].get("lib_version") if ok else None,
                    "host_busy": _med([r.get("host_busy") for r in ok]),
                    "server_cpu": _med([_server_cpu(r, cf) for r in ok]),
                }
            )
        for r in rows:
            # the reference of a row: obstore 0.12.1 with the same variant (listing: dicts/arrow)
            ref = next(
                (x for x in rows if x["impl"] == "ref" and x["variant"] == r["variant"]), None
            ) or next((x for x in rows if x["impl"] == "ref"), None)
            r["rate_ratio"] = _ratio(r["rate"], ref["rate"]) if ref else None
            r["cpu_ratio"] = _ratio(r["cpu"], ref["cpu"]) if ref else None
            if ref and r["impl"] == "ours":
                pairs = zip(samples.get(r["key"], []), samples.get(ref["key"], []), strict=False)
                pr = [
                    _ratio(x["rate"], y["rate"])
                    for x, y in pairs
                    if "fatal" not in x and "fatal" not in y
                ]
                r["paired_rate_ratios"] = [p for p in pr if p is not None]
        if rows:
            out[sc.name] = rows
    return out


def summarize_inprocess(samples: dict) -> list:
    """samples[scenario][side] = the worker results of the measured repetitions, in order."""
    rows = []
    for sc, sides in samples.items():
        o, r = sides["ours"], sides["ref"]
        oo = [x for x in o if "error" not in x]
        rr = [x for x in r if "error" not in x]
        row = {
            "scenario": sc,
            "n_ours": len(oo),
            "n_ref": len(rr),
            "errors": [x["error"] for x in o + r if "error" in x],
            "ours_ops_per_s": _med([x["ops_per_s"] for x in oo]),
            "ref_ops_per_s": _med([x["ops_per_s"] for x in rr]),
            "ours_cpu_us_per_op": _med([x["cpu_us_per_op"] for x in oo]),
            "ref_cpu_us_per_op": _med([x["cpu_us_per_op"] for x in rr]),
            "ours_peak_rss_mib": _med([x["peak_rss_mib"] for x in oo]),
            "ref_peak_rss_mib": _med([x["peak_rss_mib"] for x in rr]),
        }
        row["ops_ratio"] = _ratio(row["ours_ops_per_s"], row["ref_ops_per_s"])
        row["cpu_ratio"] = _ratio(row["ours_cpu_us_per_op"], row["ref_cpu_us_per_op"])
        # Paired (same repetition, back to back) ratios show the run-to-run spread.
        pairs = [
            (a, b) for a, b in zip(o, r, strict=False) if "error" not in a and "error" not in b
        ]
        row["paired_ops_ratios"] = [_ratio(a["ops_per_s"], b["ops_per_s"]) for a, b in pairs]
        row["paired_cpu_ratios"] = [
            _ratio(a["cpu_us_per_op"], b["cpu_us_per_op"]) for a, b in pairs
        ]
        # A worker that printed its result and then exited non-zero (an abort during interpreter
        # shutdown: PyPI obstore 0.12.1 does it sometimes after memory_put_async) is kept.
        row["exit_codes"] = {
            "ours": [x.get("exit_code") for x in oo],
            "ref": [x.get("exit_code") for x in rr],
        }
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------ targets
def evaluate_targets(net: dict, inproc: list) -> list:
    """[(target, status, evidence)] for the targets whose scenarios ran."""
    T = []

    def row(sc, impl, variant=None):
        for r in net.get(sc, []):
            if r["impl"] == impl and (variant is None or r["variant"] == variant):
                return r
        return None

    def aa(sc, variant=None):
        """The A/A band of 0.12.1 in scenario sc, for the evidence column."""
        ref = row(sc, "ref", variant)
        if not ref or not (ref.get("aa_rate") or ref.get("aa_cpu")):
            return ""
        bands = [
            f"{what} {band[0]:.2f}–{band[1]:.2f}"
            for what, band in (("rate", ref.get("aa_rate")), ("CPU", ref.get("aa_cpu")))
            if band
        ]
        return f" [A/A of 0.12.1: {', '.join(bands)}]"

    for conc in (64, 256):
        o, wrk = row(f"async_get_{conc}", "ours"), row(f"async_get_{conc}", "wrk")
        if o and o["rate_ratio"] is not None:
            lean = o["cpu"] / wrk["cpu"] if wrk and wrk["cpu"] and o["cpu"] else None
            ok = (
                o["rate_ratio"] >= 3
                and (o["cpu_ratio"] or 9) <= 0.5
                and lean is not None
                and lean <= 3
            )
            T.append(
                (
                    f"async_get_{conc}: ≥3x req/s; CPU/req ≤0.5x 0.12.1's and ≤3x wrk's",
                    "MET" if ok else "MISSED",
                    f"req/s ratio {o['rate_ratio']:.2f}, CPU ratio {_f(o['cpu_ratio'])}, "
                    f"CPU/req {_f(lean)}x wrk's" + aa(f"async_get_{conc}"),
                )
            )
    o = row("async_get_64_contended", "ours")
    if o and o["rate_ratio"] is not None:
        T.append(
            (
                "async_get_64_contended (a busy loop beside it, default workers): ≥2x req/s",
                "MET" if o["rate_ratio"] >= 2 else "MISSED",
                f"req/s ratio {o['rate_ratio']:.2f} (CPU ratio {_f(o['cpu_ratio'])})"
                + aa("async_get_64_contended"),
            )
        )
    o = row("sync_get_pool", "ours")
    if o and o["rate_ratio"] is not None:
        bound = ""
        for impl, what in (
            ("libcurl", "a C client doing the request under one release of the GIL (libcurl)"),
            ("gil-release", "a call that only releases the GIL and blocks (time.sleep(0), no I/O)"),
        ):
            floor = row("sync_get_pool", impl)
            if floor and floor["rate_ratio"] is not None:
                bound += f"; {what}: {floor['rate_ratio']:.2f}x"
        T.append(
            (
                "sync_get_pool: ≥1.3x req/s at no more CPU/req",
                "MET" if o["rate_ratio"] >= 1.3 and (o["cpu_ratio"] or 9) <= 1 else "MISSED",
                f"req/s ratio {o['rate_ratio']:.2f} (CPU ratio {_f(o['cpu_ratio'])}){bound}"
                + aa("sync_get_pool"),
            )
        )
    rows = {r["scenario"]: r for r in inproc}
    asy = [r for s, r in rows.items() if s.endswith("_async")]
    if asy:
        worst = min(asy, key=lambda r: r["ops_ratio"] or 0)
        T.append(
            (
                "in-process *_async: ≥5x ops/s",
                "MET" if all((r["ops_ratio"] or 0) >= 5 for r in asy) else "MISSED",
                ", ".join(f"{r['scenario']} {_f(r['ops_ratio'])}x" for r in asy)
                + f" (worst {worst['scenario']})",
            )
        )
    syn = [r for s, r in rows.items() if s.endswith("_sync")]
    if syn:
        T.append(
            (
                "in-process *_sync: no slower than 0.12.1 (noise band 0.8)",
                "MET" if all((r["ops_ratio"] or 0) >= 0.8 for r in syn) else "MISSED",
                ", ".join(f"{r['scenario']} {_f(r['ops_ratio'])}x" for r in syn),
            )
        )
    lg, op = rows.get("local_get_sync"), rows.get("python_open_read")
    if lg and op and lg["ours_ops_per_s"] and op["ours_ops_per_s"]:
        x = lg["ours_ops_per_s"] / op["ours_ops_per_s"]
        T.append(
            (
                "local_get_sync ≥0.5x python_open_read",
                "MET" if x >= 0.5 else "MISSED",
                f"{lg['ours_ops_per_s']:,.0f} vs {op['ours_ops_per_s']:,.0f} ops/s = {x:.2f}x",
            )
        )
    o, r = row("big_get_bytes", "ours"), row("big_get_bytes", "ref")
    p = row("big_get_parallel", "ours")
    if o and o["rate_ratio"] is not None:
        # get_parallel, the other way of ours to bring the object into memory, for comparison
        par = p["rate"] / r["rate"] if p and r and p["rate"] and r["rate"] else None
        rss = o["rss_over_size_mib"] or 1e9
        T.append(
            (
                "big_get_bytes: get().bytes() ≥2x GB/s, peak RSS ≤ size + 64 MiB",
                "MET" if o["rate_ratio"] >= 2 and rss <= 64 else "MISSED",
                f"get().bytes() {o['rate_ratio']:.2f}x, get_parallel {_f(par)}x the GB/s of "
                f"0.12.1 get().bytes(); peak RSS − size = {_f(o['rss_over_size_mib'])} / "
                f"{_f((p or {}).get('rss_over_size_mib'))} MiB (whole process: interpreter and "
                "imports included)" + aa("big_get_bytes"),
            )
        )
    o, h = row("big_get_parallel", "ours"), row("big_get_bytes", "http.client")
    if o and h and o["rate"] and h["rate"]:
        T.append(
            (
                "big_get_parallel ≥ http.client readinto (one connection)",
                "MET" if o["rate"] >= h["rate"] else "MISSED",
                f"{o['rate']:.2f} vs {h['rate']:.2f} GB/s = {o['rate'] / h['rate']:.2f}x "
                "(obstore.get_parallel)",
            )
        )
    for sc in ("big_put", "big_put_tls", "big_put_tls_one", "big_put_tls_file"):
        o, od = row(sc, "ours"), row(sc, "opendal")
        if o and o["rate_ratio"] is not None and od and od["cpu"]:
            ok = o["rate_ratio"] >= 1 and (o["cpu"] or 9e9) <= od["cpu"]
            T.append(
                (
                    f"{sc}: CPU per GB ≤ opendal's, GB/s ≥ 0.12.1's",
                    "MET" if ok else "MISSED",
                    f"GB/s ratio {o['rate_ratio']:.2f}; CPU s/GB {_f(o['cpu'])} vs opendal's "
                    f"{_f(od['cpu'])}" + aa(sc),
                )
            )
    a, d = row("list", "ours", "arrow"), row("list", "ours", "dicts")
    if a and d and a["rate"] and d["rate"]:
        x = a["rate"] / d["rate"]
        T.append(
            (
                "list: Arrow ≥3x the dict listing",
                "MET" if x >= 3 else "MISSED",
                f"{x:.2f}x objects/s; CPU µs/object {a['cpu']:.2f} vs {d['cpu']:.2f} "
                f"({d['cpu'] / a['cpu']:.2f}x less CPU)",
            )
        )
    d, a = row("list_replay", "ours", "dicts"), row("list_replay", "ours", "arrow")
    if d and d["rate_ratio"] is not None:
        arrow = a["cpu"] / d["cpu"] if a and a["cpu"] and d["cpu"] else None
        ok = d["rate_ratio"] >= 2 and arrow is not None and arrow <= 0.5
        T.append(
            (
                "list_replay (recorded pages, the client the bottleneck): ≥2x objects/s, "
                "Arrow ≤0.5x the dict CPU/object",
                "MET" if ok else "MISSED",
                f"dicts {d['rate_ratio']:.2f}x objects/s (Arrow {_f((a or {}).get('rate_ratio'))}x "
                f"0.12.1's Arrow); Arrow CPU µs/object {_f((a or {}).get('cpu'))} vs dicts "
                f"{_f(d['cpu'])} = {_f(arrow)}x" + aa("list_replay", "dicts"),
            )
        )
    return T


# ----------------------------------------------------------------------------------- markdown
def _f(x, nd=3):
    if x is None:
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{nd}g}"


def _r(x, pairs=None, aa=None):
    if x is None:
        return "—"
    s = f"**{x:.2f}**"
    pairs = [p for p in pairs or [] if p is not None]
    if len(pairs) >= 2:
        s += f" ({min(pairs):.2f}–{max(pairs):.2f})"
    if aa:
        s += f" (A/A {aa[0]:.2f}–{aa[1]:.2f})"
    return s


def size(gib: float) -> str:
    return f"{gib:g} GiB" if gib >= 1 else f"{gib * 1024:g} MiB"


def _heading(sc, settings: dict) -> str:
    return f"\n### {sc.section}. `{sc.name}`: {sc.title.format(**settings)}\n"


def _net_table(sc, rows: list) -> list:
    L = []
    cpu_label = CPU_FIELD[sc.kind][1]
    unit = next((r["unit"] for r in rows if r["unit"]), "")
    # meaningful where the object sits in memory (downloaded whole, or the upload source)
    extra = " | peak RSS − object size MiB" if sc.params.get("rss_over_size") else ""
    # where the host's CPU went, in runs that read it (bench/workers/net.py `_Host`)
    host = any(r.get("host_busy") is not None for r in rows)
    host_cols = f" | server {cpu_label} | host busy %" if host else ""
    L.append(
        f"| implementation | {unit} | ratio to 0.12.1 | {cpu_label} | CPU ratio{host_cols} "
        f"| peak RSS MiB{extra} | errors |"
    )
    L.append("|---|---:|---:|---:|---:|---:|" + "---:|" * (bool(extra) + 2 * host) + "---:|")
    for r in rows:
        name = LABEL.get(r["impl"], r["impl"])
        if r["variant"]:
            name += f" ({r['variant']})"
        if r["n"] == 0:
            err = (r["fatal"] or ["?"])[0].strip().splitlines()[-1][:120]
            L.append(f"| {name} | FAIL: `{err}` |" + " |" * (5 + bool(extra) + 2 * host))
            continue
        rate = _f(r["rate"], 3) if r["unit"] != "GB/s" else f"{r['rate']:.2f}"
        ex = f" | {_f(r['rss_over_size_mib'])}" if extra else ""
        errs = str(r["errors"]) + (" (truncated)" if r["truncated"] else "")
        if r["errors"] and r["first_error"]:
            errs += f" `{r['first_error'][:60]}`"
        aa_rate, aa_cpu = (r.get("aa_rate"), r.get("aa_cpu")) if r["impl"] == "ref" else (None,) * 2
        hc = ""
        if host:
            busy = r.get("host_busy")
            hc = f" | {_f(r.get('server_cpu'))} | {'—' if busy is None else f'{100 * busy:.0f}'}"
        L.append(
            f"| {name} | {rate} | {_r(r['rate_ratio'], r.get('paired_rate_ratios'), aa_rate)} "
            f"| {_f(r['cpu'])} | {_r(r['cpu_ratio'], aa=aa_cpu)}{hc} | {_f(r['peak_rss_mib'])}{ex} "
            f"| {errs} |"
        )
    return L


def _inprocess_table(rows: list) -> list:
    L = [
        "| scenario | ours ops/s | 0.12.1 ops/s | ops/s ratio | ours CPU µs/op "
        "| 0.12.1 CPU µs/op | CPU ratio | peak RSS MiB ours / 0.12.1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        L.append(
            f"| `{r['scenario']}` | {_f(r['ours_ops_per_s'])} | {_f(r['ref_ops_per_s'])} "
            f"| {_r(r['ops_ratio'], r['paired_ops_ratios'])} | {_f(r['ours_cpu_us_per_op'])} "
            f"| {_f(r['ref_cpu_us_per_op'])} | {_r(r['cpu_ratio'], r['paired_cpu_ratios'])} "
            f"| {_f(r['ours_peak_rss_mib'])} / {_f(r['ref_peak_rss_mib'])} |"
        )
    for r in rows:
        for e in r["errors"]:
            L.append(
                f"\n- `{r['scenario']}` failed: `{e.strip().splitlines()[-1][:200] if e else e}`"
            )
        bad = {s: [c for c in codes if c] for s, codes in r["exit_codes"].items()}
        if any(bad.values()):
            L.append(
                f"\n- `{r['scenario']}`: workers exited non-zero after reporting a complete "
                f"result (kept): {bad}"
            )
    return L


def _stream_table(rows: list) -> list:
    def cell(result, key, fmt):
        if result is None:
            return "—"
        if "error" in result:
            return "FAIL"
        return format(result[key], fmt)

    L = [
        "| scenario | store | ours GB/s | ours peak RSS MiB | 0.12.1 GB/s | 0.12.1 peak RSS MiB "
        f"| ours < {RSS_TARGET_MIB} MiB |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    notes = []
    for row in rows:
        if "skipped" in row:
            notes.append(f"- `{row['scenario']}` on {row['store']} not measured: {row['skipped']}")
            continue
        ours, ref = row.get("ours"), row.get("ref")
        verdict = "—"
        if ours is not None and "error" not in ours:
            verdict = "yes" if ours["rss_peak_mib"] < RSS_TARGET_MIB else "**NO**"
        L.append(
            f"| `{row['scenario']}` | {row['store']} | {cell(ours, 'gb_per_s', '.2f')} "
            f"| {cell(ours, 'rss_peak_mib', '.0f')} | {cell(ref, 'gb_per_s', '.2f')} "
            f"| {cell(ref, 'rss_peak_mib', '.0f')} | {verdict} |"
        )
        for impl in ("ours", "ref"):
            if row.get(impl) and "error" in row[impl]:
                notes.append(f"- `{row['scenario']}` {row['store']} {impl}: {row[impl]['error']}")
    return L + ([""] + notes if notes else [])


def _floor_table(name: str, result: dict) -> list:
    if "error" in result:
        return [f"`{name}` failed: `{result['error'][:200]}`"]
    rows = result["rows"]
    cases = list(dict.fromkeys(r["case"] for r in rows))

    def both(case, key, fmt):
        return " / ".join(format(r[key], fmt) for r in rows if r["case"] == case)

    if name == "floor_local_put":
        L = [
            "| one 1 KiB put (two passes, alternating) | user µs | system µs | wall µs |",
            "|---|---:|---:|---:|",
        ]
        for c in cases:
            L.append(
                f"| {c} | {both(c, 'user_us', '.0f')} | {both(c, 'system_us', '.0f')} "
                f"| {both(c, 'wall_us', '.0f')} |"
            )
        return L
    L = [
        "| populating fresh memory (two passes) | s per GiB | median 4 MiB step ms |",
        "|---|---:|---:|",
    ]
    for c in cases:
        L.append(f"| {c} | {both(c, 's_per_gib', '.3f')} | {both(c, 'median_step_ms', '.2f')} |")
    return L


def render(meta: dict, scenarios: list, results: dict) -> str:
    """The report of one run: ``results`` holds "net", "inprocess", "stream", "floor"."""
    m, s = meta["machine"], meta["settings"]
    net = results.get("net") or {}
    inproc = results.get("inprocess") or []
    title = "Benchmarks: ours vs PyPI obstore 0.12.1 and the peers"
    if meta.get("self_vs_self"):
        title += " (SELF vs SELF: both sides import the same obstore, a noise calibration)"
    L = [f"# {title}\n"]
    L.append(f"- run: {meta['timestamp']}, wall {meta['elapsed_s'] / 60:.1f} min")
    L.append(f"- command: `{meta['command']}`")
    L.append(
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, kernel {m['kernel']}; "
        f"loadavg before {meta['loadavg_before']}, after {meta['loadavg_after']} "
        "(client, servers and other work share the cores)"
        + (
            f"; after the set-up the host settled for {meta['settled_s']:g} s "
            f"(cores {meta['settled_busy']:.0%} busy in the last half second)"
            if meta.get("settled_s") is not None
            else ""
        )
    )
    versions = meta["versions"]
    tools = [meta.get(k) for k in ("nginx_version", "wrk_version", "curl_version")]
    peers = ", ".join(f"{k} {v}" for k, v in versions.items() if k != "ours" and v)
    L.append(
        f"- ours: obstore {versions.get('ours')} from `{meta['ours_file']}` "
        f"({meta.get('ours_native')})"
        + (f"; peers: {peers}" if peers else "")
        + ("; " + ", ".join(t for t in tools if t) if any(tools) else "")
    )
    ran = {sc.kind for sc in scenarios}
    settings = [
        f"warm-up repetition + {s['reps']} measured repetitions, order reversed between "
        "repetitions; medians"
    ]
    if ran & {"async_ranges", "sync_ranges"}:
        settings.append(
            f"{s['requests']:,} requests per worker in async_get_* and sync_get_*; wrk "
            f"(one thread, requests formatted once) runs {s['wrk_seconds']} s"
        )
    if "big_object" in ran:
        settings.append(f"{size(s['big_gib'])} object in big_*")
    if "listing" in ran:
        settings.append(f"{s['list_n']:,} objects listed")
        if "list_replay" in s.get("scenarios", ()):
            settings.append(
                f"list_replay: up to {s['list_replay_rounds']} listings per worker, none "
                f"started after {s['list_replay_seconds']:g} s"
            )
    if "inprocess" in ran:
        settings.append(
            f"in-process: 1 KiB objects, rounds of {s['inprocess_keys']:,} ops for up to "
            f"{s['inprocess_time_cap']:g} s per worker"
        )
    if "stream" in ran:
        settings.append(f"stream_*: one {size(s['stream_gib'])} transfer per worker, once")
    L.append("- settings: " + "; ".join(settings))
    L.append(
        "- ratio = value / obstore 0.12.1 of the same run (rate: >1 is faster; CPU: <1 is "
        "cheaper); for ours, (a–b) = min–max of the per-repetition paired ratios; for 0.12.1, "
        "(A/A a–b) = min–max of the ratios between its own repetitions, how far a ratio moves "
        "in this run when nothing differs. CPU = "
        "getrusage user+sys of the client process, all threads (wrk/curl: the child). "
        "Peak RSS = VmHWM of the whole client process (wrk/curl: the C client, via GNU time). "
        + (
            "Server CPU = the server processes' time on a CPU (schedstat of each thread) over "
            "the client's measured window, per unit of its work; host busy % = the share of "
            "all cores busy (/proc/stat) over that window, whoever used them: near 100, the "
            "row is bound by the host's CPU. "
            if any(r.get("host_busy") is not None for rows in net.values() for r in rows)
            else ""
        )
        + "Trust differences > 20%.\n"
    )
    targets = evaluate_targets(net, inproc)
    if targets:
        L.append("## Targets\n")
        L.append("| target | status | evidence |")
        L.append("|---|---|---|")
        for t, st, ev in targets:
            L.append(f"| {t} | **{st}** | {ev} |")
    L.append("\n## Results")
    fmt = {
        "big": size(s["big_gib"]),
        "list_n": f"{s['list_n']:,}",
        "stream": size(s["stream_gib"]),
        "cold_processes": s.get("cold_processes", 20),
    }
    done_kinds = set()
    for sc in scenarios:
        if sc.name in net:
            L.append(_heading(sc, fmt))
            L += _net_table(sc, net[sc.name])
            if sc.note:
                L.append(f"\n{sc.note}")
        elif sc.kind == "inprocess" and inproc and "inprocess" not in done_kinds:
            done_kinds.add("inprocess")
            L.append(
                f"\n### {sc.section}. in-process (no network): MemoryStore and LocalStore, 1 KiB "
                "objects, the plain-Python floors, and making a store\n"
            )
            L += _inprocess_table(inproc)
        elif sc.kind == "stream" and results.get("stream") and "stream" not in done_kinds:
            done_kinds.add("stream")
            L.append(
                f"\n### {sc.section}. peak RSS of streaming one {fmt['stream']} object "
                f"(target: ours < {RSS_TARGET_MIB} MiB whatever the size)\n"
            )
            L += _stream_table(results["stream"])
        elif sc.kind == "floor" and sc.name in (results.get("floor") or {}):
            L.append(_heading(sc, fmt))
            L += _floor_table(sc.name, results["floor"][sc.name])
    fat = [(r["key"], f) for rows in net.values() for r in rows for f in r["fatal"]]
    if fat:
        L.append("\n## Worker failures\n")
        for k, f in fat:
            L.append(f"- {k}: `{f.strip().splitlines()[-1][:200]}`")
    if net:
        L.append(
            "\nNotes: big_get_* read from nginx serving the page cache; big_put goes to MinIO on "
            "the same 2 cores, so it is largely server-bound. list is MinIO's listing speed plus "
            "the client's parsing; list_replay serves MinIO's recorded pages from nginx (its "
            "curl row: every page fetched, none parsed), so the client is the bottleneck. "
            "async_get_64_contended runs a Python busy loop beside each worker. "
            "big_get_parallel for ours is `obstore.get_parallel` (16 MiB parts, 16 in flight), "
            "for 0.12.1 user code (`asyncio.gather` of `get_range_async` into one preallocated "
            "buffer), for opendal `read(concurrent=16, chunk=16 MiB)`, for "
            "boto3 `download_fileobj` with a `TransferConfig` of 16 MiB parts and 16 threads."
        )
    return "\n".join(L) + "\n"

"""mkdocs hook: the performance pages' tables and charts, drawn from bench/ at build time.

``<!-- bench-results -->`` becomes the text of ``bench/RESULTS.md`` (its headings one level
down), and ``<!-- bench-charts -->`` the charts drawn with matplotlib from the raw results that
RESULTS.md names in its first line, so tables and charts always come from the same run. The
PNGs are generated files of the build: none is committed.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
RESULTS_MD = ROOT / "bench/RESULTS.md"
BENCH_README = ROOT / "bench/README.md"
CHART_DIR = "performance/charts"
RAW = re.compile(r"raw results in (bench/results/\S+\.json)")
IMPL_LABELS = {"ours": "obstore (this)", "ref": "obstore 0.12.1"}
CHARTS = {
    "network.png": "Network scenarios: ours relative to obstore 0.12.1",
    "peers.png": "Every implementation, each scenario: throughput relative to obstore 0.12.1",
    "inprocess.png": "In-process operations: ours relative to obstore 0.12.1",
}


def raw_results() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(network rows by scenario, in-process rows) of the run that bench/RESULTS.md shows;
    rows without a ratio to 0.12.1 are left out."""
    match = RAW.search(RESULTS_MD.read_text().splitlines()[0])
    if not match:
        raise ValueError(f"{RESULTS_MD}: first line names no raw results file")
    results = json.loads((ROOT / match.group(1)).read_text())["results"]
    net = {
        name: [r for r in rows if r.get("rate_ratio") is not None]
        for name, rows in results.get("net", {}).items()
    }
    return {k: v for k, v in net.items() if v}, results.get("inprocess", [])


def _label(row: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The row's variant where its implementation has several in the scenario."""
    several = sum(r["impl"] == row["impl"] for r in rows) > 1
    return f" ({row['variant']})" if several and row["variant"] else ""


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=110, layout="constrained")


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _ours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["impl"] == "ours"]


def network_chart(summary: dict[str, Any]) -> bytes:
    labels, rate, cpu = [], [], []
    for key, rows in summary.items():
        for row in _ours(rows):
            labels.append(key + _label(row, rows))
            rate.append(row["rate_ratio"])
            cpu.append(row["cpu_ratio"])
    fig, ax = _figure(8, 0.45 * len(labels) + 1.2)
    ys = range(len(labels))
    ax.barh([y - 0.2 for y in ys], rate, 0.4, label="throughput ratio (>1 faster)", color="#3f51b5")
    ax.barh([y + 0.2 for y in ys], cpu, 0.4, label="CPU per op ratio (<1 cheaper)", color="#ff9800")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(list(ys), labels)
    ax.invert_yaxis()
    ax.set_xlabel("ours / obstore 0.12.1, same run (medians)")
    ax.legend(loc="lower right")
    return _png(fig)


def peers_chart(summary: dict[str, Any]) -> bytes:
    keys = list(summary)
    cols = 3
    rows_n = (len(keys) + cols - 1) // cols
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        rows_n, cols, figsize=(11, 2.6 * rows_n), dpi=110, layout="constrained", squeeze=False
    )
    for ax, key in zip(axes.flat, keys, strict=False):
        rows = summary[key]
        names = [IMPL_LABELS.get(r["impl"], r["impl"]) + _label(r, rows) for r in rows]
        colors = ["#3f51b5" if r["impl"] == "ours" else "#9e9e9e" for r in rows]
        ax.barh(names, [r["rate_ratio"] for r in rows], color=colors)
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.invert_yaxis()
        ax.set_title(f"{key} ({rows[0]['unit']})", fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    return _png(fig)


def inprocess_chart(inprocess: list[dict[str, Any]]) -> bytes:
    fig, ax = _figure(8, 0.4 * len(inprocess) + 1.2)
    labels = [r["scenario"] for r in inprocess]
    ax.barh(labels, [r["ops_ratio"] for r in inprocess], color="#3f51b5")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.set_xlabel("ops/s, ours / obstore 0.12.1 (log scale)")
    return _png(fig)


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    summary, inprocess = raw_results()
    images = {
        "network.png": network_chart(summary),
        "peers.png": peers_chart(summary),
        "inprocess.png": inprocess_chart(inprocess),
    }
    for name, content in images.items():
        files.append(File.generated(config, f"{CHART_DIR}/{name}", content=content))
    return files


def _demoted(path: Path) -> str:
    """The file's Markdown without its first title, every heading one level down."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("<!--")]
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    return "\n".join("#" + line if re.match(r"#+ ", line) else line for line in lines)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if "<!-- bench-charts -->" in markdown:
        figures = "\n\n".join(
            f"![{alt}](charts/{name})\n\n*{alt}.*" for name, alt in CHARTS.items()
        )
        markdown = markdown.replace("<!-- bench-charts -->", figures)
    if "<!-- bench-results -->" in markdown:
        markdown = markdown.replace("<!-- bench-results -->", _demoted(RESULTS_MD))
    if "<!-- bench-readme -->" in markdown:
        text = _demoted(BENCH_README)
        # Its links point to files beside it in bench/; on the site they are these pages.
        text = text.replace("](RESULTS.md)", "](results.md)").replace(
            "](../docs/performance.md)", "](../performance.md)"
        )
        markdown = markdown.replace("<!-- bench-readme -->", text)
    return markdown

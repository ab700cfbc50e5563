"""Report: turn the measurements into docs/benchmarks.md and a bar chart."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time

import psutil
from PIL import Image, ImageDraw, ImageFont, features

from measure import SAMPLE_SECONDS
from tools import JOB_NAMES

NOTES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
MB = 1024 * 1024


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, or the platform's guess."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _median(values) -> float:
    return statistics.median(values)


def _job_images(corpus, job: str) -> tuple[int, float]:
    infos = corpus.jpegs
    if job == "C":
        infos = corpus.pngs
    elif job == "S":
        infos = corpus.tiny
    return len(infos), sum(info.megapixels for info in infos)


def job_table(corpus, job: str, outcomes: dict, baseline: str) -> list[str]:
    """Return the Markdown table of one job, fastest first."""
    count, megapixels = _job_images(corpus, job)
    base = outcomes.get(baseline)
    base_wall = base.median("wall") if base else None
    lines = [
        f"### {job}: {JOB_NAMES[job]} ({count:,} images, {megapixels:,.0f} MP)",
        "",
        "| tool | wall s | images/s | MP/s | CPU s | peak memory MB | vs baseline | fastest run s | output check |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, outcome in sorted(outcomes.items(), key=lambda item: item[1].median("wall")):
        wall = outcome.median("wall")
        ratio = f"{base_wall / wall:.2f}x" if base_wall else "n/a"
        check = "; ".join(sorted(set(outcome.problems))) or "ok"
        marker = " (baseline)" if name == baseline else ""
        lines.append(
            f"| {name}{marker} | {wall:.2f} | {count / wall:,.1f} | {megapixels / wall:,.1f} | "
            f"{outcome.median('cpu'):.1f} | {outcome.median('peak_rss') / MB:,.0f} | {ratio} | "
            f"{min(run.wall for run in outcome.runs):.2f} | {check} |"
        )
    return lines + [""]


def ratio(results: dict, job: str, tool: str, baseline: str) -> float | None:
    """Return baseline wall time over ``tool``'s, both medians, or None."""
    outcomes = results.get(job, {})
    if tool not in outcomes or baseline not in outcomes:
        return None
    return outcomes[baseline].median("wall") / outcomes[tool].median("wall")


def main_and_collector_peak(measurement) -> tuple[int, int]:
    """Return the peak RSS of the main process and the peak USS of the collector.

    The collector is the main process's oldest child. It is forked after
    planning, so its RSS also counts the plan's pages that it shares with the
    main process; its USS counts only its own.
    """
    helpers = measurement.helper_processes()
    collector = helpers[0].uss if helpers else 0
    main = measurement.processes[measurement.root].rss if measurement.root in measurement.processes else 0
    return main, collector


def derived_figures(corpus, results: dict, extras: dict, baselines: dict, workers: int) -> dict:
    """Compute the figures the targets are stated in."""
    imgq = f"imgq -j{workers}"
    figures: dict = {}
    for job in "RTCS":
        figures[f"{job}_ratio"] = ratio(results, job, imgq, baselines[job])
    figures["T_vs_vips"] = ratio(results, "T", imgq, f"vips, parallel -j{workers}")

    ceiling = extras["ceiling"]
    stage_seconds = sum(ceiling["seconds"].values())
    figures["ceiling_mps"] = workers * ceiling["megapixels"] / stage_seconds
    if imgq in results.get("R", {}):
        _, megapixels = _job_images(corpus, "R")
        figures["R_mps"] = megapixels / results["R"][imgq].median("wall")
        figures["R_of_ceiling"] = figures["R_mps"] / figures["ceiling_mps"]

    single = results.get("R", {}).get("imgq -j1")
    if single and imgq in results["R"]:
        figures["scaling"] = single.median("wall") / (workers * results["R"][imgq].median("wall"))

    memory = extras["memory"]
    for label, count in (("small", min(memory)), ("large", max(memory))):
        peaks = [main_and_collector_peak(run) for run in memory[count]]
        figures[f"memory_{label}_count"] = count
        figures[f"memory_{label}_main"] = _median(main for main, _ in peaks)
        figures[f"memory_{label}_collector"] = _median(collector for _, collector in peaks)
        figures[f"memory_{label}"] = _median(main + collector for main, collector in peaks)
    figures["memory_growth"] = figures["memory_large"] / figures["memory_small"] - 1

    if imgq in results.get("S", {}):
        count, _ = _job_images(corpus, "S")
        loop = results["S"].get(baselines["S"])
        if loop:
            figures["S_overhead_ms"] = (results["S"][imgq].median("cpu") - loop.median("cpu")) / count * 1000
        figures["collector_busy"] = {
            job: _collector_busy(results[job][imgq]) for job in results if imgq in results[job]
        }

    planning = extras["planning"]
    figures["plan_seconds"] = _median(run["seconds"] for run in planning)
    figures["plan_rss"] = _median(run["peak_rss"] for run in planning)
    figures.update(_startup_figures(extras.get("startup")))
    return figures


def _collector_busy(outcome) -> float | None:
    """Return the collector's CPU time over the run's wall time, median of the runs."""
    shares = []
    for run in outcome.runs:
        helpers = run.helper_processes()
        if helpers:
            shares.append(helpers[0].cpu_seconds / run.wall)
    return _median(shares) if shares else None


def _startup_figures(rows) -> dict:
    """Return imgq's per-call time over the baseline's and over vips rot's, where measured."""
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], dict) or "tool" not in rows[0]:
        return {}
    medians = {row["tool"]: row["median_ms"] for row in rows if row.get("median_ms")}
    imgq = medians.get("imgq rotate 90")
    if imgq is None:
        return {}
    figures = {"P_ratio": imgq / medians["python -c 'import PIL.Image, click'"]}
    if "vips rot" in medians:
        figures["P_vs_vips"] = imgq / medians["vips rot"]
    return figures


def targets(figures: dict, results: dict, workers: int) -> list[str]:
    """Return the Markdown table of the targets: figure, target, met or missed."""
    def row(name, value, goal, met, shown):
        if value is None:
            state = "n/a"
        else:
            state = "met" if met(value) else "**missed**"
        return f"| {name} | {shown(value) if value is not None else 'not measured'} | {goal} | {state} |"

    times = lambda value: f"{value:.2f}x"  # noqa: E731
    rows = [
        "| target | measured | goal | state |",
        "| --- | ---: | --- | --- |",
        row("R: imgq vs Pillow loop", figures.get("R_ratio"), ">= 2.2x", lambda v: v >= 2.2, times),
        row("R: share of the codec ceiling", figures.get("R_of_ceiling"), ">= 90 %", lambda v: v >= 0.9, lambda v: f"{v:.0%}"),
        row("T: imgq vs Pillow loop without draft", figures.get("T_ratio"), ">= 4.5x", lambda v: v >= 4.5, times),
        row(f"T: imgq vs vipsthumbnail, parallel -j{workers}", figures.get("T_vs_vips"), ">= 1.5x", lambda v: v >= 1.5, times),
        row("C: imgq vs Pillow loop", figures.get("C_ratio"), ">= 1.9x", lambda v: v >= 1.9, times),
        row("S: imgq vs Pillow loop", figures.get("S_ratio"), ">= 1.6x", lambda v: v >= 1.6, times),
        row("S: imgq CPU per image above the loop", figures.get("S_overhead_ms"), "< 0.5 ms", lambda v: v < 0.5, lambda v: f"{v:.2f} ms"),
        row("memory: main + collector, 1,000 to 10,000 images", figures.get("memory_growth"), "within 10 %", lambda v: v <= 0.10, lambda v: f"{v:+.1%}"),
        row("planning 100,000 paths: time", figures.get("plan_seconds"), "< 5 s", lambda v: v < 5, lambda v: f"{v:.2f} s"),
        row("planning 100,000 paths: peak memory", figures.get("plan_rss"), "< 200 MB", lambda v: v < 200 * MB, lambda v: f"{v / MB:.0f} MB"),
        row("P: one call vs `import PIL.Image, click`", figures.get("P_ratio"), "<= 1.2x", lambda v: v <= 1.2, times),
        row("P: one call vs `vips rot`", figures.get("P_vs_vips"), "<= 1.0x", lambda v: v <= 1.0, times),
    ]
    imgq = f"imgq -j{workers}"
    for job in "RTC":
        outcomes = results.get(job, {})
        if imgq not in outcomes:
            continue
        mine = outcomes[imgq].median("wall")
        faster = [name for name, outcome in outcomes.items() if name != imgq and not name.startswith("imgq") and outcome.median("wall") <= mine]
        state = "met" if not faster else "**missed**"
        rows.append(f"| {job}: every other tool slower than imgq | {', '.join(faster) or 'all slower'} | none faster | {state} |")
    return rows + [""]


def write_markdown(path, corpus, spec, tools, results, extras, baselines, arguments, chart_name) -> None:
    """Write the benchmark page."""
    workers = arguments.workers
    figures = derived_figures(corpus, results, extras, baselines, workers)
    memory = psutil.virtual_memory().total / 1024**3
    load_before, load_after = extras["load"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python benchmarks/run.py`) on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; the run took {extras['elapsed'] / 60:.1f} minutes.",
        "",
        "The machine is shared with other jobs, so absolute times are noisy. Compare the",
        "ratios, which come from runs of every tool in the same session, alternating the",
        f"tools in each of {arguments.runs} rounds; every figure is the median of the rounds.",
        "",
        "## Machine and versions",
        "",
        f"- CPU: {cpu_model()}, {psutil.cpu_count()} logical cores, {workers} used by every parallel tool",
        f"- memory: {memory:.1f} GiB",
        f"- load: load average {load_before[0]:.2f} before the run and {load_after[0]:.2f} after; other",
        f"  processes used {extras['others_share']:.0%} of the machine's CPU time during the run",
        f"- {platform.platform()}, Python {platform.python_version()}",
        f"- Pillow {Image.__version__}, libjpeg-turbo {features.version('libjpeg_turbo') or 'n/a'}, "
        f"libwebp {features.version('webp') or 'n/a'}",
    ]
    for tool in tools:
        if tool.version:
            lines.append(f"- {tool.name}: {tool.version}")
    missing = [f"{tool.name} ({tool.missing})" for tool in tools if tool.missing]
    lines += [f"- missing: {', '.join(missing) or 'none'}", ""]

    lines += [
        "## Corpus",
        "",
        f"Seeded photo-like images (`benchmarks/corpus.py`, seed {spec.seed}): {spec.large_jpegs} JPEGs of",
        f"12 MP and {spec.small_jpegs} of 2 MP, landscape and portrait, with EXIF Orientation 6, 8 or 3",
        f"on every third; {spec.pngs} PNGs of 1.9 MP, half with alpha; {spec.tiny_jpegs:,} JPEGs of 64x64.",
        "",
        _tiny_location(corpus),
        "",
        "## Results",
        "",
        "Wall time, CPU time (user + system of every process) and peak memory (the",
        f"largest sum of resident set sizes over the process tree, sampled every {SAMPLE_SECONDS * 1000:.0f} ms)",
        "are medians. \"vs baseline\" is the baseline's wall time over the tool's.",
        "\"fastest run\" is the tool's shortest wall time, the one least slowed by other load.",
        "The output check counts the outputs and compares each size with the expected one.",
        "",
        f"![speed relative to the baseline]({chart_name})",
        "",
    ]
    for job in results:
        lines += job_table(corpus, job, results[job], baselines[job])

    lines += ["## Targets", ""] + targets(figures, results, workers)
    lines += _extra_sections(figures, extras, workers)
    if os.path.exists(NOTES):
        with open(NOTES, encoding="utf-8") as stream:
            lines += ["## Notes", "", stream.read().strip(), ""]
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("\n".join(lines))


def _tiny_location(corpus) -> str:
    if getattr(corpus, "tiny_copy", ""):
        return (
            "Job S and the memory runs read and write on a memory filesystem (`/dev/shm`), because on this\n"
            "machine's shared disk the time to create 10,000 small files varies threefold between runs.\n"
            "Every run starts after `sync`, so that no run pays for the previous one's writes."
        )
    return "Each run starts after `sync`, so that no run pays for the previous one's writes."


def _extra_sections(figures: dict, extras: dict, workers: int) -> list[str]:
    ceiling = extras["ceiling"]
    seconds = ceiling["seconds"]
    lines = [
        "## Codec ceiling (job R)",
        "",
        "Single-core time of each stage over the R corpus, files already in memory, best",
        "of two passes and of Pillow's default and raised block cache:",
        "",
        "| stage | seconds | MP/s on one core |",
        "| --- | ---: | ---: |",
    ]
    for stage, value in seconds.items():
        lines.append(f"| {stage} | {value:.2f} | {ceiling['megapixels'] / value:,.0f} |")
    lines += [
        "",
        f"Ceiling on {workers} cores: {figures['ceiling_mps']:,.0f} MP/s. "
        + (f"imgq reached {figures['R_mps']:,.0f} MP/s, {figures['R_of_ceiling']:.0%} of it." if "R_mps" in figures else ""),
        "",
    ]
    if "scaling" in figures:
        lines += [
            "## Scaling (job R)",
            "",
            f"Throughput at {workers} workers over {workers} times the throughput at 1 worker: "
            f"{figures['scaling']:.0%}.",
            "",
        ]
    if "memory_large" in figures:
        busy = ", ".join(f"{job} {share:.0%}" for job, share in figures.get("collector_busy", {}).items() if share is not None)
        lines += [
            "## Memory and the collector",
            "",
            "Peak RSS of the main process plus peak USS of the collector (its own pages;",
            "it is forked after planning, so its RSS would count the main process's plan",
            "again), on job S, medians:",
            "",
            "| images | main RSS MB | collector USS MB | sum MB |",
            "| ---: | ---: | ---: | ---: |",
            *(
                f"| {figures[f'memory_{label}_count']:,} | {figures[f'memory_{label}_main'] / MB:.1f} | "
                f"{figures[f'memory_{label}_collector'] / MB:.1f} | {figures[f'memory_{label}'] / MB:.1f} |"
                for label in ("small", "large")
            ),
            "",
            f"Growth: {figures['memory_growth']:+.1%}.",
            f"Collector CPU time as a share of imgq's wall time, per job: {busy or 'not measured'}.",
            f"CPU time per image above the Pillow loop on S: {figures.get('S_overhead_ms', float('nan')):.2f} ms.",
            "",
        ]
    lines += [
        "## Planning 100,000 paths",
        "",
        "Discovery and planning of 100,000 empty `.jpg` files in 100 folders, imports included, in a",
        f"fresh process: {figures['plan_seconds']:.2f} s, peak RSS {figures['plan_rss'] / MB:.0f} MB (medians).",
        "",
    ]
    startup = extras.get("startup")
    lines += ["## Start-up per call (job P)", ""]
    if startup is None:
        lines += ["Not measured: `benchmarks/startup.py` is not in this tree.", ""]
    else:
        lines += _startup_lines(startup) + [""]
    return lines


def _startup_lines(startup) -> list[str]:
    """Render whatever ``measure_startup`` returned: rows of dicts, a dict, or text."""
    if isinstance(startup, str):
        return [startup]
    if isinstance(startup, list) and startup and isinstance(startup[0], dict) and "tool" in startup[0]:
        from startup import markdown_table

        return [markdown_table(startup), "", "Median of at least 20 calls of each command, taken in turns."]
    if isinstance(startup, dict):
        startup = [{"measure": key, "value": value} for key, value in startup.items()]
    rows = list(startup)
    if not rows or not isinstance(rows[0], dict):
        return [str(startup)]
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
    for item in rows:
        lines.append("| " + " | ".join(_cell(item.get(key)) for key in keys) + " |")
    return lines


def _cell(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def write_chart(path: str, results: dict, baselines: dict) -> None:
    """Draw one horizontal bar per tool and job: speed relative to the job's baseline."""
    rows = []
    for job, outcomes in results.items():
        base = outcomes.get(baselines[job])
        if base is None:
            continue
        ordered = sorted(outcomes.items(), key=lambda item: item[1].median("wall"))
        for name, outcome in ordered:
            rows.append((job, name, base.median("wall") / outcome.median("wall")))
        rows.append(None)

    font = _font(14)
    row_height, label_width, bar_width = 22, 300, 560
    height = 50 + row_height * len(rows)
    image = Image.new("RGB", (label_width + bar_width + 80, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 10), "Speed relative to the baseline of each job (higher is faster)", fill="black", font=font)
    largest = max((row[2] for row in rows if row), default=1.0)
    scale = bar_width / max(largest, 1.0)
    top = 40
    for row in rows:
        if row is None:
            top += row_height
            continue
        job, name, value = row
        colour = (200, 80, 40) if name.startswith("imgq") else (90, 120, 170)
        draw.text((10, top + 3), f"{job}  {name}", fill="black", font=font)
        draw.rectangle((label_width, top + 3, label_width + value * scale, top + row_height - 3), fill=colour)
        draw.text((label_width + value * scale + 6, top + 3), f"{value:.2f}x", fill="black", font=font)
        top += row_height
    one = label_width + scale
    draw.line((one, 36, one, height - 6), fill=(120, 120, 120))
    image.save(path, optimize=True)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow before 10.1 has only the bitmap font
        return ImageFont.load_default()


if __name__ == "__main__":
    sys.exit("run benchmarks/run.py; this module only writes its report")

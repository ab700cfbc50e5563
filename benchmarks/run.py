"""Benchmark imgq against the tools people use instead, side by side in one run.

Usage: ``python benchmarks/run.py [--quick] [--runs N]`` (``make bench``,
``make bench-quick``). The corpus is generated once under
``benchmarks/.work/`` and reused. Each round runs every tool on every job, in
an order that rotates from round to round, and the tables show medians.
The full run writes ``docs/benchmarks.md`` and ``docs/benchmarks.png``;
``--quick`` writes them under ``benchmarks/.work/`` instead.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, REPO)

import psutil  # noqa: E402
from PIL import Image  # noqa: E402

import tools as toolbox  # noqa: E402
from corpus import Corpus, CorpusSpec, generate  # noqa: E402
from measure import Measurement, environment, run_measured  # noqa: E402
from write_report import write_chart, write_markdown  # noqa: E402

from imgq.dispatch import available_cpus  # noqa: E402

# Sized so that three rounds finish within 15 minutes on 2 busy cores.
FULL = CorpusSpec(large_jpegs=24, small_jpegs=12, pngs=12, tiny_jpegs=10_000)
QUICK = CorpusSpec(large_jpegs=6, small_jpegs=4, pngs=4, tiny_jpegs=1_000)
PLAN_PATHS = 100_000
MEMORY_SMALL_RUN = 1_000
MEMORY_FOLDER = "/dev/shm"
MEMORY_NEEDED = 512 * 2**20

BASELINES = {"R": "Pillow loop", "T": "Pillow loop", "C": "Pillow loop", "S": "Pillow loop", "L": "jpegtran, parallel -j1"}


@dataclass
class Outcome:
    """Every run of one tool on one job, and what the output check found."""

    runs: list[Measurement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


def make_tools(workers: int) -> list[toolbox.Tool]:
    """Return every tool in the comparison, the missing ones with a reason."""
    tools = [
        toolbox.pillow_tool("Pillow loop", 0),
        toolbox.pillow_tool("Pillow loop, draft", 0, draft=True, only="T"),
        # The Pool scripts use draft on T, like the "Pillow loop, draft" row.
        toolbox.pillow_tool(f"Pool({workers})", workers, draft=True),
        toolbox.pillow_tool(f"Pool({workers}), block cache", workers, draft=True, block_cache=True, only="RT"),
        toolbox.imgp_tool(workers),
        toolbox.mogrify_tool(),
        toolbox.vips_tool(workers),
        toolbox.jpegtran_tool(1),
        toolbox.jpegtran_tool(workers),
        toolbox.imgq_tool("imgq -j1", 1, only="R"),
        toolbox.imgq_tool(f"imgq -j{workers}", workers, only="RTCSL"),
    ]
    return tools


def expected_sizes(corpus: Corpus, job: str) -> list[tuple[int, int]]:
    """Return the output sizes a correct tool writes for ``job``, sorted."""
    if job in "RL":
        sizes = [info.size[::-1] for info in corpus.jpegs]
    elif job == "T":
        sizes = [_fit(info.upright_size, (1600, 1600)) for info in corpus.jpegs]
    elif job == "C":
        sizes = [info.size for info in corpus.pngs]
    else:
        sizes = [info.size[::-1] for info in corpus.tiny]
    return sorted(sizes)


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1])
    return round(size[0] * scale), round(size[1] * scale)


def check_outputs(command: toolbox.Command, expected: list[tuple[int, int]]) -> list[str]:
    """Compare the outputs' count and sizes with ``expected``; allow 1 pixel of rounding."""
    sizes = []
    for root, _, files in os.walk(command.output_dir):
        for name in files:
            if name.endswith(command.output_suffix):
                with Image.open(os.path.join(root, name)) as image:
                    sizes.append(image.size)
    if len(sizes) != len(expected):
        return [f"wrote {len(sizes)} outputs, expected {len(expected)}"]
    wrong = sum(
        1
        for got, want in zip(sorted(sizes), expected)
        if abs(got[0] - want[0]) > 1 or abs(got[1] - want[1]) > 1
    )
    return [f"{wrong} of {len(expected)} outputs have the wrong size"] if wrong else []


def run_rounds(corpus: Corpus, tools: list[toolbox.Tool], jobs: str, runs: int, work: str) -> dict:
    """Run every tool on every job ``runs`` times, rotating the order each round."""
    results: dict[str, dict[str, Outcome]] = {job: {} for job in jobs}
    for round_number in range(runs):
        for job in jobs:
            entrants = [tool for tool in tools if job in tool.builders]
            shift = round_number % len(entrants)
            for tool in entrants[shift:] + entrants[:shift]:
                outcome = results[job].setdefault(tool.name, Outcome())
                measurement, problems = run_one(corpus, tool, job, work, check=round_number == 0)
                outcome.runs.append(measurement)
                outcome.problems += problems
                print(
                    f"round {round_number + 1}/{runs} {job} {tool.name:28s} {measurement.wall:7.2f} s",
                    file=sys.stderr,
                    flush=True,
                )
    return results


def run_one(corpus: Corpus, tool: toolbox.Tool, job: str, work: str, check: bool) -> tuple[Measurement, list[str]]:
    """Run one tool on one job into a fresh output folder (on the memory filesystem for S, if any)."""
    if job == "S" and corpus.tiny_copy:
        work = os.path.dirname(corpus.tiny_copy)
    out = os.path.join(work, "out", job, tool.name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", ""))
    shutil.rmtree(out, ignore_errors=True)
    command = tool.builders[job](corpus, out)
    if command.prepare is not None:
        command.prepare()

    # Writing back the files that the previous run deleted would otherwise
    # slow this run down.
    os.sync()
    measurement = run_measured(command.argv, env=environment(**command.env))
    problems = []
    if measurement.returncode != 0:
        last = measurement.stderr.strip().splitlines()[-1:] or ["(no message)"]
        problems.append(f"exit code {measurement.returncode}: {last[0][:200]}")
    if check:
        problems += check_outputs(command, expected_sizes(corpus, job))
    shutil.rmtree(out, ignore_errors=True)
    return measurement, problems


def copy_tiny_to_memory(corpus: Corpus) -> Corpus:
    """Copy job S's images to a memory filesystem (/dev/shm) when there is room, and return the corpus.

    Job S measures the cost per image outside the codecs, and on this kind
    of shared virtual disk the time to create and delete 10,000 small files
    varies threefold from run to run for every tool, which hides it.
    """
    if not os.path.isdir(MEMORY_FOLDER) or shutil.disk_usage(MEMORY_FOLDER).free < MEMORY_NEEDED:
        return corpus
    folder = os.path.join(MEMORY_FOLDER, f"imgq-bench-{os.getpid()}")
    shutil.copytree(corpus.tiny_dir, os.path.join(folder, "tiny"))
    return replace(corpus, tiny_copy=os.path.join(folder, "tiny"))


def measure_ceiling(corpus: Corpus) -> dict:
    """Return the best single-core stage times for job R, with and without the block cache."""
    best = None
    for env in ({}, toolbox.BLOCK_CACHE):
        completed = subprocess.run(
            [sys.executable, toolbox.PILLOW_JOBS, "ceiling", corpus.jpeg_dir],
            capture_output=True, text=True, check=True, env=environment(**env),
        )
        figures = json.loads(completed.stdout)
        if best is None:
            best = figures
        else:
            best["seconds"] = {stage: min(best["seconds"][stage], figures["seconds"][stage]) for stage in best["seconds"]}
    return best


def measure_memory(corpus: Corpus, workers: int, runs: int, work: str) -> dict[int, list[Measurement]]:
    """Run imgq job S on 1,000 and on all tiny images, alternating, sampling USS too."""
    folders = sorted(os.listdir(corpus.tiny_dir))
    sizes = {MEMORY_SMALL_RUN: folders[: MEMORY_SMALL_RUN // 100], len(corpus.tiny): folders}
    measurements: dict[int, list[Measurement]] = {count: [] for count in sizes}
    out = os.path.join(work, "out", "memory")
    for _ in range(runs):
        for count, names in sizes.items():
            shutil.rmtree(out, ignore_errors=True)
            sources = [os.path.join(corpus.tiny_dir, name) for name in names]
            argv = [sys.executable, "-m", "imgq", "rotate", "90", *sources, "-o", out, "--no-auto-orient"]
            measurements[count].append(run_measured(argv + ["-j", str(workers), "--quiet"], unique=True))
    shutil.rmtree(out, ignore_errors=True)
    return measurements


def measure_planning(work: str, runs: int) -> list[dict]:
    """Time discovery and planning of 100,000 paths, in a fresh process each run.

    The peak is the kernel's VmHWM, because ``ru_maxrss`` survives ``exec``
    and would report this runner's own peak.
    """
    tree = os.path.join(work, "plan-tree")
    marker = os.path.join(tree, "COMPLETE")
    if not os.path.exists(marker):
        shutil.rmtree(tree, ignore_errors=True)
        for number in range(PLAN_PATHS):
            folder = os.path.join(tree, f"{number // 1000:03d}")
            if number % 1000 == 0:
                os.makedirs(folder)
            open(os.path.join(folder, f"img-{number:06d}.jpg"), "wb").close()
        open(marker, "w").close()
    probe = (
        "import json, sys, time\n"
        "started = time.perf_counter()\n"
        "from imgq.discover import discover\n"
        "from imgq.plan import Placement, make_plan\n"
        "plan = make_plan(discover([sys.argv[1]]), Placement(output_root=sys.argv[2]))\n"
        "seconds = time.perf_counter() - started\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "rss = int(status.split()[0]) * 1024\n"
        "print(json.dumps({'seconds': seconds, 'peak_rss': rss, 'jobs': len(plan.jobs)}))\n"
    )
    figures = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-c", probe, tree, os.path.join(work, "plan-out")],
            capture_output=True, text=True, check=True, cwd=REPO,
        )
        figures.append(json.loads(completed.stdout))
    return figures


def measure_startup_job(work: str):
    """Run ``startup.measure_startup`` when that module exists, else return None."""
    try:
        import startup
    except ImportError:
        return None
    folder = os.path.join(work, "startup")
    os.makedirs(folder, exist_ok=True)
    return startup.measure_startup(folder)


def machine_cpu_seconds() -> tuple[float, float, float]:
    """Return the machine's busy CPU seconds, this runner's with its children's, and the time."""
    times = psutil.cpu_times()
    busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
    mine = sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
               for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return busy, mine, time.perf_counter()


def others_cpu_share(before: tuple[float, float, float]) -> float:
    """Return the share of the machine's CPU time that other processes used since ``before``."""
    busy, mine, now = machine_cpu_seconds()
    capacity = (now - before[2]) * (psutil.cpu_count() or 1)
    return max(0.0, (busy - before[0]) - (mine - before[1])) / capacity


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark imgq against other batch image tools.")
    parser.add_argument("--quick", action="store_true", help="small corpus, for trying the runner")
    parser.add_argument("--runs", type=int, default=3, help="rounds per tool and job (default 3; medians)")
    parser.add_argument("--jobs", default="RTCSL", help="jobs to run, from RTCSL (default all)")
    parser.add_argument("--workers", type=int, default=available_cpus(), help="parallel width for every tool")
    parser.add_argument(
        "--report-only", action="store_true",
        help="rewrite the page and the chart from the last run's saved measurements (after editing notes.md)",
    )
    arguments = parser.parse_args()
    if arguments.runs < 1:
        parser.error(f"--runs must be 1 or more, got {arguments.runs}")
    if arguments.report_only:
        path = _results_path(arguments.quick)
        if not os.path.exists(path):
            parser.error(f"no saved measurements at {path}; run the benchmark first")
        with open(path, "rb") as stream:
            write_outputs(*pickle.load(stream))
        return 0

    started = time.perf_counter()
    spec = QUICK if arguments.quick else FULL
    work = os.path.join(HERE, ".work")
    corpus_root = os.path.join(work, "corpus-quick" if arguments.quick else "corpus")
    print(f"generating or reusing the corpus in {corpus_root}", file=sys.stderr, flush=True)
    corpus = copy_tiny_to_memory(generate(corpus_root, spec))
    try:
        measure_all(corpus, spec, arguments, work, started)
    finally:
        if corpus.tiny_copy:
            shutil.rmtree(os.path.dirname(corpus.tiny_copy), ignore_errors=True)
    return 0


def measure_all(corpus: Corpus, spec: CorpusSpec, arguments, work: str, started: float) -> None:
    """Run every job and the extra measurements, then save them and write the page."""
    load_before = os.getloadavg()
    machine_before = machine_cpu_seconds()

    tools = make_tools(arguments.workers)
    for tool in tools:
        if tool.missing:
            print(f"missing: {tool.name}: {tool.missing}", file=sys.stderr)
    if not any("L" in tool.builders for tool in tools if tool.name.startswith("imgq")):
        print("imgq: no lossless rotate in this imgq (rotate --lossless), so job L has no imgq row", file=sys.stderr)

    results = run_rounds(corpus, tools, arguments.jobs, arguments.runs, work)
    print("measuring the codec ceiling, memory and planning", file=sys.stderr, flush=True)
    extras = {
        "ceiling": measure_ceiling(corpus),
        "memory": measure_memory(corpus, arguments.workers, arguments.runs, work),
        "planning": measure_planning(work, arguments.runs),
        "startup": measure_startup_job(work),
        "load": (load_before, os.getloadavg()),
        "elapsed": time.perf_counter() - started,
    }
    extras["others_share"] = others_cpu_share(machine_before)

    summaries = [toolbox.Tool(tool.name, {}, tool.version, tool.missing) for tool in tools]
    saved = (corpus, spec, summaries, results, extras, arguments)
    with open(_results_path(arguments.quick), "wb") as stream:
        pickle.dump(saved, stream)
    write_outputs(*saved)


def _results_path(quick: bool) -> str:
    return os.path.join(HERE, ".work", "results-quick.pickle" if quick else "results.pickle")


def write_outputs(corpus, spec, tools, results, extras, arguments) -> None:
    """Write the Markdown page and the chart from the measurements."""
    target = os.path.join(HERE, ".work") if arguments.quick else os.path.join(REPO, "docs")
    os.makedirs(target, exist_ok=True)
    chart = os.path.join(target, "benchmarks.png")
    write_chart(chart, results, BASELINES)
    markdown = os.path.join(target, "benchmarks.md")
    write_markdown(markdown, corpus, spec, tools, results, extras, BASELINES, arguments, os.path.basename(chart))
    print(f"wrote {markdown} and {chart}; the measurements took {extras['elapsed']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())

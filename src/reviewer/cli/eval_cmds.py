"""`reviewer eval`: retrieval quality on BEIR-format data sets, paired comparison of two runs, abstention."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from reviewer.cli.options import DbOption, open_library
from reviewer.cli.output import console, err_console, wide_console

app = typer.Typer(help="Measure reviewer on evaluation data sets.", no_args_is_help=True)


def _bar(label: str):
    """A progress bar on stderr with count, elapsed time and ETA."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn(f"[bold]{label}"), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                    console=err_console())


def _updater(bar, description: str):
    state: dict = {}

    def progress(done: int, total: int) -> None:
        if total and "task" not in state:
            state["task"] = bar.add_task(description, total=total)
        if "task" in state:
            bar.update(state["task"], completed=done)

    return progress


@app.command("retrieval")
def retrieval(
    datasets: Annotated[list[Path], typer.Argument(help="Folders with corpus.jsonl, queries.jsonl and qrels.tsv (BEIR layout); several are measured in one run.")],
    mode: Annotated[Optional[list[str]], typer.Option("--mode", help="bm25, cosine, dense, rrf or hybrid; repeat for several (default: bm25, cosine, rrf, hybrid).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures, with every query's values, to this JSON file (input of `reviewer eval compare`).")] = None,
) -> None:
    """nDCG@10, Recall@10, Recall@100, MRR@10 and query latency for each search mode on each data set.

    Each data set is indexed once in its own library under the user cache directory (reused while its
    corpus.jsonl is unchanged)."""
    from rich.table import Table

    from reviewer.errors import InputError
    from reviewer.evaluation.harness import evaluate_dataset
    from reviewer.retrieval.search import MODES

    modes = mode or ["bm25", "cosine", "rrf", "hybrid"]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise InputError(f"unknown mode(s) {', '.join(unknown)}: use {', '.join(MODES)}")
    missing = [str(d) for d in datasets if not d.is_dir()]
    if missing:
        raise InputError(f"not a folder: {', '.join(missing)}; give folders holding corpus.jsonl, queries.jsonl "
                         "and qrels.tsv")
    runs = []
    for folder in datasets:
        with _bar(folder.name) as bar:
            data, results = evaluate_dataset(folder, modes, progress=_updater(bar, "indexing corpus"),
                                             query_progress=_updater(bar, "queries"))
        runs.append((data, results))
    from rich import box

    metrics = list(runs[0][1][0].means)
    table = Table(title="retrieval quality: nDCG with graded gains; recall and MRR over the queries with a relevant "
                        "document (n: queries, with a relevant document)", box=box.SIMPLE_HEAD)
    table.add_column("data set", no_wrap=True)
    table.add_column("n", justify="right", no_wrap=True)
    table.add_column("mode", no_wrap=True)
    for name in metrics:
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("p50 ms", justify="right", no_wrap=True)
    table.add_column("p95 ms", justify="right", no_wrap=True)
    for data, results in runs:
        for i, r in enumerate(results):
            counts = "/".join(sorted({str(c) for c in r.counts.values()}, key=int, reverse=True))
            table.add_row(data.name if i == 0 else "", counts if i == 0 else "", r.mode,
                          *[f"{r.means[m]:.3f}" for m in metrics], f"{r.latency_p50_ms:.0f}",
                          f"{r.latency_p95_ms:.0f}", end_section=i == len(results) - 1)
    wide_console(110).print(table)
    if json_out:
        json_out.write_text(json.dumps({"datasets": [
            {"dataset": data.name, "documents": len(data.corpus), "queries": len(data.qrels),
             "results": [r.to_dict() for r in results]} for data, results in runs]}, indent=1))
        console().print(f"wrote {json_out}")


def _load_run(spec: str) -> tuple[str, dict[str, dict]]:
    """``FILE`` or ``FILE:MODE`` -> (label, {dataset: per-query values}) from a `reviewer eval retrieval --json`
    file. Without MODE the file must hold one mode per data set."""
    from reviewer.errors import InputError

    path, mode = Path(spec), None
    if not path.is_file() and ":" in spec:
        head, _, mode = spec.rpartition(":")
        path = Path(head)
    if not path.is_file():
        raise InputError(f"{spec}: no such file; give a JSON file written by `reviewer eval retrieval --json`, "
                         "optionally as FILE:MODE")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        sets = data["datasets"]
        found: dict[str, dict] = {}
        for entry in sets:
            results = entry["results"]
            chosen = [r for r in results if mode is None or r["mode"] == mode]
            if mode is None and len(chosen) > 1:
                raise InputError(f"{path}: {entry['dataset']} has several modes ({', '.join(r['mode'] for r in results)}): "
                                 f"say which, as {path}:MODE")
            if chosen:
                found[entry["dataset"]] = chosen[0]["per_query"]
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a `reviewer eval retrieval --json` file with per-query values ({exc})") from None
    if not found:
        raise InputError(f"{path}: no results for mode {mode!r}")
    return (f"{path.name}:{mode}" if mode else path.name), found


@app.command("compare")
def compare(
    a: Annotated[str, typer.Argument(help="Run A (the baseline): FILE or FILE:MODE, from `reviewer eval retrieval --json`.")],
    b: Annotated[str, typer.Argument(help="Run B (the candidate): FILE or FILE:MODE.")],
    metric: Annotated[str, typer.Option("--metric", help="Per-query metric to compare.")] = "ndcg@10",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the comparison to this JSON file.")] = None,
) -> None:
    """Paired comparison of two runs on every data set they share: mean difference (B - A), per-query
    wins/losses/ties, and a two-sided paired randomization test (significant at p < 0.05).

    Example: `reviewer eval compare eval.json:rrf eval.json:hybrid`."""
    from rich.table import Table

    from reviewer.errors import InputError
    from reviewer.evaluation.paired import paired

    label_a, run_a = _load_run(a)
    label_b, run_b = _load_run(b)
    shared = [name for name in run_a if name in run_b]
    if not shared:
        raise InputError(f"{label_a} and {label_b} share no data set")
    rows = []
    for name in shared:
        values_a = {q: v.get(metric) for q, v in run_a[name].items()}
        values_b = {q: v.get(metric) for q, v in run_b[name].items()}
        if all(v is None for v in values_a.values()):
            raise InputError(f"{label_a}: no {metric} values for {name}")
        rows.append(paired(name, metric, values_a, values_b))
    from rich import box

    table = Table(title=f"{metric}: A = {label_a}, B = {label_b} (paired randomization test, two-sided)",
                  box=box.SIMPLE_HEAD)
    for column in ("data set", "queries", "A", "B", "B - A", "B wins", "B loses", "ties", "p", "verdict"):
        table.add_column(column, justify="left" if column in ("data set", "verdict") else "right", no_wrap=True)
    for r in rows:
        table.add_row(r.dataset, str(r.queries), f"{r.mean_a:.3f}", f"{r.mean_b:.3f}", f"{r.delta:+.3f}",
                      str(r.wins), str(r.losses), str(r.ties), f"{r.p_value:.3f}", r.verdict)
    wide_console(120).print(table)
    worse = [r.dataset for r in rows if r.significant and r.delta < 0]
    console().print(f"B loses significantly on: {', '.join(worse)}" if worse
                    else "B loses significantly on no data set")
    if json_out:
        json_out.write_text(json.dumps({"a": label_a, "b": label_b, "metric": metric,
                                        "datasets": [r.to_dict() for r in rows]}, indent=1))
        console().print(f"wrote {json_out}")


@app.command("abstain")
def abstain(
    questions: Annotated[Path, typer.Argument(help="JSONL question set: {id, group, question, keys} a line; groups answerable, off-topic, near-miss (e.g. benchmarks/abstain/questions.jsonl, written for the sample corpus).")],
    db: DbOption = None,
    k: Annotated[int, typer.Option("-k", help="Papers retrieved per question, as `reviewer ask -k`.")] = 8,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write every question's outcome to this JSON file.")] = None,
) -> None:
    """Answer and refusal rates per group of questions, through the same retrieval and evidence gate as
    `reviewer ask` (no model is called). Targets: answerable answered >= 95%, off-topic and near-miss refused
    >= 95% and >= 80%."""
    from rich.table import Table

    from reviewer.evaluation import abstain as measure

    items = measure.load_questions(questions)
    library = open_library(db)
    with _bar(questions.name) as bar:
        outcomes = measure.run(library, items, k=k, progress=_updater(bar, "questions"))
    table = Table(title=f"abstention on {questions.name} ({len(library)} papers, -k {k})")
    for column in ("group", "questions", "answered", "refused", "goal", "result"):
        table.add_column(column, justify="left" if column in ("group", "goal") else "right")
    groups = measure.rates(outcomes)
    for r in groups:
        verb = "answer" if r.group == "answerable" else "refuse"
        table.add_row(r.group, str(r.questions), str(r.answered), str(r.questions - r.answered),
                      f"{verb} ≥ {r.target:.0%}", f"{r.rate:.0%} {'met' if r.rate >= r.target else 'MISSED'}")
    console().print(table)
    for r in groups:
        if r.group == "answerable" and r.answered:
            console().print(f"answerable questions whose expected paper is in the evidence: {r.found} of {r.answered}")
    wrong = [o for o in outcomes if not o.correct]
    for o in wrong:
        err_console().print(f"{'refused' if o.question.group == 'answerable' else 'answered'} {o.question.group} "
                            f"{o.question.id} (best sentence {o.best_sentence:.2f}): {o.question.question}",
                            highlight=False, soft_wrap=True)
    if json_out:
        json_out.write_text(json.dumps({"questions": str(questions), "k": k, "papers": len(library),
                                        "groups": [r.to_dict() for r in measure.rates(outcomes)],
                                        "outcomes": [o.to_dict() for o in outcomes]}, indent=1))
        console().print(f"wrote {json_out}")

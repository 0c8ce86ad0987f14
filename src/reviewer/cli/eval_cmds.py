"""`reviewer eval retrieval`: retrieval quality on a BEIR-format data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from reviewer.cli.output import console, err_console

app = typer.Typer(help="Measure reviewer on evaluation data sets.", no_args_is_help=True)


@app.command("retrieval")
def retrieval(
    dataset: Annotated[Path, typer.Argument(help="Folder with corpus.jsonl, queries.jsonl and qrels.tsv (BEIR layout).")],
    mode: Annotated[Optional[list[str]], typer.Option("--mode", "-m", help="bm25, dense or hybrid; repeat for several (default: all three).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures to this JSON file.")] = None,
) -> None:
    """nDCG@10, Recall@10, Recall@100, MRR@10 and query latency for each search mode."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from reviewer.errors import InputError
    from reviewer.evaluation.harness import evaluate_dataset
    from reviewer.retrieval.search import MODES

    modes = mode or ["bm25", "dense", "hybrid"]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise InputError(f"unknown mode(s) {', '.join(unknown)}: use {', '.join(MODES)}")
    with Progress(TextColumn("[bold]indexing corpus"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console()) as bar:
        state = {}

        def progress(done: int, total: int) -> None:
            if total and "task" not in state:
                state["task"] = bar.add_task("index", total=total)
            if "task" in state:
                bar.update(state["task"], completed=done)

        data, results = evaluate_dataset(dataset, modes, progress=progress)
    metrics = list(results[0].means)
    table = Table(title=f"{data.name}: {len(data.queries)} queries, {len(data.corpus)} documents")
    table.add_column("mode")
    for name in metrics:
        table.add_column(f"{name} (n={results[0].counts[name]})", justify="right")
    table.add_column("p50 ms", justify="right")
    table.add_column("p95 ms", justify="right")
    for r in results:
        table.add_row(r.mode, *[f"{r.means[m]:.3f}" for m in metrics], f"{r.latency_p50_ms:.0f}", f"{r.latency_p95_ms:.0f}")
    console().print(table)
    if json_out:
        json_out.write_text(json.dumps({"dataset": data.name, "results": [r.to_dict() for r in results]}, indent=2))
        console().print(f"wrote {json_out}")

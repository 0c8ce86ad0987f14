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


@app.command("citations")
def citations(
    dataset: Annotated[Path, typer.Argument(help="Folder with corpus.jsonl and answers.jsonl (expert answers with cited_ids), e.g. ../shared/eval/scholarqa-multi.")],
    system: Annotated[Optional[list[str]], typer.Option("--system", help="ask or review; repeat for both (default: both).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N questions (a quick look).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write every question's citations and scores to this JSON file.")] = None,
) -> None:
    """Citation recall, precision and F1 of `ask` and `review` against the papers an expert cited, next to plain
    search returning as many papers (the baseline), with wins/losses and a paired randomization test. Uses the
    model when one is configured (REVIEWER_LLM__BASE_URL or --model), else the extractive engine."""
    from rich.table import Table

    from reviewer.errors import InputError
    from reviewer.evaluation import citations as measure
    from reviewer.evaluation.beir import load_beir
    from reviewer.evaluation.harness import eval_db, open_eval_library

    systems = system or list(measure.SYSTEMS)
    unknown = [s for s in systems if s not in measure.SYSTEMS]
    if unknown:
        raise InputError(f"unknown system(s) {', '.join(unknown)}: use ask or review")
    answers = measure.load_answers(dataset)[:limit]
    with _bar(dataset.name) as bar:
        library = open_eval_library(load_beir(dataset), eval_db(dataset), progress=_updater(bar, "indexing corpus"))
        llm = library.llm()
        outcomes = measure.run(library, answers, systems, llm=llm, progress=_updater(bar, "questions"))
    engine = f"model {llm.model_name}" if llm is not None else "extractive engine (no model configured)"
    table = Table(title=f"citations vs the expert's on {dataset.name} ({len(answers)} questions, {engine}); "
                        "baseline: plain search, as many papers")
    for column in ("system", "answered", "cited", "recall", "baseline", "precision", "baseline ", "F1", "baseline  ",
                   "F1 wins/losses", "p"):
        table.add_column(column, justify="left" if column == "system" else "right")
    summaries = measure.summarise(outcomes, dataset.name)
    for s in summaries:
        f1 = s.tests["f1"]
        table.add_row(s.system, f"{s.answered}/{s.questions}", f"{s.mean['cited']:.1f}", f"{s.mean['recall']:.3f}",
                      f"{s.baseline['recall']:.3f}", f"{s.mean['precision']:.3f}", f"{s.baseline['precision']:.3f}",
                      f"{s.mean['f1']:.3f}", f"{s.baseline['f1']:.3f}", f"{f1.wins}/{f1.losses}", f"{f1.p_value:.3f}")
    wide_console(130).print(table)
    if json_out:
        json_out.write_text(json.dumps({"dataset": dataset.name, "engine": engine, "summaries": [s.to_dict() for s in summaries],
                                        "outcomes": [o.to_dict() for o in outcomes]}, indent=1))
        console().print(f"wrote {json_out}")


@app.command("support")
def support(
    files: Annotated[list[Path], typer.Argument(help="Labelled pairs: scifact-train/support.jsonl, a folder with answers.jsonl (scholarqa-multi: expert citing sentences vs a mismatched snippet), or JSONL of {sentence, abstract, label} (e.g. benchmarks/support/handwritten.jsonl).")],
    threshold: Annotated[Optional[float], typer.Option("--threshold", help="The threshold to report at (default: the offline check's).")] = None,
) -> None:
    """The offline support check on labelled pairs: ROC AUC (SUPPORT vs NOINFO; SUPPORT vs CONTRADICT), the share
    of each label passed at the threshold, what the contradiction cue flags, and the threshold that best separates
    SUPPORT from NOINFO over all the files while passing at least 80% of each file's SUPPORT pairs."""
    from rich.table import Table

    from reviewer.evaluation import sentences as measure
    from reviewer.extractive.support import OFFLINE_THRESHOLD
    from reviewer.index.embedder import make_embedder

    threshold = OFFLINE_THRESHOLD if threshold is None else threshold
    embedder = make_embedder()
    results = []
    for file in files:
        pairs = measure.load_pairs(file)
        with err_console().status(f"scoring {len(pairs)} pairs of {file}"):
            name = file.name if file.is_dir() else f"{file.parent.name}/{file.name}"
            results.append(measure.measure_support(name, pairs, measure.support_scores(pairs, embedder), threshold))
    table = Table(title=f"offline support check at threshold {threshold:g}")
    for column in ("file", "pairs", "AUC S/N", "AUC S/C", "SUPPORT passed", "NOINFO flagged", "CONTRADICT flagged",
                   "cue: CONTRADICT", "cue: SUPPORT"):
        table.add_column(column, justify="left" if column == "file" else "right")

    def share(value):
        return "-" if value is None else f"{value:.0%}"

    for r in results:
        flagged = {k: 1 - v for k, v in r.passed.items()}
        table.add_row(r.name, " ".join(f"{k[0]}{v}" for k, v in sorted(r.counts.items())),
                      "-" if r.auc is None else f"{r.auc:.3f}", "-" if r.auc_contradict is None else f"{r.auc_contradict:.3f}",
                      share(r.passed.get("SUPPORT")), share(flagged.get("NOINFO")), share(flagged.get("CONTRADICT")),
                      share(r.cue.get("CONTRADICT")), share(r.cue.get("SUPPORT")))
    wide_console(130).print(table)
    best, accuracy = measure.best_threshold(results)
    if best:
        console().print(f"best threshold over these files (mean balanced accuracy, SUPPORT passed >= "
                        f"{measure.MIN_PASS:.0%} in each): {best:g} ({accuracy:.3f})")
    else:
        console().print(f"no threshold passes {measure.MIN_PASS:.0%} of the SUPPORT pairs of every file")


@app.command("rationale")
def rationale(
    file: Annotated[Path, typer.Argument(help="scifact-train/support.jsonl (pairs with the indices of their rationale sentences).")],
) -> None:
    """How often the sentence the extractive engine would quote from an abstract for a claim is one of its
    annotated rationale sentences, vs the plain most similar sentence (SUPPORT and CONTRADICT pairs)."""
    from rich.table import Table

    from reviewer.evaluation import sentences as measure
    from reviewer.evaluation.paired import paired
    from reviewer.index.embedder import make_embedder

    pairs = measure.load_pairs(file)
    with err_console().status(f"scoring the sentences of {len(pairs)} pairs"):
        result = measure.measure_rationale(pairs, make_embedder())
    test = paired(file.name, "hit", {k: v[0] for k, v in result.per_pair.items()},
                  {k: v[1] for k, v in result.per_pair.items()})
    table = Table(title=f"rationale sentence chosen, {result.pairs} pairs of {file}")
    for column in ("label", "pairs", "most similar", "engine"):
        table.add_column(column, justify="left" if column == "label" else "right")
    labels = sorted(set(result.plain) | set(result.engine))
    counts = {label: sum(1 for p in pairs if p.label == label and p.rationale) for label in labels}
    for label in labels:
        table.add_row(label, str(counts[label]), f"{result.plain.get(label, 0) / counts[label]:.1%}",
                      f"{result.engine.get(label, 0) / counts[label]:.1%}")
    table.add_row("all", str(result.pairs), f"{sum(result.plain.values()) / result.pairs:.1%}",
                  f"{sum(result.engine.values()) / result.pairs:.1%}")
    console().print(table)
    console().print(f"engine vs most similar: {test.wins} wins, {test.losses} losses, {test.ties} ties; "
                    f"paired randomization p = {test.p_value:.3f}")

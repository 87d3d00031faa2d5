"""`runbook mentions evaluate`: per-class figures, macro-F1, confusion matrix, the plain VADER
comparison on the same rows, label maps, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from runbook.listen.evaluate import EvaluationError, evaluate_file, parse_label_map, scores

DATA = Path(__file__).parent / "data"


def test_scores_by_hand() -> None:
    truth = ["negative", "negative", "negative", "neutral", "positive", "positive"]
    said = ["negative", "negative", "neutral", "negative", "positive", "neutral"]
    s = scores(truth, said)
    assert s.per_class["negative"] == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667, "support": 3}
    assert s.per_class["neutral"]["f1"] == 0.0 and s.per_class["positive"]["precision"] == 1.0
    assert s.macro_f1 == round((0.6667 + 0.0 + 0.6667) / 3, 4)
    assert s.confusion["negative"] == {"negative": 2, "neutral": 1, "positive": 0}


def test_label_map_either_way_round() -> None:
    assert parse_label_map(["negative=neg,pos=positive", "meh=neutral"]) == {
        "neg": "negative",
        "pos": "positive",
        "meh": "neutral",
    }
    with pytest.raises(EvaluationError, match="one side must be"):
        parse_label_map(["bad=awful"])


def test_evaluate_a_jsonl_export_with_its_own_labels(tmp_path: Path) -> None:
    rows = [
        {"mood": "BAD", "body": "@SkyJet thanks for nothing, lost my bag"},
        {"mood": "GOOD", "body": "@SkyJet lovely crew, thank you!"},
        {"mood": "", "body": "@SkyJet unlabelled"},
        {"mood": "MEH", "body": "@SkyJet do you fly to Oslo?"},
    ]
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"labelled.jsonl:1: unknown label 'BAD'.*labels seen: BAD, GOOD, MEH"):
        evaluate_file(path, label_column="mood", text_column="body")
    report = evaluate_file(
        path,
        label_column="mood",
        text_column="body",
        label_map=parse_label_map(["BAD=negative,GOOD=positive,MEH=neutral"]),
    )
    assert report.rows == 3 and report.skipped == [(3, "mood: empty")]
    assert report.scores.accuracy == 1.0
    assert report.vader.confusion["negative"]["negative"] == 0  # plain VADER reads "thanks" as praise


def test_cli_prints_both_tables_and_fails_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runbook.cli.main import app

    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path / "home"))
    sample = str(DATA / "care_nl.csv")
    result = CliRunner().invoke(app, ["mentions", "evaluate", sample, "--label-column", "label"])
    assert result.exit_code == 0, result.output
    assert "model (complaint): macro-F1" in result.output and "plain VADER: macro-F1" in result.output
    assert "confusion (rows: labelled, columns: predicted)" in result.output
    as_json = CliRunner().invoke(app, ["mentions", "evaluate", sample, "--label-column", "label", "--json"])
    figures = json.loads(as_json.output)
    assert figures["rows"] == 82 and figures["scores"]["macro_f1"] > figures["vader"]["macro_f1"]
    missing = CliRunner().invoke(app, ["mentions", "evaluate", sample, "--label-column", "sentiment"])
    assert missing.exit_code == 1
    assert "no column 'sentiment' (columns: label, text)" in missing.output
    assert "Traceback" not in missing.output


def test_progress_is_reported_on_long_files(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    rows = ["label,text"] + [f"negative,@SkyJet delayed again {i}" for i in range(2500)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    seen: list[int] = []
    report = evaluate_file(path, label_column="label", progress=seen.append)
    assert seen == [1000, 2000] and report.rows == 2500

"""The ready-to-paste steps of docs/statements.md validate in the shipped playbooks, and the shipped
reply templates draft a checked, personal reply for each case in both languages."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from runbook.messaging.context import base_context
from runbook.messaging.doctrine import MessageChecker
from runbook.messaging.replies import ReplyDrafter
from runbook.messaging.templates import Templates
from runbook.spec import load_playbook, load_roster
from runbook.steps.registry import load_kinds
from tests.messaging.conftest import BRANDS, REPO, TEMPLATES, make_brand

SNIPPET = re.compile(r"```yaml\n# playbooks/(?P<file>[\w-]+\.yaml): replace the steps [^\n]*\n(?P<body>.*?)```", re.S)


def _snippets() -> dict[str, str]:
    text = (REPO / "docs" / "statements.md").read_text(encoding="utf-8")
    return {m.group("file"): m.group("body") for m in SNIPPET.finditer(text)}


def _blocks(text: str) -> dict[str, str]:
    """Step blocks by id, as text (the shipped playbooks are read by our own YAML reader)."""
    parts = re.split(r"(?m)^(?=  - id: )", text)
    return {re.match(r"  - id: ([\w-]+)", p).group(1): p for p in parts[1:]}


def test_there_is_a_snippet_for_each_shipped_playbook() -> None:
    assert set(_snippets()) == {"hashtag-misuse.yaml", "social-media-mistake.yaml", "wrong-account-post.yaml"}


@pytest.mark.parametrize("name", ["hashtag-misuse.yaml", "social-media-mistake.yaml", "wrong-account-post.yaml"])
def test_the_snippet_validates_inside_the_shipped_playbook(tmp_path, name: str) -> None:
    shipped = (REPO / "playbooks" / name).read_text(encoding="utf-8")
    replacing = _blocks(_snippets()[name])
    head = re.split(r"(?m)^(?=  - id: )", shipped)[0]
    steps = [replacing.get(step_id, block) for step_id, block in _blocks(shipped).items()]
    path = tmp_path / name
    path.write_text(
        head + "".join(b if b.endswith("\n\n") else b.rstrip("\n") + "\n\n" for b in steps), encoding="utf-8"
    )
    playbook = load_playbook(
        path, kinds=load_kinds(), roster=load_roster(REPO / "roster.yaml"), templates_dir=TEMPLATES
    )
    uses = {step.id: step.uses for step in playbook.steps}
    assert uses["statement"] == "draft_statement" and uses["publish"] == "publish"
    assert set(replacing) <= set(uses) and all(uses[i] != "checklist" for i in replacing)


SAID = {
    "social-media-mistake": "@USAirways was your account hacked? That reply can't be intentional.",
    "wrong-account-post": "@RedCross happens to the best of us. Donating a pint (of blood) this week.",
    "hashtag-misuse": "Disgusted by @DiGiorno making a pizza joke out of abuse. #WhyIStayed",
}


@pytest.mark.parametrize("case", sorted(BRANDS))
@pytest.mark.parametrize("language", ["en", "nl"])
def test_each_shipped_reply_template_drafts_a_personal_checked_reply(case: str, language: str) -> None:
    brand = make_brand(case)
    base = base_context(
        incident={"id": "i", "slug": "s"}, inputs={"hashtag": "#WhyIStayed"}, steps={}, brand=brand, language=language
    ) | {"statement": {"url": "", "urls": []}}
    with MessageChecker(brand, links=False) as checker:
        drafter = ReplyDrafter(
            templates=Templates(TEMPLATES),
            checker=checker,
            base=base,
            template_for={language: f"replies/{case}.{language}.j2"},
        )
        rows = [
            SimpleNamespace(
                id=i,
                author=f"person{i}",
                platform="x",
                language=language,
                concern=concern,
                said=SAID[case],
                person=f"x:person{i}",
                mention_refs=["m1"],
                account=BRANDS[case]["handle"],
            )
            for i, concern in enumerate(["hurt", "explain", "supportive", "mocking", "general", "leave"])
        ]
        drafts = [drafter.draft(r) for r in rows]
    for row, draft in zip(rows, drafts, strict=True):
        assert draft.text.startswith(f"@{row.author} ") and len(draft.text) <= 280, draft.text
        assert not draft.blocked, (draft.text, draft.findings)
        assert "hacked" not in draft.text  # a quote that would blame is left out
    assert len({d.text.split(" ", 1)[1] for d in drafts}) >= 4  # not one canned text

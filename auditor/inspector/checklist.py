"""The organisational checklist (checks/inspector-checklist.toml): loading and validating it, reading answers
from a TOML/JSON file or asking them at the terminal, and the record that goes into the bundle.

Answers file (TOML or JSON)::

    inspector = "张三 (区邮政管理局)"            # optional
    [answers]
    Q-RULES = "yes"                              # yes | no | partial | na   (是/否/部分/不适用, y/n/p also)
    Q-OWNER = { answer = "yes", note = "信息安全负责人：王经理" }

Unknown question ids and unknown answer values are errors (exit 2, naming them); questions left out are
recorded as not_answered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from .. import packs, safeio
from ..compliance import load_duties
from ..errors import PackError, UsageError
from ..hostinfo import now_iso
from ..i18n import t
from ..messages import Text
from ..resources import pack_dir

ANSWERS = ("yes", "no", "partial", "na")
NOT_ANSWERED = "not_answered"
_ALIASES = {
    "yes": "yes", "y": "yes", "是": "yes", "有": "yes", "true": "yes",
    "no": "no", "n": "no", "否": "no", "无": "no", "没有": "no", "false": "no",
    "partial": "partial", "p": "partial", "部分": "partial", "partly": "partial",
    "na": "na", "n/a": "na", "不适用": "na", "not applicable": "na",
}


def load_checklist(root: Path | None = None) -> dict[str, Any]:
    """{"profile": {...}, "questions": [...]}, validated against duties.toml and legal.toml."""
    base = root or pack_dir("checks")
    path = base / "inspector-checklist.toml"
    data = packs.load_toml(path)
    clauses = packs.legal_clauses(root)
    duties = {d["id"] for d in load_duties(root, clauses)}
    questions, seen = [], set()
    for raw in data.get("question", []):
        qid = raw.get("id")
        where = Text("where.question", path=path, id=qid or "?")
        if not isinstance(qid, str) or not qid.startswith("Q-") or qid in seen:
            raise PackError("pack.checklist.bad_id", where=where)
        seen.add(qid)
        for key in ("zh", "en"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise PackError("pack.checklist.missing_text", where=where, key=key)
        if raw.get("duty") not in duties:
            raise PackError("pack.checklist.unknown_duty", where=where, duty=raw.get('duty'))
        unknown = [c for c in raw.get("clauses", []) if c not in clauses]
        if not raw.get("clauses") or unknown:
            raise PackError("pack.checklist.bad_clauses", where=where, unknown=', '.join(unknown))
        questions.append({"id": qid, "text": {"zh": raw["zh"], "en": raw["en"]},
                          "evidence": {"zh": raw.get("evidence_zh", ""), "en": raw.get("evidence_en", "")},
                          "duty": raw["duty"], "clauses": list(raw["clauses"])})
    if not questions:
        raise PackError("pack.checklist.none", path=path)
    return {"profile": data.get("profile", {}), "questions": questions}


def normalize(value: Any, where: str) -> str:
    text = str(value).strip().casefold() if value is not None else ""
    if text in ("", NOT_ANSWERED, "skip", "-"):
        return NOT_ANSWERED
    if text not in _ALIASES:
        raise UsageError("usage.inspect.bad_answer", where=where, value=value)
    return _ALIASES[text]


def read_answers_file(path: Path, questions: list[dict[str, Any]]) -> dict[str, Any]:
    """{"inspector": str|None, "answers": {qid: {"answer", "note"}}} from a TOML or JSON file."""
    raw_bytes = safeio.read_input(path, "--answers", max_size=4 << 20)
    text = raw_bytes.decode("utf-8-sig", errors="replace")
    data: Any
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UsageError("usage.inspect.answers_bad_json", path=path, exc=exc) from None
    else:
        try:
            data = packs.tomllib.loads(text)
        except packs.tomllib.TOMLDecodeError as exc:
            raise UsageError("usage.inspect.answers_bad_toml", path=path, exc=exc) from None
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        raise UsageError("usage.inspect.answers_needs_table", path=path)
    known = {q["id"] for q in questions}
    out: dict[str, dict[str, Any]] = {}
    for qid, value in data["answers"].items():
        if qid not in known:
            raise UsageError("usage.inspect.unknown_question", path=path, qid=qid, known=', '.join(sorted(known)))
        note = None
        if isinstance(value, dict):
            note = value.get("note")
            value = value.get("answer")
        out[qid] = {"answer": normalize(value, f"--answers {path}: {qid}"),
                    "note": str(note).strip() if note not in (None, "") else None}
    inspector = data.get("inspector")
    return {"inspector": str(inspector) if inspector else None, "answers": out}


def ask(questions: list[dict[str, Any]], lang: str, prompt: Callable[[str], str] = input,
        say: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Ask each question at the terminal; Enter skips one, end of input (Ctrl-D) skips the rest."""
    out: dict[str, dict[str, Any]] = {}
    hint = t(lang, "checklist.hint")
    say(t(lang, "checklist.title"))
    for i, q in enumerate(questions, 1):
        say(f"\n[{i}/{len(questions)}] {q['id']}  {q['text'][lang]}")
        if q["evidence"][lang]:
            say(f"  {t(lang, 'checklist.evidence')}: {q['evidence'][lang]}")
        while True:
            try:
                raw = prompt(f"  {hint}: ")
            except EOFError:
                return out
            try:
                answer = normalize(raw, q["id"])
                break
            except UsageError:
                say(f"  ? {t(lang, 'checklist.again')}")
        if answer == NOT_ANSWERED:
            continue
        try:
            note = prompt(f"  {t(lang, 'checklist.note')}: ").strip()
        except EOFError:
            note = ""
        out[q["id"]] = {"answer": answer, "note": note or None}
    return out


def record(questions: list[dict[str, Any]], answers: dict[str, dict[str, Any]], source: str,
           inspector: str | None) -> dict[str, Any]:
    """What the bundle keeps: every question with its answer (or not_answered), per-duty roll-up, counts."""
    items = []
    counts = {a: 0 for a in (*ANSWERS, NOT_ANSWERED)}
    by_duty: dict[str, list[str]] = {}
    for q in questions:
        a = answers.get(q["id"], {"answer": NOT_ANSWERED, "note": None})
        counts[a["answer"]] += 1
        by_duty.setdefault(q["duty"], []).append(a["answer"])
        items.append({**q, "answer": a["answer"], "note": a.get("note")})
    duties = {}
    for duty, values in by_duty.items():
        real = [v for v in values if v != "na"]
        if any(v == "no" for v in real):
            duties[duty] = "not_met"
        elif any(v in ("partial", NOT_ANSWERED) for v in real):
            duties[duty] = "partial" if any(v in ("yes", "partial") for v in real) else NOT_ANSWERED
        else:
            duties[duty] = "met" if real else "na"
    return {"source": source, "inspector": inspector, "recorded_at": now_iso(), "questions": items,
            "counts": counts, "duties": duties, "answered": sum(v for k, v in counts.items() if k != NOT_ANSWERED)}

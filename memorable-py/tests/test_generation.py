"""`generate` on the real SmolLM2 GGUF (fetched by `scripts/fetch-model.sh smollm2`; these
tests fail, never skip, without it) and `consolidate` / jobs without a generator."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from memorable import InvalidInputError, Memorable, ModelError, NotFoundError


@pytest.fixture(scope="module")
def llm() -> Memorable:
    return Memorable.in_memory(embedder="hashing", generator="smollm2")


def test_greedy_raw_completion_streams_and_repeats(llm: Memorable) -> None:
    pieces: list[str] = []
    out = llm.generate("1, 2, 3,", raw=True, max_tokens=8, on_text=pieces.append)
    assert out["text"].startswith(" 4, 5, 6"), out
    assert "".join(pieces) == out["text"], "the stream is the answer"
    assert out["finish_reason"] == "length"
    assert out["completion_tokens"] == len(out["tokens"]) == 8
    assert out["model"] == "smollm2"
    assert llm.generate("1, 2, 3,", raw=True, max_tokens=8) == out, "temperature 0 is greedy"


def test_same_answer_as_the_cli(llm: Memorable, cli: Path, store_dir: Path) -> None:
    prompt = "The quick brown fox"
    out = subprocess.run(
        [str(cli), "--store", str(store_dir), "--embedder", "hashing", "generate", "--model", "smollm2", "--raw",
         "--temperature", "0", "--max-tokens", "16", "--json", prompt],
        capture_output=True, text=True, check=True,
    )
    from_cli = json.loads(out.stdout)
    from_py = llm.generate(prompt, raw=True, max_tokens=16)
    assert from_py["tokens"] == from_cli["tokens"]
    assert from_py["text"] == from_cli["text"]


def test_chat_stops_seeds_and_a_callback_that_stops(llm: Memorable) -> None:
    chat = llm.generate(messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=12)
    assert chat["text"] == "L'Étoile, la Marseillaise,", "llama.cpp's greedy answer for this GGUF"
    stopped = llm.generate("One, two, three, four,", raw=True, max_tokens=32, stop=[","])
    assert stopped["finish_reason"] == "stop" and "," not in stopped["text"]
    a = llm.generate("My favourite animal is", raw=True, temperature=1.0, seed=7, max_tokens=12)
    assert a == llm.generate("My favourite animal is", raw=True, temperature=1.0, seed=7, max_tokens=12)
    seen: list[str] = []
    early = llm.generate("1, 2, 3,", raw=True, max_tokens=32, on_text=lambda p: seen.append(p) or len(seen) < 2)
    assert early["completion_tokens"] < 32 and len(seen) == 2


def test_json_mode_and_an_answer_prefix(llm: Memorable) -> None:
    out = llm.generate("Describe Paris in JSON.", json=True, answer_prefix='{"city": "', max_tokens=60)
    assert json.loads(out["text"])["city"], out


def test_bad_requests_and_no_generator(llm: Memorable) -> None:
    with pytest.raises(InvalidInputError):
        llm.generate()
    with pytest.raises(InvalidInputError) as e:
        llm.generate("hi", temperature=-1.0)
    assert e.value.code == "INVALID_INPUT"
    with pytest.raises(InvalidInputError):
        llm.generate(messages=[{"role": "wizard", "content": "hi"}])
    with pytest.raises(InvalidInputError):
        llm.generate("hi", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(InvalidInputError):
        llm.generate("hi", raw=True, system="be brief")
    with Memorable.in_memory(embedder="hashing", generator="none") as m:
        with pytest.raises(ModelError) as e:
            m.generate("hi")
        assert e.value.code == "NO_GENERATOR"
        assert m.generator_report()["chosen"] == "none"


def _seed(m: Memorable) -> list[int]:
    turns = [
        ("Caroline", "I adopted a beagle called Max last Saturday."),
        ("Melanie", "Lovely! I went hiking in Yosemite with my sister."),
        ("Caroline", "Max loves the park near my flat in Lisbon."),
        ("Melanie", "I start my new job as a nurse on Monday."),
    ]
    return [m.remember(t, user="u", session="s1", speaker=s) for s, t in turns]


def test_extractive_consolidation_links_and_cascades(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(generator="none", **hashing) as m:
        sources = _seed(m)
        progress: list[dict[str, Any]] = []
        report = m.consolidate("u", session="s1", on_progress=progress.append)
        assert report["path"] == "extractive"
        assert len(report["summaries"]) == 1 and report["facts"]
        assert progress and progress[-1]["sessions_done"] == progress[-1]["sessions_total"] == 1
        summary = m.get(report["summaries"][0]["id"])
        assert summary.kind == "summary"
        assert set(summary.derived_from) <= set(sources) and summary.derived_from
        for fact in report["facts"]:
            assert fact["kind"] == "fact" and set(fact["derived_from"]) <= set(sources)
        # Derived memories are kinds: recall can leave them out or ask for them alone.
        only = m.recall("beagle", user="u", kinds=["summary", "fact"], limit=20)
        assert only and all(r.memory.kind in ("summary", "fact") for r in only)
        # Forgetting every source forgets what was derived only from them.
        for s in sources:
            m.forget(s)
        with pytest.raises(NotFoundError):
            m.get(summary.id)


def test_background_job_reports_and_jobs_list(hashing: dict[str, Any]) -> None:
    with Memorable.in_memory(generator="none", **hashing) as m:
        _seed(m)
        job = m.consolidate_in_background("u")
        deadline = time.monotonic() + 30
        while m.job(job)["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, m.job(job)
            time.sleep(0.02)
        done = m.job(job)
        assert done["state"] == "succeeded", done
        assert done["kind"] == "consolidate" and done["result"]["summaries"]
        assert any(j["id"] == job for j in m.jobs())
        with pytest.raises(NotFoundError):
            m.job(10_000)

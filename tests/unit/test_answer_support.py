"""The reader's pure parts: sentence spans, pruned excerpts, reply parsing, support and answer-type checks."""

from __future__ import annotations

import pytest

from retrieval.excerpts import ExcerptConfig, select, sentence_spans
from retrieval.reading import bridge_entity, messages, parse_reply
from retrieval.support import cited_numbers, expected_type, support, type_fits
from retrieval.types import Passage

TEXT = ("Baltia Lines\n\nBaltia Lines is a ferry operator based in Tallinn. It was founded by Toomas Kask in 1994. "
        "In 2015 Northwind Holdings acquired it from the U.S. fund Kestrel Capital. St. Olaf ferries sail daily.")


def _passage(cid: str, title: str, text: str, start: int = 100) -> Passage:
    return Passage(cid, f"d-{cid}", title, start, start + len(text), text, 1.0)


def test_sentences_keep_exact_spans_and_skip_abbreviations() -> None:
    spans = sentence_spans(TEXT)
    sentences = [TEXT[s:e] for s, e in spans]
    assert sentences[0] == "Baltia Lines"  # the title line is its own span
    assert "In 2015 Northwind Holdings acquired it from the U.S. fund Kestrel Capital." in sentences  # not at U.S.
    assert sentences[-1] == "St. Olaf ferries sail daily."


def test_excerpts_keep_the_sentences_that_matter_within_the_budget() -> None:
    p1 = _passage("c1", "Baltia Lines", TEXT)
    p2 = _passage("c2", "Northwind Holdings", "Northwind Holdings\n\nNorthwind Holdings is a Finnish company. "
                  "Ilse Marnik founded Northwind Holdings in 2004. It employs 400 people.")
    p3 = _passage("c3", "Mercury (planet)", "Mercury is the smallest planet. It has no moons.")
    excerpts = select("Who founded the company that acquired Baltia Lines?", [p1, p2, p3], ["Baltia Lines"],
                      ExcerptConfig(word_budget=40, min_passages=2))
    assert [x.passage.chunk_id for x in excerpts] == ["c1", "c2"]  # the planet shares no name: left out
    assert [x.n for x in excerpts] == [1, 2]
    assert "Northwind Holdings acquired it" in excerpts[0].text  # names the other passage: the bridge
    assert "Ilse Marnik founded Northwind Holdings" in excerpts[1].text
    for x in excerpts:
        for s, e in x.spans:  # every kept sentence is an exact slice of the chunk
            assert x.passage.text[s:e] in x.passage.text and x.passage.text[s:e] != x.passage.title
    prompt = messages("Who founded the company that acquired Baltia Lines?", excerpts)[-1]["content"]
    assert prompt.startswith("Passages:\n[1] Baltia Lines: ") and "\n[2] Northwind Holdings: " in prompt
    assert sum(len(x.text.split()) for x in excerpts) <= 40 + 12  # the budget (each passage keeps one sentence)


@pytest.mark.parametrize(("raw", "parsed"), [
    ("Ilse Marnik [2]", "Ilse Marnik [2]"),
    ("Answer: Ilse Marnik [2]\nBecause ...", "Ilse Marnik [2]"),
    ("I don't know.", ""),
    ("The passages do not contain the answer; not mentioned.", ""),
    ("  ", ""),
])
def test_replies_are_parsed_and_no_answer_is_recognised(raw: str, parsed: str) -> None:
    assert parse_reply(raw) == parsed


def test_support_points_at_the_span_that_contains_the_answer() -> None:
    p1 = _passage("c1", "Baltia Lines", TEXT, start=1000)
    p2 = _passage("c2", "Other", "Nothing relevant is said here.")
    excerpts = select("Who founded Baltia Lines?", [p1, p2], [], ExcerptConfig(connected_only=False))
    cited, removed = cited_numbers("Toomas Kask [2] [9]", len(excerpts))
    assert cited == [2] and removed == 1
    # the reader cited the wrong passage: the span is found where the answer is
    [c] = support("Toomas Kask", excerpts, cited)
    assert c.n == 1 and c.chunk_id == "c1"
    assert TEXT[c.start - 1000 : c.end - 1000] == "Toomas Kask"
    assert support("Kestrel Capital founder Jaan Tamm", excerpts, [1]) == []  # no passage contains it
    [words] = support("Kask, Toomas", excerpts, [])  # all key words in one sentence
    assert "Toomas Kask" in TEXT[words.start - 1000 : words.end - 1000]


@pytest.mark.parametrize(("question", "wanted"), [
    ("When did Northwind acquire Baltia Lines?", "date"),
    ("In what year was it founded?", "date"),
    ("How many ferries does it run?", "number"),
    ("What is the population of Tallinn?", "number"),
    ("Who was mayor when the ferry line opened?", "person"),  # the first question word decides
    ("Where is Baltia Lines based?", "place"),
    ("What company owns Baltia Lines?", None),
])
def test_expected_answer_types(question: str, wanted: str | None) -> None:
    assert expected_type(question) == wanted


def test_answers_of_the_wrong_type_are_caught() -> None:
    assert type_fits("14 May 1994", "date") and type_fits("the 19th century", "date")
    assert not type_fits("Tallinn", "date")
    assert type_fits("two", "number") and not type_fits("Estonia", "number")
    assert not type_fits("Tallinn", "person", "Location") and type_fits("Toomas Kask", "person", "Person")
    assert type_fits("Toomas Kask", "person", None)  # not in the graph: nothing says it is wrong
    assert type_fits("anything", None)


def test_the_bridge_is_a_name_the_question_does_not_name() -> None:
    p1 = _passage("c1", "Baltia Lines", TEXT)
    excerpts = select("Who founded the company that acquired Baltia Lines?", [p1], ["Baltia Lines"])
    bridge = bridge_entity("Who founded the company that acquired Baltia Lines?", excerpts)
    assert bridge is not None and "Baltia" not in bridge

"""Mentions and relations with the real spaCy pipeline and the default ontology."""

from __future__ import annotations

from extraction.canonical import ChunkExtraction, canonicalise, entity_id
from extraction.nlp import NlpResult, NlpRunner
from graph.ontology import Ontology


def parse(nlp: NlpRunner, text: str, title: str = "") -> NlpResult:
    results, _ = nlp.submit([(text, 0, title, 0 if title else 0)]).result()
    return results[0]


def relations(nlp: NlpRunner, ontology: Ontology, text: str, title: str = "") -> set[tuple[str, str, str]]:
    res = parse(nlp, text, title)
    ex = ChunkExtraction("c1", 0, res.mentions.mentions, res.relations)
    ents, _, rels, _ = canonicalise("d1", [ex], ontology.aliases)
    names = {e.id: e.name for e in ents}
    return {(names[r.head], r.type, names[r.tail]) for r in rels}


def test_mentions_are_typed_and_spans_exact(nlp: NlpRunner) -> None:
    text = "Steve Jobs was born in San Francisco and founded Apple in 1976."
    res = parse(nlp, text)
    found = {(m.surface, m.type) for m in res.mentions.mentions}
    expected = {("Steve Jobs", "Person"), ("San Francisco", "Location"), ("Apple", "Organization"), ("1976", "Date")}
    assert expected <= found
    for m in res.mentions.mentions:
        assert text[m.start : m.end] == m.surface


def test_subject_verb_object_and_prepositional_relations(nlp: NlpRunner, ontology: Ontology) -> None:
    rels = relations(nlp, ontology, "Steve Jobs founded Apple. Steve Jobs was born in San Francisco.")
    assert ("Steve Jobs", "FOUNDED", "Apple") in rels
    assert ("Steve Jobs", "BORN_IN", "San Francisco") in rels


def test_passive_agent_is_the_head(nlp: NlpRunner, ontology: Ontology) -> None:
    rels = relations(nlp, ontology, "Baltia Lines was founded by Toomas Kask.")
    assert ("Toomas Kask", "FOUNDED", "Baltia Lines") in rels


def test_pronoun_subject_resolves_to_the_title(nlp: NlpRunner, ontology: Ontology) -> None:
    text = "Mikko Saari\n\nHe was born in Oulu in 1979."
    rels = relations(nlp, ontology, text, title="Mikko Saari")
    assert ("Mikko Saari", "BORN_IN", "Oulu") in rels


def test_forbidden_types_are_rejected_and_counted(nlp: NlpRunner) -> None:
    # BORN_IN requires a Person head; an organisation "born in" a place is rejected, not stored
    res = parse(nlp, "Microsoft was born in Albuquerque.")
    assert not [r for r in res.relations if r.type == "BORN_IN"]
    assert res.rejected_relations >= 1


def test_cooccurrence_is_the_fallback(nlp: NlpRunner, ontology: Ontology) -> None:
    rels = relations(nlp, ontology, "Helsinki, Tallinn and Stockholm are capitals around the Baltic Sea.")
    assert any(t == "CO_OCCURS_WITH" for _, t, _ in rels)


def test_numbers_are_rejected_by_the_ontology(nlp: NlpRunner) -> None:
    res = parse(nlp, "Corvel Robotics sold 240 robots in three countries.")
    assert res.mentions.rejected >= 1
    assert all(m.type != "CARDINAL" for m in res.mentions.mentions)


def test_person_alias_merges_within_a_document(nlp: NlpRunner, ontology: Ontology) -> None:
    res = parse(nlp, "Barack Obama was the 44th president. Obama was born in Honolulu.")
    ex = ChunkExtraction("c1", 0, res.mentions.mentions, res.relations)
    ents, mentions, _, _ = canonicalise("d1", [ex], ontology.aliases)
    obama = entity_id("barack obama")
    assert obama in {e.id for e in ents}
    assert entity_id("obama") not in {e.id for e in ents}
    assert {m.surface for m in mentions if m.entity_id == obama} >= {"Barack Obama", "Obama"}
    entity = next(e for e in ents if e.id == obama)
    assert entity.name == "Barack Obama" and entity.type == "Person"


def test_different_people_sharing_a_first_name_stay_apart(nlp: NlpRunner, ontology: Ontology) -> None:
    res = parse(nlp, "John Smith met John Brown in London.")
    ex = ChunkExtraction("c1", 0, res.mentions.mentions, res.relations)
    ents, _, _, _ = canonicalise("d1", [ex], ontology.aliases)
    names = {e.name for e in ents}
    assert {"John Smith", "John Brown"} <= names

"""Fusion of ranked lists: weighted reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[str]], weights: Mapping[str, float], k: float = 60.0
) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over signals of weight / (k + rank), rank from 1.

    Args:
        rankings: signal name -> ids, best first (duplicates after the first are ignored).
        weights: signal name -> weight (missing signals weigh 0).
        k: the RRF constant; larger flattens the head of each list.

    Returns:
        (id, fused score), best first; ties broken by id for determinism.
    """
    scores: dict[str, float] = {}
    for name, ids in rankings.items():
        w = weights.get(name, 0.0)
        if w <= 0:
            continue
        seen: set[str] = set()
        rank = 0
        for item in ids:
            if item in seen:
                continue
            seen.add(item)
            rank += 1
            scores[item] = scores.get(item, 0.0) + w / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def linear_fusion(
    scores: Mapping[str, Mapping[str, float]],
    weights: Mapping[str, float],
    raw: set[str] | frozenset[str] = frozenset(),
) -> list[tuple[str, float]]:
    """Fuse scores: sum over signals of weight * score, where signals not in ``raw`` are divided by their maximum.

    Cosine similarities are comparable across questions and stay raw; PageRank
    mass and BM25 are not, so they are scaled to [0, 1] by their best value.
    An id missing from a signal scores 0 there.

    Returns:
        (id, fused score), best first; ties broken by id.
    """
    fused: dict[str, float] = {}
    for name, values in scores.items():
        w = weights.get(name, 0.0)
        if w <= 0 or not values:
            continue
        top = max(values.values())
        scale = 1.0 if name in raw else (1.0 / top if top > 0 else 0.0)
        for item, value in values.items():
            fused[item] = fused.get(item, 0.0) + w * value * scale
    for values in scores.values():  # candidates of a zero-weight signal still compete
        for item in values:
            fused.setdefault(item, 0.0)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))

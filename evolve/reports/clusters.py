"""Candidate clusters as the report shows them: one row and one section per cluster.

Schema 3 documents list ``clusters`` (``id``, ``representative``, ``members``; ordered by the
representative's rank). Older documents have none: each candidate is then its own cluster. A
cluster listing an id that no candidate has is reported with what is known (the id), never
dropped silently; a candidate no cluster lists gets a cluster of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from evolve.numbers import finite_or_none
from evolve.promotion.document import CandidateDocument, PromotionDocument
from evolve.reports.text import elements, get, objects, slug


@dataclass(frozen=True, slots=True)
class Cluster:
    """Near-identical candidates: the representative (best ranked) and every member."""

    number: int
    anchor: str
    representative: CandidateDocument
    members: tuple[CandidateDocument, ...]
    missing: tuple[str, ...] = ()

    @property
    def others(self) -> tuple[CandidateDocument, ...]:
        """Return the members besides the shown one."""
        return tuple(m for m in self.members if m is not self.shown)

    @property
    def shown(self) -> CandidateDocument:
        """Return the member the report details: the first promoted (rank order), else the
        representative (the correlation gate prefers the simpler of two correlated survivors,
        so a cluster's promoted strategy need not be its representative)."""
        if self.representative.promoted:
            return self.representative
        return next((m for m in self.members if m.promoted), self.representative)


def anchors(candidates: list[CandidateDocument]) -> dict[int, str]:
    """Return each candidate's unique element-id suffix (by position): its id, made unique."""
    taken: dict[int, str] = {}
    used: set[str] = set()
    for index, candidate in enumerate(candidates):
        base = slug(candidate.id) if candidate.id else f"rank-{index + 1}"
        anchor, repeat = base, 2
        while anchor in used:
            anchor, repeat = f"{base}-{repeat}", repeat + 1
        used.add(anchor)
        taken[index] = anchor
    return taken


def clusters_of(document: PromotionDocument) -> list[Cluster]:
    """Return the document's clusters (schema 3) or one cluster per candidate (schema 1–2)."""
    candidates = list(document.candidates)
    by_id = {c.id: c for c in reversed(candidates)}  # first (best ranked) wins on a repeat
    listed = objects(document.model_dump().get("clusters"))
    clusters: list[Cluster] = []
    seen: set[int] = set()
    for block in listed:
        member_ids = [str(m) for m in elements(get(block, "members"))]
        representative = by_id.get(str(get(block, "representative")))
        members = [by_id[m] for m in member_ids if m in by_id and id(by_id[m]) not in seen]
        if representative is None or id(representative) in seen:
            if not members:
                continue
            representative = members[0]
        if representative not in members:
            members.insert(0, representative)
        seen.update(id(m) for m in members)
        number = finite_or_none(get(block, "id"))
        clusters.append(
            Cluster(
                int(number) if number is not None else len(clusters) + 1,
                "",
                representative,
                tuple(members),
                tuple(m for m in member_ids if m not in by_id),
            )
        )
    for candidate in candidates:
        if id(candidate) not in seen:
            seen.add(id(candidate))
            clusters.append(Cluster(len(clusters) + 1, "", candidate, (candidate,)))
    names = anchors([c.shown for c in clusters])
    return [
        Cluster(c.number, names[i], c.representative, c.members, c.missing)
        for i, c in enumerate(clusters)
    ]

"""Union-find merge of galaxy clusters into actor groups, joined only by strong links.

Each galaxy entry ("cluster") is a node of a union-find. Nodes are joined only by
strong links, strongest first:

1. a MITRE group revoked in favour of another (`revoked-by`) joins its replacement;
2. two entries with the same normalised name (MISP "APT29" and MITRE "APT29 - G0016");
3. a MISP↔MITRE `similar` (or any `same-as`) cross-reference that is one-to-one: the MITRE
   group points at that MISP entry only and vice versa. Many-to-many `similar` links are
   loose "overlaps with" claims (MISP's Charming Kitten, OilRig, Rocket Kitten and Cleaver
   all point at each other; FIN7 points at both MITRE FIN7 and Carbanak) and would fuse
   distinct actors, so they — and MISP↔MISP `similar` links — only fill `Actor.related`;
4. a synonym equal to another entry's name, when exactly one merged group claims that name
   (a name listed by two groups, like "Grizzly Steppe" under both APT28 and APT29, is junk
   for merging purposes and stays an ambiguous alias instead).

Every union is refused if it would put two different live MITRE groups (G-numbers), or two
different countries, into one record: MITRE keeps distinct groups distinct on purpose.
An alias that still names several records after merging is ambiguous; resolution says so.
"""

from __future__ import annotations

import re
from collections import defaultdict

from bot.intel.aliases import name_key, normalise_alias
from bot.intel.catalogue_clusters import Cluster

__all__ = ["merge_clusters"]


class _UnionFind:
    """Union-find whose groups carry the attributes the merge guards look at."""

    def __init__(self, clusters: list[Cluster]) -> None:
        self.parent = list(range(len(clusters)))
        self.mitre: list[set[str]] = [
            {c.mitre_id} if c.mitre_id and not c.revoked_by else set() for c in clusters
        ]
        self.country: list[set[str]] = [{c.country} if c.country else set() for c in clusters]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> bool:
        """Join the groups of a and b unless a guard forbids it; True if they are one now."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if self.mitre[ra] and self.mitre[rb] and self.mitre[ra] != self.mitre[rb]:
            return False
        if self.country[ra] and self.country[rb] and self.country[ra] != self.country[rb]:
            return False
        ra, rb = min(ra, rb), max(ra, rb)  # deterministic: the lower index is the root
        self.parent[rb] = ra
        self.mitre[ra] |= self.mitre[rb]
        self.country[ra] |= self.country[rb]
        return True


_SUFFIX_WORDS = re.compile(r"\s+(?:group|team|gang|crew|apt)$", re.IGNORECASE)


def _claim_keys(synonym: str) -> list[tuple[str, bool]]:
    """Alias keys a synonym claims, each with whether it is the synonym as written.

    "Callisto Group" listed by one entry also names the entry called "Callisto" (weakly)."""
    keys = [(normalise_alias(synonym), True)]
    stripped = _SUFFIX_WORDS.sub("", synonym)
    if stripped != synonym and normalise_alias(stripped):
        keys.append((normalise_alias(stripped), False))
    return keys


def _corroborated(a: Cluster, b: Cluster, key: str) -> bool:
    if a.country and a.country == b.country:
        return True
    keys_a = {normalise_alias(n) for n in [a.name, *a.synonyms]}
    keys_b = {normalise_alias(n) for n in [b.name, *b.synonyms]}
    return bool((keys_a & keys_b) - {key})


def merge_clusters(clusters: list[Cluster]) -> list[list[int]]:
    uf = _UnionFind(clusters)
    by_uuid = {c.uuid: i for i, c in enumerate(clusters)}

    # 1. MITRE revocations.
    for i, c in enumerate(clusters):
        if c.revoked_by and c.revoked_by in by_uuid:
            uf.union(by_uuid[c.revoked_by], i)

    # 2. Same name. Names compare by alias key ("WhiteBear" = "White Bear"), but where the
    # names differ in word breaks the pair must be corroborated — same country or another
    # shared alias — since "Cold River" (a Lebanese campaign) is not "COLDRIVER" (Russian).
    by_key: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(clusters):
        by_key[normalise_alias(c.name)].append(i)
        if c.mitre_id and not c.revoked_by:
            by_key[normalise_alias(c.mitre_id)].append(i)  # MISP entries cite "G0016"
    for key, members in by_key.items():
        for other in members[1:]:
            first = members[0]
            if name_key(clusters[first].name) == name_key(clusters[other].name) or (
                _corroborated(clusters[first], clusters[other], key)
            ):
                uf.union(first, other)

    # 3. One-to-one MISP↔MITRE cross-references, and explicit same-as links.
    cross: dict[int, set[int]] = defaultdict(set)
    for i, c in enumerate(clusters):
        for kind, dest in c.related:
            j = by_uuid.get(dest)
            if j is None or j == i:
                continue
            if kind == "same-as":
                uf.union(i, j)
            elif kind == "similar" and clusters[j].source != c.source:
                cross[i].add(j)
                cross[j].add(i)
    for i in sorted(cross):
        (j,) = cross[i] if len(cross[i]) == 1 else (None,)
        if j is not None and i < j and cross[j] == {i}:
            uf.union(i, j)

    # 4. A synonym equal to another entry's name (or G-number), if exactly one group claims
    # that name. Here names compare by alias key, so "WhiteBear" names the entry "White Bear";
    # but a match that needed a word break or a "Group" suffix ignored (COLDRIVER vs the
    # unrelated "Cold River") must be corroborated by the same country or another shared
    # alias. Repeated until nothing changes, since each merge can settle another claim.
    changed = True
    while changed:
        changed = False
        keys_of: dict[int, set[str]] = defaultdict(set)
        for i, c in enumerate(clusters):
            keys_of[uf.find(i)].update(normalise_alias(n) for n in [c.name, *c.synonyms])
        claims: dict[str, dict[int, bool]] = defaultdict(dict)
        for i, c in enumerate(clusters):
            root = uf.find(i)
            for syn in c.synonyms:
                for key, exact in _claim_keys(syn):
                    if key in by_key:
                        owner_names = {name_key(clusters[j].name) for j in by_key[key]}
                        owner_names |= {
                            name_key(clusters[j].mitre_id or "") for j in by_key[key]
                        }
                        strong = exact and name_key(syn) in owner_names
                        claims[key][root] = claims[key].get(root, False) or strong
        for key in sorted(claims):
            owners = {uf.find(i) for i in by_key[key]}
            claimers = {r: strong for r, strong in claims[key].items() if r not in owners}
            if len(claimers) != 1 or len(owners) != 1:
                continue
            owner = next(iter(owners))
            claimer, strong = next(iter(claimers.items()))
            if not strong:
                shared = (keys_of[owner] & keys_of[claimer]) - {key}
                same_country = uf.country[owner] and uf.country[owner] == uf.country[claimer]
                if not shared and not same_country:
                    continue
            if uf.union(owner, claimer):
                changed = True

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(clusters)):
        groups[uf.find(i)].append(i)
    return list(groups.values())

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

Before the synonym claims (4), each row of Microsoft's naming table and each curated
supplement entry joins the one group that bears one of its names (a name two rows share,
like LABYRINTH CHOLLIMA, claims nothing): those sources say which names are one group.
Tidal's copies of MITRE groups join their group by ATT&CK id.

Every union is refused if it would put two different live MITRE groups (G-numbers), two
different rows of Microsoft's table, or two different countries into one record: MITRE and
Microsoft keep distinct groups distinct on purpose (Lazarus's umbrella: Diamond, Sapphire,
Citrine, Moonstone and Onyx Sleet stay five records). Loose links (3, 4) never join a
ransomware operation to a group the sources do not call ransomware ("Clop" listed under
TA505 stays its own record); only a Microsoft row or curated entry can.
An alias that still names several records after merging is ambiguous; resolution says so.
"""

from __future__ import annotations

import re
from collections import defaultdict

from bot.intel.aliases import name_key, normalise_alias
from bot.intel.catalogue_clusters import AUTHORITATIVE_SOURCES, Cluster

__all__ = ["merge_clusters"]


class _UnionFind:
    """Union-find whose groups carry the attributes the merge guards look at."""

    def __init__(self, clusters: list[Cluster]) -> None:
        self.parent = list(range(len(clusters)))
        self.mitre: list[set[str]] = [
            {c.mitre_id} if c.mitre_id and not c.revoked_by else set() for c in clusters
        ]
        # Microsoft's "Origin/Threat" is where a group works from, which for criminal groups
        # can differ from the other sources' attribution (Sangria Tempest: Ukraine; FIN7:
        # Russia): it names the record's country only when nothing else does, never guards.
        self.country: list[set[str]] = [
            {c.country} if c.country and c.source != "microsoft" else set() for c in clusters
        ]
        self.rows: list[set[int]] = [{c.row} if c.row is not None else set() for c in clusters]
        # "ransom" / "other" for entries whose source says what they are (not the neutral
        # Microsoft rows and curated entries): loose links may not join the two.
        self.kinds: list[set[str]] = [
            set() if c.source in ("microsoft", "curated")
            else {"ransom" if c.ransomware else "other"}
            for c in clusters
        ]

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, *, loose: bool = False) -> bool:
        """Join the groups of a and b unless a guard forbids it; True if they are one now.

        `loose`: the link is a cross-reference or a synonym claim, which may not join a
        ransomware operation to a group of another kind."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        for attr in (self.mitre, self.country, self.rows):
            if attr[ra] and attr[rb] and attr[ra] != attr[rb]:
                return False
        if loose and {"ransom"} in (self.kinds[ra], self.kinds[rb]) and (
            "other" in self.kinds[ra] | self.kinds[rb]
        ) and self.kinds[ra] != self.kinds[rb]:
            return False
        ra, rb = min(ra, rb), max(ra, rb)  # deterministic: the lower index is the root
        self.parent[rb] = ra
        for attr in (self.mitre, self.country, self.rows, self.kinds):
            attr[ra] |= attr[rb]
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

    # 0. Tidal's copies of MITRE groups, by ATT&CK id.
    by_attack: dict[str, int] = {}
    for i, c in enumerate(clusters):
        if c.mitre_id and not c.revoked_by:
            if c.mitre_id in by_attack:
                uf.union(by_attack[c.mitre_id], i)
            else:
                by_attack[c.mitre_id] = i

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

    _join_rows(clusters, uf, by_key)

    # 3. One-to-one MISP↔MITRE cross-references, and explicit same-as links.
    cross: dict[int, set[int]] = defaultdict(set)
    for i, c in enumerate(clusters):
        for kind, dest in c.related:
            j = by_uuid.get(dest)
            if j is None or j == i:
                continue
            if kind == "same-as":
                uf.union(i, j, loose=True)
            elif kind == "similar" and clusters[j].source != c.source:
                cross[i].add(j)
                cross[j].add(i)
    for i in sorted(cross):
        (j,) = cross[i] if len(cross[i]) == 1 else (None,)
        if j is not None and i < j and cross[j] == {i}:
            uf.union(i, j, loose=True)

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
        curated: set[tuple[str, int]] = set()  # (key, claimer) claimed by a curated source
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
                        if c.source in AUTHORITATIVE_SOURCES:
                            curated.add((key, root))
        for key in sorted(claims):
            owners = {uf.find(i) for i in by_key[key]}
            claimers = {r: strong for r, strong in claims[key].items() if r not in owners}
            if len(claimers) > 1:  # MITRE's, Microsoft's or the supplement's claim wins
                claimers = {r: s for r, s in claimers.items() if (key, r) in curated}
            if len(claimers) != 1 or len(owners) != 1:
                continue
            owner = next(iter(owners))
            claimer, strong = next(iter(claimers.items()))
            # Only MITRE, Microsoft or the supplement may bring a row of Microsoft's table
            # into a group: MISP's umbrella "Lazarus Group" lists Citrine Sleet too.
            rows_meet = uf.rows[owner] or uf.rows[claimer]
            if rows_meet and (key, claimer) not in curated:
                continue
            if not strong:
                shared = (keys_of[owner] & keys_of[claimer]) - {key}
                same_country = uf.country[owner] and uf.country[owner] == uf.country[claimer]
                if not shared and not same_country:
                    continue
            if uf.union(owner, claimer, loose=True):
                changed = True

    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(clusters)):
        groups[uf.find(i)].append(i)
    return list(groups.values())


def _join_rows(clusters: list[Cluster], uf: _UnionFind, by_key: dict[str, list[int]]) -> None:
    """Each Microsoft row / curated entry joins the one group bearing one of its names.

    A name is looked for among entries' names and MITRE's aliases, then (once every row has
    had that look) among other sources' synonyms. It must be written with the same word
    breaks ("COLDRIVER" does not find the unrelated "Cold River"); a name two rows share,
    or that two groups bear, joins nothing."""
    rows = [i for i, c in enumerate(clusters) if c.source in ("microsoft", "curated")]
    shared: dict[str, int] = defaultdict(int)
    for i in rows:
        if clusters[i].source == "microsoft":
            for key in {normalise_alias(n) for n in [clusters[i].name, *clusters[i].synonyms]}:
                shared[key] += 1
    named: dict[str, set[int]] = defaultdict(set)  # name key → entries so named
    for members in by_key.values():
        for j in members:
            named[name_key(clusters[j].name)].add(j)
            if clusters[j].mitre_id:
                named[name_key(clusters[j].mitre_id)].add(j)
    by_synonym: dict[str, set[int]] = defaultdict(set)
    by_mitre_synonym: dict[str, set[int]] = defaultdict(set)
    for i, c in enumerate(clusters):
        if c.source not in ("microsoft", "curated"):
            for syn in c.synonyms:
                by_synonym[name_key(syn)].add(i)
                if c.source == "mitre":
                    by_mitre_synonym[name_key(syn)].add(i)
    # Names and MITRE's aliases first, for every row; other sources' synonyms only after,
    # so that MISP's umbrella "Lazarus Group" (which lists Citrine Sleet) has met Diamond
    # Sleet's row — and the row guard — before it could take Citrine's.
    for tiers in ((named, by_mitre_synonym), (by_synonym,)):
        for i in rows:
            c = clusters[i]
            for name in sorted({name_key(n) for n in [c.name, *c.synonyms]}):
                if shared[normalise_alias(name)] > 1:
                    continue
                for index in tiers:
                    bearers = {uf.find(j) for j in index.get(name, ())} - {uf.find(i)}
                    if len(bearers) == 1:
                        uf.union(i, next(iter(bearers)))

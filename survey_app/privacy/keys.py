"""Record keys: the stored random number behind every pupil's disclosure control.

Each pupil gets two random numbers when the pupil is created, stored with the pupil,
never shown, carried by backups and erased with the pupil:

- a *cell key* (32 bits): a figure's cell key is the sum of the cell keys of the
  protected pupils it counts, modulo 2**32, as in the cell-key method of the Australian
  Bureau of Statistics and the ONS. The same set of pupils has the same cell key
  everywhere; a set that differs by one pupil has an unrelated one.
- a *record key* (62 bits), independent of the cell key (so what count noise might
  betray of cell keys tells nothing about it), from which come the pupil's *score
  offsets*: for each factor, a fixed offset that the pupil's score carries into every
  protected figure. It has a part that is the same at every round (so
  averaging a pupil's rounds does not wear it away) and a smaller part that is new at
  each round (so a pupil's change between rounds is not given away either). Both are
  normal and continuous: no edge where an adjusted score pins the true one, and no grid.

Offsets are drawn from SHA-256 of the record key: without the key they cannot be worked
out, and the key has too many values to be guessed from figures.
"""

from __future__ import annotations

import hashlib
import secrets
from statistics import NormalDist

KEY_BITS = 62
CELL_KEY_MODULUS = 2**32

# Score offsets, in points on the 0-100 scale (documented in the README): normal, with
# these standard deviations, and continuous (a whole-number offset would keep the
# fraction of a score, and scores lie on a grid of the answers' values).
LEVEL_SD = 35.0  # the part kept at every round
ROUND_SD = 18.0  # the part new at each round
_NORMAL = NormalDist()


def new_record_key() -> int:
    """Return a fresh random record key (0 <= key < 2**62)."""
    return secrets.randbits(KEY_BITS)


def new_cell_key() -> int:
    """Return a fresh random cell key (0 <= key < 2**32), independent of the record key."""
    return secrets.randbits(32)


def _normal(record_key: int, *parts: object) -> float:
    """Return a standard normal number fixed by the record key and `parts`."""
    text = ":".join(str(p) for p in (record_key, *parts))
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
    return _NORMAL.inv_cdf((value + 0.5) / 2**64)


def score_offset(record_key: int, factor: str, round_id: int) -> float:
    """Return the offset (points) that this pupil's score on `factor` in round `round_id`
    carries into protected figures: the same every time it is asked for."""
    return LEVEL_SD * _normal(record_key, "level", factor) + ROUND_SD * _normal(record_key, "round", round_id, factor)


def offset_variance() -> tuple[float, float]:
    """Return the variances of the offset's two parts (kept at every round, new each round),
    for the notes that say what the adjustment does to statistics."""
    return LEVEL_SD ** 2, ROUND_SD ** 2

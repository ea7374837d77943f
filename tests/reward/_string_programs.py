"""String-scanner programs over a pool of search patterns, for the scanner's differential tests."""

import re

import numpy as np

from twinkle import _ext
from twinkle.reward.format import _DfaReward

SCANNER = _ext.string_scanner()


class Pool:
    """The byte tables of ``(pattern, flags, mode)`` specs, and scanner programs over any of them."""

    def __init__(self, specs):
        self.specs = list(specs)
        self.module = _DfaReward([('regex', p, f, m) for p, f, m in self.specs])
        self.tables = [
            getattr(self.module, f'byte_{n}').numpy() for n in ('class_ids', 'tables', 'starts', 'dead')
        ]
        self.accept = self.module.byte_accept.numpy()

    def program(self, idx, *budget):
        """A program of the patterns ``idx`` (optionally with a product engine budget)."""
        return SCANNER.byte_program(*(np.ascontiguousarray(t[idx]) for t in self.tables), *budget)

    def alone(self, idx, texts):
        """Final states and first-dead offsets of each pattern of ``idx`` scanned alone.

        A fresh program per pattern: one kept across calls may move to the product's lanes.
        """
        parts = [scan(self.program([j]), texts, 1) for j in idx]
        return np.concatenate([p[0] for p in parts], 1), np.concatenate([p[1] for p in parts], 1)

    def matches(self, j, text):
        """Python ``re``'s verdict for pattern j, a lone surrogate read as U+FFFD as the scanner does."""
        p, f, m = self.specs[j]
        return bool(getattr(re, m)(p, re.sub('[\ud800-\udfff]', '\ufffd', text), f))


def scan(prog, texts, k):
    """(final (B, k) int32, first_dead (B, k) int64) of a program on a list of str."""
    final = np.empty((len(texts), k), np.int32)
    first_dead = np.empty((len(texts), k), np.int64)
    SCANNER.scan_strings(prog, texts, final, first_dead)
    return final, first_dead

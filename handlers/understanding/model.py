"""A small model of what messages mean, learned at start from labelled phrasings.

Each message becomes TF-IDF weights of its words (stemmed), pairs of words, and the character
n-grams of each word, so a word spelt a little differently still shares most of its features.
A message is compared with every phrasing (cosine): a label scores by its closest phrasing and
by its phrasings as a whole. scipy's sparse matrices do the arithmetic; scikit-learn would do
the same but takes more than a second to import on the office's two-core machine, and the
bot must start in well under that.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

NGRAMS = (3, 4)  # character n-grams of each word, with its edges marked
NEAREST_SHARE = 0.65  # of a label's score, from its closest phrasing; the rest from all of them


def features(words: Sequence[str]) -> Counter[str]:
    """Return the features of a message given as its stemmed words."""
    found: Counter[str] = Counter()
    for index, word in enumerate(words):
        found[f"w {word}"] += 1
        if index:
            found[f"b {words[index - 1]} {word}"] += 1
        marked = f"<{word}>"
        for size in NGRAMS:
            for start in range(max(1, len(marked) - size + 1)):
                found[f"c {marked[start : start + size]}"] += 1
    return found


@dataclass(frozen=True)
class Score:
    """How well a message fits one label."""

    label: str
    score: float


class Model:
    """Labels learned from (label, stemmed words) examples."""

    def __init__(self, examples: Iterable[tuple[str, Sequence[str]]]) -> None:
        labelled = [(label, features(words)) for label, words in examples if words]
        if not labelled:
            raise ValueError("no examples to learn from")
        counts: Counter[str] = Counter()
        for _label, found in labelled:
            counts.update(found.keys())
        self.index = {feature: number for number, feature in enumerate(sorted(counts))}
        total = len(labelled)
        self.idf = np.array(
            [math.log((1 + total) / (1 + counts[feature])) + 1 for feature in sorted(counts)]
        )
        self.labels = sorted({label for label, _found in labelled})
        label_number = {label: number for number, label in enumerate(self.labels)}
        self.example_labels = np.array([label_number[label] for label, _found in labelled])
        self.examples = sparse.vstack([self._vector(found) for _label, found in labelled]).tocsr()
        # each label's phrasings together, as one unit vector
        membership = sparse.csr_matrix(
            (np.ones(total), (self.example_labels, np.arange(total))),
            shape=(len(self.labels), total),
        )
        centroids = membership @ self.examples
        norms = np.sqrt(centroids.multiply(centroids).sum(axis=1)).A.ravel()
        norms[norms == 0] = 1
        self.centroids = sparse.diags(1 / norms) @ centroids

    def _vector(self, found: Counter[str]) -> sparse.csr_matrix:
        columns = [self.index[feature] for feature in found if feature in self.index]
        values = np.array(
            [(1 + math.log(found[feature])) for feature in found if feature in self.index]
        )
        if columns:
            values = values * self.idf[columns]
            values = values / np.sqrt((values**2).sum())
        return sparse.csr_matrix(
            (values, (np.zeros(len(columns), dtype=int), columns)), shape=(1, len(self.index))
        )

    def scores(self, words: Sequence[str]) -> list[Score]:
        """Return every label's score for a message, best first (empty: nothing known)."""
        vector = self._vector(features(words))
        if not vector.nnz:
            return []
        similar = (self.examples @ vector.T).toarray().ravel()
        nearest = np.zeros(len(self.labels))
        np.maximum.at(nearest, self.example_labels, similar)
        whole = (self.centroids @ vector.T).toarray().ravel()
        combined = NEAREST_SHARE * nearest + (1 - NEAREST_SHARE) * whole
        order = np.argsort(-combined)
        return [Score(self.labels[number], float(combined[number])) for number in order]

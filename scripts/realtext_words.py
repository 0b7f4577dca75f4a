"""Does a word view (jieba) separate city matters from other departments' better than characters?

    .venv/bin/pip install -e '.[tools]'          # scikit-learn and jieba, for this experiment only
    .venv/bin/complaints realtext join --source ...
    .venv/bin/python scripts/realtext_words.py

TF-IDF (sublinear) + logistic regression trained on the shippable data only (development set +
data/training), never on a real post; measured on the joined real-text set.  For each feature set:
the area under the curve of "probability of a city category" (city matter vs everything else), the
category accuracy, the share of city matters not dispatched when the threshold keeps other matters
dispatched at 3 %, and the share of other matters dispatched when 10 % of city matters are left
undispatched (docs/realtext-benchmark.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.core.evaluation import decision_of  # noqa: E402
from services.core.loader import load_city  # noqa: E402
from services.core.text import normalise  # noqa: E402
from services.corecli import training_examples  # noqa: E402
from services.ops.realtext import DEFAULT_OUT  # noqa: E402


def main() -> int:
    import jieba
    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    jieba.setLogLevel(60)
    if not DEFAULT_OUT.is_file():
        print(f"{DEFAULT_OUT}: missing; run `complaints realtext join` first", file=sys.stderr)
        return 2
    city = load_city("rugao")
    dev, extra = training_examples()
    train = dev + extra
    real = [json.loads(line) for line in DEFAULT_OUT.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [normalise(r["text"]) for r in real]
    is_city = np.array([decision_of(city, r["category"]) == "dispatch" for r in real])
    city_cats = {c for c in city.categories if decision_of(city, c) == "dispatch"}
    train_texts, labels = [normalise(e.text) for e in train], [e.category for e in train]

    def words(t: str) -> list[str]:
        return [w for w in jieba.lcut(t) if w.strip()]

    def bigrams(t: str) -> list[str]:
        w = words(t)
        return w + [a + b for a, b in zip(w, w[1:], strict=False)]

    def char() -> Any:
        return TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)

    def view(analyzer: Callable[[str], list[str]]) -> Callable[[], Any]:
        return lambda: TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=2)

    candidates = {"char 1-3": [char], "jieba words": [view(words)], "char 1-3 + words": [char, view(words)],
                  "char 1-3 + words 1-2": [char, view(bigrams)]}
    for name, makers in candidates.items():
        vecs = [m() for m in makers]
        x = hstack([v.fit_transform(train_texts) for v in vecs]).tocsr()
        model = LogisticRegression(C=10, max_iter=3000).fit(x, labels)
        p = model.predict_proba(hstack([v.transform(texts) for v in vecs]).tocsr())
        classes = list(model.classes_)
        mass = p[:, [i for i, c in enumerate(classes) if c in city_cats]].sum(1)
        others = np.sort(mass[~is_city])
        at_3 = others[int(np.ceil(0.97 * len(others))) - 1]
        row = {"candidate": name, "auc": round(float(roc_auc_score(is_city, mass)), 3),
               "category": round(float(np.mean([classes[int(r.argmax())] == e["category"]
                                                for r, e in zip(p, real, strict=True)])), 3),
               "city_not_dispatched_at_3pct_other": round(float(np.mean(mass[is_city] <= at_3)), 3),
               "other_dispatched_at_10pct_city": round(float(np.mean(mass[~is_city] >= np.quantile(mass[is_city], 0.10))), 3)}
        print(json.dumps(row, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

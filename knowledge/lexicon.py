"""Vocabulary the matcher understands: intent cues, track short names and an English glossary.

Every word here is language, not an answer: cues say what kind of question it is, the glossary
translates the catalogue's own domain terms. Facts come only from the catalogue.
"""

from __future__ import annotations

# Topics the catalogue says nothing about: such questions go to the organizers even when they
# also name a track or a problem ("3-4 有官方数据集吗" is about data access, not about 3-4).
ESCALATE_CUES: dict[str, tuple[str, ...]] = {
    "registration": ("报名", "报多", "同时报", "兼报", "注册账号", "参赛资格", "报到"),
    "schedule": (
        "截止", "什么时候", "何时", "几号", "几月", "日期", "时间", "赛程", "日程", "延期",
        "初赛", "复赛", "决赛", "路演", "答辩", "开赛", "结束", "多久", "几天",
    ),
    "prize": ("奖", "证书", "名次", "晋级", "名额", "推荐到国赛", "国赛"),
    "team": ("团队", "队伍", "组队", "几个人", "多少人", "人数", "队员", "成员", "队长",
             "个人参赛", "单人", "一个人参"),
    "submission": ("提交", "上传", "材料", "ppt", "代码", "作品", "格式", "字数", "页数",
                   "模板", "文档要求", "计划书", "报告"),
    "judging": ("评审", "评分", "打分", "评委", "评判", "评选", "专家", "分数", "得分", "权重"),
    "data_access": ("数据集", "官方", "提供数据", "下载数据", "数据来源", "数据从哪", "给数据",
                    "数据接口", "api", "样例数据", "数据包"),
    "eligibility": ("参加", "参赛", "能报", "可以报", "资格", "省外", "外省", "学生", "高校",
                    "企业能", "个人能", "港澳", "外籍", "在校"),
    "contact": ("联系", "电话", "邮箱", "微信", "客服", "工作人员", "咨询", "热线", "群号",
                "qq"),
    "venue": ("举办", "举行", "地点", "场地", "线下", "会场", "地址", "现场"),
    "fees": ("费", "钱", "收费", "免费", "报销", "住宿", "差旅"),
    "rules": ("规则", "规定", "章程", "违规", "知识产权", "版权", "归属", "保密", "原创",
              "抄袭", "开源", "更换赛题", "换赛道", "改赛道"),
    "organizer": ("主办", "承办", "组委会", "官网", "公众号", "通知", "公告", "培训", "辅导"),
}

ESCALATE_CUES_EN: dict[str, tuple[str, ...]] = {
    "registration": ("register", "registration", "sign up", "signup", "enroll", "apply"),
    "schedule": ("deadline", "when ", "date", "schedule", "due", "final round", "how long"),
    "prize": ("prize", "award", "reward", "bonus", "money", "certificate", "win"),
    "team": ("team size", "team member", "members", "how many people", "solo", "individual"),
    "submission": ("submit", "submission", "upload", "format", "slides", "deliverable"),
    "judging": ("judge", "judging", "criteria", "score", "scoring", "evaluat"),
    "data_access": ("dataset", "data set", "download data", "provide data", "official data"),
    "eligibility": ("eligible", "eligibility", "can i join", "participate", "allowed", "student"),
    "contact": ("contact", "email", "phone", "wechat", "hotline"),
    "venue": ("venue", "where is", "where will", "location", "held"),
    "fees": ("fee", "cost", "pay", "free", "price"),
    "rules": ("rule", "intellectual property", "copyright", "open source", "plagiar"),
}

# Greetings, thanks and questions about the bot itself.
HELP_CUES = (
    "你好", "您好", "哈喽", "嗨", "在吗", "在不在", "早上好", "下午好", "晚上好", "谢谢", "多谢",
    "感谢", "辛苦", "明白", "知道了", "收到", "好的", "好滴", "懂了", "ok", "帮助", "指令", "命令",
    "功能", "菜单", "机器人", "你是谁", "使用说明", "用法", "哈哈", "嗯嗯", "👍",
)
# "How do I use you", "what can you do": a verb of using or asking the bot.
HELP_PATTERN = r"(?:怎么|如何|怎样|咋)(?:用|使用|查|问|操作|提问)|(?:能|会|可以)(?:帮|做|干)\S{0,2}(?:什么|啥)"
HELP_CUES_EN = (
    "hello", "hi", "hey", "thanks", "thank you", "thx", "help", "how to use", "how do i use",
    "what can you do", "who are you", "commands", "menu", "good morning", "ok", "got it",
    "this bot", "the bot", "what is this", "start",
)

# "All the tracks": a list word next to 赛道/方向 and no particular track or theme named.
TRACK_WORDS = ("赛道", "方向", "领域", "板块", "组别")
LIST_WORDS = (
    "哪些", "哪几", "几个", "多少", "列表", "清单", "所有", "全部", "分别", "一共", "总共", "都有",
    "什么", "啥", "介绍", "一览", "有哪", "列出", "列一下",
)
TRACKS_CUES_EN = ("tracks", "track list", "list of tracks", "categories")

# The question wants every problem that fits a theme, not one problem.
SEARCH_CUES = (
    "哪些", "哪几", "有几", "几道", "都有", "相关", "有关", "涉及", "提到", "用到", "包含",
    "关于", "方面", "方向", "类的", "之类", "这种", "这类", "列表", "所有", "全部", "都是",
)
SEARCH_CUES_EN = ("which problems", "what problems", "problems about", "problems that",
                  "any problems", "related to", "problems use", "problems mention")

# Words that only say "a problem" or "tell me": removed before looking for content.
FILLER = (
    "赛题", "题目", "那道题", "这道题", "哪道题", "道题", "那题", "这题", "哪题", "那个题",
    "这个题", "哪个题", "那个", "这个", "哪个", "是哪道", "哪道", "是啥", "讲的啥", "讲啥",
    "讲什么", "讲的什么", "是什么", "什么", "内容", "介绍", "说明", "详细", "描述", "具体",
    "要求", "要做", "做什么", "干什么", "干啥", "一下", "请问", "我想", "想问", "想了解",
    "了解", "看看", "告诉我", "发我", "给我", "帮我", "查", "搜", "有没有", "有吗", "吗", "呢",
    "啊", "吧", "呀", "哦", "的", "了", "是", "和", "与", "及", "跟", "里", "中", "题",
    "讲", "说", "那", "这", "哪", "些", "个", "都", "有", "啥", "要", "做", "我", "你", "一下",
)

# Everyday short forms of the track names, by track number.
TRACK_ALIASES: dict[str, tuple[str, ...]] = {
    "1": ("工业制造", "工业", "制造业", "制造"),
    "2": ("商贸流通", "商贸", "流通", "商业贸易"),
    "3": ("交通运输", "交通", "运输"),
    "4": ("金融服务", "金融"),
    "5": ("文化旅游", "文旅", "文化", "旅游"),
    "6": ("医疗健康", "医疗", "医疗卫生", "健康医疗"),
    "7": ("城市治理", "城市", "城市管理"),
    "8": ("乡村振兴", "乡村", "农业农村", "三农"),
}
TRACK_ALIASES_EN: dict[str, tuple[str, ...]] = {
    "1": ("industrial manufacturing", "manufacturing", "industry", "industrial"),
    "2": ("commerce and trade", "commerce", "trade", "retail"),
    "3": ("transportation", "transport", "traffic", "logistics"),
    "4": ("financial services", "finance", "financial"),
    "5": ("culture and tourism", "tourism", "culture", "cultural"),
    "6": ("healthcare", "health care", "medical", "health"),
    "7": ("urban governance", "city governance", "urban", "city"),
    "8": ("rural revitalization", "rural", "countryside", "village"),
}

# English (and everyday Chinese) words for terms the catalogue itself uses. Vocabulary only.
GLOSSARY: dict[str, str] = {
    "autonomous driving": "自动驾驶",
    "self-driving": "自动驾驶",
    "self driving": "自动驾驶",
    "driverless": "自动驾驶",
    "remote sensing": "遥感",
    "satellite": "卫星遥感",
    "beidou": "北斗",
    "navigation": "导航",
    "weather": "气象",
    "meteorolog": "气象",
    "supply chain": "供应链",
    "cross-border": "跨境电商",
    "cross border": "跨境电商",
    "e-commerce": "电商",
    "ecommerce": "电商",
    "live stream": "直播电商",
    "livestream": "直播电商",
    "multimodal": "多式联运",
    "multi-modal": "多式联运",
    "intermodal": "多式联运",
    "port": "港口",
    "shipping": "航运",
    "congestion": "拥堵",
    "traffic safety": "交通运输安全",
    "road safety": "交通运输安全",
    "hazardous": "两客一危",
    "library": "图书馆",
    "libraries": "图书馆",
    "publishing": "出版业",
    "publisher": "出版",
    "cultural relic": "文物",
    "relics": "文物",
    "heritage": "文物",
    "museum": "馆藏文物",
    "creative product": "文化创意",
    "cultural creative": "文化创意",
    "smart tourism": "智慧旅游",
    "electronic medical record": "电子病历",
    "medical record": "电子病历",
    "health insurance": "医保",
    "medical insurance": "医保",
    "drug": "新药",
    "pharmaceutical": "新药",
    "medicine development": "新药",
    "traditional chinese medicine": "中医药",
    "tcm": "中医药",
    "wearable": "可穿戴",
    "emergency": "急救",
    "ambulance": "急救",
    "telemedicine": "互联网医院",
    "gas safety": "燃气安全",
    "gas": "燃气",
    "internet of things": "物联网",
    "iot": "物联网",
    "sensor": "传感",
    "urban planning": "城市规划",
    "elderly care": "养老",
    "pension": "养老",
    "public service": "公共服务",
    "cross-city": "跨城通办",
    "agricultur": "农业生产",
    "farming": "农业生产",
    "traceability": "追溯",
    "trace": "追溯",
    "pest": "病虫害",
    "crop": "农作物",
    "disaster": "自然灾害",
    "price fluctuation": "价格波动",
    "demand-driven": "以需定产",
    "sme": "中小微企业",
    "small business": "中小微企业",
    "small and micro": "中小微企业",
    "credit": "信用",
    "loan": "信贷",
    "fraud": "反欺诈",
    "money laundering": "反洗钱",
    "insurance": "保险",
    "guarantee": "融资担保",
    "supervision": "监管",
    "regulation": "监管",
    "r&d": "研发",
    "research and development": "研发",
    "innovation": "创新研发",
    "decision": "决策科学性",
    "service-oriented manufacturing": "服务型制造",
    "servitization": "服务型制造",
    "profil": "画像",
    "portrait": "画像",
    "digital transformation": "数字化转型",
    "monitoring": "监测",
    "early warning": "预警",
    "federated": "联合建模",
    "joint modeling": "联合建模",
    "new business": "新业态",
    "international": "国际化",
    "consumption": "消费",
    # Everyday Chinese for catalogue wording.
    "溯源": "追溯",
    "无人驾驶": "自动驾驶",
    "智能驾驶": "自动驾驶",
    "病历": "电子病历",
    "养老金": "养老保险",
    "社保": "社保",
    "贷款": "信贷",
    "图书": "图书馆",
    "文创": "文化创意",
    "非遗": "非物质文化遗产",
    "博物馆": "馆藏文物",
    "物联": "物联网",
    "天气": "气象",
    "卫星": "卫星遥感",
    "急诊": "急救",
    "用户画像": "画像",
}

-- A database written by the store before it used sqlite-utils' Migrations (commit 5b7d166:
-- its own runner, `_migrations`), with rows in every table: a catalogue, two questions and
-- tickets (one answered), an FAQ entry, subscriptions, a broadcast with deliveries, the inbox,
-- chat context, a digest with a topic, a sentence vector. Made with that commit's Store API and
-- dumped with sqlite3's iterdump(); tests/test_store.py upgrades it.
BEGIN TRANSACTION;
CREATE TABLE "_migrations" (
   "name" TEXT PRIMARY KEY,
   "applied_at" TEXT
);
INSERT INTO "_migrations" VALUES('m001_catalogue','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m002_faq','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m003_tickets','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m004_subscriptions','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m005_broadcasts','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m006_inbox','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m007_chat_context','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m008_digests','2026-12-02T02:15:30+00:00');
INSERT INTO "_migrations" VALUES('m009_embeddings','2026-12-02T02:15:30+00:00');
CREATE TABLE "broadcasts" (
   "id" INTEGER PRIMARY KEY,
   "status" TEXT,
   "kind" TEXT,
   "text" TEXT,
   "from_chat_id" INTEGER,
   "source_message_id" INTEGER,
   "audience" TEXT,
   "scheduled_at" TEXT,
   "chat_id" INTEGER,
   "panel_message_id" INTEGER,
   "created_by" INTEGER,
   "created_by_name" TEXT,
   "total" INTEGER,
   "created_at" TEXT,
   "started_at" TEXT,
   "finished_at" TEXT
);
INSERT INTO "broadcasts" VALUES(1,'running','text','<b>通知</b>',NULL,NULL,'{"kind": "tracks", "tracks": ["3"], "team": null}',NULL,-100123,NULL,9001,'王老师',2,'2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00',NULL);
CREATE TABLE "chat_context" (
   "chat_id" INTEGER,
   "user_id" INTEGER,
   "shown" TEXT,
   "shown_at" TEXT,
   PRIMARY KEY ("chat_id", "user_id")
);
INSERT INTO "chat_context" VALUES(1001,1001,'3-4','2026-12-02T02:15:31+00:00');
CREATE TABLE "deliveries" (
   "broadcast_id" INTEGER REFERENCES "broadcasts"("id"),
   "chat_id" INTEGER,
   "status" TEXT,
   "attempts" INTEGER,
   "message_id" INTEGER,
   "error" TEXT,
   "next_attempt_at" REAL,
   "updated_at" TEXT,
   PRIMARY KEY ("broadcast_id", "chat_id")
);
INSERT INTO "deliveries" VALUES(1,1001,'sent',1,501,NULL,0.0,'2026-12-02T02:15:30+00:00');
INSERT INTO "deliveries" VALUES(1,2001,'pending',0,NULL,NULL,0.0,'2026-12-02T02:15:30+00:00');
CREATE TABLE "digest_topics" (
   "id" INTEGER PRIMARY KEY,
   "day" TEXT,
   "position" INTEGER,
   "label" TEXT,
   "question_ids" TEXT,
   "askers" INTEGER,
   "answer" TEXT,
   "answered_by" INTEGER,
   "answered_by_name" TEXT,
   "answered_at" TEXT,
   "faq_id" INTEGER
);
INSERT INTO "digest_topics" VALUES(1,'2024-05-21',1,'决赛地点','[1]',1,NULL,NULL,NULL,NULL,NULL);
CREATE TABLE "digests" (
   "day" TEXT PRIMARY KEY,
   "status" TEXT,
   "attempts" INTEGER,
   "message_id" INTEGER,
   "error" TEXT,
   "claimed_at" TEXT,
   "posted_at" TEXT
);
INSERT INTO "digests" VALUES('2024-05-21','posted',1,88,NULL,'2024-05-21T01:00:00+00:00','2026-12-02T02:15:31+00:00');
CREATE TABLE "embeddings" (
   "model" TEXT,
   "digest" TEXT,
   "vector" BLOB,
   PRIMARY KEY ("model", "digest")
);
INSERT INTO "embeddings" VALUES('e5-small-q4','ee1f1bccd25750c732bf1c09de8f0486',X'0000803F0000803F0000803F0000803F');
CREATE TABLE "faq" (
   "id" INTEGER PRIMARY KEY,
   "question" TEXT,
   "answer" TEXT,
   "created_at" TEXT,
   "updated_at" TEXT,
   "ticket_id" INTEGER
);
INSERT INTO "faq" VALUES(1,'决赛在哪里举行？','在武汉。','2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00',1);
CREATE TABLE "inbox" (
   "update_id" INTEGER PRIMARY KEY,
   "digest" TEXT,
   "payload" TEXT,
   "received_at" TEXT,
   "done_at" TEXT,
   "attempts" INTEGER,
   "gave_up" INTEGER
);
INSERT INTO "inbox" VALUES(9,'192571cf8a0a4c434cc963a5c5a79961',NULL,'2026-12-02T02:15:30+00:00','2026-12-02T02:15:31+00:00',0,NULL);
INSERT INTO "inbox" VALUES(10,'d6b98167d0ebcbeb0f5bee9c282a797c','{"update_id": 10}','2026-12-02T02:15:31+00:00',NULL,0,NULL);
CREATE TABLE "meta" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
);
INSERT INTO "meta" VALUES('catalogue_title','2024年“数据要素×”大赛湖北分赛赛题');
INSERT INTO "meta" VALUES('catalogue_intro','围绕“数据要素×”三年行动计划，选定工业制造、商贸流通、交通运输、金融服务、文化旅游、医疗健康、城市治理、乡村振兴等8个赛道，结合湖北省产业特点拟定赛题。');
CREATE TABLE "problems" (
   "id" TEXT PRIMARY KEY,
   "track_id" TEXT REFERENCES "tracks"("id"),
   "number" INTEGER,
   "title" TEXT,
   "description" TEXT
);
INSERT INTO "problems" VALUES('1-1','1',1,'提升创新研发能力，推动制造高端化发展','数据驱动型创新研发模式，基于设计、仿真、实验、生产、运行等多维度数据实现产品研发和工艺创新，推动制造高端化发展。');
INSERT INTO "problems" VALUES('1-2','1',2,'提高工业制造决策科学性，降本提质增效','完善数据采集、管理、分析和利用，在生产制造和企业运营主要过程采用基于数据的科学决策，实现降低成本、提高质量、效益提升的多重目标。');
INSERT INTO "problems" VALUES('1-3','1',3,'提升服务型制造能力','加强产品全生命周期数据采集，整合设计、生产、运行数据，增强高端化生产性服务能力，提升产品可靠性和运行性能，增强产品用户满意度。');
INSERT INTO "problems" VALUES('1-4','1',4,'稳固产业链供应链，强化价值协同','促进产能、采购、库存、物流等不同制造环节，以及供应链上下游等数据共享和可信流通，探索协同设计、协同制造、协同服务等新模式，提高区域间制造资源配置效率，提升产业链、供应链稳定性。');
INSERT INTO "problems" VALUES('2-1','2',1,'加强数据融合分析利用，增强产业协同效益','依托客流、消费行为、交通状况、人文特征等市场环境数据，打造集数据收集、分析、决策、精准推送和动态反馈的闭环消费生态；整合订单需求、物流、产能、供应链等数据，优化配置产业链资源；依托订单数量、订单类型、人口分布等数据，主动对接生产企业、产业集群，加强产销对接、精准推送。');
INSERT INTO "problems" VALUES('2-2','2',2,'实现新业态创新发展','拓展新消费，推进直播电商、即时电商等业态创新发展，支持各类商圈创新应用场景，打造特色品牌，培育数字生活消费方式。');
INSERT INTO "problems" VALUES('2-3','2',3,'提高行业国际化服务能力与竞争力','通过交易、物流、支付等数据融合利用，提升跨境电商及相关企业供应链综合服务、跨境身份认证、全球供应链融资等能力，推动企业国际化发展。');
INSERT INTO "problems" VALUES('3-1','3',1,'提升货物运输贸易效能和便利性','融合地理空间、卫星遥感、北斗定位导航、气象等数据提升运输和贸易效能，提升物流运输效能和水平，保障物流运输作业安全，降低处理复杂度和操作成本，提升运营效率；推进物流、结算、保险等货物贸易数据共享互认，促进贸易便利化。打造数据、服务、算法为一体的数据大脑，实现港口、航道、船舶等要素和业务协同，推动国际贸易、航道信息、航运信息等商贸增值和定制化服务。');
INSERT INTO "problems" VALUES('3-2','3',2,'提升多式联运效能','集成货、箱、车、船、空、铁、驳、仓、关、港等数据，实现多式联运物流全程跟踪、路径优选等功能，提供“一站式”全流程数据服务，实现“海陆空”多种联运方式融合的数字化物流运输体系，提升企业物流效率，降低运营成本。');
INSERT INTO "problems" VALUES('3-3','3',3,'提升交通运输安全','融合“两客一危”、营运车辆行为、事故统计等多维数据，提升交通运输安全管理水平；通过交通工具设施传感和数据采集，融合运输线路和空间数据，提升交通运输可靠性和安全性。');
INSERT INTO "problems" VALUES('3-4','3',4,'自动驾驶创新发展','融合行驶习惯、车辆运行、环境感知、交通设施等多维数据，提升自动驾驶汽车技术水平、测试验证能力和汽车驾乘体验。充分应用感知技术、自动驾驶系统，在运输领域开展示范应用，实现安全高效运行，推动自动驾驶技术要素在相关运输方式落地，保障安全运行。');
INSERT INTO "problems" VALUES('3-5','3',5,'提升自驾出行服务水平','融合高速公路运行、经济运行、产业链条等数据，开展面向出行用户的伴随式服务信息推送的模型分析，为出行用户提供更好服务；开展交通与旅游、交通与能源等的融合分析，推动公路交通融合发展。对区域、站所、车辆等各类数据要素进行深度分析，实现节假日、重大活动等期间路段流量实时监测、拥堵预警、客货车迁徙分析，提高道路通行效率，缓解交通拥堵问题，提升乘客出行体验。');
INSERT INTO "problems" VALUES('4-1','4',1,'数据赋能中小微企业融资服务','在依法依规、确保数据安全的前提下，融合利用市场主体注册登记、行政许可、行政处罚、司法判决和执行、严重失信、荣誉表彰等多维度涉企公共信用信息以及涉企金融数据，通过“数据不出域”等方式开展联合建模应用，开发、优化企业信用评价、信贷业务等模型，降低中小微企业融资成本，提升融资效率。');
INSERT INTO "problems" VALUES('4-2','4',2,'提升专项领域金融服务能力','在依法依规、确保数据安全的前提下，进一步运用科技研发、知识产权、生态环境、仓单、新型农业经营主体等特色化信用信息，围绕科技、绿色、供应链、“三农”等专项金融领域研发信用融资产品，适度提高科技型企业、绿色企业、供应链企业、新型农业经营主体等服务对象信用贷款比例。');
INSERT INTO "problems" VALUES('4-3','4',3,'数据赋能地方金融组织非现场监管','推进融资担保行业多部门业务数据转换标准制定，提升行业数据转换能力和报送服务效率。支撑提升融资担保机构数据分析、加工、输出能力，提高融资担保业务数据质量和智能化数据输出水平。加快数据资源整合运用，提升行业多部门数据质量，优化企业客户服务、规范业务标准、加强和提升内控管理水平。');
INSERT INTO "problems" VALUES('4-4','4',4,'通用类赛题','利用多维度数据加强主体识别，完善信贷业务管理和保险产品设计及承保理赔服务，提供优质高效的金融服务产品。利用大数据、人工智能等技术，融合分析多维度数据，发挥金融科技和数据要素的驱动作用，支撑提升金融机构反欺诈、反洗钱能力，提高风险监测和智能化预警水平。深化数据资源整合开发运用，完善企业画像、评价模型，拓展提升线上金融服务能力，为企业投融资对接、信用服务、惠企政策直达等多业务场景提供支持。');
INSERT INTO "problems" VALUES('5-1','5',1,'数据赋能提升公共图书馆、文化馆全场景服务效能','融合时域、空域、人、物等数据，进行数据分析，通过多维度归集画像，全方位提升公共图书馆、文化馆线上线下服务效能。');
INSERT INTO "problems" VALUES('5-2','5',2,'推动出版业数字化转型','整合出版图书产业链上下游数据资源，对数据进行深度挖掘和融合分析，为出版单位提供选题策划、读者偏好、市场风向、竞品分析等数据服务，助力出版单位以数据洞察更好把握市场趋势和用户需求，推动出版业数字化转型。');
INSERT INTO "problems" VALUES('5-3','5',3,'推动文化创意产品发展','推动文物、古籍、美术、戏曲剧种、非物质文化遗产、民族民间文艺等数据资源依法开放共享和交易流通，支持文化创意、旅游、展览等领域的经营主体加强数据开发利用，培育具有湖北文化特色的产品和品牌。');
INSERT INTO "problems" VALUES('5-4','5',4,'推进文物保护与监测管理、展示利用方案','建立文物本体监测、载体监测、环境监测、气象监测、安全监测、游客量监测大数据提取与分析基本模型，生成个体、区域文物保护预警反应机制与保护管理预案，实现文物数字化基础数据与保护管理措施的有效融合。结合各类馆藏文物特点，对文物数据资源展示基本流程进行梳理，促进文物在数字技术框架下的活态展示与充分利用。');
INSERT INTO "problems" VALUES('5-5','5',5,'以智慧旅游建设提升旅游服务水平','融合共享气象、交通等数据，在合法合规前提下构建客群画像、城市画像等，优化旅游配套服务、一站式出行服务。基于数据的定制、体验、智能、互动等消费新模式发展，打造沉浸式旅游体验新场景。提升旅游治理能力，支持文化和旅游场所共享交通、气象等数据，支撑“免证”购票、集聚人群监测预警、应急救援等。');
INSERT INTO "problems" VALUES('6-1','6',1,'提升医疗服务便捷性','推进电子病历共享，检查检验结果数据标准统一和共享互认。有序释放健康医疗数据价值，完善个人健康数据档案，融合体检、就诊、疾控等数据，创新基于数据驱动的职业病监测、公共卫生事件预警等公共服务模式。便捷医药服务支付和理赔结算，推动医保便民服务。加强医保数据在智慧医保、数据治理、数据安全、多层次医疗保障体系建设。');
INSERT INTO "problems" VALUES('6-2','6',2,'提高药品和医疗产品创新研发','通过融合临床医疗、基因科学、公共卫生、健康管理等多元数据，借助深度挖掘、人工智能分析与跨界融合等手段，提升新药、医疗设备、诊疗服务和保健服务的创新研发效率和效果。');
INSERT INTO "problems" VALUES('6-3','6',3,'提升中医药发展水平','加强中医药预防、治疗、康复等健康服务全流程的多源数据融合，支撑名老中医传承创新，驱动中医药服务流程再造，提升中医药诊疗设备智能化应用，推进中医药高质量发展。');
INSERT INTO "problems" VALUES('6-4','6',4,'患者全病程智能监测与综合服务','基于可穿戴设备持续采集跟踪居民健康数据，帮助居民识别潜在健康风险并及时制定健康管理措施；规范发展互联网医院，推进线上线下无缝衔接、院前院中院后服务接续；加强智慧急救建设，打通院前急救和院内急诊数据衔接通道，实现120指挥调度中心、救护车与医院效率提速，提高整体急诊急救水平；推进县域数字医共体建设，建设县域远程影像、心电、病理、审方中心，促进优质医疗资源下沉到基层。');
INSERT INTO "problems" VALUES('7-1','7',1,'城市数字公共基础设施支撑城市管理协同化','利用城市数字公共基础设施底座，加强数据共享、汇聚和开发利用，实现应用体系化、规模化，推动城市人、地、事、物、情、组织等多维度数据融通，在公共卫生、交通管理、公共安全、生态环境、基层治理、体育赛事等领域场景投入应用，优化城市管理方式。');
INSERT INTO "problems" VALUES('7-2','7',2,'物联传感在城市燃气安全监管中的应用','运用大数据、物联网技术，实现消防、应急、公安、城管等部门联动，通过数据分析算法对数据进行处理和分析，提高应急响应的效率和准确性，为燃气安全监管提供决策支持。');
INSERT INTO "problems" VALUES('7-3','7',3,'提高城市发展决策科学性','综合利用城市时空基础、资源调查、规划管控、工程建设项目、物联网感知等数据，开展综合分析与研判，助力城市规划、建设、管理、服务等策略精细化、智能化，为城市发展关键事项决策提供基于数据的科学支撑。');
INSERT INTO "problems" VALUES('7-4','7',4,'提高公共服务普惠性','体现数据要素在深入推动就业、社保、健康、卫生、医疗、救助、养老、助残、托育等公共服务实现便捷化、普惠化和智能化过程中的放大、叠加、倍增作用，切实满足人民群众对高质量公共服务的需求。');
INSERT INTO "problems" VALUES('7-5','7',5,'强化区域协同治理','围绕企业经营主体注册登记、异地就医结算、养老保险互转等服务事项开展跨城通办中存在的难点、痛点问题，发挥数据要素的融合赋能作用，以数据流畅通跨城治理藩篱，体现跨城治理新技术、新产品、新服务、新应用及新商业模式，实现社会效益的最大化。');
INSERT INTO "problems" VALUES('8-1','8',1,'促进农业生产数智化水平提升','通过融合利用遥感、气象、土壤、农事作业、灾害、农作物病虫害、动物疫病、市场等各类数据，为农业生产经营主体和相关服务企业提供农业生产数智化场景支撑，提高粮食和重要农产品生产效率。');
INSERT INTO "problems" VALUES('8-2','8',2,'促进农产品追溯管理能力提高','通过融合利用农产品的产地、生产、加工、质检等各种数据，支撑农产品追溯管理、精准营销。');
INSERT INTO "problems" VALUES('8-3','8',3,'促进产业链数据融通创新能力提高','通过综合利用农产品生产、销售、加工等数据，为农业生产经营主体提供智慧种养、智慧捕捞、产销对接、疫病防治、行情信息、跨区作业、一站式采购、供应链金融等创新数据和信息服务。');
INSERT INTO "problems" VALUES('8-4','8',4,'促进培育以需定产新模式','通过融合分析应用农业和商贸流通数据，提升农产品供需匹配能力。');
INSERT INTO "problems" VALUES('8-5','8',5,'促进农业生产抗风险能力提高','通过综合利用产能、运输、加工、贸易、消费等数据，为农业生产经营主体在粮食、生猪、果蔬等重点领域，提供自然灾害、疫病传播、价格波动等农业监测预警服务。');
CREATE TABLE "questions" (
   "id" INTEGER PRIMARY KEY,
   "user_id" INTEGER,
   "chat_id" INTEGER,
   "text" TEXT,
   "intent" TEXT,
   "ids" TEXT,
   "score" REAL,
   "created_at" TEXT,
   "ticket_id" INTEGER
, "message_id" INTEGER);
INSERT INTO "questions" VALUES(1,1001,1001,'决赛在哪里举行？','escalate','[]',0.1,'2026-12-02T02:15:30+00:00',1,5);
INSERT INTO "questions" VALUES(2,1002,1002,'赛道三有几道题？','track','["3"]',0.9,'2026-12-02T02:15:30+00:00',2,6);
CREATE TABLE "subscriptions" (
   "chat_id" INTEGER PRIMARY KEY,
   "kind" TEXT,
   "name" TEXT,
   "lang" TEXT,
   "tracks" TEXT,
   "all_tracks" INTEGER,
   "team" TEXT,
   "team_key" TEXT,
   "active" INTEGER,
   "inactive_reason" TEXT,
   "created_at" TEXT,
   "updated_at" TEXT
);
INSERT INTO "subscriptions" VALUES(1001,'private','小明','zh','["3"]',0,'数据先锋队','数据先锋队',1,NULL,'2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00');
INSERT INTO "subscriptions" VALUES(2001,'group','队伍群','zh','[]',1,NULL,NULL,1,NULL,'2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00');
CREATE TABLE "ticket_messages" (
   "chat_id" INTEGER,
   "message_id" INTEGER,
   "ticket_id" INTEGER,
   "kind" TEXT,
   PRIMARY KEY ("chat_id", "message_id")
);
INSERT INTO "ticket_messages" VALUES(-100123,77,1,'post');
CREATE TABLE "tickets" (
   "id" INTEGER PRIMARY KEY,
   "user_id" INTEGER,
   "chat_id" INTEGER,
   "user_name" TEXT,
   "username" TEXT,
   "lang" TEXT,
   "question" TEXT,
   "guesses" TEXT,
   "status" TEXT,
   "claimed_by" INTEGER,
   "claimed_by_name" TEXT,
   "answer" TEXT,
   "answered_by" INTEGER,
   "answered_by_name" TEXT,
   "answered_at" TEXT,
   "first_answered_at" TEXT,
   "waiting_since" TEXT,
   "merged_into" INTEGER,
   "delivery_error" TEXT,
   "sla_reminded_at" TEXT,
   "faq_id" INTEGER,
   "created_at" TEXT,
   "updated_at" TEXT
);
INSERT INTO "tickets" VALUES(1,1001,1001,'小明','xiaoming','zh','决赛在哪里举行？','["faq:1"]','answered',NULL,NULL,'在武汉。',9001,'王老师','2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00',NULL,NULL,NULL,NULL,'2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00');
INSERT INTO "tickets" VALUES(2,1002,1002,'小红',NULL,'en','赛道三有几道题？','[]','open',NULL,NULL,NULL,NULL,NULL,NULL,NULL,'2026-12-02T02:15:30+00:00',NULL,NULL,NULL,NULL,'2026-12-02T02:15:30+00:00','2026-12-02T02:15:30+00:00');
CREATE TABLE "topic_deliveries" (
   "topic_id" INTEGER,
   "user_id" INTEGER,
   "chat_id" INTEGER,
   "status" TEXT,
   "ticket_id" INTEGER,
   "error" TEXT,
   "updated_at" TEXT,
   PRIMARY KEY ("topic_id", "user_id")
);
INSERT INTO "topic_deliveries" VALUES(1,1001,1001,'sending',1,NULL,'2026-12-02T02:15:31+00:00');
CREATE TABLE "topic_messages" (
   "chat_id" INTEGER,
   "message_id" INTEGER,
   "topic_id" INTEGER,
   PRIMARY KEY ("chat_id", "message_id")
);
INSERT INTO "topic_messages" VALUES(-100123,89,1);
CREATE TABLE "tracks" (
   "id" TEXT PRIMARY KEY,
   "position" INTEGER,
   "ordinal" TEXT,
   "name" TEXT,
   "heading" TEXT
);
INSERT INTO "tracks" VALUES('1',0,'一','工业制造','赛道一：数据要素×工业制造');
INSERT INTO "tracks" VALUES('2',1,'二','商贸流通','赛道二：数据要素×商贸流通');
INSERT INTO "tracks" VALUES('3',2,'三','交通运输','赛道三：数据要素×交通运输');
INSERT INTO "tracks" VALUES('4',3,'四','金融服务','赛道四：数据要素×金融服务');
INSERT INTO "tracks" VALUES('5',4,'五','文化旅游','赛道五：数据要素×文化旅游');
INSERT INTO "tracks" VALUES('6',5,'六','医疗健康','赛道六：数据要素×医疗健康');
INSERT INTO "tracks" VALUES('7',6,'七','城市治理','赛道七：数据要素×城市治理');
INSERT INTO "tracks" VALUES('8',7,'八','乡村振兴','赛道八：数据要素×乡村振兴');
CREATE INDEX "idx_tickets_user_id_status"
    ON "tickets" ("user_id", "status");
CREATE INDEX "idx_tickets_status_created_at"
    ON "tickets" ("status", "created_at");
CREATE INDEX "idx_ticket_messages_ticket_id"
    ON "ticket_messages" ("ticket_id");
CREATE INDEX "idx_subscriptions_active"
    ON "subscriptions" ("active");
CREATE INDEX "idx_subscriptions_team_key"
    ON "subscriptions" ("team_key");
CREATE INDEX "idx_broadcasts_status_scheduled_at"
    ON "broadcasts" ("status", "scheduled_at");
CREATE INDEX "idx_deliveries_broadcast_id_status_next_attempt_at"
    ON "deliveries" ("broadcast_id", "status", "next_attempt_at");
CREATE INDEX "idx_deliveries_status"
    ON "deliveries" ("status");
CREATE INDEX "idx_inbox_done_at"
    ON "inbox" ("done_at");
CREATE INDEX "idx_questions_chat_id_message_id"
    ON "questions" ("chat_id", "message_id");
CREATE UNIQUE INDEX "idx_digest_topics_day_position"
    ON "digest_topics" ("day", "position");
CREATE INDEX "idx_questions_created_at"
    ON "questions" ("created_at");
COMMIT;

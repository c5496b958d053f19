"""Every text the bot shows people, in one table, and `tr(lang, key, **values)` to fill one in.

Chinese first; English where a text has one (contestants' texts do; organizers read Chinese).
Texts are Telegram HTML: put user-provided values in escaped (`html.escape`), and keep `<`, `>`
and `&` of a text itself as entities. The few texts sent as plain text (toasts, the 🐢 notice,
refusals) use no markup at all. Keys are `<room>.<name>`: the feature that shows the text.

Pure data and one function: knowledge/render.py and every handler import it, and nothing here
knows about Telegram.
"""

from __future__ import annotations

import html
import re

# key → {language: template}; "zh" always, first.
TEXTS: dict[str, dict[str, str]] = {
    # --- the catalogue's replies (knowledge/render.py) ------------------------------------------
    # The contest's name, the count and the examples come from the catalogue (render_help).
    "reply.help": {
        "zh": (
            "👋 你好！我是{contest}的答疑助手。\n\n"
            "• 点下方按钮按赛道浏览全部 {problems} 道赛题\n"
            "• 直接打字提问，例如：<i>赛道{ordinal}赛题{number}</i>、<i>{id}</i>、"
            "<i>跟{topic}有关的题</i>\n"
            "• 报名、时间、奖项等目录里没有的问题，我会转给组委会\n\n"
            "命令：/tracks 赛道列表 · /help 帮助"
        ),
        "en": (
            "👋 Hi! I answer questions about {contest}.\n\n"
            "• Tap a track below to browse all {problems} problems\n"
            "• Or type a question, e.g. <i>track {track} problem {number}</i>, <i>{id}</i>\n"
            "• Questions the catalogue cannot answer (registration, dates, prizes …) go to "
            "the organizers\n\n"
            "Commands: /tracks list of tracks · /help help"
        ),
    },
    "reply.this_contest": {"zh": "本次大赛", "en": "this contest"},
    "reply.tracks": {"zh": "本次大赛共 {n} 个赛道：", "en": "The contest has {n} tracks:"},
    "reply.tracks_tail": {
        "zh": "发送赛道编号（如 <i>赛道三</i>）或点按钮查看赛题。",
        "en": "Send a track number (e.g. <i>track 3</i>) or tap a button.",
    },
    "reply.track_label": {"zh": "赛道{ordinal} · {name}", "en": "Track {id} · {name}"},
    "reply.problems_count": {"zh": "{n} 道题", "en": "{n} problems"},
    "reply.no_track": {
        "zh": "没有赛道{number}，本次大赛只有赛道一至赛道{last}。",
        "en": "There is no track {number}: tracks run from 1 to {last}.",
    },
    "reply.track": {
        "zh": "<b>{heading}</b>\n共 {n} 道赛题：",
        "en": "<b>{heading}</b>\n{n} problems:",
    },
    "reply.no_problem": {
        "zh": "{track}没有第 {number} 题，它共有 {n} 道赛题：",
        "en": "{track} has no problem {number}; it has {n} problems:",
    },
    "reply.problem": {
        "zh": "<b>赛题 {id}：{title}</b>\n<i>{track}</i>\n\n{description}",
        "en": "<b>Problem {id}: {title}</b>\n<i>{track}</i>\n\n{description}",
    },
    "reply.theme": {"zh": "找到 {n} 道相关赛题：", "en": "{n} problems fit:"},
    "reply.fits": {"zh": "（{terms}）", "en": " ({terms})"},
    "reply.aspect": {"zh": "💡 <b>{aspect}</b>：{text}", "en": "💡 <b>{aspect}</b>: {text}"},
    "reply.understood_problem": {
        "zh": "关于<b>赛题 {id}</b>{topic}：赛题介绍里没有写这一点，我不替组委会猜测。",
        "en": (
            "About <b>problem {id}</b>{topic}: its text does not say, and I won't guess for the "
            "organizers."
        ),
    },
    "reply.understood_track": {
        "zh": "关于<b>{track}</b>{topic}：赛题目录里没有写这一点，我不替组委会猜测。",
        "en": (
            "About <b>{track}</b>{topic}: the catalogue does not say, and I won't guess for the "
            "organizers."
        ),
    },
    "reply.understood_topic": {
        "zh": "关于{topic}：赛题目录里没有答案，我不替组委会猜测。",
        "en": (
            "About {topic}: the catalogue does not answer this, and I won't guess for the "
            "organizers."
        ),
    },
    "reply.did_you_mean": {
        "zh": "你是想问下面哪道赛题？",
        "en": "Did you mean one of these problems?",
    },
    "reply.escalate": {
        "zh": (
            "这个问题赛题目录里没有答案，我不替组委会猜测。\n"
            "可以把问题转给组委会，由工作人员回复你。"
        ),
        "en": (
            "The catalogue does not answer this, and I won't guess for the organizers.\n"
            "You can send the question to the organizers and staff will reply."
        ),
    },
    "reply.faq": {
        "zh": "<b>组委会答复</b>（{date}）\n<i>问：{question}</i>\n\n{answer}",
        "en": "<b>Organizers' answer</b> ({date})\n<i>Q: {question}</i>\n\n{answer}",
    },
    # --- menus and what every handler may say (handlers/common.py, menu.py, errors.py) ----------
    "nav.home": {"zh": "🏠 主页", "en": "🏠 Home"},
    "nav.back": {"zh": "⬅️ 返回", "en": "⬅️ Back"},
    "nav.tracks": {"zh": "📋 全部赛道", "en": "📋 All tracks"},
    "nav.how": {"zh": "❓ 怎么提问", "en": "❓ How to ask"},
    "nav.follow": {"zh": "🔔 订阅本赛道通知", "en": "🔔 Follow this track"},
    "nav.expired_short": {"zh": "这个按钮已过期。"},
    "nav.expired": {
        "zh": "这个按钮已过期，请从主页重新开始。",
        "en": "This button has expired. Please start again from the home menu.",
    },
    "error.sorry": {
        "zh": "抱歉，出了点问题，请稍后再试。",
        "en": "Sorry, something went wrong. Please try again later.",
    },
    "error.network": {
        "zh": "网络不稳：如果没有看到回复，请再发一次。",
        "en": "Network trouble: if you see no reply, please send it again.",
    },
    "auth.refused": {
        "zh": "抱歉，这个操作仅限组委会工作人员。",
        "en": "Sorry, only the organizers can do that.",
    },
    "flood.slow_down": {
        "zh": (
            "🐢 消息有点多，我跟不上啦～请 {s} 秒后再发。这期间发来的消息我先略过，"
            "之后的问题照常回答。"
        ),
        "en": (
            "🐢 That's a lot of messages at once — please wait {s} s before sending more. "
            "I'll skip the ones sent meanwhile and answer as usual after that."
        ),
    },
    "ask.text_only": {
        "zh": "我只能读文字问题：请把问题打出来发给我，或点 /start 浏览赛题。",
        "en": "I can only read text: please type your question, or tap /start to browse.",
    },
    # The command menu contestants see (bot/app.py); organizers' commands are not advertised.
    "commands.start": {"zh": "开始 · 主菜单", "en": "Start · main menu"},
    "commands.tracks": {"zh": "全部赛道", "en": "All tracks"},
    "commands.myquestions": {"zh": "我问过组委会的问题", "en": "My questions to the organizers"},
    "commands.subscribe": {"zh": "订阅赛事通知", "en": "Announcements to receive"},
    "commands.settings": {"zh": "我的订阅与队伍", "en": "My subscription and team"},
    "commands.help": {"zh": "怎么提问", "en": "How to ask"},
    # --- subscriptions (handlers/subscriptions.py); post_*: on a ticket's post -------------------
    "subs.intro": {
        "zh": (
            "🔔 <b>订阅赛事通知</b>\n选择你关心的赛道（可多选），再点「完成」。"
            "组委会发布相关通知时，我会发给你。"
        ),
        "en": (
            "🔔 <b>Announcements</b>\nPick the tracks you care about (several if you like), then "
            "tap “Done”. I'll forward the organizers' announcements about them."
        ),
    },
    "subs.intro_group": {
        "zh": (
            "🔔 <b>本群订阅赛事通知</b>\n选择本队关心的赛道（可多选），再点「完成」。"
            "组委会发布相关通知时，我会发到本群。"
        ),
        "en": (
            "🔔 <b>Announcements for this group</b>\nPick your team's tracks, then tap “Done”. "
            "I'll post the organizers' announcements about them here."
        ),
    },
    "subs.all": {"zh": "全部赛道", "en": "All tracks"},
    "subs.done": {"zh": "✅ 完成", "en": "✅ Done"},
    "subs.subscribed": {"zh": "✅ 已订阅。", "en": "✅ Subscribed."},
    "subs.heading": {"zh": "⚙️ <b>我的订阅</b>", "en": "⚙️ <b>My subscription</b>"},
    "subs.heading_group": {
        "zh": "⚙️ <b>本群的订阅</b>",
        "en": "⚙️ <b>This group's subscription</b>",
    },
    "subs.status": {"zh": "状态：{status}", "en": "Status: {status}"},
    "subs.on": {"zh": "已订阅", "en": "subscribed"},
    "subs.off": {"zh": "未订阅", "en": "not subscribed"},
    "subs.off_blocked": {
        "zh": "未订阅（消息无法送达，已自动退订）",
        "en": "not subscribed (messages could not be delivered)",
    },
    "subs.tracks": {"zh": "赛道：{tracks}", "en": "Tracks: {tracks}"},
    "subs.no_tracks": {"zh": "未选（只收全体通知）", "en": "none (general announcements only)"},
    "subs.team": {"zh": "队伍：{team}", "en": "Team: {team}"},
    "subs.no_team": {"zh": "未设置", "en": "not set"},
    "subs.hint": {
        "zh": "修改赛道：/subscribe · 设置队名：/team 队名 · 退订：/unsubscribe",
        "en": "Tracks: /subscribe · team name: /team name · stop: /unsubscribe",
    },
    "subs.unsubscribed": {
        "zh": "已退订，不会再收到赛事通知。随时发送 /subscribe 重新订阅。",
        "en": "Unsubscribed: no more announcements. Send /subscribe any time.",
    },
    "subs.not_subscribed": {
        "zh": "还没有订阅。发送 /subscribe 订阅赛事通知。",
        "en": "Not subscribed yet. Send /subscribe to get announcements.",
    },
    "subs.team_set": {"zh": "队伍已设为「{team}」。", "en": "Team set to “{team}”."},
    "subs.team_cleared": {"zh": "已清除队名。", "en": "Team name cleared."},
    "subs.team_subscribe": {
        "zh": "发送 /subscribe 订阅后才会收到通知。",
        "en": "Send /subscribe to receive announcements.",
    },
    "subs.team_usage": {
        "zh": "用法：/team 队名（不超过 {n} 个字，/team - 清除）。当前队伍：{team}",
        "en": (
            "Usage: /team name (at most {n} characters, /team - clears it). Current team: {team}"
        ),
    },
    "subs.admins_only": {
        "zh": "只有本群的管理员可以更改本群的订阅。",
        "en": "Only this group's admins can change its subscription.",
    },
    "subs.followed": {
        "zh": "🔔 已订阅「{track}」的通知，/settings 查看。",
        "en": "🔔 Following “{track}”. See /settings.",
    },
    "subs.post_team": {"zh": "队伍：{team}"},
    "subs.post_tracks": {"zh": "订阅：{tracks}"},
    # --- tickets: contestants (handlers/tickets/) ------------------------------------------------
    "tickets.escalate": {
        "zh": "这个问题赛题目录里没有答案，我不替组委会猜测。",
        "en": "The catalogue does not answer this, and I won't guess for the organizers.",
    },
    "tickets.confirm": {
        "zh": "要把这个问题转给组委会吗？确认后点下面的按钮。",
        "en": "Send this question to the organizers? Press the button below to confirm.",
    },
    "tickets.similar": {
        "zh": "提交前可以先看看这些相似问题的答复：",
        "en": "Before you send it, these similar questions have answers:",
    },
    "tickets.submit": {"zh": "📨 提交给组委会", "en": "📨 Send to the organizers"},
    "tickets.ask_button": {"zh": "🙋 问组委会", "en": "🙋 Ask the organizers"},
    "tickets.submitted": {
        "zh": (
            "✅ 已提交，编号 <b>#{id}</b>。组委会回复后我会第一时间转告你。\n可用 /myquestions "
            "查看进度。"
        ),
        "en": (
            "✅ Sent as <b>#{id}</b>. I'll pass the organizers' answer on to you.\nUse "
            "/myquestions to follow it."
        ),
    },
    "tickets.already": {
        "zh": "这个问题已经提交过了，编号 #{id}。",
        "en": "This question was already sent as #{id}.",
    },
    "tickets.too_many": {
        "zh": (
            "你已有 {n} 个问题在等待组委会回复，请等回复后再提交新问题。问题没有丢，"
            "稍后再点「提交给组委会」即可。"
        ),
        "en": (
            "You have {n} questions waiting for the organizers; please wait for their answers "
            "first. Your question is kept: press “Send” again later."
        ),
    },
    "tickets.too_soon": {
        "zh": "提交太频繁了，请 {s} 秒后再点「提交给组委会」。问题没有丢。",
        "en": (
            "Too many questions at once: please press “Send” again in {s} s. Your question is "
            "kept."
        ),
    },
    "tickets.answer": {
        "zh": (
            "💬 <b>组委会回复了你的问题 #{id}</b>\n<blockquote>{question}</blockquote>\n"
            "{answer}{staff}\n\n<i>直接回复这条消息可以继续追问。</i>"
        ),
        "en": (
            "💬 <b>The organizers answered your question #{id}</b>\n"
            "<blockquote>{question}</blockquote>\n{answer}{staff}\n\n<i>Reply to this message to "
            "ask a follow-up.</i>"
        ),
    },
    "tickets.followup_sent": {
        "zh": "已把追问转给组委会（#{id}）。",
        "en": "Your follow-up went to the organizers (#{id}).",
    },
    "tickets.closed_ticket": {
        "zh": "问题 #{id} 已结束。如有新问题，直接发给我就好。",
        "en": "Question #{id} is closed. Just send me a new question any time.",
    },
    "tickets.closed_notice": {
        "zh": (
            "📭 组委会看过了你的问题 <b>#{id}</b>，这次不单独回复（可能已在通知、"
            "赛题说明或常见问题里说明）。\n<blockquote>{question}</blockquote>\n还有疑问的话，"
            "<b>直接回复这条消息</b>补充说明，我会再转给组委会；新问题直接发给我就好。"
        ),
        "en": (
            "📭 The organizers read your question <b>#{id}</b> and closed it without a separate "
            "answer (it may be covered by an announcement, the catalogue or the FAQ).\n"
            "<blockquote>{question}</blockquote>\nStill unsure? <b>Reply to this message</b> "
            "with more detail and I'll pass it on to them again; new questions are welcome any "
            "time."
        ),
    },
    "tickets.none": {
        "zh": "你还没有向组委会提过问题。",
        "en": "You have not asked the organizers anything yet.",
    },
    "tickets.mine": {"zh": "你的问题：", "en": "Your questions:"},
    "tickets.answer_label": {"zh": "答", "en": "A"},
    "tickets.not_yours": {"zh": "这个按钮不是给你的。", "en": "This button is not yours."},
    "tickets.status_open": {"zh": "⏳ 待回复", "en": "waiting"},
    "tickets.status_answered": {"zh": "✅ 已回复", "en": "answered"},
    "tickets.status_closed": {"zh": "🚫 已关闭（无需回复）", "en": "closed"},
    "tickets.status_merged": {"zh": "🔗 已合并", "en": "merged"},
    # --- tickets: organizers, in their group -----------------------------------------------------
    "tickets.post_title": {"zh": "🆕 <b>问题 #{id}</b>"},
    "tickets.post_from": {"zh": "来自：{who} · id <code>{user_id}</code>"},
    "tickets.post_guesses": {"zh": "机器人猜测：{guesses}"},
    "tickets.post_status": {"zh": "状态：{status}"},
    "tickets.post_claimed": {"zh": "认领：{name}"},
    "tickets.post_answered_by": {"zh": "回复人：{name} · {when} UTC"},
    "tickets.post_answer": {"zh": "答复：{answer}"},
    "tickets.post_undelivered": {"zh": "⚠️ 未送达：{error}"},
    "tickets.post_faq": {"zh": "📌 已存为 FAQ #{faq_id}"},
    "tickets.post_similar": {"zh": "另有 {n} 个相似问题：{ids}"},
    "tickets.post_hint": {"zh": "<i>回复此消息即可答复，或 /answer {id} 内容</i>"},
    "tickets.claim_button": {"zh": "✋ 认领"},
    "tickets.close_button": {"zh": "🚫 关闭（无需回复）"},
    "tickets.merge_button": {"zh": "🔗 合并到…"},
    "tickets.merge_similar_button": {"zh": "🧲 合并这 {n} 个相似问题到 #{id}"},
    "tickets.followup_post": {
        "zh": (
            "↩️ <b>#{id} 追问</b>（{name}）\n<blockquote>{text}</blockquote>\n回复此消息即可答复。"
        ),
    },
    "tickets.reminder": {
        "zh": "⏰ <b>#{id}</b> 已等待 {waited}，还没有回复。回复此消息即可答复。",
    },
    "tickets.closed_not_sent": {"zh": "#{id} 已关闭，未发送。"},
    "tickets.answer_sent_before": {"zh": "#{id} 已是这个答复并已送达，没有再发一次。"},
    "tickets.answer_usage": {"zh": "用法：/answer 编号 回复内容"},
    "tickets.no_such": {"zh": "没有问题 #{id}。"},
    "tickets.merge_usage": {"zh": "用法：/merge 编号 目标编号"},
    "tickets.merge_unknown": {"zh": "编号不存在。"},
    "tickets.merge_refused": {"zh": "不能合并到自己、已合并或已关闭的问题。"},
    "tickets.not_open_any_more": {"zh": "#{id} 已不是待回复状态。"},
    "tickets.merged_answered": {"zh": "🔗 #{source} 已合并到 #{target}，并已转发其答复。"},
    "tickets.merged": {
        "zh": "🔗 #{source} 已合并到 #{target}，回复 #{target} 即同时答复两位提问者。",
    },
    "tickets.undeliverable": {"zh": "⚠️ #{id} 无法送达：{error}"},
    "tickets.undeliverable_final": {"zh": "⚠️ #{id} 无法送达：{error}（不再重试）"},
    "tickets.answered": {"zh": "✅ #{id} 已回复"},
    "tickets.delivered_to": {"zh": "，送达：{ids}"},
    "tickets.gone": {"zh": "这个问题不存在。"},
    "tickets.not_open": {"zh": "这个问题已不是待回复状态。"},
    "tickets.claimed": {"zh": "已认领 #{id}"},
    "tickets.closed": {"zh": "已关闭 #{id}"},
    "tickets.merge_none": {"zh": "没有其他待回复的问题可合并。也可用 /merge {id} 目标编号"},
    "tickets.merge_which": {"zh": "把 #{id} 合并到哪个问题？（或 /merge {id} 目标编号）"},
    "tickets.no_similar_open": {"zh": "#{id} 现在没有待回复的相似问题。"},
    "tickets.faq_needs_answer": {"zh": "只有已回复的问题可以存为 FAQ。"},
    "faq.already": {"zh": "已是 FAQ #{faq_id}"},
    "faq.saved_toast": {"zh": "已存为 FAQ #{faq_id}"},
    "tickets.faq_saved": {
        "zh": (
            "📌 #{id} 已存为 FAQ #{faq_id}，相似问题今后直接由机器人回答。\n改写问题：/faq edit "
            "{faq_id} 新的问题 | 答案（留空保持不变）"
        ),
    },
    "tickets.close_untold": {"zh": "⚠️ #{id} 已关闭，但未能告知提问者：{error}"},
    "tickets.faq_offer": {"zh": "有 {n} 个待回复问题与 FAQ #{faq_id} 相似："},
    "tickets.faq_offer_button": {"zh": "📣 用 FAQ #{faq_id} 答复这 {n} 位提问者"},
    "tickets.faq_gone": {"zh": "FAQ #{faq_id} 已不存在。"},
    "tickets.faq_offer_none": {"zh": "没有待回复的相似问题了。"},
    "tickets.queue_empty": {"zh": "🎉 没有待回复的问题。"},
    "tickets.queue_head": {"zh": "⏳ 待回复 {n} 个（最早的在前）："},
    "tickets.queue_claimed": {"zh": " · 认领：{name}"},
    "tickets.ticket_usage": {"zh": "用法：/ticket 编号"},
    # --- shared by features: waiting times, why an answer was not delivered ----------------------
    "time.minutes": {"zh": "{m} 分钟"},
    "time.hours": {"zh": "{h} 小时 {m} 分钟"},
    "time.days": {"zh": "{d} 天 {h} 小时"},
    "delivery.blocked": {"zh": "对方已屏蔽机器人或停用账号（{error}）"},
    "delivery.network": {"zh": "网络故障，可能未送达（{error}）"},
    "delivery.failed": {"zh": "未送达（{error}）"},
    "faq.save_button": {"zh": "📌 存为FAQ"},
    # --- FAQ (handlers/faq.py) -------------------------------------------------------------------
    "faq.none": {"zh": "还没有 FAQ。回复工单后点「存为FAQ」，或 /faq add 问题 | 答案"},
    "faq.usage": {
        "zh": (
            "用法：\n/faq list\n/faq suggest（反复被问、已回复未存的问题）\n/faq add 问题 | "
            "答案\n/faq edit 编号 新问题 | 新答案（一边留空则不变）\n/faq del 编号"
        ),
    },
    "faq.list_head": {"zh": "📌 FAQ 共 {n} 条："},
    "faq.added": {"zh": "已添加 FAQ #{id}。"},
    "faq.no_such": {"zh": "没有 FAQ #{id}。"},
    "faq.edited": {"zh": "已更新 FAQ #{id}：{question}"},
    "faq.deleted": {"zh": "已删除 FAQ #{id}。"},
    "faq.suggest_none": {"zh": "没有反复被问、尚未存为 FAQ 的已回复问题。"},
    "faq.suggest_head": {"zh": "📌 这些问题被反复问到，已回复但还不是 FAQ："},
    "faq.suggest_line": {"zh": "{n}. {question}（{askers} 位提问者：{ids}）"},
    "faq.suggest_button": {"zh": "📌 {n}. 存为FAQ（#{id}）"},
    # --- /stats, the daily digest and its topics (handlers/stats.py) -----------------------------
    "stats.usage": {
        "zh": "用法：/stats [天数]（1 到 {max_days}，默认 {default_days}），例如 /stats 14",
    },
    # The /stats caption (knowledge/report.py) goes out as plain text: no markup, no entities.
    "stats.caption_title": {"zh": "📊 近 {days} 天（{span}，{timezone}）"},
    "stats.caption_asked": {
        "zh": "提问 {asked}：目录作答 {catalogue} · FAQ 作答 {faq} · 转组委会 {escalated}",
    },
    "stats.caption_self_answered": {"zh": "机器人自己答了 {share}"},
    "stats.caption_tickets": {"zh": "工单 {tickets}，现在待回复 {open}"},
    "stats.caption_waits": {"zh": "首次回复用时：中位数 {median} 分钟，P90 {p90} 分钟"},
    "stats.caption_no_waits": {"zh": "首次回复用时：这段时间还没有回复过的工单"},
    "stats.caption_daily_head": {
        "zh": "每日：提问（目录 / FAQ / 转组委会）· 首次回复 中位数 / P90 分钟",
    },
    "stats.caption_day": {
        "zh": "{day}　{asked}（{catalogue} / {faq} / {escalated}）· {median} / {p90}",
    },
    "stats.caption_earlier": {"zh": "（更早的日子见图）"},
    # How the bot handled a question, in the chart's legend.
    "stats.kind_catalogue": {"zh": "目录作答"},
    "stats.kind_faq": {"zh": "FAQ 作答"},
    "stats.kind_escalated": {"zh": "转组委会"},
    # The /stats picture (knowledge/chart.py): drawn, not sent, so plain text; every character
    # must be in the font subset shipped in knowledge/data/fonts (tests/test_stats.py checks).
    "chart.title": {"zh": "近 {days} 天 · 提问与回复"},
    "chart.period": {"zh": "{first} 至 {last}（{timezone}）"},
    "chart.period_one_day": {"zh": "{last}（{timezone}）"},
    "chart.made_at": {"zh": "生成于 {when}"},
    "chart.questions_heading": {"zh": "每天的提问，按机器人的处理方式"},
    "chart.no_questions": {"zh": "这段时间还没有人提问"},
    "chart.waits_heading": {"zh": "组委会首次回复用时（{unit}，按提问当天）"},
    "chart.hours": {"zh": "小时"},
    "chart.minutes": {"zh": "分钟"},
    "chart.median": {"zh": "中位数"},
    "chart.p90": {"zh": "P90"},
    "chart.no_waits": {"zh": "这段时间还没有回复过的工单"},
    "digest.title": {"zh": "🗞 <b>每日简报 · {month}月{day}日（周{weekday}）</b>"},
    "digest.weekdays": {"zh": "一二三四五六日"},
    "digest.asked": {
        "zh": (
            "提问 {asked}：目录作答 {catalogue} · FAQ 作答 {faq} · 转组委会 "
            "{escalated}（机器人自己答了 {share}）"
        ),
    },
    "digest.tickets": {"zh": "新工单 {n}；首次回复 中位数 {median} 分钟，P90 {p90} 分钟"},
    "digest.tickets_unanswered": {"zh": "新工单 {n}；还没有回复过的"},
    "digest.open_head": {"zh": "⏳ <b>待回复 {n} 个</b>（最早的在前）"},
    "digest.open_more": {"zh": "…还有 {n} 个，/queue 查看全部"},
    "digest.no_open": {"zh": "🎉 没有待回复的问题。"},
    "digest.late": {"zh": "⏰ <b>等待超过 {sla} 分钟：{n} 个</b>　{ids}"},
    "digest.none_late": {"zh": "✅ 没有等待超过 {sla} 分钟的问题。"},
    "digest.no_topics": {"zh": "昨天没有转组委会的问题。"},
    "digest.topics_head": {"zh": "🔥 <b>昨天转组委会最多的话题</b>"},
    "digest.topic_line": {"zh": "{position}. {label} — {askers} 人问过（{n} 次）"},
    "digest.topics_hint": {"zh": "<i>点下面的按钮写一次答复，发给这个话题的每位提问者。</i>"},
    "digest.topic_button": {"zh": "✍️ 统一答复话题 {position}（{askers} 人）"},
    "topic.answered_before": {"zh": "话题 {position} 已统一答复过。"},
    "topic.prompt": {
        "zh": (
            "✍️ {mention}，请<b>回复这条消息</b>，写下对话题 {position}「{label}」的答复。\n"
            "会发给问过的 {askers} 位同学，每人一次；已由工单答复过的不再发。"
        ),
    },
    "topic.placeholder": {"zh": "统一答复…"},
    "topic.empty": {"zh": "答复是空的，没有发送。"},
    "topic.answered_by_other": {
        "zh": (
            "话题 {position}「{label}」已由 {who} 统一答复过，这次没有再发。要补充，"
            "请回复具体的工单。"
        ),
    },
    "topic.report": {"zh": "✅ 已统一答复话题 {position}「{label}」：送达 {sent} 人"},
    "topic.report_skipped": {"zh": "；{n} 人已由工单答复过，没有再发"},
    "topic.report_failed": {"zh": "；{n} 人未送达（已屏蔽机器人或网络故障）"},
    "topic.answer": {
        "zh": (
            "💬 <b>组委会统一答复了你问过的问题</b>\n<blockquote>{question}</blockquote>\n"
            "{answer}\n\n<i>还有疑问，直接发给我就好。</i>"
        ),
    },
    "topic.faq_saved": {
        "zh": (
            "📌 话题 {position} 已存为 FAQ #{faq_id}，相似问题今后由机器人直接回答。\n改写问题："
            "/faq edit {faq_id} 新的问题 | 答案（留空保持不变）"
        ),
    },
    # --- broadcasts (handlers/broadcast/) --------------------------------------------------------
    "broadcast.group_only": {"zh": "请在组委会群里使用 /broadcast。"},
    "broadcast.usage": {
        "zh": (
            "用法：\n<code>/broadcast 文本</code> — 发送一条公告（可用 Telegram 的粗体、"
            "链接等格式，或 &lt;b&gt;HTML&lt;/b&gt;）\n回复任意一条消息并发送 "
            "<code>/broadcast</code> — 原样复制那条消息\n<code>/broadcast team 队名 文本</code> "
            "— 只发给一个队伍\n<code>/broadcast at 2024-06-01 09:00 文本</code> — "
            "定时发送（{tz}）\n<code>/broadcasts</code> — 已发、定时和发送中的公告"
        ),
    },
    "broadcast.bad_time": {"zh": "时间格式应为 2024-06-01 09:00。"},
    "broadcast.past_time": {"zh": "{when}（{tz}）已经过去了，请换一个时间。"},
    "broadcast.bad_team": {"zh": "队名不对：不超过 {n} 个字。"},
    "broadcast.refused_html": {"zh": "这条公告 Telegram 不会接受：{problem}"},
    "broadcast.no_such": {"zh": "没有公告 #{id}。"},
    "broadcast.cannot_cancel": {"zh": "公告 #{id} 已是「{status}」，无法取消。"},
    "broadcast.stopping": {"zh": "⏹ 公告 #{id} 正在停止，已发出的无法撤回；报告稍后更新。"},
    "broadcast.cancelled": {"zh": "⏹ 公告 #{id} 已取消，未发送。"},
    "broadcast.none_yet": {"zh": "还没有公告。发送 /broadcast 查看用法。"},
    "broadcast.list_head": {"zh": "📣 <b>公告</b>（定时、发送中和最近的）"},
    "broadcast.stop_button_of": {"zh": "⏹ 取消 #{id}"},
    "broadcast.gone": {"zh": "这条公告不存在。"},
    "broadcast.not_draft": {"zh": "公告 #{id} 已是「{status}」。"},
    "broadcast.pick_a_track": {"zh": "请至少选一个赛道。"},
    "broadcast.team_gone": {"zh": "这个队伍已没有订阅者。"},
    "broadcast.cancelled_toast": {"zh": "已取消"},
    "broadcast.draft_cancelled": {"zh": "❌ 公告 #{id} 已取消，未发送。"},
    "broadcast.pick_audience": {"zh": "请先选择发送对象。"},
    "broadcast.scheduled": {
        "zh": (
            "🕘 <b>公告 #{id}</b> 已排期：{when}（{tz}）\n对象：{audience}，"
            "收件人按发送时的订阅计算。"
        ),
    },
    "broadcast.confirmed": {"zh": "⏳ <b>公告 #{id}</b> 已确认，开始发送…"},
    "broadcast.done_before": {"zh": "已处理过了。"},
    "broadcast.scheduled_toast": {"zh": "已排期"},
    "broadcast.sending_toast": {"zh": "开始发送"},
    "broadcast.resending": {"zh": "正在补发 {n} 个"},
    "broadcast.nothing_to_resend": {"zh": "没有需要补发的。"},
    "broadcast.all_delivered": {"zh": "没有未送达的收件人。"},
    "broadcast.failures_caption": {"zh": "公告 #{id} 未送达名单：{n} 个（屏蔽、失败、状态未知）"},
    "broadcast.status_draft": {"zh": "📝 草稿"},
    "broadcast.status_scheduled": {"zh": "🕘 定时"},
    "broadcast.status_queued": {"zh": "⏳ 排队中"},
    "broadcast.status_running": {"zh": "▶️ 发送中"},
    "broadcast.status_done": {"zh": "✅ 已完成"},
    "broadcast.status_cancelled": {"zh": "⏹ 已取消"},
    "broadcast.audience_none": {"zh": "（未选择）"},
    "broadcast.audience_track": {"zh": "赛道{ordinal}·{name}"},
    "broadcast.audience_no_tracks": {"zh": "（未选赛道）"},
    "broadcast.audience_team": {"zh": "队伍「{team}」"},
    "broadcast.audience_all": {"zh": "全部订阅者"},
    "broadcast.progress_title": {"zh": "📣 <b>公告 #{id}</b> 发送中…"},
    "broadcast.audience_line": {"zh": "对象：{audience} · 共 {total} 个"},
    "broadcast.progress_counts": {
        "zh": "✅ 已送达 {sent} · 🚫 已屏蔽 {blocked} · ⚠️ 失败 {failed}",
    },
    "broadcast.progress_unknown": {"zh": " · ❔ 状态未知 {n}"},
    "broadcast.progress_left": {"zh": "⏳ 剩余 {n} · 预计还需 {eta}"},
    "broadcast.report_cancelled": {"zh": "⏹ 已取消"},
    "broadcast.report_done": {"zh": "✅ 发送完毕"},
    "broadcast.report_title": {"zh": "📣 <b>公告 #{id}</b> {head}"},
    "broadcast.report_audience": {"zh": "对象：{audience} · 共 {total} 个 · 用时 {took}"},
    "broadcast.report_sent": {"zh": "✅ 已送达 {n}"},
    "broadcast.report_blocked": {"zh": "🚫 已屏蔽或退出 {n}（已自动退订）"},
    "broadcast.report_failed": {"zh": "⚠️ 失败 {n}"},
    "broadcast.report_unknown": {
        "zh": "❔ 状态未知 {n}（机器人发送时中断，可能已送达；为免重复未自动重发）",
    },
    "broadcast.report_unsent": {"zh": "⏹ 未发送 {n}"},
    "broadcast.csv_button": {"zh": "📄 失败名单 CSV"},
    "broadcast.resend_button": {"zh": "🔁 补发给状态未知的 {n} 个"},
    "broadcast.stop_button": {"zh": "⏹ 取消发送"},
    "broadcast.panel_title": {"zh": "📣 <b>公告 #{id}</b> · {title}"},
    "broadcast.panel_copy": {"zh": "内容：原样复制所回复的那条消息"},
    "broadcast.panel_when": {"zh": "🕘 定时：{when}（{tz}）"},
    "broadcast.choose_title": {"zh": "选择发送对象"},
    "broadcast.everyone_button": {"zh": "👥 全部订阅者（{n}）"},
    "broadcast.tracks_button": {"zh": "🏷 按赛道…"},
    "broadcast.teams_button": {"zh": "👨‍👩‍👧 按队伍…"},
    "broadcast.cancel_button": {"zh": "❌ 取消"},
    "broadcast.track_button": {"zh": "{mark}赛道{ordinal} · {name}（{n}）"},
    "broadcast.done_button": {"zh": "✅ 完成"},
    "broadcast.tracks_title": {"zh": "选择赛道（可多选）"},
    "broadcast.tracks_chosen": {"zh": "已选 {n} 个赛道 · 收件人 {reach} 个"},
    "broadcast.teams_title": {"zh": "选择队伍"},
    "broadcast.no_teams": {"zh": "还没有订阅者设置队名（/team 队名）。"},
    "broadcast.too_many_teams": {
        "zh": "队伍太多，只列出前 {n} 个；其余请用 /broadcast team 队名 …",
    },
    "broadcast.preview_title": {"zh": "预览"},
    "broadcast.reach": {"zh": "收件人 {n} 个"},
    "broadcast.reach_groups": {"zh": "（其中群聊 {n} 个）"},
    "broadcast.preview_audience": {"zh": "对象：{audience} · {reach}"},
    "broadcast.preview_scheduled": {"zh": "<i>定时公告的收件人按发送时的订阅计算。</i>"},
    "broadcast.confirm_scheduled_button": {"zh": "✅ 确认定时"},
    "broadcast.confirm_button": {"zh": "✅ 确认发送"},
    "broadcast.no_recipients": {"zh": "⚠️ 没有收件人，无法发送。"},
    "broadcast.choose_again_button": {"zh": "⬅️ 重新选择对象"},
    "broadcast.line_about": {"zh": " · 约 {n} 个"},
    "broadcast.line_counts": {"zh": "共 {total} · 送达 {sent} · 屏蔽 {blocked} · 失败 {failed}"},
    "broadcast.line_unknown": {"zh": " · 未知 {n}"},
    "broadcast.line_unsent": {"zh": " · 未发 {n}"},
    "broadcast.migrated": {"zh": "群已升级为超级群 {chat_id}，请在新群重新 /subscribe"},
    "broadcast.tried": {"zh": "{error}（已试 {n} 次）"},
    "broadcast.empty": {"zh": "公告内容为空"},
    "broadcast.too_long": {"zh": "公告过长（{n} 字，上限 {limit}）"},
    "time.seconds": {"zh": "{s} 秒"},
    "time.min_sec": {"zh": "{m} 分 {s} 秒"},
    "time.hour_min": {"zh": "{h} 小时 {m} 分"},
}


def tr(lang: str, key: str, /, **values: object) -> str:
    """The text `key` in `lang` (in Chinese when it has none in `lang`), `values` filled in as
    given: escape what users wrote before passing it."""
    texts = TEXTS[key]
    return texts.get(lang, texts["zh"]).format(**values)


def lead(lang: str, key: str) -> str:
    """How the text `key` begins as people read it (tags gone), up to its first value: to find
    the bot's own lines in a message it sent ("🆕 问题 #" of a ticket's post)."""
    texts = TEXTS[key]
    template = texts.get(lang, texts["zh"]).split("{", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", "", template))

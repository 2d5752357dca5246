// The sandbox page: four panes, each a person using the bot. The server sends the state as JSON and a
// server-sent event whenever it changes. Message bodies come already made safe by the server
// (bot/sandbox/view.py keeps only Telegram's HTML tags); everything else is set as text.
// The page's texts are this small dictionary (the bot's own texts come from its gettext catalogs).
"use strict";

const T = {
  ru: {
    title: "Песочница бота помощи семьям",
    hint: "Бот работает по-настоящему, но с местными Telegram и VK: без токена и без сети. Попробуйте каждую роль.",
    scenario: "▶ Сценарий", scenarioRunning: "Сценарий идёт…",
    tg_family: "Семья в Telegram", vk_family: "Семья во ВКонтакте", max_family: "Семья в MAX",
    group: "Чат координаторов", admin: "Администратор",
    send: "Отправить", message: "Сообщение", contact: "📞 Поделиться номером", photo: "📷 Фото",
    document: "📎 Файл", block: "🚫 Заблокировать бота", unblock: "Разблокировать бота",
    blocked: "Бот заблокирован: сообщения бота сюда не приходят.", reply: "Ответить", replyTo: "Ответ на:",
    start: "Начать", cancel: "Отмена", edited: "изменено", iam: "Я:", media: { photo: "Фото", document: "Файл", voice: "Голосовое",
      video: "Видео", audio: "Аудио", sticker: "Стикер", animation: "GIF", contact: "Контакт", location: "Место" },
  },
  en: {
    title: "Family help bot sandbox",
    hint: "The bot runs for real, but against local Telegram and VK: no token, no network. Try every role.",
    scenario: "▶ Scenario", scenarioRunning: "Scenario running…",
    tg_family: "Family on Telegram", vk_family: "Family on VK", max_family: "Family on MAX",
    group: "Coordinators' chat", admin: "Admin",
    send: "Send", message: "Message", contact: "📞 Share phone number", photo: "📷 Photo",
    document: "📎 File", block: "🚫 Block the bot", unblock: "Unblock the bot",
    blocked: "The bot is blocked: its messages do not arrive here.", reply: "Reply", replyTo: "Reply to:",
    start: "Start", cancel: "Cancel", edited: "edited", iam: "I am:", media: { photo: "Photo", document: "File", voice: "Voice",
      video: "Video", audio: "Audio", sticker: "Sticker", animation: "GIF", contact: "Contact", location: "Location" },
  },
};

let lang = localStorage.getItem("sandbox-lang") === "en" ? "en" : "ru";
let state = null;
const local = {}; // per pane: { replyTo, replyText, coordinator }

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function act(pane, body) {
  const data = { pane, lang, coordinator: local[pane].coordinator, ...body };
  const response = await fetch("/api/act", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
  const section = document.querySelector(`[data-pane="${pane}"]`);
  const error = section.querySelector(".error");
  if (!response.ok) {
    const answer = await response.json().catch(() => ({}));
    error.textContent = answer.error || response.statusText;
    error.hidden = false;
  } else {
    error.hidden = true;
  }
}

function buildPane(section) {
  const pane = section.dataset.pane;
  local[pane] = local[pane] || { replyTo: null, replyText: "", coordinator: null };
  const t = T[lang];
  section.replaceChildren();
  section.setAttribute("aria-label", t[pane]);
  const header = el("header", {}, el("h2", { text: t[pane] }));
  if (pane === "group") {
    const select = el("select", { "aria-label": t.iam, class: "coordinator", on: { change: (e) => { local[pane].coordinator = Number(e.target.value); } } });
    header.append(el("span", { text: t.iam }), select);
  }
  if (pane === "tg_family" || pane === "vk_family" || pane === "max_family") {
    header.append(el("button", { type: "button", class: "block", on: { click: () => act(pane, { kind: "block" }) } }));
  }
  const form = el("form", { class: "composer", on: { submit: (e) => {
    e.preventDefault();
    const input = form.querySelector("input");
    if (!input.value.trim()) return;
    act(pane, { kind: "text", text: input.value, reply_to: local[pane].replyTo });
    input.value = "";
    setReply(pane, null, "");
  } } },
    el("input", { type: "text", "aria-label": t.message, placeholder: t.message, autocomplete: "off" }),
    el("button", { type: "submit", text: t.send }));
  const tools = el("div", { class: "tools" });
  if ((section.dataset.platform === "tg" && pane !== "group") || pane === "max_family") {
    tools.append(el("button", { type: "button", text: t.contact, on: { click: () => act(pane, { kind: "contact" }) } }));
  }
  for (const kind of ["photo", "document"]) {
    // The platform's own picker: a label around a file input, so the person sends a real file.
    const picker = el("input", { type: "file", tabindex: "-1", class: `pick-${kind}`, accept: kind === "photo" ? "image/png,image/jpeg,image/gif,image/webp" : undefined,
      on: { change: async () => {
        const chosen = picker.files[0];
        picker.value = "";
        if (!chosen) return;
        const input = form.querySelector("input");
        const file = { name: chosen.name, type: chosen.type, data: await base64(chosen) };
        act(pane, { kind, file, text: input.value, reply_to: local[pane].replyTo });
        input.value = "";
        setReply(pane, null, "");
      } } });
    tools.append(el("label", { class: "pick", tabindex: "0", role: "button",
      on: { keydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); picker.click(); } } } },
      picker, el("span", { text: t[kind] })));
  }
  section.append(header, el("div", { class: "blocked", hidden: "", text: t.blocked }),
    el("div", { class: "messages", role: "log", "aria-live": "polite" }),
    el("div", { class: "replying", hidden: "" }), el("div", { class: "error", role: "alert", hidden: "" }),
    el("div", { class: "keyboard", hidden: "" }), form, tools);
}

function setReply(pane, id, text) {
  local[pane].replyTo = id;
  local[pane].replyText = text;
  const box = document.querySelector(`[data-pane="${pane}"] .replying`);
  box.replaceChildren();
  box.hidden = id === null;
  if (id !== null) {
    box.append(el("span", { text: `${T[lang].replyTo} ${text}` }),
      el("button", { type: "button", text: T[lang].cancel, on: { click: () => setReply(pane, null, "") } }));
    document.querySelector(`[data-pane="${pane}"] .composer input`).focus();
  }
}

function buttonRows(rows, onPress) {
  const box = el("div", { class: "inline" });
  rows.forEach((row, r) => {
    const line = el("div", { class: "row" });
    row.forEach((b, c) => {
      // Link buttons open in a new tab; only web and tg: links, like the apps themselves.
      if (b.url && /^(https?:|tg:)/i.test(b.url)) line.append(el("a", { href: b.url, target: "_blank", rel: "noopener noreferrer", text: b.text }));
      else if (b.url) line.append(el("span", { text: b.text }));
      else line.append(el("button", { type: "button", "data-value": b.value, text: b.text, on: { click: () => onPress(r, c) } }));
    });
    box.append(line);
  });
  return box;
}

function base64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

function fileSize(bytes) {
  const units = lang === "ru" ? ["Б", "КБ", "МБ"] : ["B", "KB", "MB"];
  let size = bytes, unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return `${unit ? size.toFixed(size < 10 ? 1 : 0) : size} ${units[unit]}`;
}

// A photo as a thumbnail that opens full size; any other file as a download link with its name and size.
function renderFile(f) {
  if (f.image) {
    return el("a", { class: "photo", href: f.url, target: "_blank", rel: "noopener", title: f.name },
      el("img", { src: f.url, alt: f.name, loading: "lazy" }));
  }
  return el("a", { class: "file", href: f.url, download: f.name },
    el("span", { class: "icon", text: "📄" }), el("span", { class: "name", text: f.name }),
    el("span", { class: "size", text: fileSize(f.size) }));
}

function renderMessage(pane, m) {
  const t = T[lang];
  const node = el("div", { class: m.mine ? "msg mine" : "msg", "data-id": m.id });
  if (m.author) node.append(el("div", { class: "author", text: m.author }));
  if (m.reply_to) {
    const quote = el("div", { class: "quote" });
    quote.innerHTML = m.reply_to; // escaped by the server
    node.append(quote);
  }
  if (m.files && m.files.length) for (const f of m.files) node.append(renderFile(f));
  else if (m.media) node.append(el("div", { class: "media", text: t.media[m.media] || m.media }));
  const body = el("div", { class: "body" });
  body.innerHTML = m.html; // only Telegram's tags survive the server's sanitizer
  node.append(body);
  if (m.buttons && m.buttons.length) {
    node.append(buttonRows(m.buttons, (row, col) => act(pane, { kind: "press", message: m.id, row, col })));
  }
  const meta = el("div", { class: "meta" });
  if (m.edited) meta.append(el("span", { text: t.edited }));
  meta.append(el("button", { type: "button", class: "reply", "aria-label": t.reply, title: t.reply, text: "↩",
    on: { click: () => setReply(pane, m.id, body.textContent.slice(0, 60)) } }));
  node.append(meta);
  return node;
}

function render() {
  if (!state) return;
  for (const section of document.querySelectorAll(".pane")) {
    const pane = section.dataset.pane;
    const data = state.panes[pane];
    const t = T[lang];
    const list = section.querySelector(".messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(...data.messages.map((m) => renderMessage(pane, m)));
    if (atBottom) list.scrollTop = list.scrollHeight;
    const keyboard = section.querySelector(".keyboard");
    keyboard.replaceChildren();
    keyboard.hidden = !data.keyboard;
    if ((pane === "vk_family" || pane === "max_family") && !data.messages.length) {
      // A new VK or MAX dialog shows the app's own start button.
      keyboard.hidden = false;
      keyboard.append(el("button", { type: "button", class: "start", text: t.start, on: { click: () => act(pane, { kind: "start" }) } }));
    } else if (data.keyboard) {
      keyboard.append(buttonRows(data.keyboard, (row, col) => act(pane, { kind: "press", message: null, row, col })));
    }
    section.querySelector(".blocked").hidden = !data.blocked;
    const block = section.querySelector("button.block");
    if (block) block.textContent = data.blocked ? t.unblock : t.block;
    const select = section.querySelector("select.coordinator");
    if (select && !select.options.length) {
      for (const c of state.coordinators) select.append(el("option", { value: c.id, text: c.name }));
      local[pane].coordinator = local[pane].coordinator || state.coordinators[0].id;
      select.value = local[pane].coordinator;
    }
  }
  const scenario = document.getElementById("scenario");
  scenario.disabled = !!state.scenario;
  scenario.textContent = state.scenario ? T[lang].scenarioRunning : T[lang].scenario;
}

async function refresh() {
  const response = await fetch("/api/state");
  if (response.ok) { state = await response.json(); render(); }
}

function applyLanguage() {
  const t = T[lang];
  document.documentElement.lang = lang;
  document.title = t.title;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t[node.dataset.t];
  const other = lang === "ru" ? "en" : "ru";
  const switcher = document.getElementById("lang");
  switcher.textContent = other === "en" ? "English" : "Русский";
  switcher.lang = other;
  for (const section of document.querySelectorAll(".pane")) buildPane(section);
  for (const pane of Object.keys(local)) local[pane].replyTo = null;
  render();
}

document.getElementById("lang").addEventListener("click", () => {
  lang = lang === "ru" ? "en" : "ru";
  localStorage.setItem("sandbox-lang", lang);
  applyLanguage();
});
document.getElementById("scenario").addEventListener("click", async () => {
  await fetch("/api/scenario", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ lang }) });
  refresh();
});

applyLanguage();
refresh();
const events = new EventSource("/api/events");
events.onmessage = () => refresh();

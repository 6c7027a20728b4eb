// The web chat page: posts what the person typed or tapped, renders the screen the server answers.
//
// The server's JSON (bots/webchat.py, screen_json) is {replies: [{text, title, image_url, buttons:
// [[{label, kind, payload|phone|url}]]}], menu: [...], expects, lang}. Every text goes in with
// textContent, never as HTML. Only the newest screen keeps its buttons, so there is one place to tap.
"use strict";

(() => {
  const WORDS = {
    ko: {
      placeholder: {
        choice: "물건 찾기 (예: 사과)",
        text: "여기에 답을 써 주세요",
        phone: "전화번호를 써 주세요 (예: 010-1234-5678)",
        number: "숫자를 써 주세요",
        code: "받은 번호를 써 주세요",
        photo: "사진은 텔레그램이나 카카오톡에서 보내 주세요",
      },
      send: "보내기",
      sub: "버튼을 누르면 장을 볼 수 있어요",
      label: "메시지",
      wait: "잠시만요…",
      offline: "연결이 잠깐 끊겼어요. '다시 보내기'를 눌러 주세요.",
      retry: "🔄 다시 보내기",
      busy: "너무 빨리 눌렀어요. 잠시 뒤에 다시 눌러 주세요.",
      bad: "그 내용은 보낼 수 없어요. 조금 짧게 다시 써 주세요.",
      already: "앞에서 보낸 것은 이미 처리됐어요.",
      askPhone: "전화번호를 아래 칸에 써서 '보내기'를 눌러 주세요.",
    },
    en: {
      placeholder: {
        choice: "Search (e.g. apple)",
        text: "Type your answer here",
        phone: "Type your phone number (e.g. 010-1234-5678)",
        number: "Type a number",
        code: "Type the code you received",
        photo: "Please send photos on Telegram or KakaoTalk",
      },
      send: "Send",
      sub: "Tap a button to start shopping",
      label: "Message",
      wait: "One moment…",
      offline: "The connection dropped. Please tap 'Send again'.",
      retry: "🔄 Send again",
      busy: "That was too fast. Please wait a moment and tap again.",
      bad: "That cannot be sent. Please write it a little shorter.",
      already: "What you sent before has already been handled.",
      askPhone: "Type your phone number below and tap 'Send'.",
    },
  };

  const log = document.getElementById("log");
  const form = document.getElementById("ask");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  const menu = document.getElementById("menu");
  let words = WORDS.ko;
  let busy = false;

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // works on plain http too, unlike crypto.randomUUID
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setBusy(on) {
    busy = on;
    document.body.classList.toggle("busy", on);
    for (const b of document.querySelectorAll("button.choice, button.chip, #send")) b.disabled = on;
  }

  function setLang(lang) {
    words = WORDS[lang] || WORDS.ko;
    document.documentElement.lang = WORDS[lang] ? lang : "ko";
    send.textContent = words.send;
    document.getElementById("sub").textContent = words.sub;
    document.getElementById("text-label").textContent = words.label;
  }

  function expect(kind) {
    input.placeholder = words.placeholder[kind] || words.placeholder.choice;
    input.inputMode = kind === "phone" ? "tel" : kind === "number" || kind === "code" ? "numeric" : "text";
    if (kind !== "choice") input.focus();
  }

  function button(b) {
    if (b.kind === "phone") {
      const a = el("a", "choice call", b.label);
      a.href = "tel:" + b.phone;
      return a;
    }
    if (b.kind === "url") {
      const a = el("a", "choice link", b.label);
      a.href = b.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
      return a;
    }
    const node = el("button", "choice", b.label);
    node.type = "button";
    if (b.kind === "ask_phone") {
      node.addEventListener("click", () => {
        note(words.askPhone, false);
        expect("phone");
      });
    } else {
      node.addEventListener("click", () => post({ payload: b.payload }, b.label));
    }
    return node;
  }

  function renderMenu(items) {
    menu.replaceChildren();
    for (const b of items) {
      if (b.kind !== "payload") continue;
      const chip = el("button", "chip", b.label);
      chip.type = "button";
      chip.addEventListener("click", () => post({ payload: b.payload }, b.label));
      menu.append(chip);
    }
  }

  function note(text, isError) {
    const turn = log.lastElementChild || log.appendChild(el("section", "turn"));
    turn.append(el("div", isError ? "bubble note" : "bubble bot", text));
    return turn;
  }

  function render(turn, screen) {
    if (!screen.replies.length) {
      note(words.already, false);
      return;
    }
    setLang(screen.lang);
    for (const old of log.querySelectorAll(".rows")) old.remove();
    for (const reply of screen.replies) {
      const bubble = el("article", "bubble bot");
      if (reply.image_url) {
        const img = el("img");
        img.src = reply.image_url;
        img.alt = reply.title || "";
        bubble.append(img);
      }
      if (reply.title) bubble.append(el("strong", "title", reply.title));
      bubble.append(el("p", "text", reply.text));
      if (reply.buttons.length) {
        const rows = el("div", "rows");
        for (const row of reply.buttons) {
          const line = el("div", "row");
          for (const b of row) line.append(button(b));
          rows.append(line);
        }
        bubble.append(rows);
      }
      turn.append(bubble);
    }
    if (screen.menu.length) renderMenu(screen.menu);
    expect(screen.expects);
  }

  // The whole new turn when it fits above the input; otherwise its beginning, to read from the top.
  function show(turn) {
    if (turn.offsetHeight <= log.clientHeight) log.scrollTop = log.scrollHeight;
    else log.scrollTop = turn.offsetTop - 8; // .log is the offset parent (position: relative)
  }

  async function exchange(turn, url, init) {
    const waiting = turn.appendChild(el("p", "waiting", words.wait));
    setBusy(true);
    try {
      let response;
      try {
        response = await fetch(url, init);
      } catch (_offline) {
        const bubble = note(words.offline, true).lastElementChild;
        const rows = bubble.appendChild(el("div", "rows"));
        const again = rows.appendChild(el("div", "row")).appendChild(el("button", "choice", words.retry));
        again.type = "button";
        again.addEventListener("click", () => {
          rows.remove();
          exchange(turn, url, init); // the same message id: a retry can never count twice
        });
        return;
      }
      if (!response.ok) {
        note(response.status === 429 ? words.busy : words.bad, true);
        return;
      }
      render(turn, await response.json());
    } finally {
      waiting.remove();
      setBusy(false);
      show(turn);
    }
  }

  function post(body, shown) {
    if (busy) return;
    const turn = log.appendChild(el("section", "turn"));
    turn.append(el("div", "bubble me", shown));
    const message = { text: null, payload: null, id: newId(), ...body };
    exchange(turn, "/chat/api/message", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(message),
      credentials: "same-origin",
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    post({ text: text.slice(0, 1000) }, text);
  });

  const link = new URLSearchParams(location.search).get("start");
  const start = "/chat/api/start" + (link ? "?start=" + encodeURIComponent(link) : "");
  exchange(log.appendChild(el("section", "turn")), start, { credentials: "same-origin" });
})();

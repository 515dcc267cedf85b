// The customer's chat page: history, live messages over WebSocket, sending, button chips.
// Every text is put in with textContent: nothing a customer or agent writes becomes HTML.
(() => {
  "use strict";
  const root = document.getElementById("chat");
  const inbox = root.dataset.inbox;
  const api = `/chat/api/${encodeURIComponent(inbox)}`;
  const list = document.getElementById("messages");
  const status = document.getElementById("status");
  const form = document.getElementById("composer");
  const textBox = document.getElementById("text");
  const nameBox = document.getElementById("name");
  const shown = new Map();

  nameBox.value = localStorage.getItem("otklik-name") || "";

  const id = () => (crypto.randomUUID ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join(""));

  function say(text) {
    status.textContent = text || "";
    status.hidden = !text;
  }

  function render(message) {
    const known = shown.get(message.id);
    const item = known || document.createElement("li");
    item.className = `message ${message.direction}`;
    item.dataset.id = message.id;
    item.replaceChildren();
    if (message.author) {
      const who = document.createElement("span");
      who.className = "author";
      who.textContent = message.author;
      item.append(who);
    }
    const body = document.createElement("p");
    body.textContent = message.text;
    item.append(body);
    if (message.buttons && message.buttons.length) {
      const chips = document.createElement("div");
      chips.className = "chips";
      const used = message.buttons.some((b) => b.pressed);
      const lines = new Map();  // buttons of one row share a line, lines in order of appearance
      for (const button of message.buttons) {
        let line = lines.get(button.row || 0);
        if (!line) {
          line = document.createElement("div");
          line.className = "chip-row";
          lines.set(button.row || 0, line);
          chips.append(line);
        }
        const chip = document.createElement("button");
        chip.type = "button";
        chip.className = "chip";
        chip.textContent = button.label;
        chip.disabled = used;
        chip.addEventListener("click", () => press(button.id, chips));
        line.append(chip);
      }
      item.append(chips);
    }
    if (!known) {
      shown.set(message.id, item);
      list.append(item);
    }
    item.scrollIntoView({ block: "end" });
  }

  async function post(path, body) {
    const response = await fetch(`${api}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || response.statusText);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  async function press(buttonId, chips) {
    for (const chip of chips.querySelectorAll("button")) chip.disabled = true;
    try {
      await post("press", { button: buttonId, client_id: id() });
      await loadHistory();
    } catch (error) {
      // A refusal (403) carries the text for the visitor, e.g. that a rating request expired.
      say(error.status === 403 && error.message ? error.message : root.dataset.refused);
    }
  }

  async function loadHistory() {
    const response = await fetch(`${api}/history`, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    for (const message of data.messages) render(message);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = textBox.value.trim();
    if (!text) return;
    const name = nameBox.value.trim();
    localStorage.setItem("otklik-name", name);
    const clientId = id();
    textBox.value = "";
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {  // the same client_id on a retry: the server stores the message once
        const data = await post("messages", { text, client_id: clientId, name: name || null });
        render(data.message);
        say("");
        return;
      } catch (error) {
        await new Promise((resolve) => setTimeout(resolve, 800 * (attempt + 1)));
      }
    }
    textBox.value = text;
    say(root.dataset.failed);
  });

  textBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${api}/ws`);
    socket.addEventListener("open", () => {
      delay = 500;
      say("");
      loadHistory();  // whatever arrived while we were away
    });
    socket.addEventListener("message", (event) => {
      const data = JSON.parse(event.data);
      if (data.type === "message") render(data.message);
    });
    socket.addEventListener("close", () => {
      say(root.dataset.offline);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }

  loadHistory().then(connect);
})();

// Live updates for the agent inbox: a WebSocket tells which ticket changed; the page then
// reloads just the affected part from the server, which renders (and escapes) it.
(() => {
  "use strict";
  const list = document.querySelector("[data-live=list] #rows");
  const ticket = document.querySelector("[data-live=ticket]");
  if (!list && !ticket) return;

  function partialUrl() {
    const url = new URL(location.href);
    url.searchParams.set("partial", "1");
    return url;
  }

  let timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const response = await fetch(partialUrl(), { credentials: "same-origin" });
      if (!response.ok) return;
      const html = await response.text();
      if (list) list.innerHTML = html;
      if (ticket) {
        const open = ticket.querySelector("details.audit")?.open;
        ticket.innerHTML = html;
        if (open) ticket.querySelector("details.audit").open = true;
      }
    }, 150);
  }

  let delay = 500;
  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/inbox/ws`);
    socket.addEventListener("open", () => { delay = 500; refresh(); });
    socket.addEventListener("message", (event) => {
      const notice = JSON.parse(event.data);
      if (list || String(notice.ticket) === ticket.dataset.ticket) refresh();
    });
    socket.addEventListener("close", () => {
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }
  connect();
})();

// Otklik chat widget. Put on any page:
//   <script src="https://support.example.com/chat/widget.js" data-inbox="web" async></script>
// It adds a button in the corner that opens the chat in a frame served by Otklik.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script || window.__otklikWidget) return;
  window.__otklikWidget = true;
  const origin = new URL(script.src).origin;
  const inbox = script.dataset.inbox || "";
  const label = script.dataset.label || "💬";
  const src = `${origin}/chat${inbox ? "/" + encodeURIComponent(inbox) : ""}?embed=1`;

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-label", "Chat");
  Object.assign(button.style, {
    position: "fixed", right: "20px", bottom: "20px", width: "56px", height: "56px",
    borderRadius: "50%", border: "0", background: "#2a6df4", color: "#fff",
    fontSize: "24px", cursor: "pointer", boxShadow: "0 2px 8px #0004", zIndex: 2147483646,
  });

  let frame = null;
  button.addEventListener("click", () => {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = src;
      frame.title = "Chat";
      Object.assign(frame.style, {
        position: "fixed", right: "20px", bottom: "88px", width: "min(380px, 92vw)",
        height: "min(560px, 75vh)", border: "0", borderRadius: "12px",
        boxShadow: "0 4px 24px #0005", background: "#fff", zIndex: 2147483647,
      });
      document.body.append(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
  });
  document.body.append(button);
})();

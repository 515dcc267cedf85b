// The rating page opened from a link that names a rating (?v=): send it at once, so a
// person's click in an email rates in one step. A mail scanner that fetches the link but
// runs no script records nothing; without script, the person presses the confirm button.
(function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (!form || !form.querySelector("input[name=value]:checked")) return;
  var note = document.getElementById("rate-auto");
  if (note) note.hidden = false;
  form.submit();
})();

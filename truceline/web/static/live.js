// Live updates on the dashboard: server-sent events from /api/v1/events (session cookie),
// said with the page's own sentences (data-finding, data-verdict: in its language).
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, name) => (values[name] ?? "").toString());
  }
  function note(text) {
    const item = document.createElement("li");
    item.textContent = text;
    live.prepend(item);
  }
  const source = new EventSource("/api/v1/events");
  source.addEventListener("finding", event => {
    const f = JSON.parse(event.data);
    note(say(live.dataset.finding, { id: f.id, clause: f.clause, rule: f.rule,
                                     subject: f.subject || "", start: f.start }));
  });
  source.addEventListener("verdict", event => {
    const v = JSON.parse(event.data);
    const span = document.querySelector(`span[data-case="${v.case}"]`);
    if (span) { span.dataset.verdict = v.verdict; span.textContent = v.verdict; }
    note(say(live.dataset.verdict, { case: v.case, verdict: v.verdict }));
  });
})();

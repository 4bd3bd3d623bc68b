// Live updates on the dashboard: server-sent events from /api/v1/events (session cookie).
(function () {
  const live = document.getElementById("live");
  function note(text) {
    const item = document.createElement("li");
    item.textContent = text;
    live.prepend(item);
  }
  const source = new EventSource("/api/v1/events");
  source.addEventListener("finding", event => {
    const f = JSON.parse(event.data);
    note(`new finding ${f.id}: clause ${f.clause} (${f.rule}), ${f.subject || ""} at ${f.start}`);
  });
  source.addEventListener("verdict", event => {
    const v = JSON.parse(event.data);
    const span = document.querySelector(`span[data-case="${v.case}"]`);
    if (span) { span.dataset.verdict = v.verdict; span.textContent = v.verdict; }
    note(`case ${v.case}: verdict ${v.verdict}`);
  });
})();

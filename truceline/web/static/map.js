// The offline map: country borders (Natural Earth via world-atlas), the mission's zones, one
// reporting day's incidents coloured by the verdict of their case, and the units' tracks.
// The filters of the page's form are passed on as they are. Everything comes from this server.
// Every name shown (a zone's, a unit's, an actor's) is inserted as text, never as markup.
(async function () {
  function text(value) {  // a tooltip's content: a text node, whatever the value holds
    const span = document.createElement("span");
    span.textContent = value;
    return span;
  }
  const map = L.map("map").setView([40, 47], 6);  // a view first: vector layers need one
  const colours = {confirmed: "#c0392b", disputed: "#e67e22", rejected: "#7f8c8d",
                   inconclusive: "#8e44ad", pending: "#f1c40f", none: "#2c3e50"};
  const world = await (await fetch("/static/vendor/world-atlas/countries-50m.json")).json();
  L.geoJSON(topojson.feature(world, world.objects.countries),
            {style: {color: "#999", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1}}).addTo(map);
  const data = await (await fetch("/map/data.json" + window.location.search)).json();
  const zones = L.geoJSON(data.zones, {style: {color: "#1f4e79", weight: 1, fillOpacity: 0.08}})
    .bindTooltip(layer => text(layer.feature.properties.name)).addTo(map);
  const list = document.getElementById("incidents");
  for (const incident of data.incidents.features) {
    const [lon, lat] = incident.geometry.coordinates;
    const p = incident.properties;
    L.circleMarker([lat, lon], {radius: 6, color: colours[p.verdict] || "#000", className: "verdict-" + String(p.verdict).replace(/[^a-z_]/g, "")})
      .bindTooltip(text(`incident ${p.id}: ${p.kind}, ${p.verdict}`))
      .on("click", () => { window.location.href = `/incidents/${p.id}`; }).addTo(map);
    const item = document.createElement("li");
    item.dataset.verdict = p.verdict;
    item.dataset.incident = p.id;
    const link = document.createElement("a");
    link.href = `/incidents/${p.id}`;
    link.textContent = `incident ${p.id}`;
    item.append(link, `: ${p.kind} at ${p.start} — ${p.verdict === "none" ? "no case" : p.verdict}`);
    list.appendChild(item);
  }
  if (!data.incidents.features.length) list.textContent = `No incident on ${data.day} matches.`;
  const contingents = new Set(JSON.parse(document.body.dataset.contingents || "[]"));
  const tracks = document.getElementById("tracks");
  L.geoJSON(data.tracks, {
    style: f => ({color: contingents.has(f.properties.actor) ? "#2e86c1" : "#c0392b", weight: 2}),
    onEachFeature: (f, layer) => layer.bindTooltip(text(`${f.properties.unit} (${f.properties.actor})`)),
  }).addTo(map);
  for (const track of data.tracks.features) {
    const item = document.createElement("li");
    item.dataset.unit = track.properties.unit;
    item.textContent = `${track.properties.unit} (${track.properties.actor}): ${track.geometry.coordinates.length} points, ${track.properties.start} to ${track.properties.end}`;
    tracks.appendChild(item);
  }
  if (!data.tracks.features.length) tracks.textContent = `No unit reported a position on ${data.day}.`;
  map.fitBounds(zones.getBounds());
  document.body.dataset.mapReady = "yes";
})();

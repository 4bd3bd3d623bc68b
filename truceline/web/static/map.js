// The offline map: country borders (Natural Earth via world-atlas), the mission's zones, and
// incidents coloured by the verdict of their case. Everything is loaded from this server.
(async function () {
  const map = L.map("map").setView([40, 47], 6);  // a view first: vector layers need one
  const colours = {confirmed: "#c0392b", disputed: "#e67e22", rejected: "#7f8c8d",
                   inconclusive: "#8e44ad", pending: "#f1c40f", none: "#2c3e50"};
  const world = await (await fetch("/static/vendor/world-atlas/countries-50m.json")).json();
  L.geoJSON(topojson.feature(world, world.objects.countries),
            {style: {color: "#999", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1}}).addTo(map);
  const data = await (await fetch("/map/data.json")).json();
  const zones = L.geoJSON(data.zones, {style: {color: "#1f4e79", weight: 1, fillOpacity: 0.08}})
    .bindTooltip(layer => layer.feature.properties.name).addTo(map);
  const list = document.getElementById("incidents");
  for (const incident of data.incidents.features) {
    const [lon, lat] = incident.geometry.coordinates;
    const verdict = incident.properties.verdict;
    L.circleMarker([lat, lon], {radius: 6, color: colours[verdict] || "#000", className: "verdict-" + verdict})
      .bindTooltip(`incident ${incident.properties.id}: ${incident.properties.kind}, ${verdict}`).addTo(map);
    const item = document.createElement("li");
    item.dataset.verdict = verdict;
    item.dataset.incident = incident.properties.id;
    item.textContent = `incident ${incident.properties.id}: ${incident.properties.kind} at ${incident.properties.start} — ${verdict}`;
    list.appendChild(item);
  }
  map.fitBounds(zones.getBounds());
  document.body.dataset.mapReady = "yes";
})();

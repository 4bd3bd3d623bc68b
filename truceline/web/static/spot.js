// A small map of one place: the mission's zones (the one named outlined), the country borders
// and a point. On the complaint form a click picks the point: it fills the latitude and
// longitude fields, and typing in them moves the point (the fields work without the map).
// Everything comes from this server; every name is inserted as text, never as markup.
(async function () {
  const box = document.getElementById("spot");
  const source = document.getElementById("spot-data");
  if (!box || !source || typeof L === "undefined") return;
  const data = JSON.parse(source.textContent);
  function text(value) {
    const span = document.createElement("span");
    span.textContent = value;
    return span;
  }
  const map = L.map(box, {attributionControl: true, scrollWheelZoom: false});
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(text(data.attribution).innerHTML);  // escaped
  L.control.scale({imperial: false}).addTo(map);
  const world = await (await fetch("/static/vendor/world-atlas/countries-50m.json")).json();
  L.geoJSON(topojson.feature(world, world.objects.countries),
    {style: {color: "#999", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1}, interactive: false}).addTo(map);
  const named = f => f.properties.id === data.zone;
  const zones = L.geoJSON(data.zones, {
    style: f => named(f) ? {color: "#1a5276", weight: 3, fillOpacity: 0.15}
                         : {color: "#7f8c8d", weight: 1, dashArray: "3 3", fillOpacity: 0.04},
    interactive: !data.pick,
    onEachFeature: (f, layer) => layer.bindTooltip(text(f.properties.name), {sticky: true}),
  }).addTo(map);

  const lat = document.getElementById("lat");
  const lon = document.getElementById("lon");
  let marker = null;
  function place(y, x) {
    if (!Number.isFinite(y) || !Number.isFinite(x) || Math.abs(y) > 90 || Math.abs(x) > 180) {
      if (marker) { marker.remove(); marker = null; }
      return;
    }
    if (!marker) {
      marker = L.circleMarker([y, x], {radius: 8, color: "#000", weight: 2, fillColor: "#f1c40f", fillOpacity: 1});
      marker.bindTooltip(text(data.marker));
      marker.addTo(map);
    } else {
      marker.setLatLng([y, x]);
    }
    box.dataset.point = `${y.toFixed(6)},${x.toFixed(6)}`;
  }
  const zone = zones.getLayers().find(layer => named(layer.feature));
  if (data.point && !data.pick) map.setView(data.point, 9, {animate: false});  // with its surroundings
  else if (zone) map.fitBounds(zone.getBounds(), {animate: false, maxZoom: 12});
  else if (zones.getLayers().length) map.fitBounds(zones.getBounds(), {animate: false});
  else map.setView([0, 0], 2, {animate: false});
  if (data.point) place(data.point[0], data.point[1]);  // once the map has a view
  if (data.pick && lat && lon) {
    map.on("click", e => {
      const at = e.latlng.wrap();
      lat.value = at.lat.toFixed(6);
      lon.value = at.lng.toFixed(6);
      place(at.lat, at.lng);
    });
    const typed = () => place(parseFloat(lat.value), parseFloat(lon.value));
    lat.addEventListener("input", typed);
    lon.addEventListener("input", typed);
    const select = document.querySelector("#complain select[name=zone]");
    if (select) select.addEventListener("change", () => {
      data.zone = select.value || null;
      zones.setStyle(f => named(f) ? {color: "#1a5276", weight: 3, dashArray: null, fillOpacity: 0.15}
                                   : {color: "#7f8c8d", weight: 1, dashArray: "3 3", fillOpacity: 0.04});
      const chosen = zones.getLayers().find(layer => named(layer.feature));
      if (chosen && !marker) map.fitBounds(chosen.getBounds(), {animate: false, maxZoom: 12});
    });
  }
  box.dataset.ready = "yes";
  document.body.dataset.spotReady = "yes";
})();

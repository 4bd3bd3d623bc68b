// The map as a tool: an offline basemap (MBTiles served by truceline) or the built-in country
// borders, the mission's zones labelled and styled by what their clauses require, a range of
// days' incidents as symbols that differ in shape and colour by kind, with popups, a legend on
// the map, a time slider over the range, layer toggles, a scale bar and a neutral attribution.
// Everything comes from this server; every name is inserted as text, never as markup.
(async function () {
  const said = JSON.parse(document.getElementById("map-words").textContent);
  function text(value) {
    const span = document.createElement("span");
    span.textContent = value;
    return span;
  }
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = {fire: "#c0392b", flare: "#d35400", weapon: "#7b241c", movement: "#1f618d",
                   construction: "#7e5109", restriction: "#17202a", uav: "#6c3483",
                   casualty: "#943126", count: "#566573", other: "#566573"};
  const PATHS = {  // in a 20 × 20 box
    triangle: "M10 2 L18 17 L2 17 Z", square: "M3 3 H17 V17 H3 Z",
    diamond: "M10 1 L19 10 L10 19 L1 10 Z", circle: "M10 3 A7 7 0 1 1 9.99 3 Z",
    cross: "M3 5 L5 3 L10 8 L15 3 L17 5 L12 10 L17 15 L15 17 L10 12 L5 17 L3 15 L8 10 Z",
    plus: "M8 2 H12 V8 H18 V12 H12 V18 H8 V12 H2 V8 H8 Z",
    star: "M10 1 L12.6 7 L19 7.6 L14 11.8 L15.6 18 L10 14.6 L4.4 18 L6 11.8 L1 7.6 L7.4 7 Z",
    hexagon: "M5 2 H15 L19 10 L15 18 H5 L1 10 Z", pentagon: "M10 1 L19 8 L15.5 18 H4.5 L1 8 Z",
  };
  const ZONE_STYLE = {  // line and fill differ in dash as well as colour
    no_fire: {color: "#b03a2e", dashArray: null, weight: 2},
    excluded_from: {color: "#6c3483", dashArray: "8 4", weight: 2},
    confined_to: {color: "#1a5276", dashArray: "2 4", weight: 2},
    withdrawn_by: {color: "#b9770e", dashArray: "12 4 2 4", weight: 2},
    free_passage: {color: "#1e8449", dashArray: "6 6", weight: 3},
    max_count: {color: "#5d6d7e", dashArray: "1 3", weight: 2},
    monitor_access: {color: "#2e4053", dashArray: "4 2", weight: 2},
    other: {color: "#7f8c8d", dashArray: "2 2", weight: 1},
  };
  function symbol(shape, colour, outline) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 20 20");
    svg.setAttribute("width", "18");
    svg.setAttribute("height", "18");
    svg.setAttribute("aria-hidden", "true");
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", PATHS[shape] || PATHS.circle);
    path.setAttribute("fill", colour);
    path.setAttribute("stroke", outline ? "#000" : "#fff");
    path.setAttribute("stroke-width", outline ? "2.5" : "1.2");
    svg.appendChild(path);
    return svg;
  }
  function swatch(style) {
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 30 12");
    svg.setAttribute("width", "30");
    svg.setAttribute("height", "12");
    svg.setAttribute("aria-hidden", "true");
    const line = document.createElementNS(SVG, "line");
    for (const [k, v] of [["x1", 1], ["y1", 6], ["x2", 29], ["y2", 6]]) line.setAttribute(k, v);
    line.setAttribute("stroke", style.color);
    line.setAttribute("stroke-width", style.weight);
    if (style.dashArray) line.setAttribute("stroke-dasharray", style.dashArray);
    svg.appendChild(line);
    return svg;
  }

  const map = L.map("map", {attributionControl: true}).setView([40, 47], 6);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(text(said.attribution).innerHTML);  // escaped
  L.control.scale({imperial: false}).addTo(map);
  const data = await (await fetch("/map/data.json" + window.location.search)).json();

  const world = await (await fetch("/static/vendor/world-atlas/countries-50m.json")).json();
  const borders = L.geoJSON(topojson.feature(world, world.objects.countries),
    {style: {color: "#999", weight: 1, fillColor: "#f4f1ea", fillOpacity: 1}, interactive: false});
  const bases = {};
  bases[said.borders] = borders;
  let base = borders;
  if (data.basemap) {
    const b = data.basemap;
    const tiles = L.tileLayer("/map/tiles/{z}/{x}/{y}", {minZoom: b.minzoom, maxZoom: b.maxzoom,
      attribution: b.attribution ? text(b.attribution).innerHTML : undefined,  // the file's words, as text
      bounds: b.bounds ? [[b.bounds[1], b.bounds[0]], [b.bounds[3], b.bounds[2]]] : undefined});
    bases[`${said.basemap}: ${b.name}`] = tiles;
    borders.addTo(map);  // beneath, where the file holds no tile
    base = tiles;
  }
  base.addTo(map);

  const zones = L.geoJSON(data.zones, {
    style: f => ({...(ZONE_STYLE[f.properties.requires] || ZONE_STYLE.other), fillOpacity: 0.07}),
    onEachFeature: (f, layer) => {
      layer.bindTooltip(text(f.properties.name), {permanent: true, direction: "center", className: "zone-label"});
      const box = document.createElement("div");
      const name = document.createElement("strong");
      name.textContent = f.properties.name;
      box.append(name, document.createElement("br"),
                 `${said.requires}: ${f.properties.requires_words || said.other_zone}`);
      if (data.everywhere) box.append(document.createElement("br"), `${said.everywhere}: ${data.everywhere}`);
      layer.bindPopup(box);
    },
  }).addTo(map);

  const incidents = L.layerGroup().addTo(map);
  const markers = [];
  const list = document.getElementById("incidents");
  for (const incident of data.incidents.features) {
    const [lon, lat] = incident.geometry.coordinates;
    const p = incident.properties;
    const icon = L.divIcon({className: "incident-symbol", iconSize: [18, 18], html: ""});
    const marker = L.marker([lat, lon], {icon, keyboard: true, title: `${said.incident.replace("{n}", p.id)}: ${p.what}`});
    marker.on("add", () => {
      const el = marker.getElement();
      if (el && !el.firstChild) {
        el.appendChild(symbol(p.shape, COLOURS[p.family] || COLOURS.other, p.verdict === "confirmed"));
        el.dataset.kind = p.kind;
        el.dataset.shape = p.shape;
        el.dataset.verdict = p.verdict;
      }
    });
    const box = document.createElement("div");
    const head = document.createElement("strong");
    head.textContent = `${said.incident.replace("{n}", p.id)}: ${p.what}`;
    const facts = document.createElement("div");
    facts.textContent = [p.when, p.where, p.count != null ? `${said.count}: ${p.count}` : null,
                         `${said.actor}: ${p.actor}`,
                         `${said.verdict}: ${p.verdict_words || said.no_case}`].filter(Boolean).join(" · ");
    const link = document.createElement("a");
    link.href = `/incidents/${encodeURIComponent(p.id)}`;
    link.textContent = said.open;
    box.append(head, facts, link);
    marker.bindPopup(box);
    marker.addTo(incidents);
    const at = Date.parse(p.start);
    const item = document.createElement("li");
    item.dataset.verdict = p.verdict;
    item.dataset.incident = p.id;
    const open = document.createElement("a");
    open.href = "#map";
    open.textContent = said.incident.replace("{n}", p.id);
    open.addEventListener("click", () => { map.setView([lat, lon], Math.max(map.getZoom(), 11)); marker.openPopup(); });
    item.append(symbol(p.shape, COLOURS[p.family] || COLOURS.other, p.verdict === "confirmed"), " ", open,
                `: ${p.what}, ${p.when}, ${p.where} — ${p.verdict_words || said.no_case}`);
    list.appendChild(item);
    markers.push({marker, item, at});
  }
  if (!data.incidents.features.length) list.textContent = said.none_shown;
  if (data.truncated) list.prepend(text(said.truncated));

  const contingents = new Set(JSON.parse(document.body.dataset.contingents || "[]"));
  const tracks = L.geoJSON(data.tracks, {
    style: f => contingents.has(f.properties.actor) ? {color: "#2e86c1", weight: 2}
                                                    : {color: "#c0392b", weight: 2, dashArray: "6 4"},
    onEachFeature: (f, layer) => layer.bindPopup(text(`${f.properties.unit} (${f.properties.actor_words}): ${f.properties.from} – ${f.properties.to}`)),
  }).addTo(map);
  const trackList = document.getElementById("tracks");
  for (const track of data.tracks.features) {
    const item = document.createElement("li");
    item.dataset.unit = track.properties.unit;
    item.textContent = `${track.properties.unit} (${track.properties.actor_words}): ${track.properties.from} – ${track.properties.to}`;
    trackList.appendChild(item);
  }

  const overlays = {};
  overlays[said.zones] = zones;
  overlays[said.incidents] = incidents;
  overlays[said.tracks] = tracks;
  L.control.layers(bases, overlays, {collapsed: window.innerWidth < 600}).addTo(map);

  const legend = L.control({position: "bottomleft"});
  legend.onAdd = () => {
    const box = L.DomUtil.create("div", "map-legend");
    L.DomEvent.disableClickPropagation(box);
    const title = document.createElement("strong");
    title.textContent = said.legend;
    const details = document.createElement("details");
    details.open = window.innerWidth >= 600;
    const summary = document.createElement("summary");
    summary.appendChild(title);
    details.appendChild(summary);
    for (const f of said.families) {
      const row = document.createElement("div");
      row.append(symbol(f.shape, COLOURS[f.family] || COLOURS.other, false), " ", f.words);
      details.appendChild(row);
    }
    for (const r of said.requirements) {
      const row = document.createElement("div");
      row.append(swatch(ZONE_STYLE[r.rule] || ZONE_STYLE.other), " ", r.words);
      details.appendChild(row);
    }
    box.appendChild(details);
    return box;
  };
  legend.addTo(map);

  // The time slider: incidents up to the chosen moment of the range.
  const slider = document.getElementById("until");
  const sliderSaid = document.getElementById("until-said");
  const span = Math.max(1, data.until_ms - data.since_ms);
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined,  // the mission's zone
    {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
     second: "2-digit", timeZoneName: "shortOffset", timeZone: slider.dataset.timezone || "UTC"});
  function showUntil() {
    const until = data.since_ms + span * Number(slider.value) / 1000;
    sliderSaid.textContent = Number(slider.value) >= 1000 ? data.until : format.format(new Date(until));
    for (const m of markers) {
      const shown = m.at <= until;
      if (shown && !incidents.hasLayer(m.marker)) incidents.addLayer(m.marker);
      if (!shown && incidents.hasLayer(m.marker)) incidents.removeLayer(m.marker);
      m.item.hidden = !shown;
    }
  }
  slider.addEventListener("input", showUntil);
  showUntil();

  // zones' names on the map once it is near enough to read them (on hover before)
  const far = () => map.getContainer().classList.toggle("map-far", map.getZoom() < 8);
  map.on("zoomend", far);
  map.fitBounds(zones.getBounds(), {animate: false});  // ready when it says so: no zoom under way
  far();
  document.body.dataset.mapReady = "yes";
})();

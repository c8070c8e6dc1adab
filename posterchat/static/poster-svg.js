/* Draws a poster description as SVG: the canvas (any unit) scaled to fit with viewBox, its elements, the trim edge,
   the safe-margin guide and an outline on every element a finding is about. */
(function (pc) {
  "use strict";

  const NS = "http://www.w3.org/2000/svg";
  const MM_PER_INCH = 25.4;
  const MM_PER_POINT = MM_PER_INCH / 72;
  const SAFE_MARGIN_MM = 5;
  const LINE_HEIGHT = 1.2;
  const SEVERITY_RANK = { info: 0, warning: 1, error: 2 };
  const measurer = document.createElement("canvas").getContext("2d");

  function node(tag, attributes = {}, text) {
    const element = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  function rect({ x, y, width, height }, attributes = {}) {
    return node("rect", { x, y, width, height, ...attributes });
  }

  function rectPath({ x, y, width, height }) {
    return `M${x} ${y}h${width}v${height}h${-width}Z`;
  }

  function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? "" : "s"}`;
  }

  function mmPerUnit(poster) {
    if (poster.unit === "in") return MM_PER_INCH;
    if (poster.unit === "px") return MM_PER_INCH / (poster.dpi || 96);
    return 1;
  }

  function fontStack(element) {
    return `"${element.font_family.replace(/["\\]/g, "")}", sans-serif`;
  }

  function textWidth(text, element, size) {
    measurer.font = `${element.font_weight || 400} 100px ${fontStack(element)}`;
    return (measurer.measureText(text).width * size) / 100;
  }

  // Greedy word wrap to the width of the text box, keeping the content's own line breaks.
  function wrap(element, size) {
    const lines = [];
    for (const paragraph of element.content.split("\n")) {
      let line = "";
      for (const word of paragraph.split(/\s+/).filter(Boolean)) {
        const longer = line ? `${line} ${word}` : word;
        if (line && textWidth(longer, element, size) > element.width) {
          lines.push(line);
          line = word;
        } else {
          line = longer;
        }
      }
      lines.push(line);
    }
    return lines;
  }

  function drawText(element, unit) {
    const size = (element.font_size * MM_PER_POINT) / unit;
    const text = node("text", {
      "data-element-id": element.id,
      "font-family": fontStack(element),
      "font-size": size,
      "font-weight": element.font_weight || 400,
      fill: element.color || "#000000",
    });
    wrap(element, size).forEach((line, i) => {
      text.append(node("tspan", { x: element.x, y: element.y + size * (0.9 + i * LINE_HEIGHT) }, line));
    });
    return text;
  }

  // An image is a placeholder: its box crossed out, labelled with its id and pixel size.
  function drawImage(element) {
    const { x, y, width, height } = element;
    const label = `${element.id} · ${element.pixel_width}×${element.pixel_height} px`;
    const size = Math.min(height * 0.08, width / (label.length * 0.6));
    const group = node("g", { class: "poster-image", "data-element-id": element.id });
    group.append(
      rect(element),
      node("path", { d: `M${x} ${y}L${x + width} ${y + height}M${x + width} ${y}L${x} ${y + height}` }),
      node("text", { x: x + width / 2, y: y + height / 2, "font-size": size, "text-anchor": "middle", "dominant-baseline": "central" }, label),
    );
    return group;
  }

  function drawShape(element) {
    return rect(element, {
      "data-element-id": element.id,
      class: element.fill ? "poster-shape" : "poster-shape unfilled",
      fill: element.fill || "none",
    });
  }

  const DRAW = { text: drawText, image: drawImage, shape: drawShape };

  // The area cut off at the trim edge is shaded; the safe margin is a dashed line inside the trim edge.
  function guides(poster, unit, view) {
    const trim = { x: 0, y: 0, width: poster.width, height: poster.height };
    const margin = SAFE_MARGIN_MM / unit;
    const marks = [
      node("path", { class: "poster-offcut", "fill-rule": "evenodd", d: rectPath(view) + rectPath(trim) }),
      rect(trim, { class: "poster-trim" }),
    ];
    if (poster.width > 2 * margin && poster.height > 2 * margin) {
      const safe = { x: margin, y: margin, width: poster.width - 2 * margin, height: poster.height - 2 * margin };
      marks.push(rect(safe, { class: "poster-safe" }));
    }
    return marks;
  }

  function outline(area, { severity, indexes }, forId) {
    const group = node("g", { class: "poster-outline", "data-severity": severity, "data-findings": indexes.join(" ") });
    if (forId) group.setAttribute("data-for", forId);
    group.append(rect(area, { class: "halo" }), rect(area, { class: "line" }));
    return group;
  }

  // One outline per element, in the style of its worst finding; findings about the whole poster outline the canvas.
  function outlines(poster, findings) {
    const canvas = { x: 0, y: 0, width: poster.width, height: poster.height };
    const marks = new Map(); // element (or canvas) → { severity, indexes }
    findings.forEach((finding, index) => {
      const targets = finding.elements.length ? poster.elements.filter((e) => finding.elements.includes(e.id)) : [canvas];
      for (const target of targets) {
        const mark = marks.get(target) || { severity: finding.severity, indexes: [] };
        if (SEVERITY_RANK[finding.severity] > SEVERITY_RANK[mark.severity]) mark.severity = finding.severity;
        mark.indexes.push(index);
        marks.set(target, mark);
      }
    });
    return [...marks].map(([target, mark]) => outline(target, mark, target === canvas ? null : target.id));
  }

  function describe(poster, findings) {
    const types = {};
    for (const element of poster.elements) types[element.type] = (types[element.type] || 0) + 1;
    const kinds = Object.entries(types).map(([type, count]) => `${count} ${type}`).join(", ");
    const elements = plural(poster.elements.length, "element") + (kinds ? ` (${kinds})` : "");
    return `Poster preview: ${poster.width} × ${poster.height} ${poster.unit || "mm"}, background ${poster.background || "#ffffff"}, `
      + `${elements}; ${plural(findings.length, "finding")} marked.`;
  }

  /** The poster as an <svg role="img">, with the findings' elements outlined (their indexes in data-findings). */
  function draw(poster, findings) {
    const unit = mmPerUnit(poster);
    const bleed = (poster.bleed || 0) / unit;
    const pad = bleed + 0.03 * Math.max(poster.width, poster.height);
    const view = { x: -pad, y: -pad, width: poster.width + 2 * pad, height: poster.height + 2 * pad };
    const svg = node("svg", {
      class: "poster-svg",
      viewBox: `${view.x} ${view.y} ${view.width} ${view.height}`,
      role: "img",
      "aria-label": describe(poster, findings),
    });
    const paper = { x: -bleed, y: -bleed, width: poster.width + 2 * bleed, height: poster.height + 2 * bleed };
    svg.append(
      rect(paper, { fill: poster.background || "#ffffff" }),
      ...poster.elements.map((element) => DRAW[element.type](element, unit)),
      ...guides(poster, unit, view),
      ...outlines(poster, findings),
    );
    return svg;
  }

  /** Emphasise the outlines of finding `index` (null: none). */
  function highlight(svg, index) {
    svg.classList.toggle("is-highlighting", index !== null);
    for (const mark of svg.querySelectorAll(".poster-outline")) {
      mark.classList.toggle("is-highlighted", index !== null && mark.dataset.findings.split(" ").includes(String(index)));
    }
  }

  pc.posterSvg = { draw, highlight };
})(window.posterchat = window.posterchat || {});

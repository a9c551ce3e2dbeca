/**
 * The page builds every element with these helpers: what comes from the API is only ever set as
 * text (textContent) or as an attribute value, never parsed as HTML.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** An HTML element: attributes (null and undefined are skipped), then children (strings become text). */
export function h(tag, attributes = {}, ...children) {
  return fill(document.createElement(tag), attributes, children);
}

/** An SVG element, the same way. */
export function s(tag, attributes = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attributes, children);
}

function fill(element, attributes, children) {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return element;
}

/** A link to a tool's page: only http(s) URLs become links (never javascript: or data:). */
export function externalLink(url, label) {
  if (!isWebUrl(url)) return undefined;
  return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", class: "tool-link" }, label);
}

export function isWebUrl(url) {
  if (typeof url !== "string") return false;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:";
  } catch {
    return false;
  }
}

/** Replaces a container's content. */
export function show(container, ...children) {
  container.replaceChildren(
    ...children.flat(Number.POSITIVE_INFINITY).filter((c) => c !== undefined && c !== null && c !== false),
  );
}

/** "3.2 s", "4 min 12 s", "2 h 5 min"; "–" when unknown. */
export function duration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "–";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "12 s ago", "in 3 h", against `now`. */
export function relative(iso, now = Date.now()) {
  if (typeof iso !== "string") return "–";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "–";
  const delta = at - now;
  const abs = Math.abs(delta);
  const unit =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)} h`
          : `${Math.round(abs / 86_400_000)} d`;
  return delta < 0 ? `${unit} ago` : `in ${unit}`;
}

/** A timestamp as the reader's local date and time, with the ISO form as its tooltip. */
export function time(iso, now = Date.now()) {
  if (typeof iso !== "string") return h("span", {}, "–");
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return h("span", {}, "–");
  return h("time", { datetime: iso, title: iso }, `${at.toLocaleString()} (${relative(iso, now)})`);
}

/** "1,204" */
export function count(n) {
  return typeof n === "number" ? n.toLocaleString() : "–";
}

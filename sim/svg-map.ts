/**
 * The map chart of the simulator's HTML report: warehouses as circles of their delivery radius and
 * sampled deliveries as dots (on time / late), projected equirectangularly around the mean
 * latitude, with a scale bar. Pure string building like svg-charts.ts: no I/O, no NaN or Infinity
 * in the output, every text escaped.
 */
import { escapeHtml, formatNumber, niceTicks, num } from './svg-charts.ts';

const KM_PER_DEGREE = 111.32;
/** The map is drawn wider than the other charts: it spans the page. */
const MAP_WIDTH = 1000;
const MAP_MARGIN = 24;
const MAP_HEIGHT_MIN = 200;
const MAP_HEIGHT_MAX = 600;
/** Most dots drawn; the report already bounds its sample (MAP_DELIVERIES_MAX), this guards the page. */
const MAP_DOTS_MAX = 5_000;

export interface MapSite {
  id: string;
  lat: number;
  lon: number;
  radiusKm: number;
}

export interface MapDot {
  lat: number;
  lon: number;
  onTime: boolean;
}

interface Planar {
  xKm: number;
  yKm: number;
}

function finitePlace(p: { lat: number; lon: number }): boolean {
  return Number.isFinite(p.lat) && Number.isFinite(p.lon);
}

/** Equirectangular projection onto kilometres around (lat0, lon0): good for a city's extent. */
function projector(lat0: number, lon0: number): (p: { lat: number; lon: number }) => Planar {
  const cosLat = Math.cos((lat0 * Math.PI) / 180);
  return (p) => ({ xKm: (p.lon - lon0) * cosLat * KM_PER_DEGREE, yKm: (p.lat - lat0) * KM_PER_DEGREE });
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length;
}

/** Warehouses with their delivery radius and deliveries as green (on time) or red (late) dots. */
export function mapChart(
  sites: readonly MapSite[],
  dots: readonly MapDot[],
  spec: { name: string; title: string },
): string {
  const places = sites.filter(finitePlace);
  const points = dots.filter(finitePlace).slice(0, MAP_DOTS_MAX);
  const all = [...places, ...points];
  const project = projector(mean(all.map((p) => p.lat)), mean(all.map((p) => p.lon)));
  const radius = (s: MapSite) => (Number.isFinite(s.radiusKm) && s.radiusKm > 0 ? s.radiusKm : 0);
  const extents = [
    ...places.flatMap((s) => {
      const c = project(s);
      return [
        { xKm: c.xKm - radius(s), yKm: c.yKm - radius(s) },
        { xKm: c.xKm + radius(s), yKm: c.yKm + radius(s) },
      ];
    }),
    ...points.map(project),
  ];
  const xs = extents.map((e) => e.xKm);
  const ys = extents.map((e) => e.yKm);
  const [x0, x1] = xs.length === 0 ? [-1, 1] : [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = ys.length === 0 ? [-1, 1] : [Math.min(...ys), Math.max(...ys)];
  const spanX = Math.max(1, x1 - x0);
  const spanY = Math.max(1, y1 - y0);
  const innerWidth = MAP_WIDTH - 2 * MAP_MARGIN;
  const fitted = (innerWidth * spanY) / spanX + 2 * MAP_MARGIN;
  const height =
    all.length === 0 ? MAP_HEIGHT_MIN : Math.round(Math.min(MAP_HEIGHT_MAX, Math.max(MAP_HEIGHT_MIN, fitted)));
  const pxPerKm = Math.min(innerWidth / spanX, (height - 2 * MAP_MARGIN) / spanY);
  // Centre the drawing; north is up, so y grows downwards as latitude falls.
  const offsetX = (MAP_WIDTH - spanX * pxPerKm) / 2;
  const offsetY = (height - spanY * pxPerKm) / 2;
  const toX = (km: number) => offsetX + (km - x0) * pxPerKm;
  const toY = (km: number) => height - offsetY - (km - y0) * pxPerKm;

  const parts: string[] = [`<rect class="bg" x="0" y="0" width="${MAP_WIDTH}" height="${height}"/>`];
  for (const s of places) {
    const c = project(s);
    parts.push(
      `<circle class="zone" cx="${num(toX(c.xKm))}" cy="${num(toY(c.yKm))}" r="${num(radius(s) * pxPerKm)}"/>`,
    );
  }
  const dotParts = points.map((d) => {
    const c = project(d);
    return `<circle class="${d.onTime ? 'on-time' : 'late'}" cx="${num(toX(c.xKm))}" cy="${num(toY(c.yKm))}" r="1.8"/>`;
  });
  parts.push(`<g class="dots">${dotParts.join('')}</g>`);
  for (const s of places) {
    const c = project(s);
    const tip = `${s.id}: ${formatNumber(s.radiusKm, 1)} km radius`;
    parts.push(
      `<g class="site" data-tip="${escapeHtml(tip)}"><rect x="${num(toX(c.xKm) - 4)}" y="${num(toY(c.yKm) - 4)}" width="8" height="8"/>` +
        `<text x="${num(toX(c.xKm) + 7)}" y="${num(toY(c.yKm) - 6)}">${escapeHtml(s.id)}</text></g>`,
    );
  }
  if (all.length === 0) {
    parts.push(
      `<text class="empty" x="${MAP_WIDTH / 2}" y="${height / 2}" text-anchor="middle">no places to draw</text>`,
    );
  } else {
    parts.push(scaleBar(pxPerKm, height));
  }
  return (
    `<svg class="chart map" data-chart="${escapeHtml(spec.name)}" viewBox="0 0 ${MAP_WIDTH} ${height}" role="img" ` +
    `aria-label="${escapeHtml(spec.title)}">${parts.join('')}</svg>`
  );
}

/** A bar of a round number of kilometres, about a sixth of the map's width. */
function scaleBar(pxPerKm: number, height: number): string {
  const km = niceTicks(0, MAP_WIDTH / 8 / Math.max(pxPerKm, 1e-9), 1)[1] ?? 1;
  const width = km * pxPerKm;
  const y = height - 12;
  return (
    `<g class="scale"><path d="M${MAP_MARGIN},${y - 5}V${y}H${num(MAP_MARGIN + width)}V${y - 5}"/>` +
    `<text x="${num(MAP_MARGIN + width + 6)}" y="${y}">${escapeHtml(`${formatNumber(km, 2)} km`)}</text></g>`
  );
}

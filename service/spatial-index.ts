/**
 * A spatial index over warehouse locations: which warehouses' delivery radius covers a point, and
 * which warehouses lie within a distance of it, without a loop over all of them. Locations go into a
 * latitude/longitude grid whose cells are as tall and wide (in degrees of arc) as the largest delivery
 * radius held, so a covering query visits the cells of its circle's bounding box (about 3 × 3, more
 * towards the poles where meridians converge) and checks only the warehouses found there with the
 * haversine distance. The bounding box is the exact one of a spherical cap (Matuschek, "Finding Points
 * Within a Distance of a Latitude/Longitude Using Bounding Coordinates"), split in two across the
 * antimeridian and widened to every longitude when the cap holds a pole. Cells are kept sparse (a map
 * of occupied rows, each a map of occupied columns), and a query walks whichever is smaller, the
 * box's cells or the occupied ones, so even a polar or continent-wide query costs at most the entries.
 *
 * Immutable once built: the directory builds a new index when the set of warehouses changes (rare).
 * Pure: no I/O, no clock.
 */
import { type GeoPoint, haversineKm } from '../engine/index.ts';

/** What the index holds: an id, a place and the radius it delivers within. */
export interface SpatialItem {
  id: string;
  location: GeoPoint;
  radiusKm: number;
}

/** An item found by a query and its great-circle distance from the query point. */
export interface SpatialMatch<T extends SpatialItem> {
  item: T;
  distanceKm: number;
}

/** The mean Earth radius of engine/geo.ts's haversine (the box must agree with the distance checked). */
const EARTH_RADIUS_KM = 6371.0088;
const KM_PER_DEGREE = (EARTH_RADIUS_KM * Math.PI) / 180;
/** Cells are never smaller than this (a tiny largest radius would make a needlessly fine grid). */
const CELL_KM_MIN = 0.1;
/**
 * Bounding boxes are widened by this share of their radius (and a hair in absolute terms), so that
 * rounding in the box arithmetic never drops an item the exact haversine check would keep.
 */
const BOX_MARGIN = 1e-6;
const DEG = 180 / Math.PI;
const RAD = Math.PI / 180;

/** A closed range of cell indices. */
interface Span {
  lo: number;
  hi: number;
}

export class SpatialIndex<T extends SpatialItem> {
  /** Occupied rows (latitude bands) → occupied columns (longitude bands) → the items in that cell. */
  private readonly rows = new Map<number, Map<number, T[]>>();
  private readonly cellDeg: number;
  readonly size: number;
  /** The largest delivery radius held: a covering query searches this far. */
  readonly radiusKmMax: number;

  /** Builds the index over `items` (their locations and radii are read once, now). */
  constructor(items: readonly T[]) {
    let radiusKmMax = 0;
    for (const item of items) radiusKmMax = Math.max(radiusKmMax, item.radiusKm);
    this.radiusKmMax = radiusKmMax;
    this.cellDeg = Math.max(radiusKmMax, CELL_KM_MIN) / KM_PER_DEGREE;
    this.size = items.length;
    for (const item of items) {
      const rowIndex = this.rowOf(item.location.lat);
      let row = this.rows.get(rowIndex);
      if (row === undefined) {
        row = new Map();
        this.rows.set(rowIndex, row);
      }
      const colIndex = this.colOf(item.location.lon);
      const cell = row.get(colIndex);
      if (cell === undefined) row.set(colIndex, [item]);
      else cell.push(item);
    }
  }

  private rowOf(latDeg: number): number {
    return Math.floor((latDeg + 90) / this.cellDeg);
  }

  private colOf(lonDeg: number): number {
    return Math.floor((lonDeg + 180) / this.cellDeg);
  }

  /** The items whose own delivery radius covers `point`, nearest first. */
  covering(point: GeoPoint): SpatialMatch<T>[] {
    const found: SpatialMatch<T>[] = [];
    this.visit(point, this.radiusKmMax, (item) => {
      const distanceKm = haversineKm(point, item.location);
      if (distanceKm <= item.radiusKm) found.push({ item, distanceKm });
    });
    return found.sort(byDistance);
  }

  /** The items at most `distanceKm` from `point`, nearest first, at most `limit` of them. */
  within(point: GeoPoint, distanceKm: number, limit = Number.POSITIVE_INFINITY): SpatialMatch<T>[] {
    const found: SpatialMatch<T>[] = [];
    this.visit(point, distanceKm, (item) => {
      const d = haversineKm(point, item.location);
      if (d <= distanceKm) found.push({ item, distanceKm: d });
    });
    found.sort(byDistance);
    return found.length > limit ? found.slice(0, limit) : found;
  }

  /** Calls `see` for every item in a cell that the bounding box of the cap (point, distanceKm) touches. */
  private visit(point: GeoPoint, distanceKm: number, see: (item: T) => void): void {
    if (this.size === 0 || !(distanceKm >= 0)) return;
    const r = (distanceKm * (1 + BOX_MARGIN) + 1e-9) / EARTH_RADIUS_KM;
    const lat = point.lat * RAD;
    const latMin = lat - r;
    const latMax = lat + r;
    const lonSpans: Span[] = [];
    if (latMin > -Math.PI / 2 && latMax < Math.PI / 2) {
      const dLon = Math.asin(Math.min(1, Math.sin(r) / Math.cos(lat)));
      this.lonSpans((point.lon * RAD - dLon) * DEG, (point.lon * RAD + dLon) * DEG, lonSpans);
    } else {
      // The cap holds a pole: every longitude is in reach.
      lonSpans.push({ lo: this.colOf(-180), hi: this.colOf(180) });
    }
    // Clamped in degrees, so an item at a pole (latitude ±90 exactly) lands in the row searched.
    const rowSpan = { lo: this.rowOf(Math.max(-90, latMin * DEG)), hi: this.rowOf(Math.min(90, latMax * DEG)) };
    forEachIn(this.rows, rowSpan, (row) => {
      for (const span of lonSpans) {
        forEachIn(row, span, (cell) => {
          for (const item of cell) see(item);
        });
      }
    });
  }

  /** The column spans of the longitude range [loDeg, hiDeg], split where it crosses the antimeridian. */
  private lonSpans(loDeg: number, hiDeg: number, out: Span[]): void {
    if (hiDeg - loDeg >= 360) {
      out.push({ lo: this.colOf(-180), hi: this.colOf(180) });
    } else if (loDeg < -180) {
      out.push({ lo: this.colOf(loDeg + 360), hi: this.colOf(180) }, { lo: this.colOf(-180), hi: this.colOf(hiDeg) });
    } else if (hiDeg > 180) {
      out.push({ lo: this.colOf(loDeg), hi: this.colOf(180) }, { lo: this.colOf(-180), hi: this.colOf(hiDeg - 360) });
    } else {
      out.push({ lo: this.colOf(loDeg), hi: this.colOf(hiDeg) });
    }
  }
}

function byDistance<T extends SpatialItem>(a: SpatialMatch<T>, b: SpatialMatch<T>): number {
  return a.distanceKm - b.distanceKm || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0);
}

/**
 * Calls `see` for each occupied index of `map` inside `span`: by looking each index of the span up,
 * or, when the span is wider than the map holds entries, by walking the entries (bounded either way).
 */
function forEachIn<V>(map: Map<number, V>, span: Span, see: (value: V) => void): void {
  if (span.hi - span.lo + 1 <= map.size) {
    for (let i = span.lo; i <= span.hi; i++) {
      const value = map.get(i);
      if (value !== undefined) see(value);
    }
    return;
  }
  for (const [i, value] of map) if (i >= span.lo && i <= span.hi) see(value);
}

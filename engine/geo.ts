/**
 * Distances and travel times for dispatch and ETA: great-circle distance, the `RoutingProvider`
 * port (by default the straight line times a road factor, a conservative stand-in for a road
 * router), and the ETA formula: remaining distance / average speed + buffer. Pure functions.
 */

export interface GeoPoint {
  lat: number;
  lon: number;
}

const EARTH_RADIUS_KM = 6371.0088;
/** Streets are longer than the straight line: a typical urban detour factor. */
export const ROAD_FACTOR = 1.3;
/** Added to every travel estimate: ETAs are conservative by design (the issue asks for 1–3 min). */
export const ETA_BUFFER_MS = 2 * 60 * 1_000;

/** Great-circle distance between two points (haversine), in kilometres. */
export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const toRad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * toRad;
  const dLon = (b.lon - a.lon) * toRad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * toRad) * Math.cos(b.lat * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Where routing comes from: a real router in production, the straight-line estimate by default. */
export interface RoutingProvider {
  /** Road distance between two points, in kilometres. */
  distanceKm(from: GeoPoint, to: GeoPoint): number;
}

/** The default router: haversine distance times a road factor. */
export function straightLineRouting(roadFactor = ROAD_FACTOR): RoutingProvider {
  return { distanceKm: (from, to) => haversineKm(from, to) * roadFactor };
}

/** Travel time for a distance at an average speed, plus the buffer, in milliseconds. */
export function travelEtaMs(distanceKm: number, averageSpeedKmh: number, bufferMs = ETA_BUFFER_MS): number {
  if (!(averageSpeedKmh > 0)) throw new RangeError(`average speed must be positive, got ${averageSpeedKmh}`);
  return Math.round((distanceKm / averageSpeedKmh) * 3_600_000) + bufferMs;
}

/** The promise made at checkout: wait in the pick queue, pick and pack, travel, and the buffer. */
export function checkoutEtaMs(parts: {
  queueWaitMs: number;
  pickPackMs: number;
  distanceKm: number;
  averageSpeedKmh: number;
  bufferMs?: number;
}): number {
  return parts.queueWaitMs + parts.pickPackMs + travelEtaMs(parts.distanceKm, parts.averageSpeedKmh, parts.bufferMs);
}

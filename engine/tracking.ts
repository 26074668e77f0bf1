/**
 * Courier GPS tracking: which pings to believe and how to bridge gaps. A ping whose device time
 * goes back, or that implies a speed no courier reaches, is rejected with its reason; after a gap
 * of GPS_GAP_MS or more in which the courier moved, the track is bridged with interpolated points every
 * INTERPOLATION_STEP_MS, so consumers never see a courier jump (one that stood still needs none). Pure functions of the last
 * accepted point and the ping; time is the device's, carried in the ping.
 */
import { type GeoPoint, haversineKm } from './geo.ts';

/** Fastest plausible courier (bicycle, scooter or car in a city), in km/h. */
export const COURIER_SPEED_KMH_MAX = 90;
/** A silence this long or longer between two pings is bridged by interpolation. */
export const GPS_GAP_MS = 30_000;
/** A courier that moved less than this over a gap stood still: there is nothing to bridge. */
export const STATIONARY_KM = 0.02;
/** Spacing of interpolated points. */
export const INTERPOLATION_STEP_MS = 5_000;
/**
 * Most points one gap is bridged with: a long silence gets points further apart than the step, so
 * one ping never costs more than this many events, however long the courier was silent.
 */
export const INTERPOLATED_POINTS_MAX = 12;

export interface TrackPoint {
  position: GeoPoint;
  atMs: number;
  /** True for points made up to bridge a gap, false for pings the courier sent. */
  interpolated: boolean;
}

export type PingOutcome =
  | { ok: true; point: TrackPoint; bridged: TrackPoint[]; speedKmh: number }
  | { ok: false; reason: 'time_went_back' | 'impossible_jump'; speedKmh?: number };

/** Decides whether to accept a ping after the last accepted point, and what to bridge it with. */
export function acceptPing(last: TrackPoint | undefined, position: GeoPoint, deviceTimeMs: number): PingOutcome {
  const point: TrackPoint = { position, atMs: deviceTimeMs, interpolated: false };
  if (last === undefined) return { ok: true, point, bridged: [], speedKmh: 0 };
  const elapsedMs = deviceTimeMs - last.atMs;
  if (elapsedMs <= 0) return { ok: false, reason: 'time_went_back' };
  const distanceKm = haversineKm(last.position, position);
  const speedKmh = distanceKm / (elapsedMs / 3_600_000);
  if (speedKmh > COURIER_SPEED_KMH_MAX) return { ok: false, reason: 'impossible_jump', speedKmh };
  const gap = elapsedMs >= GPS_GAP_MS && distanceKm >= STATIONARY_KM;
  return { ok: true, point, bridged: gap ? bridge(last, point) : [], speedKmh };
}

/**
 * Straight-line points strictly between two points: every INTERPOLATION_STEP_MS, or evenly spread
 * over the gap when that would be more than INTERPOLATED_POINTS_MAX points.
 */
export function bridge(from: TrackPoint, to: TrackPoint): TrackPoint[] {
  const points: TrackPoint[] = [];
  const spanMs = to.atMs - from.atMs;
  const stepMs = Math.max(INTERPOLATION_STEP_MS, Math.ceil(spanMs / (INTERPOLATED_POINTS_MAX + 1)));
  for (let atMs = from.atMs + stepMs; atMs < to.atMs; atMs += stepMs) {
    const f = (atMs - from.atMs) / spanMs;
    points.push({
      position: {
        lat: from.position.lat + (to.position.lat - from.position.lat) * f,
        lon: from.position.lon + (to.position.lon - from.position.lon) * f,
      },
      atMs,
      interpolated: true,
    });
  }
  return points;
}

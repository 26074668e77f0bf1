/**
 * Which courier gets a packed order: a simple, predictable score. Only couriers that are
 * `available` or `returning` may take it; the score is the road distance to the store (a courier
 * waiting at the store is at 0 km, a returning one is as far as it still is) plus a fairness charge
 * per delivery already made this shift, so work spreads over the shift. The lowest score wins; ties
 * go to the smaller courier id, so the choice is a pure function of its inputs.
 */
import type { CourierState } from '../actors/index.ts';
import type { GeoPoint, RoutingProvider } from './geo.ts';

/** What one delivery already made this shift weighs, in kilometres of extra distance. */
export const FAIRNESS_KM_PER_DELIVERY = 0.5;

export interface CourierCandidate {
  courierId: string;
  state: CourierState;
  position: GeoPoint;
  deliveriesThisShift: number;
  /** Couriers marked unresponsive for this order (missed acknowledgement) are skipped. */
  excluded?: boolean;
}

export interface CourierScore {
  courierId: string;
  distanceKm: number;
  score: number;
}

/** Scores every courier that may take the order, best first. */
export function rankCouriers(
  candidates: readonly CourierCandidate[],
  store: GeoPoint,
  routing: RoutingProvider,
): CourierScore[] {
  return candidates
    .filter((c) => (c.state === 'available' || c.state === 'returning') && c.excluded !== true)
    .map((c) => {
      const distanceKm = routing.distanceKm(c.position, store);
      return {
        courierId: c.courierId,
        distanceKm,
        score: distanceKm + FAIRNESS_KM_PER_DELIVERY * c.deliveriesThisShift,
      };
    })
    .sort((a, b) => a.score - b.score || (a.courierId < b.courierId ? -1 : a.courierId > b.courierId ? 1 : 0));
}

/** The courier to offer the order to, or undefined when none may take it (the order waits). */
export function chooseCourier(
  candidates: readonly CourierCandidate[],
  store: GeoPoint,
  routing: RoutingProvider,
): CourierScore | undefined {
  return rankCouriers(candidates, store, routing)[0];
}

import type { RecordStatus } from './types.js';

/**
 * Priority of statuses: a status may only be replaced by one of higher rank, so
 * SES events arriving out of order (an Open before its Delivery) cannot regress a record.
 * opened > delivered > bounced > complained > soft_bounced > failed > sent > scheduled > sending.
 * `scheduled` sits between the claim and `sent` (0.5 keeps the stored ranks of every other
 * status); the sender's claim replaces it by a conditional put, not by rank.
 */
const RANK: Record<RecordStatus, number> = {
  sending: 0,
  scheduled: 0.5,
  sent: 1,
  failed: 2,
  soft_bounced: 3,
  complained: 4,
  bounced: 5,
  delivered: 6,
  opened: 7,
};

export function statusRank(status: RecordStatus): number {
  return RANK[status];
}

/** True when a record in `current` may move to `next`. */
export function canTransition(current: RecordStatus, next: RecordStatus): boolean {
  return RANK[next] > RANK[current];
}

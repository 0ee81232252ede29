/**
 * The "Email Status Changed" events the Feedback Processor publishes, kept in memory
 * (bounded: the oldest go first) so app tests can see notifications at GET /events.
 */
import type { EventEnvelope } from './put-events.js';

export class StatusLog {
  private events: EventEnvelope[] = [];
  private dropped = 0;

  constructor(readonly capacity = 10_000) {}

  add(event: EventEnvelope): void {
    this.events.push(event);
    if (this.events.length > this.capacity) {
      const excess = this.events.length - this.capacity;
      this.events.splice(0, excess);
      this.dropped += excess;
    }
  }

  /** Events in arrival order, optionally only those for one emailId or recipient. */
  list(filter: { emailId?: string; toEmail?: string; status?: string } = {}): EventEnvelope[] {
    return this.events.filter((event) => {
      const detail = event.detail;
      if (filter.emailId !== undefined && detail.emailId !== filter.emailId) return false;
      if (filter.toEmail !== undefined && String(detail.toEmail ?? '').toLowerCase() !== filter.toEmail.toLowerCase()) return false;
      if (filter.status !== undefined && detail.status !== filter.status) return false;
      return true;
    });
  }

  get size(): number {
    return this.events.length;
  }

  get droppedCount(): number {
    return this.dropped;
  }

  clear(): void {
    this.events = [];
  }
}

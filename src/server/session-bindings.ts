/**
 * The sessions one client connection has proven (docs/design.md#sessions-are-capabilities): the
 * session it opened itself, and those it bound with their secret. A request naming any other
 * session is refused before it reaches the service, so knowing a session's id (which
 * `lock-info` shows to anyone) gives no power over it.
 *
 * Bounded: at most `max` sessions per connection. When full, sessions that have ended are
 * forgotten first (ids are log indexes, never reused, so a stale binding is merely dead weight).
 */
export class SessionBindings {
  private readonly ids = new Set<number>();

  constructor(
    /** Most sessions one connection may hold bound at once. */
    readonly max: number,
    /** Whether a session is still alive on this node (to prune ended ones when full). */
    private readonly isAlive: (session: number) => boolean,
  ) {}

  /** Whether this connection has proven `session`. */
  has(session: number): boolean {
    return this.ids.has(session);
  }

  /** Whether one more session may be bound (after forgetting ended ones, if full). */
  hasRoom(): boolean {
    if (this.ids.size < this.max) return true;
    for (const id of this.ids) if (!this.isAlive(id)) this.ids.delete(id);
    return this.ids.size < this.max;
  }

  /** Records a proven session. The caller checked {@link hasRoom} first. */
  add(session: number): void {
    this.ids.add(session);
  }

  get size(): number {
    return this.ids.size;
  }
}

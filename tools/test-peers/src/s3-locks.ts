// Per-key FIFO mutex: the peer runs a precondition check and the write it guards as one step.
export class KeyLocks {
  private tails = new Map<string, Promise<void>>();

  async run(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

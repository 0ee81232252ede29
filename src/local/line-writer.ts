/**
 * Log lines written in chunks: a burst of 500 outcomes a second becomes about 20 writes a
 * second instead of 500 (a write to a pipe or a terminal is a system call, and on Linux a
 * blocking one). Lines wait at most `delayMs`, or until `maxBytes` are held. Nothing is
 * written before `start()`, so what must come first (the JSON line) does.
 */
export class LineWriter {
  private chunks: string[] = [];
  private bytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private started = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly delayMs = 50,
    private readonly maxBytes = 64 * 1024,
  ) {}

  line(text: string): void {
    this.chunks.push(text, '\n');
    this.bytes += text.length + 1;
    if (!this.started) return;
    if (this.bytes >= this.maxBytes) this.flush();
    else this.timer ??= unrefTimer(setTimeout(() => this.flush(), this.delayMs));
  }

  start(): void {
    this.started = true;
    this.flush();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.started || this.chunks.length === 0) return;
    const text = this.chunks.join('');
    this.chunks = [];
    this.bytes = 0;
    try {
      this.write(text);
    } catch {
      // A closed stream: the lines have nowhere to go.
    }
  }
}

function unrefTimer<T extends { unref(): unknown }>(timer: T): T {
  timer.unref();
  return timer;
}

/**
 * What the guarded global `WebSocket` constructor returns for a refused URL: a
 * socket that fails the way a connection the network refused does (the
 * WHATWG `WebSocket` reports a failed connection asynchronously: `error`, then
 * `close` with code 1006), without any connection being made. The `error`
 * event carries the refusal as `error` (and its `message`), which is what
 * websocket clients, the OpenAI Agents SDK's included, read from it; `send`
 * throws it.
 */
export class RefusedWebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;
  readonly url: string;
  readonly protocol = '';
  readonly extensions = '';
  readonly bufferedAmount = 0;
  binaryType: 'blob' | 'arraybuffer' = 'blob';
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onclose: ((event: Event) => void) | null = null;
  readonly #refusal: Error;

  constructor(url: URL, refusal: Error) {
    super();
    this.url = url.href;
    this.#refusal = refusal;
    // After the caller's synchronous setup, as a real failed connection reports it.
    setTimeout(() => this.#fail(), 0);
  }

  #fail(): void {
    this.readyState = RefusedWebSocket.CLOSED;
    const error = Object.assign(new Event('error'), { error: this.#refusal, message: this.#refusal.message });
    this.dispatchEvent(error);
    this.onerror?.(error);
    const close = Object.assign(new Event('close'), { code: 1006, reason: '', wasClean: false });
    this.dispatchEvent(close);
    this.onclose?.(close);
  }

  send(): void {
    throw this.#refusal;
  }

  close(): void {}
}

// Test support: a TCP proxy in front of a Redis that injects faults on demand: requests held back
// (a stalled network or server: they arrive late), replies dropped (the call ran, its answer is lost),
// connections cut (the client reconnects and resends what was unanswered).
import { connect, createServer, type Server, type Socket } from 'node:net';

type Mode = 'pass' | 'stall' | 'drop-replies';

interface Link {
  client: Socket;
  upstream: Socket;
  held: Buffer[];
}

export class FaultProxy {
  private mode: Mode = 'pass';
  private readonly links = new Set<Link>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy?.link(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  private link(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target.port, target.host);
    const link: Link = { client, upstream, held: [] };
    this.links.add(link);
    client.on('data', (d) => {
      if (this.mode === 'stall') link.held.push(d);
      else upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (this.mode !== 'drop-replies') client.write(d);
    });
    const end = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  /** Requests are held back (not lost) until heal(). */
  stall(): void {
    this.mode = 'stall';
  }

  /** Requests reach Redis and run; their replies are lost. heal() then cuts the connections. */
  dropReplies(): void {
    this.mode = 'drop-replies';
  }

  /** Back to normal: held requests are delivered (late); connections that lost replies are cut. */
  heal(): void {
    const dropped = this.mode === 'drop-replies';
    this.mode = 'pass';
    for (const link of this.links) {
      for (const d of link.held.splice(0)) link.upstream.write(d);
      if (dropped) link.client.destroy();
    }
  }

  /** Cuts every connection; requests held back are lost. */
  cut(): void {
    for (const link of this.links) {
      link.held.length = 0;
      link.client.destroy();
      link.upstream.destroy();
    }
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

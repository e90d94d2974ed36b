// Every peer listens the same way: an ephemeral port on 127.0.0.1, never another address.
import type { AddressInfo, Server } from 'node:net';

/** Starts `server` on 127.0.0.1 with an ephemeral port and resolves to that port (rejects if it cannot listen). */
export async function listenOnLoopback(server: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

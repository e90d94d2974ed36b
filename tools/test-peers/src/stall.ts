// Loopback endpoints that never finish, to prove every client call has a deadline: `silent` accepts TCP connections
// and never answers; `stall-body` answers the headers (a HEAD only half of them), sends part of the body, then goes
// quiet; `unaccepting` never completes a TCP handshake (a python3 listener that never calls accept(), its queue full).
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { listenOnLoopback } from './listen.js';

export type StallMode = 'silent' | 'stall-body' | 'unaccepting';

export interface StallPeer {
  endpoint: string;
  /** Request lines seen (`PUT /bucket/key?x HTTP/1.1`); empty for `unaccepting`. */
  requests: string[];
  stop(): Promise<void>;
}

export async function startStallPeer(mode: StallMode): Promise<StallPeer> {
  return mode === 'unaccepting' ? startUnaccepting() : startTcp(mode);
}

async function startTcp(mode: 'silent' | 'stall-body'): Promise<StallPeer> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk) => {
      if (head.includes('\r\n\r\n')) return; // body bytes: read and ignore
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const line = head.slice(0, head.indexOf('\r\n'));
      requests.push(line);
      if (mode === 'silent') return;
      if (line.startsWith('HEAD ')) {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n');
        return;
      }
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\nETag: "stall"\r\n\r\n');
      socket.write(Buffer.alloc(16, 0x61));
    });
  });
  const port = await listenOnLoopback(server);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

// Node accepts every connection it can, so the never-accepting listener is a python3 process (listen(0), no accept);
// one connection of our own fills its queue and later SYNs go unanswered (measured on Linux: connect hangs).
async function startUnaccepting(): Promise<StallPeer> {
  const script =
    "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()";
  const child: ChildProcess = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`the unaccepting peer needs python3 on PATH: ${err.message}`, { cause: err })));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  const filler = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: [],
    stop: async () => {
      filler.destroy();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin!.end();
      child.kill();
      await exited;
    },
  };
}

import { type ProxyAnswer, TcpProxy } from './tcp-proxy.js';

/** Child process: one TcpProxy driven over IPC by ProxyProcess (start, cut, restore); ends with its parent. */
let proxy: TcpProxy | undefined;

const answer = (message: ProxyAnswer) => {
  if (process.send && process.connected) process.send(message);
};

process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.on('message', (raw: unknown) => {
  const request = raw as { type: string; host?: string; port?: number };
  const run = async (): Promise<ProxyAnswer> => {
    if (request.type === 'start') {
      proxy = await new TcpProxy(request.host!, request.port!).start();
      return { type: 'ready', port: proxy.port };
    }
    if (!proxy) throw new Error('not started');
    if (request.type === 'cut') await proxy.cut();
    else if (request.type === 'restore') await proxy.restore();
    return { type: 'done', accepted: proxy.accepted, dropped: proxy.dropped };
  };
  run().then(answer, (error: unknown) =>
    answer({ type: 'failed', message: error instanceof Error ? error.message : String(error) }),
  );
});

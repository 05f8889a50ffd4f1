import { z } from 'zod';
import { defineCheck, fail, pass } from '../kind.ts';

/** nginx time values: 30, 30s, 2m, 500ms. */
function seconds(value: string): number | null {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(value);
  if (!m) return null;
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(m[1]) * unit;
}

export default defineCheck({
  about:
    "nginx's proxy_read_timeout and proxy_send_timeout (nginx/proxy.conf) are longer than a heartbeat round, " +
    "the stage's pingIntervalMs + pingTimeoutMs: nginx never cuts a connection that is merely idle",
  params: z.object({ file: z.string().default('nginx/proxy.conf') }),
  measures: { readTimeoutS: "nginx's proxy_read_timeout, in seconds" },
  async run(host, p) {
    const conf = host.source(p.file).replace(/#.*$/gm, '');
    const round = (host.stage.pingIntervalMs + host.stage.pingTimeoutMs) / 1000;
    const problems: string[] = [];
    let readTimeoutS = 60; // nginx's own default
    for (const directive of ['proxy_read_timeout', 'proxy_send_timeout']) {
      const m = new RegExp(`\\b${directive}\\s+(\\S+?);`).exec(conf);
      const value = m ? seconds(m[1]!) : 60;
      if (value === null) return fail(`${p.file}: cannot read ${directive} "${m![1]}"`);
      if (directive === 'proxy_read_timeout') readTimeoutS = value;
      if (value <= round) problems.push(`${directive} is ${value} s`);
    }
    const measured = { readTimeoutS };
    const heartbeat = `a heartbeat round here is ${round} s (pingInterval ${host.stage.pingIntervalMs / 1000} s + pingTimeout ${host.stage.pingTimeoutMs / 1000} s)`;
    return problems.length === 0
      ? pass(`${p.file}: proxy_read_timeout ${readTimeoutS} s; ${heartbeat}`, measured)
      : fail(
          `${p.file}: ${problems.join(', ')}, but ${heartbeat}: nginx may cut an idle client between two pings`,
          measured,
        );
  },
});

// `npm run bench`: measure the lab on this machine and compare it with a
// bare Socket.IO server measured in the same run. Progress lines while it runs, then a
// table; the JSON and HTML reports go to .lab/bench/.
//
//   npm run bench                                   everything (about 3–4 minutes)
//   npm run bench -- --quick                        everything, shorter (about 1½ minutes)
//   npm run bench -- --only latency,fanout --seconds 5
//   npm run bench -- --help
//
// Ctrl-C stops the current measurement and brings the lab down; a second
// Ctrl-C ends the lab's processes by PID at once.

import { rmSync } from 'node:fs';
import { LabError } from '../../server/lab/errors.ts';
import { cleanUpAfter } from '../../server/lab/lab.ts';
import { Aborted, estimateSeconds, runBench } from './bench.ts';
import { benchSettings } from './context.ts';
import { parseArgs, USAGE, UsageError, type BenchOptions } from './options.ts';
import { writeReport } from './report.ts';
import { formatReport } from './table.ts';

let opts: BenchOptions;
try {
  const parsed = parseArgs(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  opts = parsed;
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`bench: ${err.message}\n\n${USAGE}`);
  process.exit(2);
}

const settings = await benchSettings();
const controller = new AbortController();
let interrupts = 0;

/** Last resort: end whatever the run state names (nginx, PM2 and its instances, Redis), by PID. */
async function force(): Promise<never> {
  console.log('bench: ending the lab processes by PID');
  try {
    await cleanUpAfter(settings.runDir);
  } finally {
    rmSync(settings.runDir, { recursive: true, force: true });
  }
  process.exit(130);
}

function onSignal(signal: NodeJS.Signals): void {
  interrupts++;
  if (interrupts > 1) {
    void force();
    return;
  }
  console.log(`\nbench: ${signal}, stopping and bringing the lab down (again to force)…`);
  controller.abort();
  // Should the orderly path hang, do not leave processes behind.
  setTimeout(() => void force(), 30_000).unref();
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

console.log(`bench: about ${estimateSeconds(opts)} s; --help for options`);
try {
  const report = await runBench(opts, { onProgress: (line) => console.log(line), signal: controller.signal, settings });
  console.log(`\n${formatReport(report)}`);
  const files = writeReport(report, opts.outDir);
  console.log(`\nJSON: ${files.json}\nHTML: ${files.html}`);
} catch (err) {
  if (err instanceof Aborted) {
    console.log('bench: interrupted; the lab is down, no report written.');
    process.exitCode = 130;
  } else {
    console.error(
      `bench failed: ${err instanceof LabError ? err.toString() : err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    process.exitCode = 1;
  }
} finally {
  rmSync(settings.runDir, { recursive: true, force: true });
}

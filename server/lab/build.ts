// What the instances run, built with esbuild (~10 ms) from the sources the lab
// uses (sources.ts): the app (server/app/main.ts), the lab's probe that is
// preloaded beside it, and the client options the fleet and chat page use.
// Each bundle is named by its content: unchanged code gives the same file, and
// an edit gives a new one, so the reconciler restarts exactly the instances
// that still run old code.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildFailure, Plugin } from 'esbuild';
import { LabError } from './errors.ts';
import { repoRoot } from './settings.ts';
import type { Sources } from './sources.ts';

/** Every instance's command line names its bundle: how the lab recognises its instances by PID. */
export const INSTANCE_MARKER = '/.lab/build/server-';
/** Inside the repo, so a bundle's `import 'socket.io'` resolves from the repo's node_modules. */
const buildDir = path.join(repoRoot, '.lab', 'build');

/** Bundle the chat server; returns the bundle's path. */
export function buildServer(sources: Sources): Promise<string> {
  return bundle(sources, 'server/app/main.ts', 'server');
}

/**
 * Bundle the bench's bare Socket.IO server (a stage with `server: "bare"`),
 * exactly as the app is bundled, so both start the same way under PM2. Its
 * name starts with "server-" too: the lab recognises it by INSTANCE_MARKER.
 */
export function buildBareServer(sources: Sources): Promise<string> {
  return bundle(sources, 'tests/bench/bare/server.ts', 'server-bare');
}

/** Bundle the probe the lab preloads into every instance (node --import). */
export function buildInstrument(sources: Sources): Promise<string> {
  return bundle(sources, 'server/lab/telemetry/preload.ts', 'instrument');
}

/** The learner's client options (server/app/client-options.ts), as the fleet and chat page use them. */
export async function loadClientOptions(sources: Sources): Promise<Record<string, unknown>> {
  const file = await bundle(sources, 'server/app/client-options.ts', 'client-options');
  const mod = (await import(pathToFileURL(file).href)) as { clientOptions?: unknown };
  const options = mod.clientOptions;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new LabError(
      'server/app/client-options.ts must export `clientOptions`, an object of socket.io-client options',
      'see the comment at the top of the file',
    );
  }
  return options as Record<string, unknown>;
}

async function bundle(sources: Sources, entry: string, name: string): Promise<string> {
  const { build } = await import('esbuild');
  // Every .ts file of the repo comes from the sources: the learner's file on
  // disk, or (in the lab's own tests) the committed one or a lesson's start file.
  const fromSources: Plugin = {
    name: 'lab-sources',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        const rel = path.relative(repoRoot, args.path).split(path.sep).join('/');
        if (rel.startsWith('..') || rel.includes('node_modules/')) return undefined;
        return { contents: sources.read(rel), loader: 'ts', resolveDir: path.dirname(args.path) };
      });
    },
  };
  try {
    const result = await build({
      entryPoints: [path.join(repoRoot, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external', // socket.io, redis, … load from node_modules
      sourcemap: 'inline', // stack traces point at the .ts lines the learner wrote
      write: false,
      logLevel: 'silent',
      absWorkingDir: repoRoot,
      plugins: [fromSources],
    });
    return writeBundle(name, result.outputFiles[0]!.contents);
  } catch (err) {
    throw buildError(err as BuildFailure);
  }
}

/** "server/app/adapter.ts:31:4: Expected ";" but found "io"" for each error esbuild found. */
function buildError(err: BuildFailure): LabError {
  const errors = err.errors ?? [];
  if (errors.length === 0) return new LabError(`the build failed: ${String(err.message ?? err)}`);
  const lines = errors.map((e) => {
    const at = e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : '';
    return `  ${at}${e.text}`;
  });
  const first = errors[0]!.location?.file;
  return new LabError(`the code does not build:\n${lines.join('\n')}`, first ? `fix ${first}, then save` : undefined);
}

function writeBundle(name: string, code: Uint8Array): string {
  const hash = createHash('sha1').update(code).digest('hex').slice(0, 12);
  const file = path.join(buildDir, `${name}-${hash}.mjs`);
  if (!existsSync(file)) {
    mkdirSync(buildDir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file); // atomic: a concurrent build never sees half a file
  }
  return file;
}

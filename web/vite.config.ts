import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig, type Plugin } from 'vite';

// `npm run dev:web`: the UI with hot reload on :5173, against the lab that
// `npm start` is running. The lab serves its page with a per-run token and
// refuses other origins, so in development this server does what the lab
// does for its own page: it reads the token (and the lab's port) from the run
// directory, as the CLI does, writes the token into the page, and forwards
// API calls with the lab's own origin. `npm start` serves the built dist/ itself.

const runDir = path.resolve(process.env.LAB_RUN_DIR ?? path.join(import.meta.dirname, '..', '.lab'));

function runningLab(): { token: string; uiPort: number } {
  try {
    const state = JSON.parse(readFileSync(path.join(runDir, 'lab.json'), 'utf8')) as {
      token: string;
      ports: { ui: number };
    };
    return { token: state.token, uiPort: state.ports.ui };
  } catch {
    return { token: '', uiPort: Number(process.env.LAB_UI_PORT ?? 4000) }; // no lab yet: the page says "lab unreachable"
  }
}

const labToken: Plugin = {
  name: 'lab-token',
  // Only while serving: a built page must keep the placeholder, which the lab fills per run.
  apply: 'serve',
  transformIndexHtml: (html) => html.replace('__LAB_TOKEN__', runningLab().token),
};

const { uiPort } = runningLab();
const lab = `http://127.0.0.1:${uiPort}`;

export default defineConfig({
  root: import.meta.dirname,
  plugins: [labToken],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      input: {
        lab: path.join(import.meta.dirname, 'index.html'),
        chat: path.join(import.meta.dirname, 'chat.html'),
      },
    },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      '/api': { target: lab, changeOrigin: true, headers: { origin: lab } },
    },
  },
});

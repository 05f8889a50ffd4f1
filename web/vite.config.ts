import path from 'node:path';
import { defineConfig } from 'vite';

// `npm run dev:web` serves this with hot reload on :5173 and forwards the API
// to a running lab on :4000; `npm start` serves the built dist/ itself.
export default defineConfig({
  root: import.meta.dirname,
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
      '/api': { target: 'http://127.0.0.1:4000', changeOrigin: true },
    },
  },
});

/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` serves the app on 5173 and proxies the backend (API, health, logos, the /hls/
// development fallback) on BACKEND_URL, so the app talks to one origin as it does in production.
const backend = process.env.BACKEND_URL ?? 'http://localhost:8000';
const proxied = ['/api', '/healthz', '/static', '/hls'];

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    strictPort: true,
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, changeOrigin: false }])),
  },
  build: {
    outDir: 'dist',
    sourcemap: true,
    // Shaka Player is loaded with the player route only; it is ~220 kB gzipped on its own.
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
